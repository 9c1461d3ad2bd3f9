import { request as httpRequest, Agent } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_SPREAD_SECONDS, createDataset } from './fake-api/dataset.js';
import { hash32 } from './fake-api/hash.js';
import { API_PATHS, startFakeApi, type Endpoint, type FakeApi } from './fake-api/server.js';
import { parseStandaloneArgs } from './fake-api/standalone.js';

const TOKEN = 'test-token';
const DAY_MS = 86_400_000;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

interface PostOptions {
  readonly page?: number;
  readonly token?: string | null;
  readonly rawBody?: string;
  readonly method?: string;
}

async function post(api: FakeApi, endpoint: Endpoint, body: unknown, options: PostOptions = {}): Promise<Answer> {
  const url = `${api.url}${API_PATHS[endpoint]}${options.page === undefined ? '' : `?page=${options.page}`}`;
  return call(url, body, options);
}

async function call(url: string, body: unknown, options: PostOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const method = options.method ?? 'POST';
  const res = await fetch(url, { method, headers, ...(method === 'POST' ? { body: options.rawBody ?? JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const sessionsBody = (start: string, end: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  start_date: start,
  end_date: end,
  sortKey: 'id',
  sortOrder: 'asc',
  per_page: '100',
  filters: {},
  ...extra,
});

interface Page {
  current_page: number;
  data: { id: number; created_at: string }[];
  last_page: number;
  next_page_url: string | null;
  prev_page_url: string | null;
  total: number;
  from: number | null;
  to: number | null;
  per_page: number;
}

/** Follows next_page_url from page 1 until null; returns every page. */
async function allPages(api: FakeApi, body: Record<string, unknown>): Promise<Page[]> {
  const pages: Page[] = [];
  let url: string | null = `${api.url}${API_PATHS.sessions}`;
  while (url !== null) {
    const answer = await call(url, body);
    expect(answer.status).toBe(200);
    const page = (answer.json as { data: Page }).data;
    pages.push(page);
    url = page.next_page_url;
    expect(pages.length).toBeLessThan(1000);
  }
  return pages;
}

describe('dataset', () => {
  const dataset = createDataset({ zone: 'Europe/Amsterdam' });

  it('is deterministic and follows the documented rules', () => {
    const again = createDataset({ zone: 'Europe/Amsterdam' });
    for (const k of [1, 2, 17, 26_303, 999_999]) {
      const s = dataset.session(k);
      expect(s).toEqual(again.session(k));
      expect(s?.id).toBe(k);
      const slotMs = dataset.epochMs + k * 7_200_000;
      expect(s?.createdAtMs).toBe(slotMs + (hash32(k, 1) % 3600) * 1000);
      expect(s?.item.created_at).toBe(dataset.toLocal(s?.createdAtMs ?? 0));
      expect(s?.item).not.toHaveProperty('ip_address');
      expect(dataset.session(k, { includeIpAddresses: true })?.item.ip_address).toMatch(/^203\.0\.113\.\d+$/);

      const visits = dataset.visitsOf(k);
      expect(visits.length).toBe(hash32(k, 2) % 5);
      visits.forEach((v, j) => {
        expect(v.id).toBe(k * 100 + j + 1);
        expect(v.item.session_id).toBe(k);
        expect(v.createdAtMs - (s?.createdAtMs ?? 0)).toBeGreaterThanOrEqual(0);
        expect(v.createdAtMs - (s?.createdAtMs ?? 0)).toBeLessThan(CHILD_SPREAD_SECONDS * 1000);
      });
      const conversions = dataset.conversionsOf(k);
      if (hash32(k, 3) % 3 === 0) expect(conversions.length).toBe(1 + (hash32(k, 4) % 2));
      else expect(conversions).toEqual([]);
    }
    expect(dataset.session(0)).toBeUndefined();
    expect(dataset.visitsOf(-5)).toEqual([]);
  });

  it('answers half-open instant ranges without scanning, and agrees with a brute-force walk', () => {
    const start = Date.parse('2026-03-01T00:00:00Z');
    const end = start + 3 * DAY_MS;
    const sessions = dataset.sessionsCreatedIn(start, end);
    expect(sessions.length).toBeGreaterThan(30);
    expect(sessions.every((s) => s.createdAtMs >= start && s.createdAtMs < end)).toBe(true);
    const first = sessions[0];
    if (first === undefined) throw new Error('no sessions');
    // half-open: the first session's own instant is included as a start, excluded as an end
    expect(dataset.sessionsCreatedIn(first.createdAtMs, first.createdAtMs + 1).map((s) => s.id)).toEqual([first.id]);
    expect(dataset.sessionsCreatedIn(first.createdAtMs - 1000, first.createdAtMs)).toEqual([]);

    const brute = [];
    for (let k = sessions[0]!.id - 20; k <= sessions.at(-1)!.id + 20; k += 1) {
      for (const v of dataset.visitsOf(k)) if (v.createdAtMs >= start && v.createdAtMs < end) brute.push(v.id);
    }
    const visits = dataset.visitsCreatedIn(start, end);
    expect(visits.map((v) => v.id).sort((a, b) => a - b)).toEqual(brute.sort((a, b) => a - b));
    // some visits belong to sessions that began before the range (the tap needs a lookback)
    expect(visits.some((v) => v.sessionId < first.id)).toBe(true);
    const clicks = dataset.conversionsCreatedIn(start, end, ['click']);
    expect(clicks.length).toBeGreaterThan(0);
    expect(clicks.every((c) => c.item.type === 'click')).toBe(true);
  });

  it('serves 90 days at 60 sessions a day', () => {
    const busy = createDataset({ zone: 'Europe/Amsterdam', sessionIntervalSeconds: 1440 });
    const start = Date.parse('2026-01-01T00:00:00Z');
    expect(busy.sessionsCreatedIn(start, start + 90 * DAY_MS)).toHaveLength(5400);
    expect(busy.visitsCreatedIn(start, start + 90 * DAY_MS).length).toBeGreaterThan(5000);
  });

  it('adds unnamed fields with extraFields', () => {
    const extra = createDataset({ extraFields: true });
    const k = [...Array(50).keys()].find((i) => extra.visitsOf(i + 1).length > 0 && extra.conversionsOf(i + 1).length > 0)! + 1;
    expect(extra.session(k)?.item).toHaveProperty('utm_source');
    expect(extra.visitsOf(k)[0]?.item).toHaveProperty('device_pixel_ratio');
    expect(extra.conversionsOf(k)[0]?.item).toHaveProperty('goal_id');
  });
});

describe('fake API server', () => {
  let api: FakeApi;

  beforeAll(async () => {
    api = await startFakeApi({ dataset: { zone: 'Europe/Amsterdam' } });
  });
  afterAll(async () => {
    await api.close();
  });
  afterEach(() => {
    api.reset();
  });

  it('lists sessions page by page until next_page_url is null', async () => {
    const body = sessionsBody('2026-01-10 00:00:00', '2026-01-14 23:59:59', { per_page: '7' });
    const pages = await allPages(api, body);
    const ids = pages.flatMap((p) => p.data.map((s) => s.id));
    const start = Date.parse('2026-01-10T00:00:00+01:00');
    const expected = api.dataset.sessionsCreatedIn(start, start + 5 * DAY_MS);
    expect(ids).toEqual(expected.map((s) => s.id));
    expect(pages[0]?.total).toBe(expected.length);
    expect(pages.length).toBe(Math.ceil(expected.length / 7));
    expect(pages.at(-1)?.last_page).toBe(pages.length);
    expect(pages[0]?.prev_page_url).toBeNull();
    expect(pages[1]?.from).toBe(8);
    expect(pages.map((p) => p.current_page)).toEqual(pages.map((_, i) => i + 1));
    const records = api.requests.filter((r) => r.endpoint === 'sessions');
    expect(records.map((r) => r.page)).toEqual(pages.map((_, i) => i + 1));
    expect(records.every((r) => r.authorized && r.status === 200)).toBe(true);
    // items are exactly the dataset's objects
    const first = (await post(api, 'sessions', body)).json as { message: string; error: boolean; data: Page };
    expect(first.error).toBe(false);
    expect(first.message).toBe('Sessions retrieved');
    expect(first.data.data[0]).toEqual(expected[0]?.item);
  });

  it('caps per_page, pages past the end are empty, and filters and sorting work', async () => {
    const body = sessionsBody('2026-01-01 00:00:00', '2026-01-31 23:59:59', { per_page: '500' });
    const page = ((await post(api, 'sessions', body)).json as { data: Page }).data;
    expect(page.per_page).toBe(100);
    expect(page.data).toHaveLength(100);
    const beyond = ((await post(api, 'sessions', body, { page: page.last_page + 1 })).json as { data: Page }).data;
    expect(beyond.data).toEqual([]);
    expect(beyond.next_page_url).toBeNull();
    expect(beyond.from).toBeNull();

    const nl = ((await post(api, 'sessions', { ...body, filters: { country: 'NL' } })).json as { data: Page }).data;
    expect(nl.total).toBeGreaterThan(0);
    expect(nl.total).toBeLessThan(page.total);
    expect(nl.data.every((s) => (s as unknown as { country: string }).country === 'NL')).toBe(true);

    const desc = ((await post(api, 'sessions', { ...body, sortKey: 'created_at', sortOrder: 'desc' })).json as { data: Page }).data;
    const stamps = desc.data.map((s) => s.created_at);
    expect(stamps).toEqual([...stamps].sort().reverse());

    const withIp = ((await post(api, 'sessions', { ...body, include_ip_addresses: '1' })).json as { data: Page }).data;
    expect(withIp.data[0]).toHaveProperty('ip_address');
  });

  it('compares the range as inclusive strings against created_at', async () => {
    const session = api.dataset.session(26_400);
    if (session === undefined) throw new Error('no session');
    const at = session.item.created_at;
    const oneSecond = (delta: number): string => api.dataset.toLocal(session.createdAtMs + delta * 1000);
    const ids = async (start: string, end: string): Promise<number[]> =>
      (((await post(api, 'sessions', sessionsBody(start, end))).json as { data: Page }).data.data).map((s) => s.id);
    expect(await ids(at, at)).toEqual([26_400]);
    expect(await ids(oneSecond(-3600), at)).toContain(26_400);
    expect(await ids(at, oneSecond(3600))).toContain(26_400);
    expect(await ids(oneSecond(1), oneSecond(60))).not.toContain(26_400);
    expect(await ids(oneSecond(-60), oneSecond(-1))).not.toContain(26_400);
  });

  it('rejects a time inside the spring-forward gap, bad formats and a reversed range with 422', async () => {
    const gap = await post(api, 'sessions', sessionsBody('2026-03-29 02:30:00', '2026-03-29 05:00:00'));
    expect(gap.status).toBe(422);
    expect(gap.json).toMatchObject({ message: 'The given data was invalid.', errors: { start_date: [expect.any(String)] } });
    expect(Object.keys((gap.json as { errors: object }).errors)).toEqual(['start_date']);
    // the hour either side of the gap exists
    expect((await post(api, 'sessions', sessionsBody('2026-03-29 01:59:59', '2026-03-29 03:00:00'))).status).toBe(200);

    const bad = await post(api, 'sessions', {
      start_date: '2026-01-01T00:00:00Z',
      end_date: '2026-02-30 00:00:00',
      sortKey: 'nope',
      sortOrder: 'up',
      per_page: 10,
      read_status: 'maybe',
      filters: [],
    });
    expect(bad.status).toBe(422);
    expect(Object.keys((bad.json as { errors: object }).errors).sort()).toEqual(
      ['end_date', 'filters', 'per_page', 'read_status', 'sortKey', 'sortOrder', 'start_date'].sort(),
    );
    const reversed = await post(api, 'sessions', sessionsBody('2026-01-02 00:00:00', '2026-01-01 00:00:00'));
    expect(reversed.status).toBe(422);
    expect(reversed.json).toMatchObject({ errors: { end_date: [expect.any(String)] } });
    const missing = await post(api, 'sessions', {});
    expect(Object.keys((missing.json as { errors: object }).errors).sort()).toEqual(['end_date', 'filters', 'sortKey', 'sortOrder', 'start_date']);
  });

  it('returns both sessions of the autumn repeated hour for a range naming that wall-clock string', async () => {
    const hourly = await startFakeApi({
      dataset: { zone: 'Europe/Amsterdam', sessionIntervalSeconds: 3600, jitter: false, epoch: '2026-10-24T00:00:00Z' },
    });
    try {
      const page = ((await post(hourly, 'sessions', sessionsBody('2026-10-25 02:00:00', '2026-10-25 02:00:00'))).json as { data: Page }).data;
      expect(page.data.map((s) => s.created_at)).toEqual(['2026-10-25 02:00:00', '2026-10-25 02:00:00']);
      const instants = page.data.map((s) => hourly.dataset.session(s.id)?.createdAtMs);
      expect(instants).toEqual([Date.parse('2026-10-25T00:00:00Z'), Date.parse('2026-10-25T01:00:00Z')]);
      // 01:00-01:59:59 local holds only 23:00Z; 01:00-03:00 local holds 23:00Z, 00:00Z, 01:00Z and 02:00Z
      const before = ((await post(hourly, 'sessions', sessionsBody('2026-10-25 01:00:00', '2026-10-25 01:59:59'))).json as { data: Page }).data;
      expect(before.data.map((s) => s.created_at)).toEqual(['2026-10-25 01:00:00']);
      const around = ((await post(hourly, 'sessions', sessionsBody('2026-10-25 01:00:00', '2026-10-25 03:00:00'))).json as { data: Page }).data;
      expect(around.total).toBe(4);
    } finally {
      await hourly.close();
    }
  });

  it('get-visits lists, counts and filters visits by their own created_at', async () => {
    const ids = [26_300, 26_301, 26_302, 26_303, 26_304, 26_305];
    const all = ids.flatMap((k) => api.dataset.visitsOf(k));
    expect(all.length).toBeGreaterThan(3);
    const list = await post(api, 'visits', { key: 'list', session_ids: ids.map((k, i) => (i % 2 === 0 ? k : String(k))) });
    expect(list.status).toBe(200);
    expect(list.json).toEqual({ error: false, data: all.map((v) => v.item) });
    expect((await post(api, 'visits', { session_ids: ids, key: 'count' })).json).toEqual({ error: false, data: all.length });

    const pivot = all[1];
    if (pivot === undefined) throw new Error('no visit');
    const from = await post(api, 'visits', { session_ids: ids, start_date: pivot.item.created_at });
    expect((from.json as { data: { id: number }[] }).data.map((v) => v.id)).toEqual(
      all.filter((v) => v.item.created_at >= pivot.item.created_at).map((v) => v.id),
    );
    const exact = await post(api, 'visits', { session_ids: ids, start_date: pivot.item.created_at, end_date: pivot.item.created_at });
    expect((exact.json as { data: { id: number }[] }).data.map((v) => v.id)).toContain(pivot.id);
    const only = await post(api, 'visits', { session_ids: ids, visit_ids: [pivot.id] });
    expect((only.json as { data: unknown[] }).data).toEqual([pivot.item]);
    expect((await post(api, 'visits', { session_ids: [-1, 0] })).json).toEqual({ error: false, data: [] });

    for (const sessionIds of [undefined, [], 'abc', [1, 'x'], [1.5]]) {
      const rejected = await post(api, 'visits', { session_ids: sessionIds });
      expect(rejected.status).toBe(422);
      expect(Object.keys((rejected.json as { errors: object }).errors)[0]).toMatch(/^session_ids/);
    }
  });

  it('get-conversions filters by conversion_types', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => 30_000 + i);
    const all = ids.flatMap((k) => api.dataset.conversionsOf(k));
    const clicks = all.filter((c) => c.item.type === 'click');
    expect(clicks.length).toBeGreaterThan(0);
    expect(clicks.length).toBeLessThan(all.length);
    expect((await post(api, 'conversions', { session_ids: ids })).json).toEqual({ error: false, data: all.map((c) => c.item) });
    expect((await post(api, 'conversions', { session_ids: ids, conversion_types: ['click'] })).json).toEqual({
      error: false,
      data: clicks.map((c) => c.item),
    });
    expect((await post(api, 'conversions', { session_ids: ids, key: 'count', conversion_types: ['url'] })).json).toEqual({
      error: false,
      data: all.length - clicks.length,
    });
  });

  it('refuses a missing or wrong token with 401, never stores the token, and 404s unknown paths', async () => {
    const body = sessionsBody('2026-01-01 00:00:00', '2026-01-01 23:59:59');
    for (const token of [null, 'wrong-token']) {
      const refused = await post(api, 'sessions', body, { token });
      expect(refused.status).toBe(401);
      expect(refused.json).toEqual({ error: true, message: 'Unauthenticated.' });
      expect(refused.headers.get('content-type')).toBe('application/json');
      expect(refused.headers.get('x-ratelimit-limit')).toBe('60');
    }
    const unknown = await call(`${api.url}/services/analytics/v1/nope`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: true });
    expect((await post(api, 'sessions', undefined, { method: 'GET' })).status).toBe(405);
    expect(api.requests.map((r) => r.authorized)).toEqual([false, false, true, true]);
    expect(api.requests[2]?.endpoint).toBe('unknown');
    expect(JSON.stringify(api.requests)).not.toContain(TOKEN);
    expect(api.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('keeps connections alive between requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const once = (): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          `${api.url}${API_PATHS.visits}`,
          { method: 'POST', agent, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(req.reusedSocket));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ session_ids: [1] }));
      });
    expect(await once()).toBe(false);
    expect(await once()).toBe(true);
    agent.destroy();
  });
});

describe('fake API rate limit and forbidden endpoints', () => {
  it('answers 429 with Retry-After over the limit and counts down X-RateLimit-Remaining', async () => {
    let now = 1_000_000;
    const api = await startFakeApi({ rateLimit: { limit: 3, windowMs: 10_000 }, now: () => now });
    try {
      const body = { session_ids: [1, 2] };
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 3; i += 1) {
        const ok = await post(api, 'visits', body);
        expect(ok.status).toBe(200);
        remaining.push(ok.headers.get('x-ratelimit-remaining'));
      }
      expect(remaining).toEqual(['2', '1', '0']);
      now += 2_500;
      const limited = await post(api, 'visits', body);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('8');
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.json).toMatchObject({ error: true });
      now += 7_500; // the next window
      const again = await post(api, 'visits', body);
      expect(again.status).toBe(200);
      expect(again.headers.get('x-ratelimit-remaining')).toBe('2');
    } finally {
      await api.close();
    }
  });

  it('can leave Retry-After out, and resets its window on reset()', async () => {
    const api = await startFakeApi({ rateLimit: { limit: 1, windowMs: 60_000 }, retryAfter: false });
    try {
      expect((await post(api, 'visits', { session_ids: [1] })).status).toBe(200);
      const limited = await post(api, 'visits', { session_ids: [1] });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeNull();
      api.reset();
      expect((await post(api, 'visits', { session_ids: [1] })).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('answers 403 for a forbidden endpoint', async () => {
    const api = await startFakeApi({ forbidden: ['conversions'] });
    try {
      expect((await post(api, 'conversions', { session_ids: [1] })).status).toBe(403);
      expect((await post(api, 'visits', { session_ids: [1] })).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('serves bare visit ids when asked to', async () => {
    const api = await startFakeApi({ dataset: { bareVisitIds: true } });
    try {
      const ids = [1, 2, 3, 4, 5, 6];
      const expected = ids.flatMap((k) => api.dataset.visitsOf(k).map((v) => v.id));
      expect((await post(api, 'visits', { session_ids: ids })).json).toEqual({ error: false, data: expected });
    } finally {
      await api.close();
    }
  });
});

describe('fake API faults', () => {
  let api: FakeApi;
  const visits = { session_ids: [1, 2, 3] };

  beforeAll(async () => {
    api = await startFakeApi();
  });
  afterAll(async () => {
    await api.close();
  });
  afterEach(() => {
    api.reset();
  });

  it('plays queued faults in order, honouring endpoint, page, after and times', async () => {
    api.inject({ kind: '500', endpoint: 'visits', times: 2 });
    api.inject({ kind: '429', endpoint: 'visits', retryAfter: 7 });
    api.inject({ kind: '429', endpoint: 'visits', retryAfter: null });
    api.inject({ kind: 'error-true', endpoint: 'sessions', page: 2 });
    api.inject({ kind: '502-html', endpoint: 'conversions', after: 1 });

    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await post(api, 'visits', visits)).status);
    expect(statuses).toEqual([500, 500, 429, 429, 200]);
    const used = api.requests.map((r) => r.fault);
    expect(used).toEqual(['500', '500', '429', '429', undefined]);

    const body = sessionsBody('2026-01-01 00:00:00', '2026-01-01 23:59:59', { per_page: '5' });
    expect((await post(api, 'sessions', body, { page: 1 })).json).toMatchObject({ error: false });
    expect((await post(api, 'sessions', body, { page: 2 })).json).toEqual({ error: true, message: 'Something went wrong' });
    expect((await post(api, 'sessions', body, { page: 2 })).json).toMatchObject({ error: false });

    expect((await post(api, 'conversions', visits)).status).toBe(200);
    const html = await post(api, 'conversions', visits);
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toBe('text/html');
    expect(html.headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect(api.pendingFaults()).toEqual([]);
  });

  it('sends Retry-After as injected', async () => {
    api.inject({ kind: '429', retryAfter: 7 });
    api.inject({ kind: '429', retryAfter: null });
    expect((await post(api, 'visits', visits)).headers.get('retry-after')).toBe('7');
    expect((await post(api, 'visits', visits)).headers.get('retry-after')).toBeNull();
  });

  it('answers bodies the tap must refuse: invalid JSON, wrong shape, empty, 422', async () => {
    api.inject({ kind: 'invalid-json' });
    api.inject({ kind: 'wrong-shape', endpoint: 'visits' });
    api.inject({ kind: 'wrong-shape', endpoint: 'sessions' });
    api.inject({ kind: 'empty-body' });
    api.inject({ kind: '422' });
    api.inject({ kind: 'status', status: 503 });
    const bad = await post(api, 'visits', visits);
    expect(bad.status).toBe(200);
    expect(bad.json).toBeUndefined();
    expect((await post(api, 'visits', visits)).json).toEqual({ error: false, data: { unexpected: true } });
    const page = (await post(api, 'sessions', sessionsBody('2026-01-01 00:00:00', '2026-01-01 23:59:59'))).json as { data: object };
    expect(page.data).not.toHaveProperty('data');
    const empty = await post(api, 'visits', visits);
    expect([empty.status, empty.text]).toEqual([200, '']);
    const invalid = await post(api, 'visits', visits);
    expect(invalid.status).toBe(422);
    expect(invalid.json).toMatchObject({ errors: { start_date: [expect.any(String)] } });
    expect((await post(api, 'visits', visits)).status).toBe(503);
  });

  it('drops connections: reset before the answer, reset and truncation during it', async () => {
    api.inject({ kind: 'reset-before' });
    await expect(post(api, 'visits', visits)).rejects.toThrow();
    api.inject({ kind: 'reset-during', endpoint: 'visits' });
    await expect(post(api, 'visits', visits)).rejects.toThrow();
    api.inject({ kind: 'truncate', endpoint: 'visits' });
    await expect(post(api, 'visits', visits)).rejects.toThrow();
    expect((await post(api, 'visits', visits)).status).toBe(200);
    expect(api.requests.map((r) => [r.fault, r.status])).toEqual([
      ['reset-before', 0],
      ['reset-during', 0],
      ['truncate', 200],
      [undefined, 200],
    ]);
  });

  it('answers slowly, and close() does not wait for a slow answer', async () => {
    api.inject({ kind: 'slow', delayMs: 150 });
    const began = performance.now();
    expect((await post(api, 'visits', visits)).status).toBe(200);
    expect(performance.now() - began).toBeGreaterThanOrEqual(140);

    const other = await startFakeApi();
    other.inject({ kind: 'slow', delayMs: 60_000 });
    const pending = post(other, 'visits', visits).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Were close() to wait for the 60 s answer, the test would run into its timeout.
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('sends a body slowly at a settable rate, and stalls one half-way', async () => {
    const whole = await post(api, 'visits', visits);
    api.setBodyRate({ bytesPerChunk: Math.ceil(whole.text.length / 4), intervalMs: 40, endpoints: ['visits'] });
    const began = performance.now();
    const slow = await post(api, 'visits', visits);
    expect(performance.now() - began).toBeGreaterThanOrEqual(110);
    expect(slow.text).toBe(whole.text);
    api.inject({ kind: 'stall', endpoint: 'visits' });
    const stalled = post(api, 'visits', visits).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(api.requests.at(-1)).toMatchObject({ fault: 'stall', status: 200 });
    api.reset();
    expect((await post(api, 'visits', visits)).text).toBe(whole.text);
    const other = await startFakeApi();
    other.inject({ kind: 'stall', endpoint: 'visits' });
    const pending = post(other, 'visits', visits).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(() => api.setBodyRate({ bytesPerChunk: 0, intervalMs: 1 })).toThrow(RangeError);
    void stalled;
  });

  it('goes down after dieAfter(n) and comes back on revive()', async () => {
    api.dieAfter(2);
    expect((await post(api, 'visits', visits)).status).toBe(200);
    expect((await post(api, 'visits', visits)).status).toBe(200);
    await expect(post(api, 'visits', visits)).rejects.toThrow();
    await expect(post(api, 'sessions', {})).rejects.toThrow();
    api.revive();
    expect((await post(api, 'visits', visits)).status).toBe(200);
    expect(api.requests.map((r) => r.status)).toEqual([200, 200, 0, 0, 200]);
  });

  it('rejects malformed faults', () => {
    expect(() => api.inject({ kind: 'nope' as '500' })).toThrow(RangeError);
    expect(() => api.inject({ kind: '500', times: 0 })).toThrow(RangeError);
  });
});

describe('late and changing data', () => {
  it('shows each object only after its seeded delay, and open sessions and visits as they grow until they close', () => {
    const live = createDataset({ sessionIntervalSeconds: 600, visibilityDelaySeconds: 600, openSessions: true });
    const session = live.session(100);
    if (session === undefined) throw new Error('no session 100');
    const visible = live.visibleFromMs('sessions', session);
    expect(visible - session.createdAtMs).toBe((hash32(100, 12) % 601) * 1000);
    expect(live.liveItem('sessions', session, visible - 1)).toBeUndefined();
    const early = live.liveItem('sessions', session, session.createdAtMs + 600_000);
    const spent = Math.min(600, session.item.time_spend);
    expect(early).toEqual({ ...session.item, time_spend: spent, updated_at: live.toLocal(session.createdAtMs + spent * 1000) });
    expect(live.liveItem('sessions', session, session.createdAtMs + 3_600_000)).toBe(session.item);
    const frozen = createDataset({ sessionIntervalSeconds: 600 });
    expect(frozen.live).toBe(false);
    expect(frozen.session(100)?.item).toEqual(session.item);
  });
});

describe('standalone arguments', () => {
  it('maps flags to server options', () => {
    const options = parseStandaloneArgs(['--port', '8787', '--zone', 'Europe/Amsterdam', '--interval', '600', '--extra-fields', '--rate-limit', '5']);
    expect(options.port).toBe(8787);
    expect(options.dataset).toMatchObject({ zone: 'Europe/Amsterdam', sessionIntervalSeconds: 600, extraFields: true });
    expect(options.rateLimit).toEqual({ limit: 5, windowMs: 60_000 });
    expect(() => parseStandaloneArgs(['--port', 'x'])).toThrow();
  });
});
