import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

let api: FakeApi;
let dir: string;

const baseConfig = () => ({
  api_token: 'test-token',
  base_url: api.url,
  start_date: '2026-01-01',
  end_date: '2026-01-04',
  requests_per_minute: 60000,
  retry_base_delay: 0.01,
  retry_max_delay: 0.05,
  request_timeout: 5,
  adaptive_windows: false,
});

async function sync(config: object, extra: string[] = []): Promise<TapRun> {
  const run = await runInProcess(['--config', writeJson(dir, `config-${Math.random()}.json`, config), ...extra]);
  return run;
}

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: 'UTC' }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

describe('full sync', () => {
  it('emits exactly the server records of every stream for [start_date, end_date)', async () => {
    const run = await sync(baseConfig());
    expect(run.stderr).not.toMatch(/CRITICAL/);
    expect(run.code).toBe(0);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      const expected = expectedRecords(api.dataset, stream, '2026-01-01T00:00:00Z', '2026-01-04T00:00:00Z');
      expect(expected.length).toBeGreaterThan(5);
      expect(byId(run.records(stream)), stream).toEqual(expected);
    }
    // Visits whose session began the evening before the range are there too.
    const early = run.records('visits').filter((v) => !api.dataset.sessionsCreatedIn(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-04T00:00:00Z')).some((s) => s.id === v.session_id));
    expect(early.length).toBeGreaterThan(0);
  });

  it('writes SCHEMA once per stream before its records, RECORDs with time_extracted, and a STATE per window', async () => {
    const run = await sync(baseConfig());
    const types = run.messages.map((m) => `${m.type}:${m.stream ?? ''}`);
    for (const stream of ['sessions', 'visits', 'conversions']) {
      const schemaAt = types.indexOf(`SCHEMA:${stream}`);
      expect(types.filter((t) => t === `SCHEMA:${stream}`)).toHaveLength(1);
      expect(schemaAt).toBeLessThan(types.indexOf(`RECORD:${stream}`));
    }
    expect(new Set(run.messages.map((m) => m.type))).toEqual(new Set(['SCHEMA', 'RECORD', 'STATE']));
    const schema = run.schemas()[0];
    expect(schema).toMatchObject({ stream: 'sessions', key_properties: ['id'], bookmark_properties: ['created_at'] });
    for (const m of run.messages.filter((m) => m.type === 'RECORD')) expect(m.time_extracted).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    // 3 daily windows per stream, then the final state.
    const bookmarks = run.states().map((s) => JSON.stringify(s.bookmarks));
    expect(run.states()).toHaveLength(10);
    expect(run.lastState()).toEqual({
      bookmarks: {
        sessions: { replication_key: 'created_at', replication_key_value: '2026-01-04T00:00:00Z' },
        visits: { replication_key: 'created_at', replication_key_value: '2026-01-04T00:00:00Z' },
        conversions: { replication_key: 'created_at', replication_key_value: '2026-01-04T00:00:00Z' },
      },
    });
    expect(bookmarks[0]).toBe(JSON.stringify({ sessions: { replication_key: 'created_at', replication_key_value: '2026-01-02T00:00:00Z' } }));
  });

  it('asks for each window once with inclusive bounds and lists every session once', async () => {
    await sync(baseConfig());
    const calls = api.requests.map((r) => `${r.endpoint} ${String((r.body as Record<string, unknown>).start_date)} .. ${String((r.body as Record<string, unknown>).end_date)}`);
    // The streams advance in step, window by window (the first STATE comes after one window
    // whatever the range): the sessions of a day, then that day's visits and conversions.
    expect(calls).toEqual([
      'sessions 2026-01-01 00:00:00 .. 2026-01-01 23:59:59',
      // the sessions of the lookback day: ids only, listed once
      'sessions 2025-12-31 00:00:00 .. 2025-12-31 23:59:59',
      'visits 2026-01-01 00:00:00 .. 2026-01-01 23:59:59',
      'conversions 2026-01-01 00:00:00 .. 2026-01-01 23:59:59',
      'sessions 2026-01-02 00:00:00 .. 2026-01-02 23:59:59',
      'visits 2026-01-02 00:00:00 .. 2026-01-02 23:59:59',
      'conversions 2026-01-02 00:00:00 .. 2026-01-02 23:59:59',
      'sessions 2026-01-03 00:00:00 .. 2026-01-03 23:59:59',
      'visits 2026-01-03 00:00:00 .. 2026-01-03 23:59:59',
      'conversions 2026-01-03 00:00:00 .. 2026-01-03 23:59:59',
    ]);
    const visitIds = (api.requests[2]?.body as { session_ids: number[] }).session_ids;
    const expectedIds = api.dataset
      .sessionsCreatedIn(Date.parse('2025-12-31T00:00:00Z'), Date.parse('2026-01-02T00:00:00Z'))
      .map((s) => s.id);
    expect([...visitIds].sort((a, b) => a - b)).toEqual(expectedIds);
  });

  it('sends session ids in batches of session_batch_size', async () => {
    const run = await sync({ ...baseConfig(), session_batch_size: 5, end_date: '2026-01-02' });
    expect(run.code).toBe(0);
    const batches = api.requests.filter((r) => r.endpoint === 'visits').map((r) => (r.body as { session_ids: unknown[] }).session_ids.length);
    const sessions = api.dataset.sessionsCreatedIn(Date.parse('2025-12-31T00:00:00Z'), Date.parse('2026-01-02T00:00:00Z')).length;
    expect(batches.reduce((a, b) => a + b, 0)).toBe(sessions);
    // batches go out up to three at a time, so the partial one need not be the last recorded
    expect(batches.filter((n) => n !== 5).length).toBeLessThanOrEqual(1);
    expect(byId(run.records('visits'))).toEqual(expectedRecords(api.dataset, 'visits', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
  });

  it('uses session_ids from the config instead of listing sessions', async () => {
    const run = await sync({ ...baseConfig(), session_ids: [3, '4', 99999], end_date: '2020-01-02' , start_date: '2020-01-01'}, []);
    expect(run.code).toBe(0);
    const visits = byId(run.records('visits'));
    const expected = expectedRecords(api.dataset, 'visits', '2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z').filter((v) => [3, 4].includes(Number(v.session_id)));
    expect(visits).toEqual(expected);
    expect(api.requests.filter((r) => r.endpoint === 'visits').map((r) => (r.body as { session_ids: unknown[] }).session_ids)).toEqual([[3, '4', 99999]]);
  });
});

describe('adaptive windows', () => {
  it('emit exactly the records of fixed windows with fewer requests, and bookmarks per window', async () => {
    const config = { ...baseConfig(), start_date: '2025-11-01', end_date: '2026-01-04', window_target_records: 400 };
    const fixed = await sync(config);
    const fixedRequests = api.requests.length;
    api.reset();
    const adaptive = await sync({ ...config, adaptive_windows: true, session_batch_size: 100 });
    const adaptiveRequests = api.requests.length;
    expect(adaptive.code).toBe(0);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      const expected = expectedRecords(api.dataset, stream, '2025-11-01T00:00:00Z', '2026-01-04T00:00:00Z');
      expect(byId(fixed.records(stream)), stream).toEqual(expected);
      expect(byId(adaptive.records(stream)), stream).toEqual(expected);
    }
    expect(adaptiveRequests * 2).toBeLessThan(fixedRequests);
    expect(adaptive.lastState()).toEqual(fixed.lastState());
    // bookmarks still move window by window, never backwards
    const marks = adaptive.states().map((s) => s.bookmarks.visits?.replication_key_value).filter((v): v is string => v !== undefined);
    expect(new Set(marks).size).toBeGreaterThan(2);
    expect([...marks].sort()).toEqual(marks);
    // Batches start at session_batch_size and double after each full one (a window's last batch
    // may be partial: visits windows end where the sessions stream's window ends), and the run
    // reports where the size ended.
    const sizes = api.requests.filter((r) => r.endpoint === 'visits').map((r) => (r.body as { session_ids: unknown[] }).session_ids.length);
    expect(Math.max(...sizes)).toBeGreaterThan(100);
    expect(adaptive.stderr).toMatch(/session batch size: \d+ ids per request \(started at 100\)/);
  });
});

describe('catalog selection', () => {
  it('syncs only selected streams and fields, always with key and replication fields', async () => {
    const discovered = JSON.parse((await runInProcess(['--discover'])).stdout) as { streams: { stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
    // As Meltano writes it for `select: [visits.url]`: selected everywhere, automatic fields false too.
    for (const entry of discovered.streams) {
      const on = entry.stream === 'visits';
      (entry as Record<string, unknown>).selected = on;
      for (const m of entry.metadata) {
        m.metadata.selected = m.breadcrumb.length === 0 ? on : on && m.breadcrumb[1] === 'url';
      }
    }
    const run = await sync(baseConfig(), ['--catalog', writeJson(dir, 'catalog.json', discovered)]);
    expect(run.code).toBe(0);
    expect(run.schemas().map((s) => s.stream)).toEqual(['visits']);
    expect(Object.keys((run.schemas()[0]?.schema as { properties: object }).properties)).toEqual(['id', 'created_at', 'url']);
    const expected = expectedRecords(api.dataset, 'visits', '2026-01-01T00:00:00Z', '2026-01-04T00:00:00Z', { fields: ['id', 'created_at', 'url'] });
    expect(byId(run.records('visits'))).toEqual(expected);
    expect(run.records('sessions')).toEqual([]);
    expect(Object.keys(run.lastState()?.bookmarks ?? {})).toEqual(['visits']);
  });
});

describe('incremental runs', () => {
  it('resumes at the bookmark, echoes the incoming state first, and re-reads lookback_window', async () => {
    const first = await sync({ ...baseConfig(), end_date: '2026-01-03' });
    const state = first.lastState();
    expect(state?.bookmarks.visits?.replication_key_value).toBe('2026-01-03T00:00:00Z');
    api.reset();
    const statePath = writeJson(dir, 'state.json', state);
    const second = await sync({ ...baseConfig(), lookback_window: 'PT12H' }, ['--state', statePath]);
    expect(second.code).toBe(0);
    expect(second.messages[0]).toEqual({ type: 'STATE', value: state });
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(second.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, '2026-01-02T12:00:00Z', '2026-01-04T00:00:00Z'));
    }
    expect(second.lastState()?.bookmarks.sessions?.replication_key_value).toBe('2026-01-04T00:00:00Z');
  });

  it('does nothing but echo the state when the bookmark is already at the end', async () => {
    const statePath = writeJson(dir, 'state-done.json', {
      bookmarks: { sessions: { replication_key: 'created_at', replication_key_value: '2026-01-04T00:00:00Z' } },
    });
    const run = await sync({ ...baseConfig(), session_ids: [1], lookback_window: 'PT0S' }, ['--state', statePath]);
    expect(run.code).toBe(0);
    expect(run.records('sessions')).toEqual([]);
    expect(run.lastState()?.bookmarks.sessions?.replication_key_value).toBe('2026-01-04T00:00:00Z');
  });
});
