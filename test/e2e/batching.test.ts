import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi, type FakeApiOptions, type RecordedRequest } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

/**
 * Batch sizes learned from the API, list-sessions pages as its paginator serves them, the first
 * STATE early without the sessions stream, and --estimate, against the test server.
 */

const DATASET = { zone: 'UTC', sessionIntervalSeconds: 600 } as const; // 144 sessions a day
let dir: string;
const servers: FakeApi[] = [];

async function server(options: FakeApiOptions = {}): Promise<FakeApi> {
  const api = await startFakeApi({ dataset: DATASET, rateLimit: { limit: 1_000_000, windowMs: 60_000 }, ...options });
  servers.push(api);
  return api;
}

const config = (api: FakeApi, extra: object = {}) => ({
  api_token: 'test-token',
  base_url: api.url,
  start_date: '2026-01-01',
  end_date: '2026-01-03',
  timezone: 'UTC',
  adaptive_windows: false,
  requests_per_minute: 600_000,
  retry_base_delay: 0.01,
  retry_max_delay: 0.05,
  request_timeout: 10,
  ...extra,
});

async function sync(api: FakeApi, extra: object = {}, args: string[] = []): Promise<TapRun> {
  return runInProcess(['--config', writeJson(dir, `config-${Math.random()}.json`, config(api, extra)), ...args]);
}

const ids = (r: RecordedRequest): unknown[] => (r.body as { session_ids: unknown[] }).session_ids;
const childRequests = (api: FakeApi) => api.requests.filter((r) => r.endpoint === 'visits' || r.endpoint === 'conversions');

/** Every record of the visits and conversions of [start, end), each once. */
function expectExactChildren(run: TapRun, api: FakeApi, start = '2026-01-01T00:00:00Z', end = '2026-01-03T00:00:00Z'): void {
  for (const stream of ['visits', 'conversions'] as const) {
    const records = run.records(stream);
    expect(new Set(records.map((r) => r.id)).size, `${stream}: no duplicates`).toBe(records.length);
    expect(byId(records), stream).toEqual(expectedRecords(api.dataset, stream, start, end));
  }
}

/** Per window and endpoint, the session ids asked for in answered requests: each exactly once. */
function expectEachIdOncePerWindow(api: FakeApi): void {
  const byWindow = new Map<string, unknown[]>();
  for (const r of childRequests(api).filter((q) => q.status === 200)) {
    const key = `${r.endpoint} ${String((r.body as { start_date: string }).start_date)}`;
    byWindow.set(key, [...(byWindow.get(key) ?? []), ...ids(r)]);
  }
  for (const [key, list] of byWindow) {
    expect(new Set(list).size, key).toBe(list.length);
    const start = Date.parse(`${key.split(' ')[1] ?? ''}T00:00:00Z`);
    expect(list.length, key).toBe(api.dataset.sessionsCreatedIn(start - 86_400_000, start + 86_400_000).length);
  }
}

beforeAll(() => {
  dir = tempDir();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('session batch size', () => {
  let capped: FakeApi;
  beforeAll(async () => {
    capped = await server({ maxSessionIds: 50 });
  });
  beforeEach(() => capped.reset());

  it('grows from session_batch_size, jumps to the N of a Laravel 422, keeps every record once and reports the size', async () => {
    const run = await sync(capped, { session_batch_size: 20, max_session_batch_size: 1000 });
    expect(criticalLines(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    expectExactChildren(run, capped);
    expectEachIdOncePerWindow(capped);
    const children = childRequests(capped);
    const refused = children.filter((r) => r.status === 422);
    // 20, then 40 after a full batch, then 80: refused (at most one per request in flight)
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(3);
    for (const r of refused) expect(ids(r).length).toBeGreaterThan(50);
    expect(children.filter((r) => r.status === 200).every((r) => ids(r).length <= 50)).toBe(true);
    expect(children.filter((r) => r.status === 200).map((r) => ids(r).length)).toContain(50);
    expect(run.stderr).toMatch(/INFO session batch size: 50 ids per request \(started at 20; the API refused more than 50 session ids \(422: The session ids field must not have more than 50 items\.\)/);
    expect(run.lastState()?.bookmarks.conversions?.replication_key_value).toBe('2026-01-03T00:00:00Z');
  });

  it('halves after a proxy 413 until the API takes the batch, and never grows past a refused size', async () => {
    const proxy = await server({ maxSessionIds: 30, sessionIdsRefusal: 413 });
    const run = await sync(proxy, { session_batch_size: 100 });
    expect(criticalLines(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    expectExactChildren(run, proxy);
    expectEachIdOncePerWindow(proxy);
    const children = childRequests(proxy);
    // 100 refused, 50 refused, 25 taken (and not grown again)
    expect(children.filter((r) => r.status === 413).every((r) => ids(r).length > 30)).toBe(true);
    expect(children.filter((r) => r.status === 413).map((r) => ids(r).length)).toEqual(expect.arrayContaining([100, 50]));
    expect(children.filter((r) => r.status === 200).every((r) => ids(r).length <= 25)).toBe(true);
    expect(run.stderr).toMatch(/session batch size: 25 ids per request \(started at 100; the API answered 413; \d+ refused batches\)/);
  });

  it('sends fixed batches when max_session_batch_size equals session_batch_size', async () => {
    const run = await sync(capped, { session_batch_size: 40, max_session_batch_size: 40 });
    expect(run.code).toBe(0);
    const sizes = childRequests(capped).map((r) => ids(r).length);
    expect(sizes.filter((n) => n !== 40).length).toBeLessThanOrEqual(4); // the last batch of each window and stream
    expect(run.stderr).toMatch(/session batch size: 40 ids per request, max_session_batch_size 40/);
  });

  it('fails on a 422 about another field, and on a refusal of a single id, with the API message', async () => {
    const open = await server();
    open.inject({ kind: '422', endpoint: 'visits' });
    const other = await sync(open, {});
    expect(other.code).toBe(1);
    expect(criticalLines(other.stderr).join('\n')).toMatch(/rejected POST \/services\/analytics\/v1\/sessions\/get-visits \(422\): start_date: The start date does not match/);
    expect(other.lastState()?.bookmarks.visits).toBeUndefined();
    // the batches already in flight finish; no other starts
    expect(childRequests(open).length).toBeLessThanOrEqual(3);
    expect(childRequests(open).filter((r) => r.status === 422)).toHaveLength(1);

    const none = await server({ maxSessionIds: 0 });
    const run = await sync(none, { session_batch_size: 4 });
    expect(run.code).toBe(1);
    expect(criticalLines(run.stderr).join('\n')).toMatch(/\(422\): session_ids: The session ids field must not have more than 0 items\./);
    const sizes = childRequests(none).map((r) => ids(r).length);
    expect(sizes).toContain(1);
    expect(Math.max(...sizes)).toBe(4);
    expect(childRequests(none).every((r) => r.status === 422)).toBe(true);
    expect(run.lastState()?.bookmarks.visits).toBeUndefined();
  });
});

describe('list-sessions pages', () => {
  it('asks for the largest page and follows the per_page, last_page and next_page_url the paginator answers', async () => {
    const api = await server({ maxPerPage: 7 });
    const run = await sync(api, { end_date: '2026-01-02' }, []);
    expect(run.code).toBe(0);
    const sessions = api.requests.filter((r) => r.endpoint === 'sessions');
    expect(new Set(sessions.map((r) => (r.body as { per_page: string }).per_page))).toEqual(new Set(['10000']));
    const window = sessions.filter((r) => (r.body as { start_date: string }).start_date === '2026-01-01 00:00:00');
    expect(window.map((r) => r.page)).toEqual(Array.from({ length: Math.ceil(144 / 7) }, (_, i) => i + 1));
    expect(byId(run.records('sessions'))).toEqual(expectedRecords(api.dataset, 'sessions', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
  });
});

/** A catalog with only visits and conversions selected. */
async function childrenOnly(): Promise<string> {
  const discovered = JSON.parse((await runInProcess(['--discover'])).stdout) as { streams: { stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
  for (const entry of discovered.streams) {
    for (const m of entry.metadata) if (m.breadcrumb.length === 0) m.metadata.selected = entry.stream !== 'sessions';
  }
  return writeJson(dir, 'children.json', discovered);
}

describe('without the sessions stream', () => {
  it('writes the first STATE after a few requests of a 90-day range, and lists each session about once', async () => {
    const api = await server({ dataset: { zone: 'UTC' } }); // 12 sessions a day
    const catalog = await childrenOnly();
    const range = { start_date: '2026-01-01', end_date: '2026-04-01', adaptive_windows: true, max_retries: 0 };
    api.dieAfter(2);
    const cut = await sync(api, range, ['--catalog', catalog]);
    expect(cut.code).toBe(1);
    // The first window is an hour: one listing of its sessions and its lookback day, one
    // get-visits, and a STATE.
    expect(api.requests.slice(0, 2).map((r) => r.endpoint)).toEqual(['sessions', 'visits']);
    expect(cut.states()[0]?.bookmarks.visits?.replication_key_value).toBe('2026-01-01T01:00:00Z');

    api.reset();
    const run = await sync(api, range, ['--catalog', catalog]);
    expect(run.code).toBe(0);
    expectExactChildren(run, api, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z');
    const listed = api.requests.filter((r) => r.endpoint === 'sessions');
    const sessions = api.dataset.sessionsCreatedIn(Date.parse('2025-12-31T00:00:00Z'), Date.parse('2026-04-01T00:00:00Z')).length;
    // about one page of 100 per listing: the first listing is what the first window needs
    expect(listed.length).toBeLessThanOrEqual(Math.ceil(sessions / 90) + 2);
    expect(listed.filter((r) => r.page === 1).length).toBeGreaterThan(3);
    expect(run.stderr).toMatch(/session ids: listed \d+ sessions in \d+ chunks/);
  });
});

describe('--estimate', () => {
  it('counts the sessions with two requests and prints requests and duration, no records, no state', async () => {
    const api = await server({ maxPerPage: 50 });
    const extra = { end_date: '2026-01-11', requests_per_minute: 60 };
    const text = await sync(api, extra, ['--estimate']);
    expect(text.code).toBe(0);
    expect(api.requests.map((r) => (r.body as { per_page: string }).per_page)).toEqual(['1', '10000']);
    const sessions = api.dataset.sessionsCreatedIn(Date.parse('2025-12-31T00:00:00Z'), Date.parse('2026-01-11T00:00:00Z')).length;
    expect(text.stdout).toContain(`sessions     ${sessions.toLocaleString('en-US')} in the range read`);
    expect(text.stdout).toContain('list-sessions serves 50 per page');
    expect(text.stdout).toMatch(/total +\d+ requests/);
    expect(text.stdout).toMatch(/duration +\d+ s .*at 60 requests a minute/);
    expect(text.stdout).not.toMatch(/"type"/);

    api.reset();
    const json = await sync(api, extra, ['--estimate', '--format', 'json']);
    const estimate = JSON.parse(json.stdout) as { sessions: number; requests: number; requestsMade: number; seconds: number; pageSize: number };
    expect(estimate).toMatchObject({ sessions, requestsMade: 2, pageSize: 50 });
    expect(estimate.seconds).toBeCloseTo(estimate.requests, 5);

    api.reset();
    const real = await sync(api, { ...extra, requests_per_minute: 600_000 });
    expect(real.code).toBe(0);
    // the estimate replays the sync's windows, pages and batches on even data
    expect(Math.abs(api.requests.length - estimate.requests)).toBeLessThanOrEqual(Math.ceil(api.requests.length * 0.1));
  });
});
