/**
 * Sync windows: half-open UTC intervals `[start, end)` whose edges are laid
 * out on the project zone's wall clock and kept out of the repeated autumn
 * period, so that the API's zone-less inclusive string ranges of consecutive
 * windows neither overlap nor leave a gap.
 */
import { DateTime, FixedOffsetZone } from 'luxon';
import type { Duration, Zone } from 'luxon';
import { isPositive } from './iso.js';
import { instantOf, instantsOf, isAmbiguous, wallOf, zoneNamed } from './zone.js';

/** A half-open interval `[start, end)` of UTC instants. */
export interface Window {
  readonly start: DateTime;
  readonly end: DateTime;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UTC = FixedOffsetZone.utcInstance;

function millisOf(dt: DateTime, what: string): number {
  if (!dt.isValid) throw new RangeError(`invalid ${what}: ${dt.invalidExplanation ?? dt.invalidReason ?? ''}`);
  return dt.toMillis();
}

function utc(ms: number): DateTime {
  return DateTime.fromMillis(ms, { zone: UTC });
}

/**
 * Whether an instant (whole seconds; a sub-second part is dropped, as the
 * API strings drop it) can be a window edge: its local string is
 * unambiguous, or it is the first occurrence of an ambiguous local time and
 * the second before it has an unambiguous local string (the very start of
 * the repeated period).
 */
function safeAt(zone: Zone, t: number): boolean {
  const s = Math.floor(t / SECOND) * SECOND;
  const wall = wallOf(zone, s);
  if (!isAmbiguous(zone, wall)) return true;
  if (instantOf(zone, wall) !== s) return false; // not the first occurrence
  return !isAmbiguous(zone, wallOf(zone, s - SECOND));
}

/** Length (ms) of the repeated period around an unsafe instant. */
function repeatLength(zone: Zone, t: number): number {
  const s = Math.floor(t / SECOND) * SECOND;
  const instants = instantsOf(zone, wallOf(zone, s));
  const first = instants[0];
  const last = instants[instants.length - 1];
  return first !== undefined && last !== undefined && last > first ? last - first : HOUR;
}

/** The first safe instant after an unsafe `t` (the end of its repeated period). */
function nextSafe(zone: Zone, t: number): number {
  let lo = Math.floor(t / SECOND) * SECOND; // unsafe
  let hi = lo + 2 * repeatLength(zone, t) + SECOND;
  for (let guard = 0; !safeAt(zone, hi); guard++) {
    if (guard > 64) throw new Error(`no safe window edge after ${new Date(t).toISOString()}`);
    lo = hi;
    hi += DAY;
  }
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
    if (safeAt(zone, mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The last safe instant at or before an unsafe `t` (the start of its repeated period). */
function previousSafe(zone: Zone, t: number): number {
  let hi = Math.floor(t / SECOND) * SECOND; // unsafe
  let lo = hi - 2 * repeatLength(zone, t) - SECOND;
  for (let guard = 0; !safeAt(zone, lo); guard++) {
    if (guard > 64) throw new Error(`no safe window edge before ${new Date(t).toISOString()}`);
    hi = lo;
    lo -= DAY;
  }
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
    if (safeAt(zone, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether `t` can be a window edge in `zone`: false only strictly inside a
 * repeated (autumn) period, where the API's zone-less string cannot say which
 * occurrence is meant. In Europe/Amsterdam on 2026-10-25 the repeated period
 * is [00:00Z, 02:00Z): 00:00Z and 02:00Z are safe, everything between is not.
 * Sub-second parts are ignored (the API's strings drop them).
 */
export function isSafeEdge(t: DateTime, zone: string): boolean {
  return safeAt(zoneNamed(zone), millisOf(t, 'instant'));
}

/**
 * `t` when it is a safe edge, else the start of its repeated period (the
 * last safe instant before it). Meant for the end of a run: a run that must
 * stop at "now" should stop at `safeEdgeAtOrBefore(now)`, so that the next
 * run starts where a zone-less string can.
 */
export function safeEdgeAtOrBefore(t: DateTime, zone: string): DateTime {
  const z = zoneNamed(zone);
  const ms = millisOf(t, 'instant');
  return safeAt(z, ms) ? t.toUTC() : utc(previousSafe(z, ms));
}

/** `t` when it is a safe edge, else the end of its repeated period. */
export function safeEdgeAtOrAfter(t: DateTime, zone: string): DateTime {
  const z = zoneNamed(zone);
  const ms = millisOf(t, 'instant');
  return safeAt(z, ms) ? t.toUTC() : utc(nextSafe(z, ms));
}

/** The wall time (naive ms) `k` sizes after `wall0`, on the wall clock. */
type WallStep = (k: number) => number;

function wallStepper(wall0: number, size: Duration): WallStep {
  const v = size.toObject();
  const calendar = (v.years ?? 0) !== 0 || (v.quarters ?? 0) !== 0 || (v.months ?? 0) !== 0;
  if (!calendar) {
    // Weeks, days and clock units are fixed lengths on a wall clock (which
    // has no daylight saving): plain arithmetic.
    const ms =
      (v.weeks ?? 0) * 7 * DAY +
      (v.days ?? 0) * DAY +
      (v.hours ?? 0) * HOUR +
      (v.minutes ?? 0) * MINUTE +
      (v.seconds ?? 0) * SECOND +
      (v.milliseconds ?? 0);
    return (k) => wall0 + k * ms;
  }
  const base = DateTime.fromMillis(wall0, { zone: 'utc' });
  // Always from the anchor, so that month ends do not drift (Jan 31 + 2 months = Mar 31).
  return (k) => base.plus(size.mapUnits((x) => x * k)).toMillis();
}

function checkSize(size: Duration): void {
  if (!size.isValid || !isPositive(size)) {
    throw new RangeError(`window size must be a positive duration, got ${size.toISO() ?? 'invalid'}`);
  }
}

/** The first safe edge at wall k*size, for k >= k0, later than `after`; or `to`. */
function edgeAfter(zone: Zone, step: WallStep, k0: number, after: number, to: number): [number, number] {
  for (let k = k0; ; k++) {
    let t = instantOf(zone, step(k));
    if (!safeAt(zone, t)) t = nextSafe(zone, t);
    if (t >= to) return [to, k];
    if (t > after) return [t, k];
  }
}

/**
 * Tiles `[from, to)` with windows of `size`, laid out on the wall clock of
 * `zone` from the anchor `from`: edge k is the wall time of `from` plus
 * k*size (calendar arithmetic: `P1D` is a calendar day, 23 or 25 hours across
 * daylight saving; `PT6H` from local midnight stays at 00/06/12/18 local),
 * read back as an instant (ambiguous: the earlier; in the spring gap: shifted
 * forward). An edge strictly inside a repeated autumn period moves forward to
 * its end; edges that then coincide or pass `to` merge, so windows are never
 * empty and strictly increase. The first window starts at `from` and the last
 * ends at `to` (it may be short).
 *
 * `from` and `to` are used as given, even when not safe edges: a caller
 * that picks `to` itself (e.g. "now") should pass it through
 * `safeEdgeAtOrBefore` (and `isSafeEdge` tells whether that is needed).
 * Edges are expected to be whole seconds, as the API's strings are.
 *
 * Returns [] when `from >= to`. Throws a RangeError for an invalid instant,
 * a size that is not positive, or an invalid zone.
 */
export function planWindows(from: DateTime, to: DateTime, size: Duration, zone: string): Window[] {
  const f = millisOf(from, 'from');
  const e = millisOf(to, 'to');
  checkSize(size);
  const z = zoneNamed(zone);
  if (f >= e) return [];
  const step = wallStepper(wallOf(z, f), size);
  const windows: Window[] = [];
  const end = utc(e);
  let start = utc(f);
  let startMs = f;
  let k = 1;
  for (;;) {
    const [t, used] = edgeAfter(z, step, k, startMs, e);
    if (t >= e) {
      windows.push({ start, end });
      return windows;
    }
    const next = utc(t);
    windows.push({ start, end: next });
    start = next;
    startMs = t;
    k = used + 1;
  }
}

/**
 * The end of the single window that starts at `start`: the first safe edge
 * at wall(start) + size (further multiples of size when that is not later
 * than `start`), capped at `to`. Always later than `start`; throws a
 * RangeError unless `start < to`.
 */
export function nextWindowEnd(start: DateTime, size: Duration, zone: string, to: DateTime): DateTime {
  const s = millisOf(start, 'start');
  const e = millisOf(to, 'to');
  checkSize(size);
  const z = zoneNamed(zone);
  if (s >= e) throw new RangeError('nextWindowEnd needs start < to');
  const [t] = edgeAfter(z, wallStepper(wallOf(z, s), size), 1, s, e);
  return t >= e ? to.toUTC() : utc(t);
}
