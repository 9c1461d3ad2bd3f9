import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fault } from '../fake-api/faults.js';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, runTap, tempDir, writeJson } from '../helpers/run-tap.js';

let api: FakeApi;
let dir: string;

const config = (extra: object = {}) => ({
  api_token: 'test-token',
  base_url: api.url,
  start_date: '2026-01-01',
  end_date: '2026-01-03',
  requests_per_minute: 60000,
  retry_base_delay: 0.01,
  retry_max_delay: 0.05,
  request_timeout: 1,
  max_retries: 3,
  adaptive_windows: false,
  ...extra,
});

/** In-process, on a fake clock unless given one. */
const run = (extra: object = {}, clock?: Clock) =>
  runInProcess(['--config', writeJson(dir, `config-${Math.random()}.json`, config(extra))], clock === undefined ? {} : { clock });

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: 'UTC' }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

const RANGE = ['2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z'] as const;

describe('faults the tap retries', () => {
  const retried: [string, Fault][] = [
    ['429 with Retry-After', { kind: '429', endpoint: 'visits', retryAfter: 1 }],
    ['429 without Retry-After while quota is left (a proxy)', { kind: '429', retryAfter: null, remaining: 50, endpoint: 'visits' }],
    ['500', { kind: '500', endpoint: 'visits' }],
    ['502 with an HTML body', { kind: '502-html', endpoint: 'conversions' }],
    ['a reset before the response', { kind: 'reset-before', endpoint: 'sessions' }],
    ['a reset during the body', { kind: 'reset-during', endpoint: 'visits' }],
    ['a response slower than request_timeout', { kind: 'slow', endpoint: 'visits', delayMs: 1500 }],
    ['a body cut short', { kind: 'truncate', endpoint: 'visits' }],
    ['invalid JSON', { kind: 'invalid-json', endpoint: 'conversions' }],
    ['200 with "error": true', { kind: 'error-true', endpoint: 'visits' }],
    ['200 with data of the wrong shape', { kind: 'wrong-shape', endpoint: 'visits' }],
    ['a wrong page on list-sessions', { kind: 'wrong-shape', endpoint: 'sessions' }],
    ['an empty body', { kind: 'empty-body', endpoint: 'sessions' }],
  ];

  it.each(retried)('%s: retried, then exactly the right records', async (_name, fault) => {
    api.inject({ ...fault, times: 2 });
    // The request timeout runs on real time here (the server is slow in real time).
    const result = await run({}, fault.kind === 'slow' ? systemClock : undefined);
    expect(criticalLines(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(result.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, ...RANGE));
    }
    expect(result.stderr).toMatch(/WARN retrying POST \/services\/analytics\/v1\/.* waiting [\d.]+ s/);
    expect(result.lastState()?.bookmarks.visits?.replication_key_value).toBe('2026-01-03T00:00:00Z');
  });
});

// A child process: the pause is ended by a signal.
describe('429 without Retry-After and no quota left', () => {
  it('pauses until the rate-limit window resets instead of retrying at once, and stops cleanly on SIGTERM', async () => {
    api.inject({ kind: '429', endpoint: 'visits', retryAfter: null, times: 1 });
    let stderr = '';
    const started = Date.now();
    let killedAt = 0;
    const result = await runTap(['--config', writeJson(dir, 'c429.json', config())], {
      onSpawn: (child) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (killedAt === 0 && /pausing for 6\d\.\d s/.test(stderr)) {
            killedAt = Date.now();
            setTimeout(() => child.kill('SIGTERM'), 1000);
          }
        });
      },
    });
    expect(killedAt).toBeGreaterThan(started);
    // nothing was sent during the pause
    expect(api.requests.at(-1)?.status).toBe(429);
    expect(result.code).toBe(143);
    expect(criticalLines(result.stderr)[0]).toMatch(/interrupted by SIGTERM/);
    expect(result.lastState()?.bookmarks.visits).toBeUndefined();
  });
});

describe('429 without Retry-After and no quota left, with a 1-second rate_limit_window', () => {
  it('waits for that window to pass, retries the same request and loses nothing', async () => {
    api.inject({ kind: '429', endpoint: 'visits', retryAfter: null, times: 1 });
    const result = await run({ rate_limit_window: 'PT1S' });
    expect(criticalLines(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/no requests left in this window \(limit \d+\); pausing for [01]\.\d s/);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(result.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, ...RANGE));
    }
  });
});

describe('faults that stop the run', () => {
  it('401: stops at once, says the token was refused, no retry, no records', async () => {
    api.inject({ kind: '401', times: Infinity });
    const result = await run();
    expect(result.code).toBe(1);
    expect(criticalLines(result.stderr)).toHaveLength(1);
    expect(criticalLines(result.stderr)[0]).toMatch(/refused the API token \(401\)/);
    expect(api.requests).toHaveLength(1);
    expect(result.records('sessions')).toEqual([]);
    expect(result.states()).toEqual([]);
  });

  it('403 on conversions: names the endpoint; the windows done before it are complete and bookmarked; no conversions bookmark', async () => {
    api.inject({ kind: '403', endpoint: 'conversions', times: Infinity });
    const result = await run();
    expect(result.code).toBe(1);
    expect(criticalLines(result.stderr)[0]).toMatch(/403.*get-conversions|get-conversions.*403/);
    // The streams advance in step: the first window of sessions and visits came before the
    // first conversions request; each is complete through its bookmark.
    const visitsMark = result.lastState()?.bookmarks.visits?.replication_key_value;
    expect(visitsMark).toBeDefined();
    expect(byId(result.records('visits'))).toEqual(expectedRecords(api.dataset, 'visits', RANGE[0], visitsMark ?? ''));
    expect(result.records('conversions')).toEqual([]);
    expect(result.lastState()?.bookmarks.conversions).toBeUndefined();
    expect(api.requests.filter((r) => r.endpoint === 'conversions')).toHaveLength(1);
  });

  const redirects: [string, Fault][] = [
    ['302 to another host', { kind: 'redirect', location: 'https://moved.example/api?api_token=test-token' }],
    // Followed, a 307 would repeat the POST here: the server would see a second request.
    ['307 to this same server', { kind: 'redirect', status: 307, location: '/api/services/analytics/v1/project/sessions' }],
  ];
  it.each(redirects)('a redirect, %s: not followed, not retried; says to check base_url, never shows the token', async (_name, fault) => {
    api.inject({ ...fault, endpoint: 'sessions', times: Infinity });
    const result = await run();
    expect(result.code).toBe(1);
    expect(criticalLines(result.stderr).map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'CRITICAL Wemasy answered POST /services/analytics/v1/project/sessions with a redirect, which the tap does not follow (a POST must not become a GET): check base_url (https://, not http://; the API root, default https://api.wemasy.nl/api)',
    ]);
    expect(result.stderr).not.toContain('test-token');
    expect(api.requests.map((r) => `${r.method} ${r.endpoint}`)).toEqual(['POST sessions']);
    expect(result.records('sessions')).toEqual([]);
    expect(result.states()).toEqual([]);
  });

  it('422: prints the field errors, no retry', async () => {
    api.inject({ kind: '422', endpoint: 'visits' });
    const result = await run();
    expect(result.code).toBe(1);
    expect(criticalLines(result.stderr)[0]).toMatch(/422/);
    expect(criticalLines(result.stderr)[0]).toMatch(/start_date: The start date does not match/);
    expect(api.requests.filter((r) => r.endpoint === 'visits')).toHaveLength(1);
  });

  it('a fault that does not go away: gives up after max_retries, bookmark stays before the failed window', async () => {
    api.inject({ kind: '500', endpoint: 'visits', after: 1, times: Infinity });
    const result = await run();
    expect(result.code).toBe(1);
    expect(criticalLines(result.stderr)[0]).toMatch(/gave up after 3 retries/);
    expect(api.requests.filter((r) => r.endpoint === 'visits')).toHaveLength(1 + 4);
    // the first visits window completed, the second did not
    expect(result.lastState()?.bookmarks.visits?.replication_key_value).toBe('2026-01-02T00:00:00Z');
    expect(byId(result.records('visits'))).toEqual(expectedRecords(api.dataset, 'visits', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
  });

  it('a failure on page 2 of the sessions listing: retried, exact sessions', async () => {
    api.inject({ kind: '500', endpoint: 'sessions', page: 2, times: 1 });
    const result = await run({ sessions_page_size: 5 });
    expect(result.code).toBe(0);
    expect(byId(result.records('sessions'))).toEqual(expectedRecords(api.dataset, 'sessions', ...RANGE));
    expect(api.requests.some((r) => r.endpoint === 'sessions' && r.page === 2 && r.status === 500)).toBe(true);
  });
});
