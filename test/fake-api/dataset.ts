import { DateTime } from 'luxon';
import { applyDrift, type DriftStream } from './drift.js';
import { hash32, pick } from './hash.js';
import { createZoneTime, type ParsedLocalTime } from './local-time.js';

/**
 * The fake API's data: sessions, their visits and their conversions, generated from the session
 * number alone, so any range can be asked for in any order with the same answer every time.
 * All instants are UTC milliseconds; strings are the project zone's wall clock.
 *
 * Generation rules (h(x, s) is `hash32(x, s)` from hash.ts; I is the interval in seconds):
 * - session k (integer k >= 1) exists while its instant is before `until`; it has id k and is
 *   created at epoch + k*I + jitter seconds, jitter = h(k, 1) % floor(I / 2) (0 when `jitter`
 *   is false or floor(I / 2) is 0). Instants therefore strictly increase with k.
 * - session fields: browser, device, platform_os, country = pick(list, k, 5 | 6 | 7 | 8),
 *   time_spend = h(k, 9) % 3600, updated_at = created + time_spend s, ip_address =
 *   `203.0.113.${1 + h(k, 10) % 254}` (only with include_ip_addresses), utm_source =
 *   pick(UTM_SOURCES, k, 11) (only with `extraFields`).
 * - visits: n = h(k, 2) % (visitsPerSession + 1); ids k*100 + j (j = 1..n); offsets
 *   h(k*100 + j, 20) % 72000 s after the session, sorted ascending and given to j = 1..n in
 *   that order (so ids and instants rise together within a session). Fields from the visit id v:
 *   page = pick(PAGES, v, 21) (url, title), referrer null when h(v, 22) % 3 == 0 else
 *   REFERRERS[h(v, 22) % 4], time_spend = h(v, 23) % 600, updated_at = created + time_spend s,
 *   device_pixel_ratio = pick([1, 1.5, 2, 3], v, 24) with `extraFields`.
 * - conversions: only when h(k, 3) % conversionEvery == 0; count 1 + h(k, 4) % 2; ids k*10 + j;
 *   offsets h(k*10 + j, 30) % 72000 s, sorted as for visits. Fields from the conversion id c:
 *   type = pick(['click', 'url'], c, 31), name = pick(CONVERSION_NAMES, c, 32),
 *   value = (h(c, 33) % 100000) / 100, url = pick(CONVERSION_PATHS, c, 34),
 *   updated_at = created_at, goal_id = 1 + h(c, 35) % 20 with `extraFields`.
 * - with `driftSeed`, the undocumented fields then drift and new fields appear (drift.ts).
 *
 * Late and changing data (both off by default; the items above are then the only truth):
 * - with `visibilityDelaySeconds` D > 0, an object is served only from created + d on, d =
 *   h(id, 12 | 25 | 36) % (D + 1) seconds for a session | visit | conversion;
 * - with `openSessions`, a session or visit is open until created + time_spend: served at an
 *   instant t before that, its time_spend is floor((t - created) / 1 s) and its updated_at is
 *   created + that time_spend. From then on it is the item above, its final form.
 * What the server serves at t is `liveItem(kind, entry, t)`; the frozen items are the final truth.
 */

export interface DatasetOptions {
  /** The project's IANA zone; the API writes and reads wall-clock strings in it. Default 'UTC'. */
  readonly zone?: string;
  /** One session per slot of this many seconds (a positive integer). Default 7200. */
  readonly sessionIntervalSeconds?: number;
  /** The UTC ISO instant slots count from (whole seconds). Default '2020-01-01T00:00:00Z'. */
  readonly epoch?: string;
  /** Sessions are created at or after no instant from here on (ISO). Default: none (year 9999). */
  readonly until?: string;
  /** Most visits a session has (0..99). Default 4. */
  readonly visitsPerSession?: number;
  /** Roughly one session in this many has conversions (>= 1). Default 3. */
  readonly conversionEvery?: number;
  /** Add one field no schema names to every object. Default false. */
  readonly extraFields?: boolean;
  /** get-visits lists bare visit ids instead of objects. Default false. */
  readonly bareVisitIds?: boolean;
  /**
   * Put a NUL character (U+0000) into some strings, as a real database column may hold one:
   * after the first character of the session's `browser`, the visit's `title` and the
   * conversion's `name`, in every object whose id is a multiple of 3. Default false.
   */
  readonly nulInStrings?: boolean;
  /** Shift each session by its hash jitter inside its slot. Default true. */
  readonly jitter?: boolean;
  /**
   * Field drift (drift.ts): with a seed other than 0, every undocumented field of every item
   * takes a value of a kind (every JSON type) chosen by the seed and the item's id. Default 0 (off).
   */
  readonly driftSeed?: number;
  /** With driftSeed: items created at or after this ISO instant carry new fields (drift.ts NEW_FIELDS). Default: never. */
  readonly newFieldsFrom?: string;
  /** Objects become visible up to this many seconds after their created_at (seeded per id). Default 0. */
  readonly visibilityDelaySeconds?: number;
  /** Sessions and visits change (time_spend, updated_at) until they close. Default false. */
  readonly openSessions?: boolean;
}

export type ItemKind = 'sessions' | 'visits' | 'conversions';

export type ResolvedDatasetOptions = { readonly [K in keyof DatasetOptions]-?: NonNullable<DatasetOptions[K]> };

export interface SessionItem {
  readonly id: number;
  readonly created_at: string;
  readonly browser: string;
  readonly device: string;
  readonly platform_os: string;
  readonly country: string;
  readonly time_spend: number;
  readonly ip_address?: string;
  readonly updated_at: string;
  readonly utm_source?: string;
}

export interface VisitItem {
  readonly id: number;
  readonly session_id: number;
  readonly created_at: string;
  readonly url: string;
  readonly title: string;
  readonly referrer: string | null;
  readonly time_spend: number;
  readonly updated_at: string;
  readonly device_pixel_ratio?: number;
}

export interface ConversionItem {
  readonly id: number;
  readonly session_id: number;
  readonly created_at: string;
  readonly type: string;
  readonly name: string;
  readonly value: number;
  readonly url: string;
  readonly updated_at: string;
  readonly goal_id?: number;
}

/** One generated object: `item` is exactly what the API sends (frozen), with its instant. */
export interface SessionEntry {
  readonly item: SessionItem;
  readonly id: number;
  readonly createdAtMs: number;
}
export interface VisitEntry {
  readonly item: VisitItem;
  readonly id: number;
  readonly sessionId: number;
  readonly createdAtMs: number;
}
export interface ConversionEntry {
  readonly item: ConversionItem;
  readonly id: number;
  readonly sessionId: number;
  readonly createdAtMs: number;
}

export interface SessionQueryOptions {
  /** As the API's include_ip_addresses: add `ip_address` to each session. Default false. */
  readonly includeIpAddresses?: boolean;
}

export interface Dataset {
  readonly options: ResolvedDatasetOptions;
  readonly zone: string;
  readonly epochMs: number;
  readonly intervalMs: number;
  /** The instant as the project zone's `yyyy-MM-dd HH:mm:ss`. */
  toLocal(ms: number): string;
  /** An API date-time string checked as the API checks it (shape, calendar, not in a DST gap). */
  parseLocal(local: string): ParsedLocalTime;
  /** True when session `id` exists (an integer >= 1 created before `until`). */
  hasSession(id: number): boolean;
  session(id: number, options?: SessionQueryOptions): SessionEntry | undefined;
  /** Visits of session `id`, in id (and time) order; [] for a session that does not exist. */
  visitsOf(id: number): readonly VisitEntry[];
  conversionsOf(id: number): readonly ConversionEntry[];
  /** Sessions created in [startMs, endMsExclusive), in id (= time) order. */
  sessionsCreatedIn(startMs: number, endMsExclusive: number, options?: SessionQueryOptions): SessionEntry[];
  /** Visits (of any session) created in [startMs, endMsExclusive), by time then id. */
  visitsCreatedIn(startMs: number, endMsExclusive: number): VisitEntry[];
  /** Conversions created in [startMs, endMsExclusive), by time then id, optionally of these types only. */
  conversionsCreatedIn(startMs: number, endMsExclusive: number, types?: readonly string[]): ConversionEntry[];
  /**
   * What list-sessions matches: sessions whose `created_at` string lies in [startLocal, endLocal]
   * compared as strings (both inclusive), in id order. Throws a RangeError for a string the API
   * would reject.
   */
  sessionsInLocalRange(startLocal: string, endLocal: string, options?: SessionQueryOptions): SessionEntry[];
  /** True when visibilityDelaySeconds or openSessions make what is served depend on the clock. */
  readonly live: boolean;
  /** When the object can first be seen (epoch ms). */
  visibleFromMs(kind: ItemKind, entry: { readonly id: number; readonly createdAtMs: number }): number;
  /** The object as the API serves it at `nowMs`: undefined before it is visible, else its form then. */
  liveItem<I extends SessionItem | VisitItem | ConversionItem>(kind: ItemKind, entry: { readonly item: I; readonly id: number; readonly createdAtMs: number }, nowMs: number): I | undefined;
}

const VISIBILITY_SALT: Readonly<Record<ItemKind, number>> = { sessions: 12, visits: 25, conversions: 36 };

/** Visits and conversions fall within this many seconds after their session began (20 hours). */
export const CHILD_SPREAD_SECONDS = 72_000;

export const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'] as const;
export const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
export const PLATFORMS = ['Windows', 'macOS', 'Linux', 'Android', 'iOS'] as const;
export const COUNTRIES = ['NL', 'BE', 'DE', 'FR'] as const;
export const UTM_SOURCES = ['google', 'newsletter', 'linkedin', 'direct'] as const;
export const PAGES = [
  { path: '/', title: 'Home' },
  { path: '/pricing', title: 'Pricing' },
  { path: '/blog', title: 'Blog' },
  { path: '/contact', title: 'Contact' },
  { path: '/about', title: 'About us' },
  { path: '/products/analytics', title: 'Analytics' },
] as const;
export const REFERRERS = ['https://www.google.com/', 'https://www.bing.com/', 'https://duckduckgo.com/', 'https://www.linkedin.com/'] as const;
export const CONVERSION_TYPES = ['click', 'url'] as const;
export const CONVERSION_NAMES = ['Newsletter signup', 'Contact form', 'Demo request', 'Purchase'] as const;
export const CONVERSION_PATHS = ['/thank-you', '/contact', '/checkout/done', '/demo'] as const;
export const PIXEL_RATIOS = [1, 1.5, 2, 3] as const;
export const SITE = 'https://www.example.com';

const DEFAULTS: ResolvedDatasetOptions = {
  zone: 'UTC',
  sessionIntervalSeconds: 7200,
  epoch: '2020-01-01T00:00:00Z',
  until: '9999-12-31T00:00:00Z',
  visitsPerSession: 4,
  conversionEvery: 3,
  extraFields: false,
  bareVisitIds: false,
  nulInStrings: false,
  jitter: true,
  driftSeed: 0,
  newFieldsFrom: '9999-12-31T00:00:00Z',
  visibilityDelaySeconds: 0,
  openSessions: false,
};

/** Ranges wider than this many slots are refused rather than generated. */
const MAX_SLOTS_PER_QUERY = 20_000_000;
/** The session cache is dropped when it holds this many sessions. */
const CACHE_LIMIT = 250_000;

function instantMs(iso: string, name: string): number {
  const dt = DateTime.fromISO(iso, { zone: 'utc' });
  if (!dt.isValid) throw new RangeError(`${name} is not an ISO instant: ${iso}`);
  return dt.toMillis();
}

function positiveInteger(value: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

/** Offsets (seconds) of `count` children of a parent, sorted ascending. */
function childOffsets(count: number, salt: number, idOf: (j: number) => number): number[] {
  const offsets: number[] = [];
  for (let j = 1; j <= count; j += 1) offsets.push(hash32(idOf(j), salt) % CHILD_SPREAD_SECONDS);
  return offsets.sort((a, b) => a - b);
}

interface SessionRecord {
  readonly entry: SessionEntry;
  withIp?: SessionEntry;
  visits?: readonly VisitEntry[];
  conversions?: readonly ConversionEntry[];
}

/** Throws a RangeError for an option out of range (unknown zone, interval < 1 s, ...). */
export function createDataset(options: DatasetOptions = {}): Dataset {
  const opts: ResolvedDatasetOptions = { ...DEFAULTS, ...stripUndefined(options) };
  const time = createZoneTime(opts.zone);
  const intervalSeconds = positiveInteger(opts.sessionIntervalSeconds, 'sessionIntervalSeconds', 1);
  positiveInteger(opts.visitsPerSession, 'visitsPerSession', 0, 99);
  positiveInteger(opts.conversionEvery, 'conversionEvery', 1);
  const intervalMs = intervalSeconds * 1000;
  positiveInteger(opts.visibilityDelaySeconds, 'visibilityDelaySeconds', 0);
  const epochMs = instantMs(opts.epoch, 'epoch');
  if (epochMs % 1000 !== 0) throw new RangeError('epoch must be a whole second');
  const untilMs = instantMs(opts.until, 'until');
  const newFieldsFromMs = instantMs(opts.newFieldsFrom, 'newFieldsFrom');
  const drift = (item: Record<string, unknown>, stream: DriftStream, id: number, createdAtMs: number): void => {
    if (opts.driftSeed !== 0) applyDrift(item, stream, id, opts.driftSeed, createdAtMs >= newFieldsFromMs);
  };
  const jitterSlots = opts.jitter ? Math.floor(intervalSeconds / 2) : 0;
  const cache = new Map<number, SessionRecord>();
  /** `text` with a NUL after its first character, for every third id, with `nulInStrings`. */
  const withNul = (text: string, id: number): string =>
    opts.nulInStrings && id % 3 === 0 ? `${text.slice(0, 1)}\u0000${text.slice(1)}` : text;

  const startOf = (k: number): number => epochMs + k * intervalMs + (jitterSlots > 0 ? (hash32(k, 1) % jitterSlots) * 1000 : 0);
  const hasSession = (k: number): boolean => Number.isSafeInteger(k) && k >= 1 && startOf(k) < untilMs;

  const record = (k: number): SessionRecord | undefined => {
    if (!hasSession(k)) return undefined;
    let found = cache.get(k);
    if (found === undefined) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      found = { entry: buildSession(k) };
      cache.set(k, found);
    }
    return found;
  };

  function buildSession(k: number, withIp = false): SessionEntry {
    const createdAtMs = startOf(k);
    const timeSpend = hash32(k, 9) % 3600;
    const item: Record<string, unknown> = {
      id: k,
      created_at: time.format(createdAtMs),
      browser: withNul(pick(BROWSERS, k, 5), k),
      device: pick(DEVICES, k, 6),
      platform_os: pick(PLATFORMS, k, 7),
      country: pick(COUNTRIES, k, 8),
      time_spend: timeSpend,
    };
    if (withIp) item.ip_address = `203.0.113.${1 + (hash32(k, 10) % 254)}`;
    item.updated_at = time.format(createdAtMs + timeSpend * 1000);
    if (opts.extraFields) item.utm_source = pick(UTM_SOURCES, k, 11);
    drift(item, 'sessions', k, createdAtMs);
    return Object.freeze({ item: Object.freeze(item) as unknown as SessionItem, id: k, createdAtMs });
  }

  function buildVisits(k: number): VisitEntry[] {
    const sessionMs = startOf(k);
    const count = hash32(k, 2) % (opts.visitsPerSession + 1);
    return childOffsets(count, 20, (j) => k * 100 + j).map((offset, index) => {
      const id = k * 100 + index + 1;
      const createdAtMs = sessionMs + offset * 1000;
      const page = pick(PAGES, id, 21);
      const refHash = hash32(id, 22);
      const timeSpend = hash32(id, 23) % 600;
      const item: Record<string, unknown> = {
        id,
        session_id: k,
        created_at: time.format(createdAtMs),
        url: `${SITE}${page.path}`,
        title: withNul(page.title, id),
        referrer: refHash % 3 === 0 ? null : (REFERRERS[refHash % REFERRERS.length] ?? null),
        time_spend: timeSpend,
        updated_at: time.format(createdAtMs + timeSpend * 1000),
      };
      if (opts.extraFields) item.device_pixel_ratio = pick(PIXEL_RATIOS, id, 24);
      drift(item, 'visits', id, createdAtMs);
      return Object.freeze({ item: Object.freeze(item) as unknown as VisitItem, id, sessionId: k, createdAtMs });
    });
  }

  function buildConversions(k: number): ConversionEntry[] {
    if (hash32(k, 3) % opts.conversionEvery !== 0) return [];
    const sessionMs = startOf(k);
    const count = 1 + (hash32(k, 4) % 2);
    return childOffsets(count, 30, (j) => k * 10 + j).map((offset, index) => {
      const id = k * 10 + index + 1;
      const createdAtMs = sessionMs + offset * 1000;
      const createdAt = time.format(createdAtMs);
      const item: Record<string, unknown> = {
        id,
        session_id: k,
        created_at: createdAt,
        type: pick(CONVERSION_TYPES, id, 31),
        name: withNul(pick(CONVERSION_NAMES, id, 32), id),
        value: (hash32(id, 33) % 100_000) / 100,
        url: `${SITE}${pick(CONVERSION_PATHS, id, 34)}`,
        updated_at: createdAt,
      };
      if (opts.extraFields) item.goal_id = 1 + (hash32(id, 35) % 20);
      drift(item, 'conversions', id, createdAtMs);
      return Object.freeze({ item: Object.freeze(item) as unknown as ConversionItem, id, sessionId: k, createdAtMs });
    });
  }

  const session = (k: number, query?: SessionQueryOptions): SessionEntry | undefined => {
    const found = record(k);
    if (found === undefined) return undefined;
    if (query?.includeIpAddresses !== true) return found.entry;
    found.withIp ??= buildSession(k, true);
    return found.withIp;
  };

  const sessionsCreatedIn = (startMs: number, endMs: number, query?: SessionQueryOptions): SessionEntry[] => {
    if (!(endMs > startMs)) return [];
    // startOf(k) lies in [epoch + k*I, epoch + (k+1)*I), so only these k can fall in the range.
    const first = Math.max(1, Math.floor((startMs - epochMs) / intervalMs));
    const last = Math.min(Math.ceil((endMs - epochMs) / intervalMs) - 1, Math.ceil((untilMs - epochMs) / intervalMs));
    if (last - first > MAX_SLOTS_PER_QUERY) throw new RangeError(`range too wide for the fake dataset: ${last - first} slots`);
    const out: SessionEntry[] = [];
    for (let k = first; k <= last; k += 1) {
      const createdAtMs = startOf(k);
      if (createdAtMs < startMs || createdAtMs >= endMs || createdAtMs >= untilMs) continue;
      const entry = session(k, query);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  };

  const byTimeThenId = (a: { createdAtMs: number; id: number }, b: { createdAtMs: number; id: number }): number =>
    a.createdAtMs - b.createdAtMs || a.id - b.id;

  const visitsOf = (k: number): readonly VisitEntry[] => {
    const found = record(k);
    if (found === undefined) return [];
    found.visits ??= Object.freeze(buildVisits(k));
    return found.visits;
  };

  const conversionsOf = (k: number): readonly ConversionEntry[] => {
    const found = record(k);
    if (found === undefined) return [];
    found.conversions ??= Object.freeze(buildConversions(k));
    return found.conversions;
  };

  const childrenCreatedIn = <E extends { createdAtMs: number; id: number }>(
    startMs: number,
    endMs: number,
    of: (k: number) => readonly E[],
  ): E[] => {
    const out: E[] = [];
    for (const parent of sessionsCreatedIn(startMs - CHILD_SPREAD_SECONDS * 1000 + 1, endMs)) {
      for (const child of of(parent.id)) if (child.createdAtMs >= startMs && child.createdAtMs < endMs) out.push(child);
    }
    return out.sort(byTimeThenId);
  };

  const parseOrThrow = (local: string, name: string): { wallMs: number } => {
    const parsed = time.parse(local);
    if (!parsed.ok) throw new RangeError(`${name} is not a valid API date-time in ${opts.zone} (${parsed.problem}): ${local}`);
    return parsed;
  };

  const visibleFromMs = (kind: ItemKind, entry: { readonly id: number; readonly createdAtMs: number }): number =>
    entry.createdAtMs + (opts.visibilityDelaySeconds === 0 ? 0 : (hash32(entry.id, VISIBILITY_SALT[kind]) % (opts.visibilityDelaySeconds + 1)) * 1000);

  return {
    options: opts,
    live: opts.visibilityDelaySeconds > 0 || opts.openSessions,
    visibleFromMs,
    liveItem(kind, entry, nowMs) {
      // Nothing is served before it happened, nor before its visibility delay has passed.
      if (nowMs < visibleFromMs(kind, entry)) return undefined;
      if (!opts.openSessions || kind === 'conversions') return entry.item;
      const item = entry.item as SessionItem | VisitItem;
      const spent = Math.floor((nowMs - entry.createdAtMs) / 1000);
      if (spent >= item.time_spend) return entry.item;
      return { ...item, time_spend: spent, updated_at: time.format(entry.createdAtMs + spent * 1000) } as typeof entry.item;
    },
    zone: opts.zone,
    epochMs,
    intervalMs,
    toLocal: time.format,
    parseLocal: time.parse,
    hasSession,
    session,
    visitsOf,
    conversionsOf,
    sessionsCreatedIn,
    visitsCreatedIn: (startMs, endMs) => childrenCreatedIn(startMs, endMs, visitsOf),
    conversionsCreatedIn: (startMs, endMs, types) => {
      const all = childrenCreatedIn(startMs, endMs, conversionsOf);
      return types === undefined ? all : all.filter((c) => types.includes(c.item.type));
    },
    sessionsInLocalRange(startLocal, endLocal, query) {
      const start = parseOrThrow(startLocal, 'start');
      const end = parseOrThrow(endLocal, 'end');
      if (endLocal < startLocal) return [];
      const [lo, hi] = time.instantBounds(start.wallMs, end.wallMs);
      return sessionsCreatedIn(lo, hi, query).filter((s) => s.item.created_at >= startLocal && s.item.created_at <= endLocal);
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
