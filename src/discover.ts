/**
 * `--discover`: the shipped catalog, and, opt-in with `discover_sample`, the fields a sample of
 * the API adds to it.
 *
 * Without `discover_sample: true` discovery is offline: it prints catalog.json and sends no
 * request (Meltano runs discovery before every sync). With it, the config is read and validated,
 * and a small recent window of each stream is read: the last day before the run's end (`end_date`
 * or now), one list-sessions page, then one get-visits and one get-conversions request for the
 * sampled sessions (or the first batch of `session_ids`). Every top-level field the sample holds
 * and the shipped schema lacks is added to the stream's schema with the type a sync gives a new
 * field (`["null", "string"]`, whatever the values: sync/conform.ts), and `inclusion: available`
 * metadata, so that Meltano lists it and the user can deselect it.
 * When anything goes wrong (no usable config, a refused token, a network error) the shipped
 * catalog is printed anyway, with a warning: discovery itself never fails on the network.
 */
import type { DateTime } from 'luxon';
import type { WemasyApi } from './api/wemasy.js';
import { loadRawConfig } from './config/load.js';
import type { Settings } from './config/settings-types.js';
import { TapError, describeError } from './errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
import type { Logger } from './log.js';
import { discoverCatalog, type Catalog, type CatalogEntry, type MetadataEntry } from './singer/catalog.js';
import type { WemasyStream } from './streams/stream.js';
import { NEW_FIELD_SCHEMA } from './sync/conform.js';
import type { TapIo } from './io.js';

/** Largest list-sessions page asked for while sampling. */
const SAMPLE_PAGE_SIZE = 100;
/** Sampling gives up fast: a discovery is not the place for minutes of retries. */
const SAMPLE_MAX_RETRIES = 2;
const SAMPLE_MAX_DELAY_MS = 5_000;
const SAMPLE_TIMEOUT_MS = 30_000;

/** What `--discover` prints: the shipped catalog, or the sampled one when `discover_sample` is on. */
export async function discover(configSources: readonly string[], io: TapIo, log: Logger, streams: readonly WemasyStream[]): Promise<Catalog> {
  const shipped = discoverCatalog(streams);
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
    const { parseSettings } = await import('./config/settings.js');
    const settings = parseSettings(raw, { now, log });
    log.addSecret(settings.apiToken);
    const { connect } = await import('./commands.js');
    const { api } = connect(samplingSettings(settings), io, log);
    return await sampleCatalog(shipped, api, settings, now, log, streams);
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
export type StreamSamples = Readonly<Record<string, readonly JsonValue[]>>;

/** Reads the sample: at most three requests. */
export async function readSample(api: WemasyApi, settings: Settings, now: DateTime, log: Logger): Promise<StreamSamples> {
  const { safeEdgeAtOrBefore } = await import('./time/windows.js');
  const { toApiRange } = await import('./time/api-time.js');
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
export async function sampleCatalog(
  catalog: Catalog,
  api: WemasyApi,
  settings: Settings,
  now: DateTime,
  log: Logger,
  streams: readonly WemasyStream[],
): Promise<Catalog> {
  const samples = await readSample(api, settings, now, log);
  const extended = extendCatalog(catalog, samples);
  for (const entry of extended.streams) {
    const stream = streams.find((s) => s.name === entry.stream);
    const shipped = stream === undefined ? [] : Object.keys(stream.schema().properties as JsonObject);
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
      const found = new Set<string>();
      for (const item of items) {
        if (!isJsonObject(item)) continue;
        for (const field of Object.keys(item)) if (!Object.hasOwn(properties, field) && field !== '__proto__') found.add(field);
      }
      if (found.size === 0) return entry;
      const added: JsonObject = {};
      const metadata: MetadataEntry[] = [...entry.metadata];
      for (const field of found) {
        // The type a sync gives a field it meets for the first time, whatever the sample holds.
        added[field] = { ...NEW_FIELD_SCHEMA };
        metadata.push({ breadcrumb: ['properties', field], metadata: { inclusion: 'available', 'selected-by-default': true } });
      }
      return { ...entry, schema: { ...entry.schema, properties: { ...properties, ...added } }, metadata };
    }),
  };
}
