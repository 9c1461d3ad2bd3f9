import type { DateTime } from 'luxon';
import { wemasyWording } from './api/responses.js';
import { createWemasyApi, type WemasyApi } from './api/wemasy.js';
import type { CliArgs } from './cli.js';
import { loadRawConfig } from './config/load.js';
import { parseSettings } from './config/settings.js';
import type { Settings } from './config/settings-types.js';
import { createHttpClient, type HttpClient } from './http/client.js';
import { createRateLimiter, type RateLimiter } from './http/rate-limiter.js';
import type { Logger } from './log.js';
import { packageManifest } from './paths.js';
import { loadSelection, schemaMessage, selectAll, type StreamSelection } from './singer/catalog.js';
import type { TapState } from './singer/messages.js';
import { loadState, warnWithoutBookmarks } from './singer/state.js';
import { createMessageWriter, type MessageWriter } from './singer/writer.js';
import { createRunContext } from './streams/run-context.js';
import type { WemasyStream } from './streams/stream.js';
import { runEnd, runSync } from './sync/sync.js';
import type { TapIo } from './io.js';
import { toApiRange } from './time/api-time.js';

/** The modes that read a config: sync, `--test` and `--test=schema`. */
export async function runConnected(args: CliArgs, io: TapIo, log: Logger, streams: readonly WemasyStream[]): Promise<void> {
  const startedAt = io.clock.now();
  const settings = await loadSettings(args, io, log, startedAt);
  const selections = args.catalog === undefined ? selectAll(streams) : await loadSelection(args.catalog, streams);
  const writer = createMessageWriter(io.stdout);

  if (args.mode === 'test-schema') {
    await writeSchemas(writer, selections);
    return;
  }
  const { http, api, limiter } = connect(settings, io, log);
  if (args.mode === 'test') {
    const end = runEnd(settings, startedAt);
    await api.checkConnection(toApiRange({ start: end.minus({ seconds: 1 }), end }, settings.timezone));
    log.info(`connection test passed: ${settings.baseUrl} accepted the token`);
    return;
  }
  let state: TapState = { bookmarks: {} };
  if (args.state !== undefined) {
    const loaded = await loadState(args.state, startedAt, log, streams.map((stream) => stream.name));
    const selected = selections.map((selection) => selection.def.name);
    warnWithoutBookmarks(loaded, args.state, selected, settings.startDate, settings.timezone, log);
    state = loaded.state;
  }
  if (args.mode === 'estimate') {
    const { estimateSync, renderEstimate } = await import('./estimate.js');
    const before = http.requestCount;
    const estimate = await estimateSync(selections, state, settings, api, runEnd(settings, startedAt));
    const made = { ...estimate, requestsMade: http.requestCount - before };
    io.stdout.write(`${args.format === 'json' ? JSON.stringify(made) : renderEstimate(made, settings)}\n`);
    return;
  }
  if (args.state !== undefined) await writer.write({ type: 'STATE', value: state });
  log.info(`tap-wemasy ${packageManifest().version}: syncing ${selections.map((s) => s.def.name).join(', ') || 'no streams'}`);
  const started = io.clock.monotonicMs();
  let status: 'succeeded' | 'failed' = 'failed';
  try {
    await syncSelected(selections, state, { settings, writer, io, log, startedAt, connection: { http, api, limiter } });
    status = 'succeeded';
  } finally {
    log.metric({ type: 'timer', metric: 'sync_duration', value: (io.clock.monotonicMs() - started) / 1000, tags: { status } });
  }
}

/** What a sync of selected streams needs, whichever face (Singer, Airbyte) runs it. */
export interface SyncRequest {
  readonly settings: Settings;
  /** Where SCHEMA, RECORD and STATE messages go (a face translates them for its protocol). */
  readonly writer: MessageWriter;
  readonly io: TapIo;
  readonly log: Logger;
  /** The moment the run began (the run's end follows from it); now when not given. */
  readonly startedAt?: DateTime;
  /** An existing connection (HTTP client, rate limiter, API); a new one when not given. */
  readonly connection?: ReturnType<typeof connect>;
}

/**
 * Syncs the selected streams from `state` through the engine and returns the final state: the
 * streams' readers for this run (sharing one session index and batch sizer), then runSync.
 */
export async function syncSelected(selections: readonly StreamSelection<WemasyStream>[], state: TapState, request: SyncRequest): Promise<TapState> {
  const { settings, io, log } = request;
  const startedAt = request.startedAt ?? io.clock.now();
  const { http, api, limiter } = request.connection ?? connect(settings, io, log);
  const context = createRunContext(api, settings, log, io.clock, runEnd(settings, startedAt));
  const streams = selections.map((selection) => ({ selection, reader: selection.def.open(context) }));
  const final = await runSync(streams, state, {
    settings,
    writer: request.writer,
    log,
    clock: io.clock,
    startedAt,
    requestCount: () => http.requestCount,
    rateLimitRemaining: () => limiter.remaining,
    signal: io.signal,
  });
  for (const line of context.summary()) log.info(line);
  return final;
}

async function loadSettings(args: CliArgs, io: TapIo, log: Logger, now: DateTime): Promise<Settings> {
  const raw = await loadRawConfig(args.config, io.env, log);
  if (typeof raw.api_token === 'string') log.addSecret(raw.api_token);
  const settings = parseSettings(raw, { now, log });
  log.addSecret(settings.apiToken);
  return settings;
}

async function writeSchemas(writer: MessageWriter, selections: readonly StreamSelection<WemasyStream>[]): Promise<void> {
  for (const selection of selections) await writer.write(schemaMessage(selection));
  await writer.flush();
}

/** The HTTP client, its rate limiter and the API on top, for a sync or a discovery sample. */
export function connect(settings: Settings, io: TapIo, log: Logger): { http: HttpClient; api: WemasyApi; limiter: RateLimiter } {
  const limiter = createRateLimiter({
    requestsPerMinute: settings.http.requestsPerMinute,
    windowMs: settings.http.rateLimitWindowMs,
    clock: io.clock,
    log,
    label: 'Wemasy',
  });
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    apiToken: settings.apiToken,
    userAgent: `tap-wemasy/${packageManifest().version} (Node.js ${process.versions.node})`,
    http: settings.http,
    limiter,
    clock: io.clock,
    log,
    wording: wemasyWording,
    ...(io.signal === undefined ? {} : { signal: io.signal }),
  });
  const api = createWemasyApi({
    http,
    sessionFilters: settings.sessionFilters,
    sessionsPageSize: settings.sessionsPageSize,
    conversionTypes: settings.conversionTypes,
  });
  return { http, api, limiter };
}

