import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

const ZONE = 'Europe/Amsterdam';
let api: FakeApi;
let dir: string;

beforeAll(async () => {
  // A session every 20 minutes, so the repeated autumn hour and the windows around it hold data.
  api = await startFakeApi({ dataset: { zone: ZONE, sessionIntervalSeconds: 1200 }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

const local = (date: string) => DateTime.fromISO(date, { zone: ZONE }).toUTC().toISO({ suppressMilliseconds: true }) as string;

/** The distinct [start_date, end_date] ranges asked of get-visits, in order. */
function visitRanges(): string[] {
  const seen: string[] = [];
  for (const r of api.requests.filter((q) => q.endpoint === 'visits')) {
    const body = r.body as { start_date: string; end_date: string };
    const range = `${body.start_date} .. ${body.end_date}`;
    if (seen.at(-1) !== range) seen.push(range);
  }
  return seen;
}

describe.each([
  {
    change: 'spring (23-hour day, 02:00-02:59 does not exist)',
    start: '2026-03-28',
    end: '2026-03-30',
    ranges: [
      '2026-03-28 00:00:00 .. 2026-03-28 05:59:59',
      '2026-03-28 06:00:00 .. 2026-03-28 11:59:59',
      '2026-03-28 12:00:00 .. 2026-03-28 17:59:59',
      '2026-03-28 18:00:00 .. 2026-03-28 23:59:59',
      '2026-03-29 00:00:00 .. 2026-03-29 05:59:59', // five real hours
      '2026-03-29 06:00:00 .. 2026-03-29 11:59:59',
      '2026-03-29 12:00:00 .. 2026-03-29 17:59:59',
      '2026-03-29 18:00:00 .. 2026-03-29 23:59:59',
    ],
  },
  {
    change: 'autumn (25-hour day, 02:00-02:59 happens twice)',
    start: '2026-10-24',
    end: '2026-10-26',
    ranges: [
      '2026-10-24 00:00:00 .. 2026-10-24 05:59:59',
      '2026-10-24 06:00:00 .. 2026-10-24 11:59:59',
      '2026-10-24 12:00:00 .. 2026-10-24 17:59:59',
      '2026-10-24 18:00:00 .. 2026-10-24 23:59:59',
      '2026-10-25 00:00:00 .. 2026-10-25 05:59:59', // seven real hours, both 02:xx hours inside
      '2026-10-25 06:00:00 .. 2026-10-25 11:59:59',
      '2026-10-25 12:00:00 .. 2026-10-25 17:59:59',
      '2026-10-25 18:00:00 .. 2026-10-25 23:59:59',
    ],
  },
])('daylight saving in Europe/Amsterdam, PT6H windows: $change', ({ start, end, ranges }) => {
  it('covers every local hour exactly once and emits exactly the records of the range', async () => {
    const config = {
      api_token: 'test-token',
      base_url: api.url,
      start_date: start,
      end_date: end,
      timezone: ZONE,
      window_size: 'PT6H',
      adaptive_windows: false,
      requests_per_minute: 60000,
    };
    const run = await runInProcess(['--config', writeJson(dir, `dst-${start}.json`, config)]);
    expect(run.stderr).not.toMatch(/CRITICAL/);
    expect(run.code).toBe(0);
    expect(visitRanges()).toEqual(ranges);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      const expected = expectedRecords(api.dataset, stream, local(start), local(end));
      expect(expected.length).toBeGreaterThan(20);
      expect(byId(run.records(stream)), stream).toEqual(expected);
    }
    expect(run.lastState()?.bookmarks.visits?.replication_key_value).toBe(local(end));
    // 8 windows per stream: each one's bookmark is its end, in UTC
    const visitBookmarks = [...new Set(run.states().map((s) => s.bookmarks.visits?.replication_key_value).filter(Boolean))];
    expect(visitBookmarks).toHaveLength(8);
  });
});

describe.each([
  ['2026-03-26', '2026-04-02'],
  ['2026-10-22', '2026-10-29'],
])('adaptive windows in Europe/Amsterdam from %s to %s', (start, end) => {
  it('emit exactly the records of the range, starting from PT6H, never splitting the repeated hour', async () => {
    const config = {
      api_token: 'test-token',
      base_url: api.url,
      start_date: start,
      end_date: end,
      timezone: ZONE,
      window_size: 'PT6H',
      window_target_records: 400,
      session_batch_size: 50,
      requests_per_minute: 60000,
    };
    const run = await runInProcess(['--config', writeJson(dir, `dst-adaptive-${start}.json`, config)]);
    expect(run.stderr).not.toMatch(/CRITICAL/);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(run.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, local(start), local(end)));
    }
    for (const r of api.requests.filter((q) => q.endpoint !== 'sessions' || q.page === 1)) {
      const { start_date: s } = r.body as { start_date: string };
      expect(s.startsWith('2026-10-25 02:') && s !== '2026-10-25 02:00:00', s).toBe(false);
      expect(s.startsWith('2026-03-29 02:'), s).toBe(false);
    }
  });
});
