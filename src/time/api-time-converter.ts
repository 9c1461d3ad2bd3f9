/**
 * The hot path of date-time conversion: the API's zone-less `yyyy-MM-dd HH:mm:ss` strings of every
 * record, in the project's zone, to UTC ISO strings. Hand-written because it pays: parsing and
 * formatting by hand with an offset cached per local hour runs many times faster than luxon doing
 * the same conversion per value (`npm run bench -- --section 8`, BENCHMARKS.md). Zone arithmetic
 * is luxon's (zone.ts), once per local hour on a cache miss; the rules for ambiguous and
 * non-existent local times are zone.ts's.
 */
import type { Zone } from 'luxon';
import { instantOf, zoneNamed } from './zone.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The offset to subtract from a wall time in one local hour to get its instant: `before` for wall
 * times < `breakAt`, `after` from it on (`breakAt` = +Infinity when the hour has one offset).
 */
interface Piece {
  readonly breakAt: number;
  readonly before: number;
  readonly after: number;
}

/** The piece of local hour `key` (floor(wall / HOUR)), computed with luxon. */
function hourPiece(zone: Zone, key: number): Piece {
  const start = key * HOUR;
  const last = start + HOUR - 1;
  const before = start - instantOf(zone, start);
  const after = last - instantOf(zone, last);
  if (before === after) return { breakAt: Infinity, before, after };
  let lo = start;
  let hi = last;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (mid - instantOf(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return { breakAt: hi, before, after };
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
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** "00" .. "99". */
const TWO: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));

/**
 * An instant (epoch ms) as UTC ISO 8601, milliseconds only when not zero. Written out by hand:
 * `Date#toISOString` costs several times more than the whole parse.
 */
export function formatUtcMs(instant: number): string {
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

/** An API date-time read: wall milliseconds and, when the text carries one, its offset. */
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

/** `yyyy-MM-dd[ T]HH:mm:ss` at the start of `text` as wall ms (24:00:00 allowed here), or NaN. */
function parseWall(text: string): number {
  const y1 = twoDigits(text, 0);
  const y2 = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const sep = text.charCodeAt(10);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const shaped =
    y1 >= 0 &&
    y2 >= 0 &&
    text.charCodeAt(4) === 45 /* - */ &&
    text.charCodeAt(7) === 45 &&
    (sep === 32 /* space */ || sep === 84) /* T */ &&
    text.charCodeAt(13) === 58 /* : */ &&
    text.charCodeAt(16) === 58;
  if (!shaped || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 24 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return NaN;
  }
  const year = y1 * 100 + y2;
  if (day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * MINUTE + second * SECOND;
}

/** `±hh`, `±hhmm` or `±hh:mm` from `i` to the end of `text` as ms, or NaN. */
function parseOffset(text: string, i: number): number {
  const c = text.charCodeAt(i);
  const rest = text.length - i - 1;
  const oh = twoDigits(text, i + 1);
  let om = -1;
  if (rest === 2) om = 0;
  else if (rest === 4) om = twoDigits(text, i + 3);
  else if (rest === 5 && text.charCodeAt(i + 3) === 58) om = twoDigits(text, i + 4);
  if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
  return (c === 45 ? -1 : 1) * (oh * HOUR + om * MINUTE);
}

/**
 * `yyyy-MM-dd[ T]HH:mm:ss[.fff…][Z|±hh|±hhmm|±hh:mm]`, fields range-checked (24:00:00 is accepted
 * as the next midnight, as luxon does). Writes into `out` and returns true, or returns false.
 */
function parseApiDateTime(text: string, out: Parsed): boolean {
  const n = text.length;
  if (n < 19) return false;
  const wall = parseWall(text);
  if (wall !== wall) return false;
  let i = 19;
  let millis = 0;
  if (i < n && text.charCodeAt(i) === 46 /* . */) {
    const from = ++i;
    for (let scale = 100; i < n; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (scale >= 1) {
        millis += c * scale; // digits past the third are read, not kept: truncated to ms
        scale /= 10;
      }
    }
    if (i === from) return false;
  }
  if (text.charCodeAt(11) === 50 && text.charCodeAt(12) === 52 && (wall % HOUR !== 0 || millis !== 0)) return false; // 24:00:00 only
  let offset = NaN;
  if (i < n) {
    const c = text.charCodeAt(i);
    if ((c === 90 /* Z */ || c === 122) /* z */ && i + 1 === n) offset = 0;
    else if (c === 43 /* + */ || c === 45 /* - */) offset = parseOffset(text, i);
    if (offset !== offset) return false;
  }
  out.wall = wall + millis;
  out.offset = offset;
  return true;
}

/** Local hours whose offsets a converter remembers before it starts over. */
const HOUR_CACHE_SIZE = 4096;

/** The converter without the minute cache: parse, one offset per local hour, format. */
function createUncachedConverter(zoneName: string): (text: string) => string | undefined {
  const zone = zoneNamed(zoneName);
  const pieces = new Map<number, Piece>();
  const parsed: Parsed = { wall: 0, offset: 0 };
  let lastKey = NaN;
  let lastPiece: Piece = { breakAt: Infinity, before: 0, after: 0 };
  return (text: string): string | undefined => {
    if (typeof text !== 'string' || !parseApiDateTime(text, parsed)) return undefined;
    const wall = parsed.wall;
    if (parsed.offset === parsed.offset) return formatUtcMs(wall - parsed.offset);
    const key = Math.floor(wall / HOUR);
    if (key !== lastKey) {
      let piece = pieces.get(key);
      if (piece === undefined) {
        piece = hourPiece(zone, key);
        if (pieces.size >= HOUR_CACHE_SIZE) pieces.clear();
        pieces.set(key, piece);
      }
      lastPiece = piece;
      lastKey = key;
    }
    return formatUtcMs(wall - (wall < lastPiece.breakAt ? lastPiece.before : lastPiece.after));
  };
}

/** Minutes a converter remembers before it starts over (about 1 MB). */
const MINUTE_CACHE_SIZE = 8192;

/** Positions of the digits of yyyy-MM-dd HH:mm. */
const MINUTE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15] as const;

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

/**
 * Makes the converter of API date-time strings in `zone` to UTC ISO strings
 * (`2026-01-31T22:59:59Z`, milliseconds only when not zero; fractional seconds are truncated to
 * milliseconds). Accepts `yyyy-MM-dd HH:mm:ss`, a `T` for the space, fractional seconds, and a
 * trailing `Z` or offset (then honoured rather than the zone). Returns undefined for anything else
 * (including a date alone). Ambiguous local times give the earlier instant, non-existent ones are
 * shifted forward (zone.ts). Throws a RangeError for an invalid zone.
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
