import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { fakeClock, runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * One AbortController per window: when one request of a window fails for good, the requests
 * still in flight for the same window stop at once, instead of waiting out their bodies and
 * running their retry ladders (minutes at the defaults). Here two get-visits requests stall
 * half-way (the server sends half a body and then nothing); the third is refused with a 403. The
 * stalled requests' timeout runs on the fake clock, which does not move by itself while they
 * wait: without the window's abort they would stay open until the server closes.
 */
let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: 'UTC', sessionIntervalSeconds: 3600 }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a window whose request fails for good', () => {
  it('aborts its sibling requests at once: no retry, no further batch, no bookmark for the window', async () => {
    const config = writeJson(dir, 'config.json', {
      api_token: 'test-token',
      base_url: api.url,
      start_date: '2026-02-01T00:00:00Z',
      end_date: '2026-02-02T00:00:00Z',
      timezone: 'UTC',
      window_size: 'P1D',
      adaptive_windows: false,
      session_batch_size: 2,
      max_session_batch_size: 2,
      requests_per_minute: 1_000_000,
    });
    api.inject({ kind: 'stall', endpoint: 'visits', times: 2 });
    api.inject({ kind: '403', endpoint: 'visits' });
    const run = await runInProcess(['--config', config], { clock: fakeClock('2026-03-01T00:00:00Z') });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/CRITICAL .*403/);
    // 24 sessions in the day, 12 batches of 2: three went out at once, and nothing after them.
    const visits = api.requests.filter((r) => r.endpoint === 'visits');
    expect(visits.map((r) => r.fault).sort()).toEqual(['403', 'stall', 'stall']);
    // The stalled requests were aborted by the tap (the server did not end them).
    await vi.waitFor(() => expect(visits.filter((r) => r.fault === 'stall').map((r) => r.closedByClient)).toEqual([true, true]), { timeout: 10_000 });
    expect(api.requests.filter((r) => r.endpoint === 'conversions')).toEqual([]);
    expect(run.stderr).not.toMatch(/retrying/);
    // The sessions window is complete; the visits window is not, so it has no bookmark.
    expect(run.lastState()).toEqual({ bookmarks: { sessions: { replication_key: 'created_at', replication_key_value: '2026-02-02T00:00:00Z' } } });
  });
});
