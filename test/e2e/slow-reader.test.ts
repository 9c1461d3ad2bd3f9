import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { collectingStdout, fakeClock, runInProcess, type InProcessRun } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * Counters under back-pressure: visits and conversions requests of a window run concurrently,
 * and a slow reader of stdout makes each of them wait in the middle of its records. Every count
 * the tap reports (progress lines, METRIC record_count, the counts adaptive windows follow) must
 * equal the records it wrote.
 */

const STREAMS = ['sessions', 'visits', 'conversions'] as const;
let api: FakeApi;
let dir: string;

beforeAll(async () => {
  // About 2,900 sessions and 11,000 visits a day: many batches, megabytes of stdout.
  api = await startFakeApi({ dataset: { zone: 'UTC', sessionIntervalSeconds: 30, visitsPerSession: 8, conversionEvery: 2 }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(() => api.close());

async function sync(slow: boolean): Promise<InProcessRun> {
  const config = writeJson(dir, `config-${slow}.json`, {
    api_token: 'test-token',
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: '2026-01-02',
    requests_per_minute: 1_000_000,
    session_batch_size: 20,
    window_size: 'PT6H',
    window_target_records: 2700,
    request_timeout: 20,
  });
  return runInProcess(['--config', config], {
    clock: fakeClock('2026-02-01T00:00:00Z'),
    stdout: collectingStdout(slow ? { slow: true, highWaterMark: 1024 } : {}),
  });
}

/** The `key=value` pairs of the progress lines of a stream, in order. */
function progress(run: InProcessRun, stream: string): Record<string, string>[] {
  return run.stderr
    .split('\n')
    .filter((line) => line.includes(` INFO ${stream}: window `))
    .map((line) => Object.fromEntries([...line.matchAll(/ (\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string])));
}

/**
 * Records written in each window of a stream, in order: the streams advance in step, so a
 * window of `stream` ends at the STATE that moves its bookmark.
 */
function recordsPerWindow(run: InProcessRun, stream: string): number[] {
  const out: number[] = [];
  let current = 0;
  let mark: string | undefined;
  // The last message is the run's closing STATE, which ends no window.
  for (const m of run.messages.slice(0, -1)) {
    if (m.type === 'RECORD' && m.stream === stream) current += 1;
    else if (m.type === 'STATE') {
      const next = (m.value as { bookmarks: Record<string, { replication_key_value: string }> }).bookmarks[stream]?.replication_key_value;
      if (next !== undefined && next !== mark) {
        out.push(current);
        current = 0;
        mark = next;
      }
    }
  }
  return out;
}

function recordCountMetrics(run: InProcessRun, stream: string): number {
  return run.stderr
    .split('\n')
    .filter((line) => line.startsWith('INFO METRIC: ') && line.includes('"record_count"'))
    .map((line) => JSON.parse(line.slice('INFO METRIC: '.length)) as { value: number; tags: { stream: string } })
    .filter((m) => m.tags.stream === stream)
    .reduce((sum, m) => sum + m.value, 0);
}

describe('with a slow reader of stdout', () => {
  let slow: InProcessRun;
  let fast: InProcessRun;
  beforeAll(async () => {
    slow = await sync(true);
    api.reset();
    fast = await sync(false);
  }, 120_000);

  it('writes exactly the server records', () => {
    expect(slow.code, slow.stderr).toBe(0);
    for (const stream of STREAMS) {
      expect(byId(slow.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
    }
    expect(slow.records('visits').length).toBeGreaterThan(7_000);
  });

  it('reports per window, in progress lines, exactly the records it wrote in that window', () => {
    for (const stream of STREAMS) {
      const lines = progress(slow, stream);
      const written = recordsPerWindow(slow, stream);
      expect(lines.map((l) => Number(l.records)), stream).toEqual(written);
      expect(Number(lines.at(-1)?.stream_records), stream).toBe(slow.records(stream).length);
    }
  });

  it('counts in METRIC record_count exactly the records it wrote', () => {
    for (const stream of STREAMS) expect(recordCountMetrics(slow, stream), stream).toBe(slow.records(stream).length);
  });

  it('sizes adaptive windows as with a fast reader: the same windows, the same counts', () => {
    expect(fast.code, fast.stderr).toBe(0);
    for (const stream of STREAMS) {
      const windows = (run: InProcessRun) => progress(run, stream).map((l) => `${l.records}`);
      expect(windows(slow), stream).toEqual(windows(fast));
    }
    const bookmarks = (run: InProcessRun) => run.messages.filter((m) => m.type === 'STATE').map((m) => JSON.stringify(m.value));
    expect(bookmarks(slow)).toEqual(bookmarks(fast));
  });
});
