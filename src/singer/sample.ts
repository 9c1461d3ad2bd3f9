/**
 * `--discover`: the shipped catalog, and, opt-in with `discover_sample`, the fields a sample of
 * the API adds to it.
 *
 * Without `discover_sample: true` discovery is offline: it prints catalog.json and sends no
 * request (Meltano runs discovery before every sync). With it, the config is read and validated,
 * and a small recent window of each stream is read: the last day before the run's end (`end_date`
 * or now), one list-sessions page, then one get-visits and one get-conversions request for the
 * sampled sessions (or the first batch of `session_ids`). Every top-level field the sample holds
 * and the shipped schema lacks is added to the stream's schema, nullable, typed from the values
 * seen, with `inclusion: available` metadata, so that Meltano can select it and the sync emits it.
 * When anything goes wrong (no usable config, a refused token, a network error) the shipped
 * catalog is printed anyway, with a warning: discovery itself never fails on the network.
 */
import type { DateTime } from 'luxon';
import type { WemasyApi } from '../api/wemasy.js';
import { loadRawConfig } from '../config/load.js';
import type { Settings } from '../config/settings-types.js';
import { TapError, describeError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { shippedSchema, type StreamName } from '../streams/definitions.js';
import type { TapIo } from '../io.js';
import { discoverCatalog, type Catalog, type CatalogEntry, type MetadataEntry } from './catalog.js';

/** Largest list-sessions page asked for while sampling. */
const SAMPLE_PAGE_SIZE = 100;
/** Sampling gives up fast: a discovery is not the place for minutes of retries. */
const SAMPLE_MAX_RETRIES = 2;
const SAMPLE_MAX_DELAY_MS = 5_000;
const SAMPLE_TIMEOUT_MS = 30_000;
/** The bounds an inferred integer gets: exact in JSON, and `bigint` in a warehouse. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** The API's zone-less date-time, e.g. `2026-01-31 23:59:59`. */
const API_DATE_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

/** What `--discover` prints: the shipped catalog, or the sampled one when `discover_sample` is on. */
export async function discover(configSources: readonly string[], io: TapIo, log: Logger): Promise<Catalog> {
  const shipped = discoverCatalog();
  if (configSources.length === 0) return shipped;
  let raw: JsonObject;
  try {
    raw = await loadRawConfig(configSources, io.env, log);
  } catch (error) {
    if (!(error instanceof TapError)) throw error;
    log.warn(`--discover: ${describeError(error)}; printing the shipped catalog`);
    return shipped;
  }
  if (typeof raw.api_token === 'string') log.addSecret(raw.api_token);
  const wanted = raw.discover_sample;
  if (wanted === undefined || wanted === null || wanted === false) return shipped;
  if (wanted !== true) {
    log.warn('--discover: discover_sample must be true or false; printing the shipped catalog');
    return shipped;
  }
  try {
    const now = io.clock.now();
    const { parseSettings } = await import('../config/settings.js');
    const settings = parseSettings(raw, { now, log });
    log.addSecret(settings.apiToken);
    const { connect } = await import('../commands.js');
    const { api } = connect(samplingSettings(settings), io, log);
    return await sampleCatalog(shipped, api, settings, now, log);
  } catch (error) {
    if (io.signal?.aborted) throw error;
    log.warn(`discover_sample: sampling failed, printing the shipped catalog: ${describeError(error)}`);
    return shipped;
  }
}

/** The settings with retries, waits and the page size cut down to what a discovery can afford. */
function samplingSettings(settings: Settings): Settings {
  return {
    ...settings,
    sessionsPageSize: Math.min(settings.sessionsPageSize, SAMPLE_PAGE_SIZE),
    http: {
      ...settings.http,
      maxRetries: Math.min(settings.http.maxRetries, SAMPLE_MAX_RETRIES),
      retryMaxDelayMs: Math.min(settings.http.retryMaxDelayMs, SAMPLE_MAX_DELAY_MS),
      retryBaseDelayMs: Math.min(settings.http.retryBaseDelayMs, SAMPLE_MAX_DELAY_MS),
      timeoutMs: Math.min(settings.http.timeoutMs, SAMPLE_TIMEOUT_MS),
    },
  };
}

/** The API items of one sample: a page of sessions, and the visits and conversions of those sessions. */
export type StreamSamples = Readonly<Record<StreamName, readonly JsonValue[]>>;

/** Reads the sample: at most three requests. */
export async function readSample(api: WemasyApi, settings: Settings, now: DateTime, log: Logger): Promise<StreamSamples> {
  const { safeEdgeAtOrBefore } = await import('../time/windows.js');
  const { toApiRange } = await import('../time/api-time.js');
  const zone = settings.timezone;
  const last = now.startOf('second');
  const until = settings.endDate !== undefined && settings.endDate < last ? settings.endDate : last;
  const end = safeEdgeAtOrBefore(until, zone);
  const start = safeEdgeAtOrBefore(end.minus({ days: 1 }), zone);
  const range = toApiRange({ start, end }, zone);

  const pages = api.listSessions(range)[Symbol.asyncIterator]();
  const first = await pages.next();
  await pages.return?.(undefined);
  const sessions: readonly JsonValue[] = first.done === true ? [] : first.value;
  const sampledIds = sessions.flatMap((item) => {
    const id = isJsonObject(item) ? item.id : item;
    return typeof id === 'number' || typeof id === 'string' ? [id] : [];
  });
  const ids = (settings.sessionIds ?? sampledIds).slice(0, settings.sessionBatchSize);
  if (ids.length === 0) {
    log.info(`discover_sample: no sessions in ${range.start_date} .. ${range.end_date}; visits and conversions not sampled`);
    return { sessions, visits: [], conversions: [] };
  }
  const visits = await api.getVisits(range, ids);
  const conversions = await api.getConversions(range, ids);
  log.info(`discover_sample: sampled ${range.start_date} .. ${range.end_date}`, {
    sessions: sessions.length,
    visits: visits.length,
    conversions: conversions.length,
  });
  return { sessions, visits, conversions };
}

/** Samples the API and returns `catalog` with the fields it found added. */
export async function sampleCatalog(catalog: Catalog, api: WemasyApi, settings: Settings, now: DateTime, log: Logger): Promise<Catalog> {
  const samples = await readSample(api, settings, now, log);
  const extended = extendCatalog(catalog, samples);
  for (const entry of extended.streams) {
    const shipped = Object.keys(shippedSchema(entry.stream).properties as JsonObject);
    const added = Object.keys(entry.schema.properties as JsonObject).filter((f) => !shipped.includes(f));
    if (added.length > 0) log.info(`discover_sample: ${entry.stream}: added ${added.join(', ')}`);
  }
  return extended;
}

/** `catalog` with every field of `samples` its schemas lack added (pure). */
export function extendCatalog(catalog: Catalog, samples: StreamSamples): Catalog {
  return {
    streams: catalog.streams.map((entry): CatalogEntry => {
      const items = samples[entry.stream] ?? [];
      const properties = isJsonObject(entry.schema.properties) ? entry.schema.properties : {};
      const found = new Map<string, JsonValue[]>();
      for (const item of items) {
        if (!isJsonObject(item)) continue;
        for (const [field, value] of Object.entries(item)) {
          if (Object.hasOwn(properties, field)) continue;
          const values = found.get(field) ?? [];
          values.push(value);
          found.set(field, values);
        }
      }
      if (found.size === 0) return entry;
      const added: JsonObject = {};
      const metadata: MetadataEntry[] = [...entry.metadata];
      for (const [field, values] of found) {
        added[field] = { ...inferSchema(field, values), description: 'Not in the shipped schema: found by discover_sample, typed from the values sampled.' };
        metadata.push({ breadcrumb: ['properties', field], metadata: { inclusion: 'available', 'selected-by-default': true } });
      }
      return { ...entry, schema: { ...entry.schema, properties: { ...properties, ...added } }, metadata };
    }),
  };
}

type JsonKind = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';

const ORDER: readonly JsonKind[] = ['string', 'integer', 'number', 'boolean', 'object', 'array'];

function kindOf(value: JsonValue): JsonKind | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as 'string' | 'boolean' | 'object';
}

/**
 * A nullable JSON Schema for the values of one field, with an explicit `type` (what
 * pipelinewise-target-postgres needs):
 * - numbers are `number`, except a field named `id` or `…_id` whose sampled values are all
 *   integers: `integer` with bounds ±(2^53 - 1), so a warehouse makes it a `bigint` (a sample of
 *   whole numbers says little about the values a sync meets; an id is whole by nature);
 * - strings that all have the API's date-time shape (`yyyy-MM-dd HH:mm:ss`) get `format:
 *   date-time`, so the sync converts them from the project's zone to UTC like `created_at`;
 * - arrays get `items` inferred the same way; objects stay open (`jsonb` in a warehouse);
 * - values of several kinds get all of them; a field only ever null is a nullable string.
 */
export function inferSchema(field: string, values: readonly JsonValue[]): JsonObject {
  const kinds = new Set<JsonKind>();
  for (const value of values) {
    const kind = kindOf(value);
    if (kind !== 'null') kinds.add(kind);
  }
  const isId = field === 'id' || field.endsWith('_id');
  if (kinds.has('integer') && (kinds.has('number') || !isId)) {
    kinds.delete('integer');
    kinds.add('number');
  }
  if (kinds.size === 0) return { type: ['null', 'string'] };
  const schema: JsonObject = { type: ['null', ...ORDER.filter((kind) => kinds.has(kind))] };
  if (kinds.has('integer')) {
    schema.minimum = -MAX_SAFE;
    schema.maximum = MAX_SAFE;
  }
  if (kinds.size === 1 && kinds.has('string') && values.every((v) => v === null || (typeof v === 'string' && API_DATE_TIME.test(v)))) {
    schema.format = 'date-time';
  }
  if (kinds.has('array')) {
    const elements = values.flatMap((v) => (Array.isArray(v) ? v : []));
    schema.items = inferSchema(field, elements);
  }
  return schema;
}
