/**
 * A zone's wall clock, by luxon: which instants a local (wall-clock) time names, and the rule the
 * tap applies when it names not exactly one. Used everywhere in the tap, so that every path
 * agrees (luxon's own choice for an ambiguous time depends on the current date, so it is not
 * used):
 *
 * - AMBIGUOUS (the repeated autumn period, e.g. 02:30 on 2026-10-25 in Europe/Amsterdam, which is
 *   both 00:30Z and 01:30Z): the EARLIER instant, the first occurrence (00:30Z); luxon's
 *   `getPossibleOffsets` lists both.
 * - NON-EXISTENT (the spring gap, e.g. 02:30 on 2026-03-29 in Europe/Amsterdam): read with the
 *   offset in force before the gap, which shifts it forward by the size of the gap (02:30 ->
 *   01:30Z, which is 03:30 local). This is what luxon does.
 *
 * "Wall" times are naive epoch milliseconds: the local date and time read as if they were UTC.
 * Nothing here is on the per-record hot path (see api-time-converter.ts, which caches per hour).
 */
import { DateTime, Info, Zone } from 'luxon';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** UTC days whose offsets one zone remembers before it starts over. */
const DAY_CACHE_SIZE = 4096;

/**
 * Whether `zone` names a zone the tap can use: an IANA name such as `Europe/Amsterdam`, `UTC`, or
 * a fixed offset luxon understands such as `UTC+2`. The host-dependent `local`, `system` and
 * `default` are refused.
 */
export function isValidZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.trim() === '') return false;
  const lower = zone.trim().toLowerCase();
  if (lower === 'local' || lower === 'system' || lower === 'default') return false;
  try {
    const z = Info.normalizeZone(zone);
    return z.isValid && z.type !== 'system';
  } catch {
    return false;
  }
}

/**
 * luxon's zone of a valid name, with its offsets cached (see OffsetCache); throws a RangeError for
 * an invalid name. Each call makes a new cache: callers keep the zone for as long as it helps.
 */
export function zoneNamed(name: string): Zone {
  if (!isValidZone(name)) throw new RangeError(`invalid time zone: ${JSON.stringify(name)}`);
  const zone = Info.normalizeZone(name);
  return zone.isUniversal ? zone : new CachedZone(zone);
}

/** An offset that is `before` for instants < `breakAt` and `after` from it on. */
interface DayOffsets {
  readonly breakAt: number;
  readonly before: number;
  readonly after: number;
}

/**
 * A luxon zone whose offsets are computed once per UTC day (a luxon IANA offset is an
 * Intl.DateTimeFormat#formatToParts call, ~5 µs; planning 5 years of hourly windows asks for
 * ~400,000 of them: 4.5 s uncached, ~0.2 s cached, test/unit/windows.test.ts). Assumes a zone
 * changes its offset at most once in a UTC day (true for every zone in the tz database from 1900
 * to 2100); the instant of a change is found by bisection to the millisecond.
 */
class CachedZone extends Zone {
  private readonly days = new Map<number, DayOffsets>();

  constructor(private readonly inner: Zone) {
    super();
  }

  override get type(): string {
    return this.inner.type;
  }
  override get name(): string {
    return this.inner.name;
  }
  override get isUniversal(): boolean {
    return false;
  }
  override get isValid(): boolean {
    return this.inner.isValid;
  }
  override offsetName(ts: number, options: Parameters<Zone['offsetName']>[1]): string | null {
    return this.inner.offsetName(ts, options);
  }
  override formatOffset(ts: number, format: Parameters<Zone['formatOffset']>[1]): string {
    return this.inner.formatOffset(ts, format);
  }
  override equals(other: Zone): boolean {
    return this.inner.equals(other instanceof CachedZone ? other.inner : other);
  }

  /** The offset in minutes, as luxon's zones give it. */
  override offset(ts: number): number {
    if (!Number.isFinite(ts)) return this.inner.offset(ts);
    const day = Math.floor(ts / DAY);
    let offsets = this.days.get(day);
    if (offsets === undefined) {
      offsets = this.dayOffsets(day);
      if (this.days.size >= DAY_CACHE_SIZE) this.days.clear();
      this.days.set(day, offsets);
    }
    return ts < offsets.breakAt ? offsets.before : offsets.after;
  }

  private dayOffsets(day: number): DayOffsets {
    const start = day * DAY;
    const before = this.inner.offset(start);
    const after = this.inner.offset(start + DAY);
    if (before === after) return { breakAt: Infinity, before, after };
    // The change is in (start, start + DAY]; at start + DAY exactly it belongs to the next day.
    let lo = start;
    let hi = start + DAY;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.inner.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    return { breakAt: hi, before, after };
  }
}

/** The zone's offset (ms) at an instant. */
export function offsetAt(zone: Zone, instant: number): number {
  return Math.round(zone.offset(instant) * MINUTE);
}

/** The wall time (naive ms) of an instant. */
export function wallOf(zone: Zone, instant: number): number {
  return instant + offsetAt(zone, instant);
}

/**
 * The instant of a wall time when the offset is the same a day before, a day after and at that
 * instant (so the wall time names exactly one instant, by luxon's own test in
 * `getPossibleOffsets`); else NaN. The common case, without building DateTimes (~10x cheaper).
 */
function steadyInstant(zone: Zone, wall: number): number {
  const offset = offsetAt(zone, wall - DAY);
  return offsetAt(zone, wall + DAY) === offset && offsetAt(zone, wall - offset) === offset ? wall - offset : NaN;
}

/** luxon's reading of a wall time in the zone, and every instant it may name. */
function readings(zone: Zone, wall: number): number[] {
  const steady = steadyInstant(zone, wall);
  if (steady === steady) return [steady];
  return DateTime.fromMillis(wall, { zone: 'utc' })
    .setZone(zone, { keepLocalTime: true })
    .getPossibleOffsets()
    .map((dt) => dt.toMillis());
}

/**
 * The instants whose wall time is `wall`, ascending: one normally, two in the repeated autumn
 * period, none in the spring gap.
 */
export function instantsOf(zone: Zone, wall: number): number[] {
  return readings(zone, wall)
    .filter((instant) => wallOf(zone, instant) === wall)
    .sort((a, b) => a - b);
}

/** The instant of a wall time, by the module's rules (earlier; gap forward). */
export function instantOf(zone: Zone, wall: number): number {
  return Math.min(...readings(zone, wall));
}

/** Whether the wall time names more than one instant. */
export function isAmbiguous(zone: Zone, wall: number): boolean {
  return readings(zone, wall).length > 1;
}
