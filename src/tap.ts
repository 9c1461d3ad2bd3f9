import type { Writable } from 'node:stream';
import type { DateTime } from 'luxon';
import { renderAbout } from './about.js';
import { createWemasyApi, type WemasyApi } from './api/wemasy.js';
import { parseCli, type CliArgs } from './cli.js';
import type { Clock } from './clock.js';
import { loadRawConfig } from './config/load.js';
import { parseSettings } from './config/settings.js';
import type { Settings } from './config/settings-types.js';
import { TapError, describeError, exitCodeOf } from './errors.js';
import { createHttpClient, type HttpClient } from './http/client.js';
import { createRateLimiter } from './http/rate-limiter.js';
import { createLogger, parseLogLevel, type Logger } from './log.js';
import { packageManifest } from './paths.js';
import { discoverCatalog, emittedSchema, loadSelection, selectAll, type StreamSelection } from './singer/catalog.js';
import { loadState } from './singer/state.js';
import type { TapState } from './singer/messages.js';
import { createMessageWriter, type MessageWriter } from './singer/writer.js';
import { runEnd, runSync } from './sync/sync.js';
import { toApiRange } from './time/api-time.js';

/** Everything the tap touches outside itself, passed in (tests and the benchmark swap parts). */
export interface TapIo {
  readonly stdout: Writable;
  readonly writeStderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  /** Aborted on SIGTERM/SIGINT: waits and requests stop, no further bookmark is written. */
  readonly signal?: AbortSignal;
}

/** Environment variables that may hold the token (Meltano sets both). */
const TOKEN_ENV_VARS = ['TAP_WEMASY_API_TOKEN', 'MELTANO_EXTRACT_API_TOKEN'];

/** Runs one tap invocation and returns its exit code. Never throws, never calls process.exit. */
export async function runTap(argv: readonly string[], io: TapIo): Promise<number> {
  let log = createLogger({ level: parseLogLevel(io.env.LOG_LEVEL) ?? 'info', write: io.writeStderr });
  const protect = (target: Logger): Logger => {
    for (const name of TOKEN_ENV_VARS) target.addSecret(io.env[name] ?? '');
    return target;
  };
  protect(log);
  let debug = false;
  try {
    const args = await parseCli(argv);
    debug = args.debug;
    if (args.logLevel !== undefined) log = protect(createLogger({ level: args.logLevel, write: io.writeStderr }));
    await dispatch(args, io, log);
    return 0;
  } catch (error) {
    const reason = io.signal?.aborted ? io.signal.reason : undefined;
    const shown = reason instanceof TapError ? reason : error;
    log.critical(describeError(shown));
    if (debug || !(shown instanceof TapError)) {
      if (shown instanceof Error && shown.stack) log.debug(shown.stack);
      if (!(shown instanceof TapError) && !debug) log.error('this is a bug in tap-wemasy; rerun with --debug for details');
    }
    return exitCodeOf(shown);
  }
}

async function dispatch(args: CliArgs, io: TapIo, log: Logger): Promise<void> {
  switch (args.mode) {
    case 'about':
      io.stdout.write(`${renderAbout(args.format)}\n`);
      return;
    case 'discover':
      io.stdout.write(`${JSON.stringify(discoverCatalog(), null, 2)}\n`);
      return;
    default:
      break;
  }
  const startedAt = io.clock.now();
  const settings = await loadSettings(args, io, log, startedAt);
  const selections = args.catalog === undefined ? selectAll() : await loadSelection(args.catalog);
  const writer = createMessageWriter(io.stdout);

  if (args.mode === 'test-schema') {
    await writeSchemas(writer, selections);
    return;
  }
  const { http, api } = connect(settings, io, log);
  if (args.mode === 'test') {
    const end = runEnd(settings, startedAt);
    await api.checkConnection(toApiRange({ start: end.minus({ seconds: 1 }), end }, settings.timezone));
    log.info(`connection test passed: ${settings.baseUrl} accepted the token`);
    return;
  }
  const state: TapState = args.state === undefined ? { bookmarks: {} } : await loadState(args.state, startedAt);
  if (args.state !== undefined) await writer.write({ type: 'STATE', value: state });
  log.info(`tap-wemasy ${packageManifest().version}: syncing ${selections.map((s) => s.def.name).join(', ') || 'no streams'}`);
  const started = Date.now();
  await runSync(selections, state, {
    settings,
    api,
    writer,
    log,
    startedAt,
    requestCount: () => http.requestCount,
    signal: io.signal,
  });
  log.metric({ type: 'timer', metric: 'sync_duration', value: (Date.now() - started) / 1000, tags: { status: 'succeeded' } });
}

async function loadSettings(args: CliArgs, io: TapIo, log: Logger, now: DateTime): Promise<Settings> {
  const raw = await loadRawConfig(args.config, io.env, log);
  if (typeof raw.api_token === 'string') log.addSecret(raw.api_token);
  const settings = parseSettings(raw, { now, log });
  log.addSecret(settings.apiToken);
  return settings;
}

async function writeSchemas(writer: MessageWriter, selections: readonly StreamSelection[]): Promise<void> {
  for (const selection of selections) {
    const { def } = selection;
    await writer.write({ type: 'SCHEMA', stream: def.name, schema: emittedSchema(selection), key_properties: def.keyProperties, bookmark_properties: [def.replicationKey] });
  }
  await writer.flush();
}

function connect(settings: Settings, io: TapIo, log: Logger): { http: HttpClient; api: WemasyApi } {
  const limiter = createRateLimiter({ requestsPerMinute: settings.http.requestsPerMinute, clock: io.clock, log });
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    apiToken: settings.apiToken,
    userAgent: `tap-wemasy/${packageManifest().version} (Node.js ${process.versions.node})`,
    http: settings.http,
    limiter,
    clock: io.clock,
    log,
    ...(io.signal === undefined ? {} : { signal: io.signal }),
  });
  const api = createWemasyApi({
    http,
    sessionFilters: settings.sessionFilters,
    sessionsPageSize: settings.sessionsPageSize,
    conversionTypes: settings.conversionTypes,
  });
  return { http, api };
}

