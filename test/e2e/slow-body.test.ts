import { describe, expect, it, vi } from 'vitest';
import { byId, expectedRecords } from '../helpers/expected.js';
import { useTapFixture } from '../helpers/fixture.js';
import { fakeClock, runInProcess } from '../helpers/in-process.js';

/**
 * request_timeout bounds the server's silence, not the whole response: a get-visits body that
 * takes several times the timeout to arrive, but keeps arriving, completes in one request; a body
 * that stalls half-way is abandoned and retried, and its records are written once.
 * (With small numbers: a 1 s timeout, a chunk every 200 ms.)
 */

const RANGE = ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'] as const;
const tap = useTapFixture({
  api: { dataset: { zone: 'UTC' }, rateLimit: { limit: 100_000, windowMs: 60_000 } },
  defaults: { start_date: '2026-01-01', end_date: '2026-01-02', request_timeout: 1 },
});

async function sync(clock = fakeClock('2026-02-01T00:00:00Z')) {
  return runInProcess(['--config', tap.config()], { clock });
}

const visitsRequests = () => tap.api.requests.filter((r) => r.endpoint === 'visits');

describe('a get-visits body on a slow link', () => {
  it('arriving steadily for several times request_timeout: completes in one request, exact records', async () => {
    const whole = JSON.stringify(expectedRecords(tap.api.dataset, 'visits', ...RANGE)).length;
    // 400 bytes every 200 ms: the body takes seconds (each visit item is longer than its record).
    expect(whole / 400).toBeGreaterThan(10);
    tap.api.setBodyRate({ bytesPerChunk: 400, intervalMs: 200, endpoints: ['visits'] });
    const run = await sync();
    expect(run.code, run.stderr).toBe(0);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(run.records(stream)), stream).toEqual(expectedRecords(tap.api.dataset, stream, ...RANGE));
    }
    expect(visitsRequests().map((r) => r.status)).toEqual([200]);
    expect(run.stderr).not.toMatch(/WARN/);
  });

  it('stalling half-way: fails within the timeout, is retried, and each record is written once', async () => {
    tap.api.setBodyRate({ bytesPerChunk: 400, intervalMs: 200, endpoints: ['visits'] });
    tap.api.inject({ kind: 'stall', endpoint: 'visits' });
    const clock = fakeClock('2026-02-01T00:00:00Z');
    const running = sync(clock);
    // The timeout runs on the tap's (fake) clock, which does not move while the server stalls:
    // while the stalled request is the only one, move it a fifth of request_timeout at a time
    // until the tap gives up and asks again. (Small steps: a request sent meanwhile, such as
    // the retry before the server has seen it, cannot time out in a single step.)
    await vi.waitFor(
      () => {
        const visits = visitsRequests();
        if (visits.length === 1 && visits[0]?.fault === 'stall') clock.advance(200);
        expect(visits).toHaveLength(2);
      },
      { timeout: 15_000, interval: 50 },
    );
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const visits = run.records('visits');
    expect(new Set(visits.map((v) => v.id)).size).toBe(visits.length);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(run.records(stream)), stream).toEqual(expectedRecords(tap.api.dataset, stream, ...RANGE));
    }
    expect(visitsRequests().map((r) => r.fault ?? 'ok')).toEqual(['stall', 'ok']);
    expect(run.stderr).toMatch(/WARN retrying POST \/services\/analytics\/v1\/sessions\/get-visits \(attempt 2 of 9\) after the body of POST \S+ stalled: nothing received for 1 s/);
  });
});
