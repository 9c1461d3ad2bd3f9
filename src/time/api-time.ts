/**
 * The API's date-time strings, off the hot path, by luxon.
 *
 * Inside the tap every instant is a UTC luxon `DateTime` (or epoch milliseconds). The Wemasy API
 * speaks zone-less `yyyy-MM-dd HH:mm:ss` strings in the project's zone, with both ends of a range
 * inclusive; those strings exist only here and in api-time-converter.ts (the per-record hot path,
 * hand-written because it pays). Local times that name no instant or two follow zone.ts's rules.
 */
import { DateTime } from 'luxon';
import { instantOf, zoneNamed } from './zone.js';

export { createApiTimeConverter } from './api-time-converter.js';

/** The API's date-time format (luxon tokens). */
export const API_FORMAT = 'yyyy-MM-dd HH:mm:ss';

const SECOND = 1000;

function assertValid(dt: DateTime, what: string): number {
  if (!dt.isValid) throw new RangeError(`invalid ${what}: ${dt.invalidExplanation ?? dt.invalidReason ?? ''}`);
  return dt.toMillis();
}

/** An instant (ms) as the API writes it in `zone`: its wall time, sub-second part truncated. */
function apiText(instant: number, zone: string): string {
  return DateTime.fromMillis(Math.floor(instant / SECOND) * SECOND, { zone: zoneNamed(zone) }).toFormat(API_FORMAT);
}

/**
 * An instant as the API writes it: its wall time in `zone`, `yyyy-MM-dd HH:mm:ss`, sub-second
 * part truncated. Throws a RangeError for an invalid instant or zone.
 */
export function toApiDateTime(instant: DateTime, zone: string): string {
  return apiText(assertValid(instant, 'instant'), zone);
}

/** A window as the API's inclusive range. */
export interface ApiRange {
  readonly start_date: string;
  readonly end_date: string;
}

/**
 * The API range of a half-open window `[start, end)`: `start` rendered, and `end - 1s` rendered
 * (the API's end is inclusive, at one-second granularity). Seconds are truncated, so the range
 * covers the whole seconds `[floor(start), floor(end))` and consecutive windows tile exactly.
 * Throws a RangeError when that is empty (a window within one second).
 *
 * The strings are only unambiguous when the window's edges are safe (see `isSafeEdge` in
 * windows.ts); `planWindows` makes every edge safe except possibly its `from` and `to`.
 *
 * `window` is a windows.ts `Window`, typed structurally: windows.ts imports this module's zone.ts.
 */
export function toApiRange(window: { readonly start: DateTime; readonly end: DateTime }, zone: string): ApiRange {
  const start = assertValid(window.start, 'window start');
  const end = assertValid(window.end, 'window end');
  const first = Math.floor(start / SECOND) * SECOND;
  const last = Math.floor(end / SECOND) * SECOND - SECOND;
  if (last < first) {
    const iso = (dt: DateTime): string => dt.toUTC().toISO({ suppressMilliseconds: true }) ?? '';
    throw new RangeError(`window [${iso(window.start)}, ${iso(window.end)}) holds no whole second`);
  }
  return { start_date: apiText(first, zone), end_date: apiText(last, zone) };
}

/** The API's date-time syntax (the converter's): seconds required, a fraction and an offset optional. */
const API_DATE_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?$/;

/**
 * An API date-time string (same syntax and rules as the converter) as a UTC DateTime, or
 * undefined when it is not one. For paths that are not hot.
 */
export function fromApiDateTime(text: string, zone: string): DateTime | undefined {
  const z = zoneNamed(zone);
  if (typeof text !== 'string' || !API_DATE_TIME.test(text)) return undefined;
  const iso = `${text.slice(0, 10)}T${text.slice(11).replace(/z$/, 'Z')}`;
  // Read as UTC, keeping an offset the text carries (setZone): without one, it is a wall time.
  const read = DateTime.fromISO(iso, { zone: 'utc', setZone: true });
  if (!read.isValid) return undefined;
  const hasOffset = /(?:Z|[+-]\d\d(?::?\d\d)?)$/.test(iso);
  const instant = hasOffset ? read.toMillis() : instantOf(z, read.toMillis());
  const dt = DateTime.fromMillis(instant, { zone: 'utc' });
  return dt.isValid ? dt : undefined;
}
