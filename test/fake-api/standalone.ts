import { realpathSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakeApi, type FakeApi, type FakeApiOptions } from './server.js';

/**
 * The fake API as a process of its own, for the demo and by hand:
 * `npx tsx test/fake-api/standalone.ts --port 8787 --zone Europe/Amsterdam`.
 * Prints one line `fake-api listening on <base URL>` to stderr once it accepts requests, and
 * closes on SIGINT / SIGTERM.
 */

/** The stderr line announcing the base URL starts with this. */
export const READY_PREFIX = 'fake-api listening on ';

const USAGE = `usage: tsx test/fake-api/standalone.ts [options]
  --port N                 port on 127.0.0.1 (default 0: any free port)
  --zone NAME              project IANA zone (default UTC)
  --token T                accepted Bearer token (default test-token)
  --interval S             seconds between sessions (default 7200)
  --epoch ISO              instant the session slots count from (default 2020-01-01T00:00:00Z)
  --visits-per-session N   most visits per session (default 4)
  --conversion-every N     about one session in N has conversions (default 3)
  --extra-fields           add a field no schema names to every object
  --bare-visit-ids         get-visits lists bare ids
  --rate-limit N           requests per window (default 60)
  --rate-window-ms MS      rate-limit window (default 60000)
  --max-per-page N         per_page cap (default 100)
  --max-session-ids N      most session_ids per request; more get Laravel's 422 (default: no limit)
  --no-retry-after         send no Retry-After on the rate limiter's 429s
  --log                    one stderr line per request
`;

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new RangeError(`--${name} needs an integer, got ${value}`);
  return n;
}

/** argv (without node and script) to server options. Throws a RangeError on a bad option. */
export function parseStandaloneArgs(argv: readonly string[]): FakeApiOptions & { help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      port: { type: 'string' },
      zone: { type: 'string' },
      token: { type: 'string' },
      interval: { type: 'string' },
      epoch: { type: 'string' },
      'visits-per-session': { type: 'string' },
      'conversion-every': { type: 'string' },
      'extra-fields': { type: 'boolean' },
      'bare-visit-ids': { type: 'boolean' },
      'rate-limit': { type: 'string' },
      'rate-window-ms': { type: 'string' },
      'max-per-page': { type: 'string' },
      'max-session-ids': { type: 'string' },
      'no-retry-after': { type: 'boolean' },
      log: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const limit = integer(values['rate-limit'], 'rate-limit');
  const windowMs = integer(values['rate-window-ms'], 'rate-window-ms');
  return {
    help: values.help === true,
    port: integer(values.port, 'port') ?? 0,
    token: values.token,
    dataset: {
      zone: values.zone,
      sessionIntervalSeconds: integer(values.interval, 'interval'),
      epoch: values.epoch,
      visitsPerSession: integer(values['visits-per-session'], 'visits-per-session'),
      conversionEvery: integer(values['conversion-every'], 'conversion-every'),
      extraFields: values['extra-fields'],
      bareVisitIds: values['bare-visit-ids'],
    },
    rateLimit: { limit: limit ?? 60, windowMs: windowMs ?? 60_000 },
    retryAfter: values['no-retry-after'] !== true,
    maxPerPage: integer(values['max-per-page'], 'max-per-page'),
    maxSessionIds: integer(values['max-session-ids'], 'max-session-ids'),
    log: values.log === true ? (line: string) => process.stderr.write(`fake-api: ${line}\n`) : undefined,
  };
}

/** Starts the server from command-line arguments; resolves once it listens (undefined for --help). */
export async function runStandalone(argv: readonly string[]): Promise<FakeApi | undefined> {
  const { help, ...options } = parseStandaloneArgs(argv);
  if (help) {
    process.stderr.write(USAGE);
    return undefined;
  }
  const api = await startFakeApi(options);
  // `on`, not `once`: Ctrl-C can deliver SIGINT twice (to the process group, and relayed by tsx),
  // and a second one without a listener would kill the process (exit 130) before it closed.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void api.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stderr.write(`${READY_PREFIX}${api.url} (zone ${api.dataset.zone})\n`);
  return api;
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(resolvePath(script)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  runStandalone(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`fake-api: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
