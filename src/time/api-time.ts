/**
 * The API's date-time strings, and the zone arithmetic behind them.
 *
 * Inside the tap every instant is a UTC luxon `DateTime` (or epoch
 * milliseconds). The Wemasy API speaks zone-less `yyyy-MM-dd HH:mm:ss`
 * strings in the project's zone, with both ends of a range inclusive; those
 * strings exist only in this module.
 *
 * Rules for local (wall-clock) times that do not name exactly one instant,
 * used everywhere in the tap so that every path agrees (luxon's own choice
 * for an ambiguous time depends on the current date, so it is not used):
 *
 * - AMBIGUOUS (the repeated autumn period, e.g. 02:30 on 2026-10-25 in
 *   Europe/Amsterdam, which is both 00:30Z and 01:30Z): the EARLIER instant,
 *   the first occurrence (00:30Z).
 * - NON-EXISTENT (the spring gap, e.g. 02:30 on 2026-03-29 in
 *   Europe/Amsterdam): read with the offset in force before the gap, which
 *   shifts it forward by the size of the gap (02:30 -> 01:30Z, which is 03:30
 *   local). This is what luxon does.
 *
 * Zone offsets are computed with luxon (Intl) once per UTC day and cached,
 * assuming a zone changes its offset at most once in a UTC day (true for
 * every zone in the tz database from 1900 to 2100).
 */
import { DateTime, Info } from 'luxon';
import type { Zone } from 'luxon';

/** The API's date-time format (luxon tokens). */
export const API_FORMAT = 'yyyy-MM-dd HH:mm:ss';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Caches are dropped and rebuilt when they grow past this many entries. */
const CACHE_LIMIT = 100_000;

/**
 * Whether `zone` names a zone the tap can use: an IANA name such as
 * `Europe/Amsterdam`, `UTC`, or a fixed offset luxon understands such as
 * `UTC+2`. The host-dependent `local`, `system` and `default` are refused.
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
 * An offset that is `before` for times < `breakAt` and `after` from it on
 * (`breakAt` = +Infinity when constant). Offsets in milliseconds.
 */
interface Piece {
  readonly breakAt: number;
  readonly before: number;
  readonly after: number;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * One zone's offsets and wall clock, cached. "Wall" times are naive epoch
 * milliseconds: the local date and time read as if they were UTC.
 */
export class ZoneClock {
  readonly name: string;
  private readonly zone: Zone;
  /** The offset in ms when the zone never changes it. */
  private readonly fixed: number | undefined;
  private readonly dayStarts = new Map<number, number>();
  private readonly utcDays = new Map<number, Piece>();
  private readonly wallHours = new Map<number, Piece>();

  constructor(name: string) {
    if (!isValidZone(name)) throw new RangeError(`invalid time zone: ${JSON.stringify(name)}`);
    this.name = name;
    this.zone = Info.normalizeZone(name);
    this.fixed = this.zone.isUniversal ? this.rawOffset(0) : undefined;
  }

  private rawOffset(instant: number): number {
    return Math.round(this.zone.offset(instant) * MINUTE);
  }

  /** The raw offset at the start of a UTC day, cached (one luxon computation a day). */
  private dayStartOffset(day: number): number {
    let offset = this.dayStarts.get(day);
    if (offset === undefined) {
      offset = this.rawOffset(day * DAY);
      if (this.dayStarts.size >= CACHE_LIMIT) this.dayStarts.clear();
      this.dayStarts.set(day, offset);
    }
    return offset;
  }

  /** The offsets over a UTC day [start, start + DAY). */
  private dayPiece(day: number): Piece {
    let piece = this.utcDays.get(day);
    if (piece !== undefined) return piece;
    const start = day * DAY;
    const before = this.dayStartOffset(day);
    const after = this.dayStartOffset(day + 1);
    if (before === after) {
      piece = { breakAt: Infinity, before, after };
    } else {
      // The change is in (start, start + DAY]; at start + DAY exactly it
      // belongs to the next day, and breakAt = start + DAY says so.
      let lo = start; // offset `before`
      let hi = start + DAY; // offset `after`
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (this.rawOffset(mid) === before) lo = mid;
        else hi = mid;
      }
      piece = { breakAt: hi, before, after };
    }
    if (this.utcDays.size >= CACHE_LIMIT) this.utcDays.clear();
    this.utcDays.set(day, piece);
    return piece;
  }

  /** The zone's offset (ms) at an instant. */
  offsetAt(instant: number): number {
    if (this.fixed !== undefined) return this.fixed;
    const piece = this.dayPiece(Math.floor(instant / DAY));
    return instant < piece.breakAt ? piece.before : piece.after;
  }

  /** The wall time (naive ms) of an instant. */
  wallOf(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * The zone's offset when it is the same, with no change, over the UTC days
   * either side of the wall time (so the wall time names exactly one
   * instant); else NaN. The cheap common case of `instantsOf`.
   */
  private steadyOffsetNear(wall: number): number {
    if (this.fixed !== undefined) return this.fixed;
    const day = Math.floor(wall / DAY);
    const a = this.dayPiece(day - 1);
    const b = this.dayPiece(day);
    const c = this.dayPiece(day + 1);
    const o = a.before;
    return a.after === o && b.before === o && b.after === o && c.before === o && c.after === o ? o : NaN;
  }

  /** Every offset in force within a day either side of the wall time. */
  private offsetsNear(wall: number): number[] {
    if (this.fixed !== undefined) return [this.fixed];
    const day = Math.floor(wall / DAY);
    const out: number[] = [];
    for (let d = day - 1; d <= day + 1; d++) {
      const p = this.dayPiece(d);
      if (!out.includes(p.before)) out.push(p.before);
      if (!out.includes(p.after)) out.push(p.after);
    }
    return out;
  }

  /**
   * The instants whose wall time is `wall`, ascending: one normally, two in
   * the repeated autumn period, none in the spring gap.
   */
  instantsOf(wall: number): number[] {
    const steady = this.steadyOffsetNear(wall);
    if (steady === steady) return [wall - steady];
    const out: number[] = [];
    for (const o of this.offsetsNear(wall)) {
      const u = wall - o;
      if (this.offsetAt(u) === o) out.push(u);
    }
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** The instant of a wall time, by the module's rules (earlier; gap forward). */
  instantOf(wall: number): number {
    const steady = this.steadyOffsetNear(wall);
    if (steady === steady) return wall - steady;
    const instants = this.instantsOf(wall);
    const first = instants[0];
    if (first !== undefined) return first;
    // In a gap: read with the offset before it, the smaller of the two
    // offsets either side (what luxon does).
    let smallest = Infinity;
    for (const o of this.offsetsNear(wall)) {
      smallest = Math.min(smallest, this.offsetAt(wall - o));
    }
    return wall - smallest;
  }

  /** Whether the wall time names more than one instant. */
  isAmbiguous(wall: number): boolean {
    const steady = this.steadyOffsetNear(wall);
    return steady !== steady && this.instantsOf(wall).length > 1;
  }

  /**
   * The offset to subtract from any wall time in local hour `key`
   * (floor(wall / HOUR)) to get its instant, as a piece within the hour.
   */
  wallHourPiece(key: number): Piece {
    let piece = this.wallHours.get(key);
    if (piece !== undefined) return piece;
    const start = key * HOUR;
    const last = start + HOUR - 1;
    const before = start - this.instantOf(start);
    const after = last - this.instantOf(last);
    if (before === after) {
      piece = { breakAt: Infinity, before, after };
    } else {
      let lo = start;
      let hi = last;
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (mid - this.instantOf(mid) === before) lo = mid;
        else hi = mid;
      }
      piece = { breakAt: hi, before, after };
    }
    if (this.wallHours.size >= CACHE_LIMIT) this.wallHours.clear();
    this.wallHours.set(key, piece);
    return piece;
  }
}

const clocks = new Map<string, ZoneClock>();

/** The shared, cached clock of a zone; throws a RangeError for an invalid zone. */
export function zoneClock(zone: string): ZoneClock {
  let clock = clocks.get(zone);
  if (clock === undefined) {
    clock = new ZoneClock(zone);
    clocks.set(zone, clock);
  }
  return clock;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** Formats a wall time (naive ms) as `yyyy-MM-dd HH:mm:ss` (seconds truncated). */
function formatWall(wall: number): string {
  const d = new Date(Math.floor(wall / SECOND) * SECOND);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? `${y}`.padStart(4, '0') : `${y}`;
  return (
    `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
  );
}

/** "00" .. "99". */
const TWO: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));

/**
 * Formats an instant (epoch ms) as UTC ISO 8601, milliseconds only when not
 * zero. Written out by hand for the hot path: `Date#toISOString` costs
 * several times more than the whole parse.
 */
function formatUtcMs(instant: number): string {
  const days = Math.floor(instant / DAY);
  let rest = instant - days * DAY;
  // civil_from_days (H. Hinnant)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) {
    const iso = new Date(instant).toISOString();
    return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
  }
  const hour = Math.floor(rest / HOUR);
  rest -= hour * HOUR;
  const minute = Math.floor(rest / MINUTE);
  rest -= minute * MINUTE;
  const second = Math.floor(rest / SECOND);
  const millis = rest - second * SECOND;
  const head = `${TWO[Math.floor(year / 100)]}${TWO[year % 100]}-${TWO[month]}-${TWO[day]}T${TWO[hour]}:${TWO[minute]}:${TWO[second]}`;
  if (millis === 0) return `${head}Z`;
  return `${head}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

function assertValid(dt: DateTime, what: string): number {
  if (!dt.isValid) throw new RangeError(`invalid ${what}: ${dt.invalidExplanation ?? dt.invalidReason ?? ''}`);
  return dt.toMillis();
}

/**
 * An instant as the API writes it: its wall time in `zone`, `yyyy-MM-dd
 * HH:mm:ss`, sub-second part truncated.
 */
export function toApiDateTime(instant: DateTime, zone: string): string {
  const ms = assertValid(instant, 'instant');
  return formatWall(zoneClock(zone).wallOf(ms));
}

/** A window as the API's inclusive range. */
export interface ApiRange {
  readonly start_date: string;
  readonly end_date: string;
}

/**
 * The API range of a half-open window `[start, end)`: `start` rendered, and
 * `end - 1s` rendered (the API's end is inclusive, at one-second
 * granularity). Seconds are truncated, so the range covers the whole seconds
 * `[floor(start), floor(end))` and consecutive windows tile exactly. Throws a
 * RangeError when that is empty (a window within one second).
 *
 * The strings are only unambiguous when the window's edges are safe (see
 * `isSafeEdge` in windows.ts); `planWindows` makes every edge safe except
 * possibly its `from` and `to`.
 *
 * `window` is a windows.ts `Window`, typed structurally: windows.ts imports this module.
 */
export function toApiRange(window: { readonly start: DateTime; readonly end: DateTime }, zone: string): ApiRange {
  const start = assertValid(window.start, 'window start');
  const end = assertValid(window.end, 'window end');
  const first = Math.floor(start / SECOND) * SECOND;
  const last = Math.floor(end / SECOND) * SECOND - SECOND;
  if (last < first) {
    throw new RangeError(
      `window [${formatUtcMs(start)}, ${formatUtcMs(end)}) holds no whole second`,
    );
  }
  const clock = zoneClock(zone);
  return { start_date: formatWall(clock.wallOf(first)), end_date: formatWall(clock.wallOf(last)) };
}

/**
 * Parses an API date-time into wall milliseconds and, when the text carries
 * one, its offset. Returns false when `text` is not a date-time.
 */
interface Parsed {
  wall: number;
  /** Offset in ms when the text has `Z` or `±hh[:mm]`, else NaN. */
  offset: number;
}

function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `yyyy-MM-dd[ T]HH:mm:ss[.fff…][Z|±hh|±hhmm|±hh:mm]`, fields range-checked
 * (24:00:00 is accepted as the next midnight, as luxon does). Writes into
 * `out` and returns true, or returns false.
 */
function parseApiDateTime(text: string, out: Parsed): boolean {
  const n = text.length;
  if (n < 19) return false;
  const y1 = twoDigits(text, 0);
  const y2 = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const sep = text.charCodeAt(10);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (
    y1 < 0 ||
    y2 < 0 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    (sep !== 32 /* space */ && sep !== 84 /* T */) ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return false;
  }
  const year = y1 * 100 + y2;
  if (day > daysInMonth(year, month)) return false;
  let i = 19;
  let millis = 0;
  if (i < n && text.charCodeAt(i) === 46 /* . */) {
    i++;
    const from = i;
    let scale = 100;
    while (i < n) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (scale >= 1) {
        millis += c * scale;
        scale /= 10;
      }
      i++;
    }
    if (i === from) return false;
  }
  if (hour > 23 && !(hour === 24 && minute === 0 && second === 0 && millis === 0)) return false;
  let offset = NaN;
  if (i < n) {
    const c = text.charCodeAt(i);
    if ((c === 90 /* Z */ || c === 122) /* z */ && i + 1 === n) {
      offset = 0;
    } else if (c === 43 /* + */ || c === 45 /* - */) {
      const rest = n - i - 1;
      const oh = twoDigits(text, i + 1);
      let om = 0;
      if (rest === 2) {
        om = 0;
      } else if (rest === 4) {
        om = twoDigits(text, i + 3);
      } else if (rest === 5 && text.charCodeAt(i + 3) === 58) {
        om = twoDigits(text, i + 4);
      } else {
        return false;
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offset = (c === 45 ? -1 : 1) * (oh * HOUR + om * MINUTE);
    } else {
      return false;
    }
  }
  out.wall =
    daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * MINUTE + second * SECOND + millis;
  out.offset = offset;
  return true;
}

/**
 * Makes the converter of API date-time strings in `zone` to UTC ISO strings
 * (`2026-01-31T22:59:59Z`, milliseconds only when not zero; fractional
 * seconds are truncated to milliseconds). Accepts `yyyy-MM-dd HH:mm:ss`, a
 * `T` for the space, fractional seconds, and a trailing `Z` or offset (then
 * honoured rather than the zone). Returns undefined for anything else
 * (including a date alone). Ambiguous local times give the earlier instant,
 * non-existent ones are shifted forward (see the module comment).
 *
 * This is the hot path: no luxon per call. The offset is cached per local
 * hour, computed with luxon on a miss. Throws a RangeError for an invalid
 * zone.
 */
export function createApiTimeConverter(zone: string): (text: string) => string | undefined {
  const convert = createUncachedConverter(zone);
  // Records of one window share few distinct minutes, and converting a local time to UTC never
  // changes its seconds (offsets are whole minutes). So the UTC text of a minute,
  // `yyyy-MM-ddTHH:mm:`, is computed once and the seconds appended: a Map lookup instead of a
  // parse and a format per value. Only for the API's own `yyyy-MM-dd HH:mm:ss`, and only for
  // minutes whose :00 and :59 agree (no offset change inside).
  const minutes = new Map<number, string | null>();
  return (text: string): string | undefined => {
    const key = typeof text === 'string' && text.length === 19 ? minuteKey(text) : -1;
    if (key < 0) return convert(text);
    let prefix = minutes.get(key);
    if (prefix === undefined) {
      const minute = text.slice(0, 16);
      const first = convert(`${minute}:00`);
      const last = convert(`${minute}:59`);
      prefix = first !== undefined && last !== undefined && first.length === 20 && first.slice(0, 17) === last.slice(0, 17) ? first.slice(0, 17) : null;
      // Bounded, so that memory does not grow with the range of a long run (a year holds
      // 525,600 minutes): records arrive window by window, so a small cache keeps its hits.
      if (minutes.size >= MINUTE_CACHE_SIZE) minutes.clear();
      minutes.set(key, prefix);
    }
    return prefix === null ? convert(text) : `${prefix}${text.slice(17)}Z`;
  };
}

/**
 * `yyyy-MM-dd HH:mm:ss` (or with `T`) as the number yyyyMMddHHmm, read from its character codes
 * (no allocation), or -1 when the text does not have that exact shape or its seconds are not
 * 00-59. A key only identifies a minute; whether the minute exists is the converter's business.
 */
function minuteKey(text: string): number {
  const sep = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 32 && sep !== 84) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return -1;
  }
  const tens = text.charCodeAt(17) - 48;
  const units = text.charCodeAt(18) - 48;
  if (tens < 0 || tens > 5 || units < 0 || units > 9) return -1;
  let key = 0;
  for (const i of MINUTE_DIGITS) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    key = key * 10 + d;
  }
  return key;
}

/** Minutes a converter remembers before it starts over (about 1 MB). */
const MINUTE_CACHE_SIZE = 8192;

/** Positions of the digits of yyyy-MM-dd HH:mm. */
const MINUTE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15] as const;

function createUncachedConverter(zone: string): (text: string) => string | undefined {
  const clock = zoneClock(zone);
  const parsed: Parsed = { wall: 0, offset: 0 };
  let lastKey = NaN;
  let lastPiece: Piece = { breakAt: Infinity, before: 0, after: 0 };
  return (text: string): string | undefined => {
    if (typeof text !== 'string' || !parseApiDateTime(text, parsed)) return undefined;
    const wall = parsed.wall;
    let instant: number;
    if (parsed.offset === parsed.offset) {
      instant = wall - parsed.offset;
    } else {
      const key = Math.floor(wall / HOUR);
      if (key !== lastKey) {
        lastPiece = clock.wallHourPiece(key);
        lastKey = key;
      }
      instant = wall - (wall < lastPiece.breakAt ? lastPiece.before : lastPiece.after);
    }
    return formatUtcMs(instant);
  };
}

/**
 * An API date-time string (same syntax and rules as the converter) as a UTC
 * DateTime, or undefined when it is not one. For paths that are not hot.
 */
export function fromApiDateTime(text: string, zone: string): DateTime | undefined {
  const clock = zoneClock(zone);
  const parsed: Parsed = { wall: 0, offset: 0 };
  if (typeof text !== 'string' || !parseApiDateTime(text, parsed)) return undefined;
  const instant = Number.isNaN(parsed.offset)
    ? clock.instantOf(parsed.wall)
    : parsed.wall - parsed.offset;
  const dt = DateTime.fromMillis(instant, { zone: 'utc' });
  return dt.isValid ? dt : undefined;
}
