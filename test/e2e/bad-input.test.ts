import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { STACK_TRACE } from '../helpers/checks.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * Bad config, state and catalog: exit 2, exactly one CRITICAL line that names what is wrong, no
 * stack trace, nothing on stdout, and not one request sent. Unknown settings only warn.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const configSchema = JSON.parse(readFileSync(join(ROOT, 'schemas/config.json'), 'utf8')) as {
  properties: Record<string, { type: string | string[] }>;
};

/** Receives every request a bad-input case sends: there must be none. */
let quiet: FakeApi;
/** For the runs that must succeed. */
let live: FakeApi;
let dir: string;

beforeAll(async () => {
  quiet = await startFakeApi({ dataset: { zone: 'UTC' } });
  live = await startFakeApi({ dataset: { zone: 'UTC' }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(async () => {
  await quiet.close();
  await live.close();
});

const validConfig = (baseUrl: string): Record<string, unknown> => ({
  api_token: 'test-token',
  base_url: baseUrl,
  start_date: '2026-01-01',
  end_date: '2026-01-02',
  requests_per_minute: 6_000_000,
});

interface Case {
  /** The config: changes to the valid one, or the file's raw text, or no --config file at all. */
  config?: Record<string, unknown> | { raw: string } | 'missing';
  /** Settings to delete from the valid config. */
  without?: string[];
  state?: unknown;
  catalog?: unknown;
  /** What the CRITICAL line must say. */
  says: RegExp;
}

const raw = (text: string) => ({ raw: text });

function fileFor(name: string, value: unknown): string {
  if (value === 'missing') return join(dir, `does-not-exist-${name}.json`);
  if (typeof value === 'object' && value !== null && 'raw' in value) return writeJson(dir, `${name}-${Math.random()}.json`, (value as { raw: string }).raw);
  return writeJson(dir, `${name}-${Math.random()}.json`, value);
}

function argsFor(c: Case, baseUrl: string): string[] {
  let config: unknown = c.config;
  if (config === undefined || (typeof config === 'object' && config !== null && !('raw' in config))) {
    const merged = { ...validConfig(baseUrl), ...(config as Record<string, unknown> | undefined) };
    for (const name of c.without ?? []) delete merged[name];
    config = merged;
  }
  const args = ['--config', fileFor('config', config)];
  if (c.state !== undefined) args.push('--state', fileFor('state', c.state));
  if (c.catalog !== undefined) args.push('--catalog', fileFor('catalog', c.catalog));
  return args;
}

/** A wrong JSON type for each schema type. */
const WRONG: Record<string, unknown> = { string: 20260101, boolean: 'yes', integer: 2.5, number: 'fast', array: 'a,b', object: ['a'] };
const wrongTypeCases: [string, Case][] = Object.entries(configSchema.properties).map(([name, setting]) => {
  const type = Array.isArray(setting.type) ? (setting.type[0] as string) : setting.type;
  const value = WRONG[type];
  return [`${name} of the wrong type (${JSON.stringify(value)} for ${type})`, { config: { [name]: value }, says: new RegExp(`invalid config: (.*; )?${name}: must be`) }];
});

const bookmark = (value: unknown) => ({ bookmarks: { visits: { replication_key: 'created_at', replication_key_value: value } } });
const discovered = JSON.parse(readFileSync(join(ROOT, 'catalog.json'), 'utf8')) as {
  streams: { tap_stream_id: string; stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[];
};
const catalogWith = (change: (catalog: typeof discovered) => void) => {
  const copy = structuredClone(discovered);
  change(copy);
  return copy;
};
const fieldMetadata = (field: string) => (catalog: typeof discovered) => {
  catalog.streams[1]?.metadata.push({ breadcrumb: ['properties', field], metadata: { selected: true } });
};

const cases: [string, Case][] = [
  // the config file
  ['config file missing', { config: 'missing', says: /config file .*does-not-exist-config\.json not found/ }],
  ['config file not JSON', { config: raw('{"api_token": "test-token", '), says: /config file .* is not valid JSON/ }],
  ['config file empty', { config: raw(''), says: /config file .* is not valid JSON: the file is empty/ }],
  ['config file a JSON list', { config: raw('["api_token"]'), says: /config file .* must hold a JSON object/ }],
  ['config file a JSON string', { config: raw('"api_token"'), says: /config file .* must hold a JSON object/ }],
  ['config file JSON null', { config: raw('null'), says: /config file .* must hold a JSON object/ }],
  // the token
  ['api_token missing', { without: ['api_token'], says: /api_token: is missing/ }],
  ['api_token empty', { config: { api_token: '' }, says: /api_token: is empty/ }],
  ['api_token only whitespace', { config: { api_token: '  \n' }, says: /api_token: is empty/ }],
  // types, from schemas/config.json
  ...wrongTypeCases,
  ['session_ids holding a boolean', { config: { session_ids: [1, true] }, says: /session_ids\[1\]: must be/ }],
  ['conversion_types holding a number', { config: { conversion_types: [1] }, says: /conversion_types\[0\]: must be a string/ }],
  // dates and zones
  ['start_date missing', { without: ['start_date'], says: /start_date: is missing/ }],
  ['start_date unparseable', { config: { start_date: 'yesterday' }, says: /start_date: "yesterday" is not an ISO 8601 date/ }],
  ['start_date not a calendar date', { config: { start_date: '2026-02-30' }, says: /start_date: "2026-02-30" is not an ISO 8601 date/ }],
  ['start_date in the future', { config: { start_date: '2999-01-01', end_date: '2999-02-01' }, says: /start_date: "2999-01-01" is in the future/ }],
  ['start_date after end_date', { config: { start_date: '2026-01-05', end_date: '2026-01-02' }, says: /end_date: "2026-01-02" must be after start_date "2026-01-05"/ }],
  ['start_date equal to end_date', { config: { start_date: '2026-01-02', end_date: '2026-01-02' }, says: /end_date: "2026-01-02" must be after start_date/ }],
  ['end_date unparseable', { config: { end_date: '01/02/2026' }, says: /end_date: "01\/02\/2026" is not an ISO 8601 date/ }],
  ['an unknown timezone', { config: { timezone: 'Mars/Olympus_Mons' }, says: /timezone: "Mars\/Olympus_Mons" is not a known IANA time zone/ }],
  // durations
  ['window_size unparseable', { config: { window_size: '1 day' }, says: /window_size: "1 day" is not an ISO 8601 duration/ }],
  ['window_size zero', { config: { window_size: 'PT0S' }, says: /window_size: "PT0S" must be longer than zero/ }],
  ['window_size negative', { config: { window_size: '-P1D' }, says: /window_size: "-P1D" (must be longer than zero|is not an ISO 8601 duration)/ }],
  ['lookback_window unparseable', { config: { lookback_window: '6h' }, says: /lookback_window: "6h" is not an ISO 8601 duration/ }],
  ['lookback_window negative', { config: { lookback_window: 'PT-6H' }, says: /lookback_window: "PT-6H" (must be zero or longer|is not an ISO 8601 duration)/ }],
  ['session_lookback zero', { config: { session_lookback: 'P0D' }, says: /session_lookback: "P0D" must be longer than zero/ }],
  // numbers
  ['session_batch_size 0', { config: { session_batch_size: 0 }, says: /session_batch_size: must be at least 1, got 0/ }],
  ['session_batch_size negative', { config: { session_batch_size: -5 }, says: /session_batch_size: must be at least 1, got -5/ }],
  ['requests_per_minute 0', { config: { requests_per_minute: 0 }, says: /requests_per_minute: must be greater than 0/ }],
  ['max_retries negative', { config: { max_retries: -1 }, says: /max_retries: must be at least 0/ }],
  // base_url
  ['base_url not a URL', { config: { base_url: 'api.wemasy.nl' }, says: /base_url: "api\.wemasy\.nl" is not a valid URL/ }],
  ['base_url with a user and password', { config: { base_url: 'https://user:pw@api.wemasy.nl/api' }, says: /base_url: must not contain a user name or password/ }],
  ['base_url ftp://', { config: { base_url: 'ftp://api.wemasy.nl/api' }, says: /base_url: .* must be an https:\/\/ URL/ }],
  // several at once: one line naming each
  [
    'three bad settings at once',
    { config: { timezone: 'Nowhere', window_size: 'daily', session_batch_size: 0 }, says: /invalid config: .*timezone: .*; .*window_size: .*; .*session_batch_size: / },
  ],
  // the state
  ['state file missing', { state: 'missing', says: /state .*does-not-exist-state\.json: file not found/ }],
  ['state not JSON', { state: raw('{"bookmarks": {'), says: /state .*: is not valid JSON/ }],
  ['state a JSON list', { state: [], says: /state .*: must be a JSON object like \{"bookmarks": \{\.\.\.\}\}/ }],
  ['state bookmarks a list', { state: { bookmarks: [] }, says: /state .*: "bookmarks" must be an object/ }],
  ['state bookmark a string', { state: { bookmarks: { visits: '2026-01-01' } }, says: /state .*: bookmarks\.visits must be an object/ }],
  ['state bookmark unparseable', { state: bookmark('last tuesday'), says: /state .*: bookmarks\.visits\.replication_key_value must be an ISO 8601 instant/ }],
  ['state bookmark without an offset', { state: bookmark('2026-01-01T00:00:00'), says: /bookmarks\.visits\.replication_key_value must be an ISO 8601 instant with an offset/ }],
  ['state bookmark not a date', { state: bookmark('2026-13-45T00:00:00Z'), says: /bookmarks\.visits\.replication_key_value "2026-13-45T00:00:00Z" is not a valid date-time/ }],
  ['state bookmark a number', { state: bookmark(1767225600), says: /bookmarks\.visits\.replication_key_value must be an ISO 8601 instant/ }],
  ['state bookmark in the future', { state: bookmark('2999-01-01T00:00:00Z'), says: /bookmarks\.visits\.replication_key_value 2999-01-01T00:00:00Z is in the future/ }],
  // the catalog
  ['catalog file missing', { catalog: 'missing', says: /catalog .*does-not-exist-catalog\.json: file not found/ }],
  ['catalog not JSON', { catalog: raw('{"streams": ['), says: /catalog .*: is not valid JSON/ }],
  ['catalog without a streams list', { catalog: { streams: {} }, says: /catalog .*: must be a JSON object with a "streams" list/ }],
  [
    'catalog naming an unknown stream',
    { catalog: catalogWith((c) => Object.assign(c.streams[0] as object, { tap_stream_id: 'pageviews', stream: 'pageviews' })), says: /catalog .*: unknown stream "pageviews"/ },
  ],
  ['catalog metadata naming an unknown field', { catalog: catalogWith(fieldMetadata('duration_ms')), says: /catalog .*: stream visits: metadata names field "duration_ms", which its schema does not have/ }],
  ['catalog metadata naming field "constructor"', { catalog: catalogWith(fieldMetadata('constructor')), says: /catalog .*: stream visits: metadata names field "constructor", which its schema does not have/ }],
  [
    'catalog schema without the key field',
    {
      catalog: catalogWith((c) => {
        const stream = c.streams[2] as unknown as { schema: { properties: Record<string, unknown> }; metadata: { breadcrumb: string[] }[] };
        delete stream.schema.properties.id;
        stream.metadata = stream.metadata.filter((m) => m.breadcrumb[1] !== 'id');
      }),
      says: /catalog .*: stream conversions: the schema lacks the required field "id"/,
    },
  ],
];

describe.concurrent('bad input: exit 2, one CRITICAL line naming the problem, nothing synced', () => {
  it.each(cases)('%s', async (_name, c) => {
    const run = await runInProcess(argsFor(c, quiet.url));
    expect(run.code, run.stderr).toBe(2);
    const critical = criticalLines(run.stderr);
    expect(critical, run.stderr).toHaveLength(1);
    expect(critical[0]).toMatch(c.says);
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(run.stderr).not.toMatch(/this is a bug/);
    expect(run.stdout).toBe('');
    expect(quiet.requests, 'a request was sent').toEqual([]);
  });
});

/** stderr without timestamps. */
const stderrLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line !== '').map((line) => line.replace(/^\S+ /, ''));

describe('a misspelt setting stops the run: exit 2, exactly one stderr line naming the intended setting, no RECORD', () => {
  const misspelt: [string, Record<string, unknown>, string[], string][] = [
    ['time_zone', { time_zone: 'Europe/Amsterdam' }, [], 'invalid config: time_zone: unknown setting (did you mean timezone?)'],
    ['timzone', { timzone: 'Europe/Amsterdam' }, [], 'invalid config: timzone: unknown setting (did you mean timezone?)'],
    ['startDate', { startDate: '2026-01-01' }, ['start_date'], 'invalid config: startDate: unknown setting (did you mean start_date?); start_date: is missing (required)'],
    ['api_tokn', { api_tokn: 'test-token' }, ['api_token'], 'invalid config: api_tokn: unknown setting (did you mean api_token?); api_token: is missing (required)'],
  ];
  it.each(misspelt)('%s', async (_name, config, without, line) => {
    const run = await runInProcess(argsFor({ config, without, says: /./ }, quiet.url));
    expect(run.code, run.stderr).toBe(2);
    expect(stderrLines(run.stderr)).toEqual([`CRITICAL ${line}`]);
    expect(run.stdout).not.toContain('"RECORD"');
    expect(run.stdout).toBe('');
    expect(quiet.requests).toEqual([]);
  });

  it('the same for a TAP_WEMASY_ variable with --config ENV; Meltano\'s extras (two underscores) are no settings', async () => {
    const env = {
      TAP_WEMASY_API_TOKEN: 'test-token',
      TAP_WEMASY_START_DATE: '2026-01-01',
      TAP_WEMASY_BASE_URL: quiet.url,
      TAP_WEMASY_TIMZONE: 'Europe/Amsterdam',
      TAP_WEMASY__SELECT: '["visits.*"]',
      TAP_WEMASY__SCHEMA: '{}',
    };
    const run = await runInProcess(['--config', 'ENV'], { env });
    expect(run.code, run.stderr).toBe(2);
    expect(stderrLines(run.stderr)).toEqual(['CRITICAL environment variable TAP_WEMASY_TIMZONE is not a setting (did you mean TAP_WEMASY_TIMEZONE?)']);
    expect(run.stdout).toBe('');
    expect(quiet.requests).toEqual([]);
  });
});

describe('input that is fine', () => {
  it('unknown settings far from every known one: a WARNING naming them, and the run succeeds', async () => {
    const run = await runInProcess(argsFor({ config: { frobnicate: 1, user_agent: 'etl/1.0' }, says: /./ }, live.url));
    expect(run.code, run.stderr).toBe(0);
    const warnings = run.stderr.split('\n').filter((line) => / WARN /.test(line));
    expect(warnings.map((line) => line.replace(/^\S+ /, ''))).toEqual(['WARN ignoring unknown settings: frobnicate, user_agent']);
    expect(criticalLines(run.stderr)).toEqual([]);
    expect(byId(run.records('sessions'))).toEqual(expectedRecords(live.dataset, 'sessions', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
  });

  it('lookback_window PT0S is allowed, and so are an empty state file and null settings', async () => {
    const args = argsFor({ config: { lookback_window: 'PT0S', session_ids: null, conversion_types: null }, state: raw(''), says: /./ }, live.url);
    const run = await runInProcess(args);
    expect(run.code, run.stderr).toBe(0);
    expect(criticalLines(run.stderr)).toEqual([]);
  });
});

describe('stack traces', () => {
  /**
   * An unexpected error (a bug, not bad input): a copy of the package whose shipped
   * schemas/config.json is broken, as a bad release would be.
   */
  let brokenBin: string;
  let configPath: string;
  beforeAll(() => {
    const root = join(tempDir(), 'broken-package');
    mkdirSync(root);
    for (const part of ['dist', 'schemas', 'catalog.json', 'package.json']) cpSync(join(ROOT, part), join(root, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    const schema = JSON.parse(readFileSync(join(root, 'schemas/config.json'), 'utf8')) as { properties: Record<string, Record<string, unknown>> };
    delete schema.properties.start_date?.type;
    writeFileSync(join(root, 'schemas/config.json'), JSON.stringify(schema));
    brokenBin = join(root, 'dist/main.js');
    configPath = writeJson(dir, 'for-broken.json', validConfig(quiet.url));
  });

  const runBroken = async (extra: string[]) => {
    const { spawn } = await import('node:child_process');
    return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [brokenBin, '--config', configPath, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const watchdog = setTimeout(() => child.kill('SIGKILL'), 25_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(watchdog);
        resolve({ code, stderr, stdout });
      });
    });
  };

  it('an unexpected error without --debug: exit 1, one CRITICAL line, "this is a bug", no stack trace', async () => {
    const run = await runBroken([]);
    expect(run.code, run.stderr).toBe(1);
    expect(criticalLines(run.stderr)).toHaveLength(1);
    expect(criticalLines(run.stderr)[0]).toMatch(/start_date/);
    expect(run.stderr).toMatch(/this is a bug in tap-wemasy; rerun with --debug/);
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(run.stdout).toBe('');
  });

  it('the same with --debug: the stack trace is printed', async () => {
    const run = await runBroken(['--debug']);
    expect(run.code, run.stderr).toBe(1);
    expect(criticalLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(STACK_TRACE);
  });

  it('bad input never prints a stack trace without --debug (LOG_LEVEL=debug included)', async () => {
    const run = await runInProcess(argsFor({ config: { timezone: 'Nowhere' }, says: /./ }, quiet.url), { env: { LOG_LEVEL: 'debug' } });
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(STACK_TRACE);
  });
});
