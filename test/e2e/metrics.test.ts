import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PATHS, startFakeApi, type FakeApi } from '../fake-api/server.js';
import { useTapFixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/in-process.js';
import type { TapRun } from '../helpers/run-tap.js';

/**
 * What a sync tells its watcher on stderr: Singer METRIC lines (`INFO METRIC: {json}`, as
 * singer-python and the Meltano SDK write them), one human progress line per window, and the
 * verbosity set by LOG_LEVEL or --log-level.
 */

interface Metric {
  type: 'counter' | 'timer';
  metric: string;
  value: number;
  tags: Record<string, string | number>;
}

const METRIC_PREFIX = 'INFO METRIC: ';

function metrics(stderr: string, name?: string): Metric[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith(METRIC_PREFIX))
    .map((line) => JSON.parse(line.slice(METRIC_PREFIX.length)) as Metric)
    .filter((m) => name === undefined || m.metric === name);
}

/** `key=value` pairs of a log line. */
function fields(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/ (\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
}

function progressLines(stderr: string, stream: string): string[] {
  return stderr.split('\n').filter((line) => new RegExp(`^\\S+ INFO ${stream}: window \\S+ \\.\\. \\S+ done `).test(line));
}

const tap = useTapFixture({
  api: { dataset: { zone: 'UTC' }, rateLimit: { limit: 100_000, windowMs: 60_000 } },
  defaults: { start_date: '2026-01-01', end_date: '2026-01-04' },
});
const config = (extra: object = {}): string => tap.config(extra);

describe('metric lines of a full sync', () => {
  let run: TapRun;
  /** What the server saw (api.requests is cleared before each test). */
  let requests: { endpoint: string; status: number }[];
  beforeAll(async () => {
    tap.api.reset();
    tap.api.inject({ kind: '500', endpoint: 'visits' });
    run = await runInProcess(['--config', config()]);
    requests = tap.api.requests.map((r) => ({ endpoint: r.endpoint, status: r.status }));
  });

  it('are well-formed Singer metrics on stderr, never on stdout', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('METRIC');
    const all = metrics(run.stderr);
    expect(all.length).toBeGreaterThan(0);
    for (const m of all) {
      expect(['counter', 'timer']).toContain(m.type);
      expect(typeof m.metric).toBe('string');
      expect(Number.isFinite(m.value)).toBe(true);
      expect(m.value).toBeGreaterThanOrEqual(0);
      expect(typeof m.tags).toBe('object');
    }
  });

  it('record_count: a counter per stream whose values add up to the records emitted', () => {
    for (const stream of ['sessions', 'visits', 'conversions']) {
      const counts = metrics(run.stderr, 'record_count').filter((m) => m.tags.stream === stream);
      expect(counts.length, stream).toBeGreaterThanOrEqual(1);
      for (const m of counts) expect(m).toMatchObject({ type: 'counter', tags: { stream } });
      expect(counts.reduce((sum, m) => sum + m.value, 0), stream).toBe(run.records(stream).length);
    }
  });

  it('http_request_duration: one timer per request, tagged with endpoint, http_status_code and status', () => {
    const timers = metrics(run.stderr, 'http_request_duration');
    expect(timers).toHaveLength(requests.length);
    // The same requests (compared as sorted lists: requests may run concurrently).
    expect(timers.map((m) => `${m.tags.endpoint} ${m.tags.http_status_code}`).sort()).toEqual(
      requests.map((r) => `${API_PATHS[r.endpoint as keyof typeof API_PATHS]} ${r.status}`).sort(),
    );
    for (const m of timers) {
      expect(m.type).toBe('timer');
      expect(m.tags.status).toBe(m.tags.http_status_code === 200 ? 'succeeded' : 'failed');
    }
    expect(timers.filter((m) => m.tags.http_status_code === 500)).toHaveLength(1);
  });

  it('sync_duration: one timer at the end, status succeeded', () => {
    const timers = metrics(run.stderr, 'sync_duration');
    expect(timers).toHaveLength(1);
    expect(timers[0]).toMatchObject({ type: 'timer', tags: { status: 'succeeded' } });
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.findIndex((l) => l.includes('"sync_duration"'))).toBeGreaterThan(lines.findIndex((l) => l.includes('"record_count"')));
  });

  it('a progress line per completed window: records, requests so far, rate-limit remaining, time left', () => {
    let windows = 0;
    for (const stream of ['sessions', 'visits', 'conversions']) {
      const lines = progressLines(run.stderr, stream);
      expect(lines.length, stream).toBeGreaterThan(0);
      windows += lines.length;
      const parsed = lines.map(fields);
      expect(parsed.reduce((sum, f) => sum + Number(f.records), 0), stream).toBe(run.records(stream).length);
      expect(Number(parsed.at(-1)?.stream_records)).toBe(run.records(stream).length);
      for (const f of parsed) {
        expect(Number(f.requests)).toBeGreaterThan(0);
        expect(Number(f.rate_limit_remaining)).toBeGreaterThan(0);
        expect(Number(f.eta_s)).toBeGreaterThanOrEqual(0);
        expect(Number(f.done_pct)).toBeGreaterThan(0);
      }
      expect(parsed.at(-1)).toMatchObject({ done_pct: '100', eta_s: '0' });
      const requests = parsed.map((f) => Number(f.requests));
      expect([...requests].sort((a, b) => a - b)).toEqual(requests);
    }
    // One STATE per window, plus the final one.
    expect(windows).toBe(run.states().length - 1);
  });
});

describe('record_count during a long stream', () => {
  let big: FakeApi;
  beforeAll(async () => {
    // A session every 4 s: 21 600 sessions in one day, on one page.
    big = await startFakeApi({
      dataset: { zone: 'UTC', sessionIntervalSeconds: 4, visitsPerSession: 0, conversionEvery: 1_000_000 },
      rateLimit: { limit: 100_000, windowMs: 60_000 },
      maxPerPage: 50_000,
    });
  });
  afterAll(() => big.close());

  it('is written every 10 000 records and at the end of the stream', async () => {
    const discovered = JSON.parse((await runInProcess(['--discover'])).stdout) as { streams: { stream: string; selected?: boolean }[] };
    for (const entry of discovered.streams) entry.selected = entry.stream === 'sessions';
    const run = await runInProcess(['--config', config({ base_url: big.url, end_date: '2026-01-02', sessions_page_size: 10_000 }), '--catalog', tap.file('sessions-only.json', discovered)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.records('sessions')).toHaveLength(21_600);
    const counts = metrics(run.stderr, 'record_count');
    expect(counts.map((m) => m.value)).toEqual([10_000, 10_000, 1_600]);
    expect(counts.every((m) => m.tags.stream === 'sessions')).toBe(true);
  });
});

describe('sync_duration of a failed run', () => {
  it('is written with status failed', async () => {
    const run = await runInProcess(['--config', config({ api_token: 'refused' })]);
    expect(run.code).toBe(1);
    expect(metrics(run.stderr, 'sync_duration')).toEqual([expect.objectContaining({ type: 'timer', tags: { status: 'failed' } })]);
  });
});

describe('verbosity: LOG_LEVEL and --log-level', () => {
  const levels = (stderr: string): Set<string> =>
    new Set(stderr.split('\n').flatMap((line) => /^\S+ (DEBUG|INFO|WARN|ERROR|CRITICAL) /.exec(line)?.[1] ?? (line.startsWith(METRIC_PREFIX) ? ['METRIC'] : [])));

  it('info by default: INFO and METRIC lines, no DEBUG', async () => {
    const run = await runInProcess(['--config', config({ end_date: '2026-01-02' })]);
    expect(run.code).toBe(0);
    expect(levels(run.stderr)).toEqual(new Set(['INFO', 'METRIC']));
  });

  it('LOG_LEVEL=debug adds DEBUG lines (the requests), LOG_LEVEL=warn keeps only warnings and worse', async () => {
    const debug = await runInProcess(['--config', config({ end_date: '2026-01-02' })], { env: { LOG_LEVEL: 'debug' } });
    expect(debug.code).toBe(0);
    expect(levels(debug.stderr)).toEqual(new Set(['DEBUG', 'INFO', 'METRIC']));
    expect(debug.stderr).toMatch(/ DEBUG POST \/services\/analytics\/v1\/project\/sessions/);
    const warn = await runInProcess(['--config', config({ end_date: '2026-01-02' })], { env: { LOG_LEVEL: 'WARNING' } });
    expect(warn.code).toBe(0);
    expect(warn.stderr).toBe('');
    expect(warn.records('sessions').length).toBeGreaterThan(0);
  });

  it('--log-level wins over LOG_LEVEL; an unknown --log-level is a usage error', async () => {
    const run = await runInProcess(['--config', config({ end_date: '2026-01-02', api_token: 'refused' }), '--log-level', 'error'], { env: { LOG_LEVEL: 'debug' } });
    expect(run.code).toBe(1);
    expect(levels(run.stderr)).toEqual(new Set(['CRITICAL']));
    const bad = await runInProcess(['--config', config(), '--log-level', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CRITICAL --log-level must be one of/);
  });
});
