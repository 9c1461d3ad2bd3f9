/**
 * ISO 8601 input from the user (settings) and from state (bookmarks).
 */
import { DateTime, Duration } from 'luxon';
import { instantOf, isValidZone, zoneNamed } from './zone.js';

export { isValidZone };

/** The base on which durations with mixed signs are judged. */
const BASE = DateTime.utc(2000);

/**
 * Parses an ISO 8601 instant: a date (`2026-01-01`, midnight in `zone`) or a
 * date-time (`2026-01-01T10:00:00`, seconds and fractional seconds optional,
 * a space allowed instead of `T`), with or without `Z` or an offset. Without
 * one it is read in `zone`, by the same rules as the API's strings (an
 * ambiguous local time gives the earlier instant; a non-existent one is
 * shifted forward). Returns the instant in UTC, or undefined when `text` is
 * not such a string (a time alone is refused: it would depend on today).
 * Throws a RangeError when `zone` is not valid.
 */
export function parseInstant(text: string, zone: string): DateTime | undefined {
  const z = zoneNamed(zone);
  if (typeof text !== 'string') return undefined;
  let s = text.trim();
  if (!/^\d{4}/.test(s)) return undefined;
  s = s.replace(/^(\d{4}-\d{2}-\d{2}) +(?=\d)/, '$1T');
  const asUtc = DateTime.fromISO(s, { zone: 'utc' });
  if (!asUtc.isValid) return undefined;
  // Read the same text in another zone: the instant only moves when the
  // text carries no offset of its own.
  const asOther = DateTime.fromISO(s, { zone: 'UTC+1' });
  if (asOther.isValid && asOther.toMillis() === asUtc.toMillis()) return asUtc;
  const dt = DateTime.fromMillis(instantOf(z, asUtc.toMillis()), { zone: 'utc' });
  return dt.isValid ? dt : undefined;
}

/**
 * Parses an ISO 8601 duration (`P1D`, `PT6H`, `P1M`, `P1W`, `PT0S`,
 * `P1DT12H`, ...). Returns undefined when unparseable; whether it is positive
 * is for the caller (see `isPositive`, `isZero`).
 */
export function parseDuration(text: string): Duration | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  // luxon takes a bare `P` or `PT` for an empty duration; ISO 8601 does not.
  if (!/\d/.test(trimmed)) return undefined;
  const d = Duration.fromISO(trimmed);
  return d.isValid ? d : undefined;
}

function signs(d: Duration): { positive: boolean; negative: boolean } {
  let positive = false;
  let negative = false;
  for (const v of Object.values(d.toObject())) {
    if (typeof v !== 'number') continue;
    if (v > 0) positive = true;
    else if (v < 0) negative = true;
  }
  return { positive, negative };
}

/**
 * Whether adding `d` moves time forward. Calendar units count (`P1M` is
 * positive). A duration whose units have mixed signs (`P1M-3D`) is judged
 * by adding it to 2000-01-01T00:00Z.
 */
export function isPositive(d: Duration): boolean {
  if (!d.isValid) return false;
  const { positive, negative } = signs(d);
  if (!negative) return positive;
  if (!positive) return false;
  return BASE.plus(d).toMillis() > BASE.toMillis();
}

/** Whether `d` is zero (`PT0S`, `P0D`), calendar units included; mixed signs as in `isPositive`. */
export function isZero(d: Duration): boolean {
  if (!d.isValid) return false;
  const { positive, negative } = signs(d);
  if (!positive && !negative) return true;
  if (!positive || !negative) return false;
  return BASE.plus(d).toMillis() === BASE.toMillis();
}

/**
 * An instant as a bookmark string: UTC ISO 8601, milliseconds only when not
 * zero (`2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.250Z`). Throws a
 * RangeError for an invalid DateTime.
 */
export function formatInstant(dt: DateTime): string {
  const iso = dt.toUTC().toISO({ suppressMilliseconds: true });
  if (iso === null) throw new RangeError(`invalid instant: ${dt.invalidExplanation ?? dt.invalidReason ?? ''}`);
  return iso;
}
