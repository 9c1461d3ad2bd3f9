import { networkInterfaces } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../fake-api/faults.js';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { STACK_TRACE } from '../helpers/checks.js';
import { useCountingListener } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, runTap, tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

/**
 * The API token never appears in any output: not on stdout, not on stderr, not in part, whatever
 * the run does (sync, errors of every kind, a server that echoes the Authorization header back,
 * --about, --discover, --test, bad config), whether the token comes from a config file, from
 * TAP_WEMASY_API_TOKEN, or from both as Meltano passes it.
 */

const TOKEN = 'SECRET-tok-3f9a7c';
/** Every piece of the token of 6 characters or more: a leak cut short is still a leak. */
const PIECES = (() => {
  const pieces = new Set<string>();
  for (let length = 6; length <= TOKEN.length; length += 1) {
    for (let i = 0; i + length <= TOKEN.length; i += 1) pieces.add(TOKEN.slice(i, i + length));
  }
  return [...pieces];
})();

let dir: string;
beforeAll(() => {
  dir = tempDir();
});

type Via = 'file' | 'env' | 'both';

interface Scenario {
  name: string;
  via: Via;
  /** Settings added to (or replacing) the base config; `{ raw }` is the config file's text. */
  config?: Record<string, unknown> | { raw: string };
  faults?: Fault[];
  /** Arguments after --config. */
  args?: string[] | ((dir: string) => string[]);
  code: number;
  /**
   * Also run as a child process: what Node itself prints (an uncaught error, a warning) reaches
   * only a real stderr. The other scenarios run in-process, where the tap's own output is all.
   */
  process?: true;
}

const NO_TOKEN_ENV = { TAP_WEMASY_API_TOKEN: undefined, MELTANO_EXTRACT_API_TOKEN: undefined };

function invocation(api: FakeApi, scenario: Scenario): { args: string[]; env: Record<string, string | undefined> } {
  const base: Record<string, unknown> = {
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: '2026-01-02',
    requests_per_minute: 6_000_000,
    max_retries: 2,
    retry_base_delay: 0.01,
    retry_max_delay: 0.02,
    request_timeout: 5,
  };
  const raw = scenario.config !== undefined && 'raw' in scenario.config ? (scenario.config.raw as string) : undefined;
  const settings = raw === undefined ? { ...base, ...scenario.config } : undefined;
  const file = (value: unknown) => writeJson(dir, `config-${Math.random()}.json`, value);
  const extra = typeof scenario.args === 'function' ? scenario.args(dir) : (scenario.args ?? []);
  switch (scenario.via) {
    case 'file':
      return { args: ['--config', file(raw ?? { api_token: TOKEN, ...settings }), ...extra], env: NO_TOKEN_ENV };
    case 'env':
      return { args: ['--config', file(raw ?? settings), '--config', 'ENV', ...extra], env: { ...NO_TOKEN_ENV, TAP_WEMASY_API_TOKEN: TOKEN } };
    case 'both':
      // As Meltano runs a tap: the token in the config file and in two variables.
      return {
        args: ['--config', file(raw ?? { api_token: TOKEN, ...settings }), ...extra],
        env: { TAP_WEMASY_API_TOKEN: TOKEN, MELTANO_EXTRACT_API_TOKEN: TOKEN },
      };
  }
}

const echo = (kind: Fault['kind'], extra: Partial<Fault> = {}): Fault => ({ kind, echoAuthorization: true, ...extra });
const state = (name: string, text: string) => (d: string) => ['--state', writeJson(d, `${name}-${Math.random()}.json`, text)];
const catalog = (name: string, text: string) => (d: string) => ['--catalog', writeJson(d, `${name}-${Math.random()}.json`, text)];

const scenarios: Scenario[] = [
  // syncs
  ...(['file', 'env', 'both'] as const).map((via): Scenario => ({ name: 'a sync', via, code: 0, ...(via === 'both' ? { process: true as const } : {}) })),
  { name: 'a sync at --log-level debug', via: 'both', args: ['--log-level', 'debug'], code: 0 },
  { name: 'a sync with --debug', via: 'file', args: ['--debug'], code: 0 },
  // the server refuses, and echoes the header back
  { name: '401 echoing the Authorization header', via: 'file', faults: [echo('401', { times: Infinity })], code: 1 },
  { name: '401 echoing the Authorization header', via: 'env', faults: [echo('401', { times: Infinity })], code: 1 },
  { name: '401 echoing the Authorization header, with --debug', via: 'file', faults: [echo('401', { times: Infinity })], args: ['--debug'], code: 1 },
  { name: '403 echoing the Authorization header', via: 'both', faults: [echo('403', { endpoint: 'visits', times: Infinity })], code: 1 },
  { name: '422 echoing the Authorization header in its field errors', via: 'file', faults: [echo('422', { endpoint: 'visits' })], code: 1 },
  { name: '422 echoing the Authorization header in its field errors', via: 'env', faults: [echo('422', { endpoint: 'conversions' })], code: 1 },
  // ... and faults that are retried (each retry is logged with the server's message)
  { name: '500 echoing the header, retried, then fine', via: 'file', faults: [echo('500', { endpoint: 'visits', times: 2 })], code: 0 },
  { name: '500 echoing the header, retried, then fine', via: 'env', faults: [echo('500', { endpoint: 'sessions', times: 2 })], code: 0 },
  { name: '500 echoing the header until the tap gives up', via: 'both', faults: [echo('500', { times: Infinity })], code: 1 },
  {
    name: '500 echoing the header where the message excerpt is cut (a token cut in half)',
    via: 'file',
    faults: [echo('500', { times: Infinity, echoPadding: 140 })],
    code: 1,
  },
  {
    name: '500 echoing the header where the message excerpt is cut, --debug',
    via: 'env',
    faults: [echo('500', { times: Infinity, echoPadding: 145 })],
    args: ['--debug'],
    code: 1,
    process: true,
  },
  { name: '502 HTML page echoing the header, retried', via: 'file', faults: [echo('502-html', { endpoint: 'conversions', times: 2 })], code: 0 },
  { name: '502 HTML page echoing the header until the tap gives up', via: 'env', faults: [echo('502-html', { times: Infinity })], code: 1 },
  { name: '200 with "error": true echoing the header, retried', via: 'env', faults: [echo('error-true', { endpoint: 'visits', times: 2 })], code: 0 },
  { name: '429 echoing the header, retried', via: 'file', faults: [echo('429', { endpoint: 'visits', retryAfter: 0 })], code: 0 },
  { name: 'a 418 echoing the header', via: 'both', faults: [echo('status', { status: 418, times: Infinity })], code: 1 },
  // other commands
  { name: '--test', via: 'file', args: ['--test'], code: 0 },
  { name: '--test', via: 'env', args: ['--test'], code: 0 },
  { name: '--test refused with an echo', via: 'both', faults: [echo('401', { times: Infinity })], args: ['--test'], code: 1 },
  { name: '--test=schema', via: 'file', args: ['--test=schema'], code: 0 },
  { name: '--discover', via: 'file', args: ['--discover'], code: 0 },
  { name: '--discover', via: 'env', args: ['--discover'], code: 0 },
  { name: '--discover sampling the API', via: 'both', config: { discover_sample: true }, args: ['--discover'], code: 0 },
  { name: '--discover sampling an API that echoes the header in a 500', via: 'file', config: { discover_sample: true }, faults: [echo('500', { times: Infinity })], args: ['--discover'], code: 0 },
  ...(['text', 'json', 'markdown'] as const).flatMap((format) =>
    (['file', 'env'] as const).map((via): Scenario => ({ name: `--about --format ${format}`, via, args: ['--about', '--format', format], code: 0 })),
  ),
  // bad input
  { name: 'an unknown timezone', via: 'file', config: { timezone: 'Nowhere' }, code: 2 },
  { name: 'an unknown timezone', via: 'env', config: { timezone: 'Nowhere' }, code: 2 },
  { name: 'the token pasted into timezone', via: 'file', config: { timezone: TOKEN }, code: 2 },
  { name: 'the token pasted into start_date', via: 'both', config: { start_date: TOKEN }, code: 2 },
  { name: 'the token pasted into window_size and base_url', via: 'env', config: { window_size: TOKEN, base_url: `${TOKEN}.example.com` }, code: 2 },
  { name: 'the token as a setting name', via: 'file', config: { [TOKEN]: true }, code: 0 },
  { name: 'the token as the password of base_url', via: 'file', config: { base_url: `https://user:${TOKEN}@api.wemasy.nl/api` }, code: 2 },
  { name: 'a token with a space in it', via: 'file', config: { raw: JSON.stringify({ api_token: `${TOKEN} x`, start_date: '2026-01-01' }) }, code: 2 },
  { name: 'a config file that is not JSON, around the token', via: 'file', config: { raw: `{"api_token": "${TOKEN}", oops}` }, code: 2 },
  { name: 'a config file that is not JSON, the token unquoted', via: 'file', config: { raw: `{"api_token": ${TOKEN}}` }, code: 2 },
  { name: 'a config file that is not JSON, with --debug', via: 'file', config: { raw: `{"api_token": ${TOKEN}}` }, args: ['--debug'], code: 2, process: true },
  { name: 'a state file that is not JSON, holding the token', via: 'file', args: state('state', `{"bookmarks": ${TOKEN}}`), code: 2 },
  { name: 'a state file that is not JSON, holding the token', via: 'env', args: state('state', `{"bookmarks": {"visits": ${TOKEN}}}`), code: 2 },
  { name: 'a catalog that is not JSON, the token alone', via: 'both', args: catalog('catalog', `${TOKEN}`), code: 2 },
  { name: 'a catalog that is not JSON, around the token', via: 'file', args: catalog('catalog', `{"streams": [{"tap_stream_id": ${TOKEN}}]}`), code: 2 },
];

/** Runs `tasks` at most `parallel` at a time. */
async function pool<T>(tasks: (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < tasks.length) {
        const i = next;
        next += 1;
        results[i] = await (tasks[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

/** Each scenario in-process, and those marked `process` once more as a child process. */
const runs: { scenario: Scenario; where: 'in-process' | 'child process' }[] = [
  ...scenarios.map((scenario) => ({ scenario, where: 'in-process' as const })),
  ...scenarios.filter((scenario) => scenario.process).map((scenario) => ({ scenario, where: 'child process' as const })),
];

describe('the API token never appears in any output', () => {
  it(`in ${scenarios.length} scenarios, not one byte of stdout or stderr holds the token or a piece of it`, async () => {
    const outcomes = await pool(
      runs.map(({ scenario, where }) => async () => {
        const api = await startFakeApi({ token: TOKEN, dataset: { zone: 'UTC' }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
        try {
          for (const fault of scenario.faults ?? []) api.inject(fault);
          const { args, env } = invocation(api, scenario);
          const run: TapRun = where === 'in-process' ? await runInProcess(args, { env }) : await runTap(args, { env, timeoutMs: 30_000 });
          const echoed = api.requests.filter((r) => r.fault !== undefined).length;
          return { scenario, where, run, echoed };
        } finally {
          await api.close();
        }
      }),
      3,
    );
    const problems: string[] = [];
    for (const { scenario, where, run, echoed } of outcomes) {
      const label = `${scenario.name} (token via ${scenario.via}, ${where})`;
      if (run.code !== scenario.code) problems.push(`${label}: exit ${run.code}, expected ${scenario.code}: ${run.stderr.slice(-600)}`);
      if ((scenario.faults ?? []).length > 0 && echoed === 0) problems.push(`${label}: the fault never struck`);
      for (const [name, output] of [
        ['stdout', run.stdout],
        ['stderr', run.stderr],
      ] as const) {
        const bytes = Buffer.from(output, 'utf8');
        const found = PIECES.filter((piece) => bytes.includes(piece));
        if (found.length > 0) {
          const line = output.split('\n').find((l) => l.includes(found[0] as string)) ?? '';
          problems.push(`${label}: ${name} holds "${found.sort((a, b) => b.length - a.length)[0]}": ${line.slice(0, 400)}`);
        }
      }
    }
    console.log(`secrets: ${scenarios.length} scenarios in ${outcomes.length} runs, ${outcomes.reduce((n, o) => n + o.run.stdout.length + o.run.stderr.length, 0)} bytes scanned`);
    expect(problems).toEqual([]);
  }, 240_000);
});

describe('base_url', () => {
  const listener = useCountingListener('0.0.0.0');

  /** This machine's own non-loopback IPv4 address, if it has one: reachable, and not loopback. */
  const ownAddress = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

  const hosts = [...(ownAddress === undefined ? [] : [ownAddress]), 'api.wemasy.nl', 'localhost.example.com'];

  it.each(hosts)('http:// to %s (not loopback) is refused with exit 2, says why, and sends nothing', async (host) => {
    const config = writeJson(dir, `http-${Math.random()}.json`, { api_token: TOKEN, start_date: '2026-01-01', end_date: '2026-01-02', base_url: `http://${host}:${listener.port}/api` });
    for (const args of [['--config', config], ['--config', config, '--test']]) {
      const run = await runInProcess(args, { env: NO_TOKEN_ENV });
      expect(run.code, run.stderr).toBe(2);
      const critical = criticalLines(run.stderr);
      expect(critical).toHaveLength(1);
      expect(critical[0]).toMatch(/base_url: .*plain http:\/\/ to a host that is not loopback; use https:\/\/ \(the API token must not cross a network in clear text\)/);
      expect(run.stderr).not.toMatch(STACK_TRACE);
      expect(run.stdout).toBe('');
      expect(run.stderr + run.stdout).not.toContain(TOKEN);
    }
    expect(listener.connections).toBe(0);
  });

  it('http:// to a loopback host is allowed', async () => {
    const api = await startFakeApi({ token: TOKEN, dataset: { zone: 'UTC' } });
    try {
      const url = new URL(api.url);
      for (const host of ['127.0.0.1', 'localhost']) {
        const config = writeJson(dir, `loop-${Math.random()}.json`, { api_token: TOKEN, start_date: '2026-01-01', base_url: `http://${host}:${url.port}/api` });
        const run = await runInProcess(['--config', config, '--test'], { env: NO_TOKEN_ENV });
        expect(run.code, run.stderr).toBe(0);
      }
    } finally {
      await api.close();
    }
  });
});
