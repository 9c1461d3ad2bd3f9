import { IANAZone } from 'luxon';

/**
 * The API's zone-less date-times: `yyyy-MM-dd HH:mm:ss` wall-clock strings in the project's
 * zone, like a database DATETIME column. Instants are UTC milliseconds throughout.
 */

/** The luxon format of the API's date-time strings. */
export const API_DATE_TIME_FORMAT = 'yyyy-MM-dd HH:mm:ss';

const SHAPE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const OFFSET_BUCKET_MS = 6 * HOUR_MS;

/** Why a string is not a usable date-time: wrong shape or calendar, or a time the zone skips. */
export type LocalTimeProblem = 'format' | 'gap';

export type ParsedLocalTime =
  | { readonly ok: true; readonly wallMs: number; readonly ms: number }
  | { readonly ok: false; readonly problem: LocalTimeProblem };

export interface ZoneTime {
  /** The IANA zone name. */
  readonly zone: string;
  /** The instant `ms` as the zone's wall clock, `yyyy-MM-dd HH:mm:ss` (milliseconds dropped). */
  readonly format: (ms: number) => string;
  /**
   * Checks a string as the API does: the exact shape, a real calendar date and time, and a
   * wall-clock time that exists in the zone (not inside a spring-forward gap). `wallMs` is the
   * wall-clock time read as if it were UTC; `ms` is one instant it names (in the autumn's
   * repeated hour, one of two).
   */
  readonly parse: (local: string) => ParsedLocalTime;
  /**
   * A half-open UTC range [lo, hi) holding every instant whose wall-clock string lies in
   * [startWallMs, endWallMs] (both inclusive, whole seconds, wall-clock read as UTC).
   */
  instantBounds(startWallMs: number, endWallMs: number): [number, number];
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Formats a wall-clock time held as "UTC" milliseconds. */
export function formatWall(wallMs: number): string {
  const d = new Date(wallMs);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  );
}

/** Parses the shape and calendar only: the wall-clock time as "UTC" milliseconds, or undefined. */
export function parseWall(local: string): number | undefined {
  const m = SHAPE.exec(local);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const wallMs = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls over (Feb 30 -> Mar 2, 24:00 -> next day); a real date formats back unchanged.
  return formatWall(wallMs) === local ? wallMs : undefined;
}

/** Throws a RangeError for a zone luxon does not know. */
export function createZoneTime(zone: string): ZoneTime {
  const iana = IANAZone.create(zone);
  if (!iana.isValid) throw new RangeError(`unknown IANA zone: ${zone}`);
  const exactOffsetMs = (ms: number): number => iana.offset(ms) * MINUTE_MS;
  // luxon asks Intl for every offset, which is slow; cache it per bucket of time whose two
  // ends agree (no zone changes its offset twice within a few hours).
  const buckets = new Map<number, number | null>();
  const offsetMs = (ms: number): number => {
    const bucket = Math.floor(ms / OFFSET_BUCKET_MS);
    let known = buckets.get(bucket);
    if (known === undefined) {
      if (buckets.size >= 100_000) buckets.clear();
      const first = exactOffsetMs(bucket * OFFSET_BUCKET_MS);
      known = first === exactOffsetMs((bucket + 1) * OFFSET_BUCKET_MS - 1) ? first : null;
      buckets.set(bucket, known);
    }
    return known ?? exactOffsetMs(ms);
  };
  const format = (ms: number): string => formatWall(ms + offsetMs(ms));

  /** The offsets in force somewhere within two days of `ms` (enough for any real zone). */
  const offsetsNear = (ms: number): number[] => {
    const found: number[] = [];
    for (let step = -48; step <= 48; step += 6) found.push(offsetMs(ms + step * HOUR_MS));
    return found;
  };

  return {
    zone,
    format,
    parse(local) {
      const wallMs = parseWall(local);
      if (wallMs === undefined) return { ok: false, problem: 'format' };
      for (const offset of new Set(offsetsNear(wallMs))) {
        const ms = wallMs - offset;
        if (format(ms) === local) return { ok: true, wallMs, ms };
      }
      return { ok: false, problem: 'gap' };
    },
    instantBounds(startWallMs, endWallMs) {
      // instant = wall - offset(instant); bound it with the largest and smallest nearby offsets.
      const lo = startWallMs - Math.max(...offsetsNear(startWallMs));
      const hi = endWallMs + 1000 - Math.min(...offsetsNear(endWallMs));
      return [lo, Math.max(lo, hi)];
    },
  };
}
