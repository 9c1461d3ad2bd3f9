import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { fakeClock, runInProcess, type InProcessRun } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';
import { configuredCatalogOf, runSourceInProcess, type AirbyteStream, type SourceRun } from './helpers.js';

/**
 * `read` in-process against the test server, every printed message validated against the
 * protocol schema, and compared one to one with the Singer face over the same range: the same
 * records in the same order, the same bookmarks.
 */

const TOKEN = 'airbyte-read-token-5d1e0b';
const STREAMS = ['sessions', 'visits', 'conversions'] as const;
const ALL_INCREMENTAL = { sessions: 'incremental', visits: 'incremental', conversions: 'incremental' } as const;
const NOW = '2026-02-01T00:00:00Z';

let api: FakeApi;
let dir: string;
let discovered: AirbyteStream[];
let counter = 0;

function file(name: string, value: unknown): string {
  counter += 1;
  return writeJson(dir, `${counter}-${name}`, value);
}

function config(endDate: string, overrides: Record<string, unknown> = {}): string {
  return file('config.json', {
    api_token: TOKEN,
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: endDate,
    timezone: 'Europe/Amsterdam',
    window_size: 'PT12H',
    requests_per_minute: 100_000,
    ...overrides,
  });
}

function read(configPath: string, catalog: unknown, state?: unknown): Promise<SourceRun> {
  const args = ['read', '--config', configPath, '--catalog', file('catalog.json', catalog)];
  if (state !== undefined) args.push('--state', file('state.json', state));
  return runSourceInProcess(args, { clock: fakeClock(NOW) });
}

function singer(configPath: string, state?: unknown): Promise<InProcessRun> {
  const args = ['--config', configPath];
  if (state !== undefined) args.push('--state', file('singer-state.json', state));
  return runInProcess(args, { clock: fakeClock(NOW) });
}

/** Records and bookmarks of the two faces, one to one. */
function expectSameSync(airbyte: SourceRun, singerRun: InProcessRun, streams: readonly string[] = STREAMS): void {
  expect(airbyte.code, airbyte.stdout.slice(-2000)).toBe(0);
  expect(singerRun.code, singerRun.stderr.slice(-2000)).toBe(0);
  for (const stream of streams) expect(airbyte.records(stream), stream).toEqual(singerRun.records(stream));
  const singerBookmarks = singerRun.lastState()?.bookmarks ?? {};
  expect(airbyte.bookmarks()).toEqual(Object.fromEntries(streams.map((s) => [s, singerBookmarks[s]])));
}

beforeAll(async () => {
  api = await startFakeApi({ token: TOKEN, dataset: { zone: 'Europe/Amsterdam' }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
  const run = await runSourceInProcess(['discover', '--config', config('2026-01-02')], { clock: fakeClock(NOW) });
  discovered = run.messages[0]?.catalog?.streams ?? [];
  expect(discovered.map((s) => s.name)).toEqual([...STREAMS]);
});
beforeEach(() => api.reset());
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('read, compared with the Singer face over the same range', () => {
  it('no state: the same records and bookmarks; stream statuses STARTED, RUNNING, COMPLETE', async () => {
    const cfg = config('2026-01-03');
    const airbyte = await read(cfg, configuredCatalogOf(discovered, ALL_INCREMENTAL));
    const singerRun = await singer(cfg);
    expectSameSync(airbyte, singerRun);
    for (const stream of STREAMS) expect(airbyte.records(stream).length, stream).toBeGreaterThan(0);
    expect(airbyte.bookmarks().sessions).toEqual({ replication_key: 'created_at', replication_key_value: '2026-01-02T23:00:00Z' });
    expect(airbyte.statuses().filter((s) => !s.endsWith('RUNNING'))).toEqual([
      ...STREAMS.map((s) => `${s} STARTED`),
      ...STREAMS.map((s) => `${s} COMPLETE`),
    ]);
    expect(airbyte.statuses().filter((s) => s.endsWith('RUNNING'))).toEqual(STREAMS.map((s) => `${s} RUNNING`));
    // Each stream's STATE counts the records since its previous STATE.
    for (const stream of STREAMS) {
      const counted = airbyte.messages.filter((m) => m.state?.stream.stream_descriptor.name === stream).reduce((n, m) => n + (m.state?.sourceStats.recordCount ?? 0), 0);
      expect(counted, stream).toBe(airbyte.records(stream).length);
    }
    // A RECORD carries emitted_at in milliseconds, and a STATE never comes before the records it covers.
    const first = airbyte.messages.find((m) => m.type === 'RECORD');
    expect(Number.isInteger(first?.record?.emitted_at)).toBe(true);
    // A stream is COMPLETE right after the STATE that takes its bookmark to the sync's end.
    for (const stream of STREAMS) {
      const at = airbyte.messages.findIndex((m) => m.trace?.stream_status?.status === 'COMPLETE' && m.trace.stream_status.stream_descriptor.name === stream);
      expect(airbyte.messages[at - 1]?.state?.stream, stream).toEqual({ stream_descriptor: { name: stream }, stream_state: { replication_key: 'created_at', replication_key_value: '2026-01-02T23:00:00Z' } });
    }
  });

  it('the per-stream state it printed resumes it as the Singer state resumes the Singer face', async () => {
    const catalog = configuredCatalogOf(discovered, ALL_INCREMENTAL);
    const firstAirbyte = await read(config('2026-01-02'), catalog);
    const firstSinger = await singer(config('2026-01-02'));
    expectSameSync(firstAirbyte, firstSinger);

    const cfg = config('2026-01-03');
    const airbyte = await read(cfg, catalog, firstAirbyte.states());
    const singerRun = await singer(cfg, firstSinger.lastState());
    expectSameSync(airbyte, singerRun);
    // It resumed: the first day's sessions (before the bookmark minus the 2 h lookback) are not read again.
    const sessions = airbyte.records('sessions').map((r) => String(r.created_at));
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.every((at) => at >= '2026-01-01T21:00:00Z')).toBe(true);
  });

  it.each([
    ['legacy, bare (the Singer state)', (s: unknown) => s],
    ['legacy, as a LEGACY state message', (s: unknown) => ({ type: 'LEGACY', data: s })],
    ['global', (s: unknown) => [{ type: 'GLOBAL', global: { stream_states: globalStates(s) } }]],
  ])('a %s incoming state resumes it the same way', async (_name, form) => {
    const first = await singer(config('2026-01-02'));
    const state = first.lastState();
    const cfg = config('2026-01-03');
    const airbyte = await read(cfg, configuredCatalogOf(discovered, ALL_INCREMENTAL), form(state));
    expectSameSync(airbyte, await singer(cfg, state));
  });

  it('full_refresh ignores that stream\'s bookmark; an incremental stream beside it keeps its own', async () => {
    const first = await singer(config('2026-01-02'));
    const state = first.lastState();
    const { sessions: _dropped, ...others } = state?.bookmarks ?? {};
    const cfg = config('2026-01-03');
    const airbyte = await read(cfg, configuredCatalogOf(discovered, { ...ALL_INCREMENTAL, sessions: 'full_refresh' }), state);
    // As the Singer face without the sessions bookmark.
    expectSameSync(airbyte, await singer(cfg, { bookmarks: others }));
    // sessions from start_date: every session of the range, as without any state.
    const fresh = await singer(cfg);
    expect(airbyte.records('sessions')).toEqual(fresh.records('sessions'));
    expect(airbyte.records('visits').length).toBeLessThan(fresh.records('visits').length);
  });

  it('full_refresh of every stream reads the whole range whatever the state', async () => {
    const first = await singer(config('2026-01-02'));
    const cfg = config('2026-01-03');
    const airbyte = await read(cfg, configuredCatalogOf(discovered, { sessions: 'full_refresh', visits: 'full_refresh', conversions: 'full_refresh' }), first.lastState());
    expectSameSync(airbyte, await singer(cfg));
  });

  it('logs are LOG messages on stdout, at their level; another cursor_field is ignored with a warning', async () => {
    const catalog = configuredCatalogOf(discovered, { sessions: 'incremental' }) as { streams: { cursor_field: string[] }[] };
    (catalog.streams[0] as { cursor_field: string[] }).cursor_field = ['updated_at'];
    const args = ['read', '--config', config('2026-01-02'), '--catalog', file('catalog.json', catalog)];
    const run = await runSourceInProcess(args, { clock: fakeClock(NOW), env: { LOG_LEVEL: 'debug' } });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const logs = run.messages.flatMap((m) => (m.log === undefined ? [] : [`${m.log.level} ${m.log.message}`]));
    expect(logs).toContain('WARN sessions: cursor_field updated_at ignored; the source defines the cursor (created_at)');
    expect(logs).toContain('INFO source-wemasy: reading sessions (incremental)');
    expect(logs.some((line) => line.startsWith('DEBUG '))).toBe(true);
    expect(run.stdout).not.toContain(TOKEN);
    expect(logs.some((line) => line.startsWith('INFO METRIC: {"type":"counter","metric":"record_count"'))).toBe(true);
  });

  it('only the configured streams; a field removed from json_schema is not delivered', async () => {
    const sessions = discovered.find((s) => s.name === 'sessions') as AirbyteStream;
    const { browser: _removed, ...properties } = sessions.json_schema.properties;
    const narrowed = { ...sessions, json_schema: { ...sessions.json_schema, properties } };
    const airbyte = await read(config('2026-01-02'), configuredCatalogOf([narrowed], { sessions: 'incremental' }));
    expect(airbyte.code).toBe(0);
    const records = airbyte.records('sessions');
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => !('browser' in r) && 'device' in r)).toBe(true);
    expect(airbyte.records('visits')).toEqual([]);
    expect(Object.keys(airbyte.bookmarks())).toEqual(['sessions']);
    expect(api.requests.every((r) => r.endpoint === 'sessions')).toBe(true);
  });
});

/** A Singer state's bookmarks as Airbyte stream states. */
function globalStates(state: unknown): unknown[] {
  const bookmarks = (state as { bookmarks: Record<string, unknown> }).bookmarks;
  return Object.entries(bookmarks).map(([name, bookmark]) => ({ stream_descriptor: { name }, stream_state: bookmark }));
}

describe('read fails with a TRACE error a person can act on', () => {
  it('a refused token mid-sync: INCOMPLETE streams, config_error, exit 1, the token nowhere (even echoed by the server)', async () => {
    api.inject({ kind: '401', endpoint: 'visits', echoAuthorization: true });
    const run = await read(config('2026-01-02'), configuredCatalogOf(discovered, ALL_INCREMENTAL));
    expect(run.code).toBe(1);
    expect(run.statuses().filter((s) => !s.endsWith('RUNNING'))).toEqual([...STREAMS.map((s) => `${s} STARTED`), ...STREAMS.map((s) => `${s} INCOMPLETE`)]);
    expect(run.errors()).toHaveLength(1);
    expect(run.errors()[0]?.failure_type).toBe('config_error');
    expect(run.errors()[0]?.message).toMatch(/^Wemasy refused the API token \(401\) on POST \/services\/analytics\/v1\/sessions\/get-visits/);
    expect(run.messages.at(-1)?.type).toBe('TRACE');
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
    // The sessions window that completed before the failure kept its bookmark.
    expect(Object.keys(run.bookmarks())).toEqual(['sessions']);
  });

  it('a failure in the last conversions request: the streams already through the end stay COMPLETE, conversions INCOMPLETE', async () => {
    const catalog = configuredCatalogOf(discovered, ALL_INCREMENTAL);
    const cfg = config('2026-01-02');
    await read(cfg, catalog);
    const conversions = api.requests.filter((r) => r.endpoint === 'conversions').length;
    api.reset();
    api.inject({ kind: '403', endpoint: 'conversions', after: conversions - 1 });
    const run = await read(cfg, catalog);
    expect(run.code).toBe(1);
    expect(run.statuses().filter((s) => !s.endsWith('RUNNING') && !s.endsWith('STARTED'))).toEqual(['sessions COMPLETE', 'visits COMPLETE', 'conversions INCOMPLETE']);
    expect(run.errors().map((e) => e.failure_type)).toEqual(['config_error']);
  });

  it('a server that keeps failing: transient_error, exit 1', async () => {
    api.inject({ kind: '500', endpoint: 'sessions', times: Infinity });
    const run = await read(config('2026-01-02', { max_retries: 1 }), configuredCatalogOf(discovered, ALL_INCREMENTAL));
    expect(run.code).toBe(1);
    expect(run.errors().map((e) => e.failure_type)).toEqual(['transient_error']);
    expect(run.bookmarks()).toEqual({});
  });

  it.each([
    ['an unknown stream', () => ({ streams: [{ stream: { ...discovered[0], name: 'pageviews' }, sync_mode: 'incremental', destination_sync_mode: 'append' }] }), undefined, /^catalog .*: unknown stream "pageviews" \(known: sessions, visits, conversions\)$/],
    ['a catalog that is not one', () => ({ streams: 'all' }), undefined, /^catalog .*: must be a configured catalog, a JSON object with a "streams" list$/],
    ['a bad sync_mode', () => configuredCatalogOf(discovered, ALL_INCREMENTAL), undefined, /^catalog .*: stream sessions: sync_mode must be "full_refresh" or "incremental"$/, (c: { streams: { sync_mode: string }[] }) => ((c.streams[0] as { sync_mode: string }).sync_mode = 'cdc')],
    [
      'a stream_state without replication_key_value',
      () => configuredCatalogOf(discovered, ALL_INCREMENTAL),
      [{ type: 'STREAM', stream: { stream_descriptor: { name: 'sessions' }, stream_state: { created_at: '2026-01-01T00:00:00Z' } } }],
      /^state .*: the stream_state of sessions must be \{"replication_key": \.\.\., "replication_key_value": "<instant>"\}$/,
    ],
    [
      'a bookmark in the future',
      () => configuredCatalogOf(discovered, ALL_INCREMENTAL),
      [{ type: 'STREAM', stream: { stream_descriptor: { name: 'visits' }, stream_state: { replication_key: 'created_at', replication_key_value: '2027-01-01T00:00:00Z' } } }],
      /^state .*: bookmarks\.visits\.replication_key_value 2027-01-01T00:00:00Z is in the future$/,
    ],
    ['a legacy state of something else', () => configuredCatalogOf(discovered, ALL_INCREMENTAL), { cursor: 5 }, /^state .*: a legacy state must be \{"bookmarks": \{\.\.\.\}\}/],
  ])('%s: config_error, exit 2, before any request', async (_name, catalog, state, message, mutate?: (c: { streams: { sync_mode: string }[] }) => void) => {
    const value = catalog() as { streams: { sync_mode: string }[] };
    mutate?.(value);
    const run = await read(config('2026-01-02'), value, state);
    expect(run.code).toBe(2);
    expect(run.errors()).toHaveLength(1);
    expect(run.errors()[0]?.failure_type).toBe('config_error');
    expect(run.errors()[0]?.message).toMatch(message);
    expect(run.statuses()).toEqual([]);
    expect(api.requests).toEqual([]);
  });
});
