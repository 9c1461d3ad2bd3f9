import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { expectedRecord } from '../helpers/expected.js';
import { fakeClock, runInProcess, type InProcessRun } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * Late and changing data under the default settings. The test server shows every object up to
 * 10 minutes after its created_at, and serves sessions and visits with a time_spend and
 * updated_at that grow until they close (up to an hour for a session): what it serves depends on
 * its clock, which is the tap's fake clock. Two runs an hour apart, the second with the first's
 * final STATE; a target upserts by id. Every record of the first run's range must then be in the
 * target in its final form, and every record of the second run's range must be there.
 */

type Stream = 'sessions' | 'visits' | 'conversions';
const STREAMS: readonly Stream[] = ['sessions', 'visits', 'conversions'];
const START = '2026-03-09T00:00:00Z';
const T1 = '2026-03-10T12:00:00Z';
const HOUR = 3_600_000;
const DEFAULT_END_LAG_MS = 15 * 60_000;

let api: FakeApi;
let dir: string;
const clock = fakeClock(T1);

beforeAll(async () => {
  api = await startFakeApi({
    dataset: { zone: 'Europe/Amsterdam', sessionIntervalSeconds: 300, visitsPerSession: 4, visibilityDelaySeconds: 600, openSessions: true },
    rateLimit: { limit: 1_000_000, windowMs: 60_000 },
    now: () => clock.nowMs(),
  });
  dir = tempDir();
});
afterAll(() => api.close());

/** Two runs an hour apart, the second resuming from the first's last STATE. */
async function twoRuns(extra: object): Promise<[InProcessRun, InProcessRun]> {
  const config = writeJson(dir, `config-${Math.random().toString(36).slice(2)}.json`, {
    api_token: 'test-token',
    base_url: api.url,
    start_date: START,
    timezone: 'Europe/Amsterdam',
    requests_per_minute: 1_000_000,
    ...extra,
  });
  clock.set(T1);
  const first = await runInProcess(['--config', config], { clock });
  expect(first.code, first.stderr).toBe(0);
  const state = writeJson(dir, `state-${Math.random().toString(36).slice(2)}.json`, first.lastState());
  clock.advance(HOUR);
  const second = await runInProcess(['--config', config, '--state', state], { clock });
  expect(second.code, second.stderr).toBe(0);
  return [first, second];
}

/** What a target that upserts by id holds after both runs. */
function upserted(runs: readonly InProcessRun[], stream: Stream): Map<unknown, Record<string, unknown>> {
  const table = new Map<unknown, Record<string, unknown>>();
  for (const run of runs) for (const record of run.records(stream)) table.set(record.id, record);
  return table;
}

/** The final truth: every object created in [START, endIso), in its final form, by id. */
function truth(stream: Stream, endIso: string): Map<unknown, Record<string, unknown>> {
  const [from, to] = [Date.parse(START), Date.parse(endIso)];
  const d = api.dataset;
  const entries = stream === 'sessions' ? d.sessionsCreatedIn(from, to) : stream === 'visits' ? d.visitsCreatedIn(from, to) : d.conversionsCreatedIn(from, to);
  return new Map(entries.map((e) => [e.id, expectedRecord(stream, e.item, d.zone)]));
}

/** Records of the truth missing from the target, and records there in a form that is not final. */
function compare(target: Map<unknown, Record<string, unknown>>, expected: Map<unknown, Record<string, unknown>>) {
  const missing = [...expected.keys()].filter((id) => !target.has(id));
  const stale = [...expected.entries()].filter(([id, record]) => target.has(id) && JSON.stringify(target.get(id)) !== JSON.stringify(record)).map(([id]) => id);
  return { missing, stale };
}

const createdBefore = (table: Map<unknown, Record<string, unknown>>, endIso: string) =>
  new Map([...table].filter(([, r]) => Date.parse(String(r.created_at)) < Date.parse(endIso)));

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('two runs an hour apart under the default settings', () => {
  let runs: [InProcessRun, InProcessRun];
  const end1 = iso(Date.parse(T1) - DEFAULT_END_LAG_MS);
  const end2 = iso(Date.parse(T1) + HOUR - DEFAULT_END_LAG_MS);
  beforeAll(async () => {
    runs = await twoRuns({});
  }, 60_000);

  it('the data is late and changing: the first run saw open sessions, and objects not yet visible', () => {
    const final = truth('sessions', end1);
    const stillOpen = [...upserted([runs[0]], 'sessions').values()].filter((s) => JSON.stringify(s) !== JSON.stringify(final.get(s.id)));
    expect(stillOpen.length).toBeGreaterThan(0);
    const lateAtT1 = api.dataset.visitsCreatedIn(Date.parse(START), Date.parse(T1)).filter((v) => api.dataset.visibleFromMs('visits', v) > Date.parse(T1));
    expect(lateAtT1.length).toBeGreaterThan(0);
  });

  it('ends each run end_lag (15 minutes) before it started', () => {
    expect(runs[0].lastState()?.bookmarks.sessions?.replication_key_value).toBe(end1);
    expect(runs[1].lastState()?.bookmarks.sessions?.replication_key_value).toBe(end2);
  });

  it('after the second run, every record of the first run range is in the target in its final form, exactly', () => {
    for (const stream of STREAMS) {
      const expected = truth(stream, end1);
      expect(expected.size, stream).toBeGreaterThan(10);
      expect(compare(upserted(runs, stream), expected), stream).toEqual({ missing: [], stale: [] });
      expect([...createdBefore(upserted(runs, stream), end1).keys()].sort(), stream).toEqual([...expected.keys()].sort());
    }
  });

  it('and every record of the second run range is there (its final form comes with the next run)', () => {
    for (const stream of STREAMS) {
      expect([...upserted(runs, stream).keys()].sort(), stream).toEqual([...truth(stream, end2).keys()].sort());
    }
  });
});

describe('the same runs without the defaults (end_lag and lookback_window PT0S)', () => {
  it('lose records that were not visible yet and keep stale forms of sessions that were still open', async () => {
    const runs = await twoRuns({ end_lag: 'PT0S', lookback_window: 'PT0S' });
    const found = compare(upserted(runs, 'sessions'), truth('sessions', T1));
    const visits = compare(upserted(runs, 'visits'), truth('visits', T1));
    expect(found.stale.length).toBeGreaterThan(0);
    expect(found.missing.length + visits.missing.length).toBeGreaterThan(0);
    expect(visits.stale.length + visits.missing.length).toBeGreaterThan(0);
  }, 60_000);

  it('with end_lag alone (lookback_window PT0S) nothing is lost, but sessions read while open stay stale', async () => {
    const runs = await twoRuns({ lookback_window: 'PT0S' });
    const end1 = iso(Date.parse(T1) - DEFAULT_END_LAG_MS);
    const found = compare(upserted(runs, 'sessions'), truth('sessions', end1));
    expect(found.missing).toEqual([]);
    expect(found.stale.length).toBeGreaterThan(0);
  }, 60_000);
});
