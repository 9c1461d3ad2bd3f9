import { afterAll, describe, expect, it } from 'vitest';
import { startFakeApi, type RecordedRequest } from '../fake-api/server.js';
import { STACK_TRACE } from '../helpers/checks.js';
import { expectedRecords } from '../helpers/expected.js';
import { prng } from '../helpers/prng.js';
import { fakeClock, runInProcess, DEFAULT_NOW } from '../helpers/in-process.js';
import { criticalLines, tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

/**
 * The central property: whatever request a run dies at, the last STATE it wrote (what Meltano
 * persists) plus a rerun from that state gives every record of the range, and the only records
 * seen twice are those of the window in flight at the crash (plus `lookback_window`).
 *
 * For a cut point K the server answers K requests, then drops every connection (dieAfter(K)); the
 * tap must fail (exit 1) after retrying each failed request once, without waiting (on its virtual
 * clock) more than its retry delays; the rerun goes to a healthy server with `--state`.
 * The runs are in-process (runTap with a fake clock): a process adds nothing here.
 * The cut points are every request index of a healthy run of the same config (counted at
 * collection time, so a change in how many requests a sync makes moves the cut points with it);
 * the variant with lookback_window (fixed P1D windows) uses a seeded sample of them. The cut
 * points tried are printed, and named in each test.
 *
 * "The window in flight" is read off the crashed run's stdout: the records it wrote after its last
 * STATE. Window sizes are the tap's business (adaptive windows vary them), so no size is assumed.
 */

const STREAMS = ['sessions', 'visits', 'conversions'] as const;
type Stream = (typeof STREAMS)[number];

const START = '2026-01-01T00:00:00Z';
const END = '2026-01-04T00:00:00Z';
const DATASET = { zone: 'UTC' } as const;
const RATE = { limit: 1_000_000, windowMs: 60_000 } as const;
/** A crashed run waits no longer than this on its clock (it retries once, after at most retry_max_delay). */
const CRASH_VIRTUAL_BOUND_MS = 1000;
/** Runs at once. */
const PARALLEL = 3;
const TEST_TIMEOUT_MS = 180_000;

const dir = tempDir();

/** Small pages and batches, so that windows take several requests and a crash can cut inside one. */
const config = (baseUrl: string, extra: object = {}) => ({
  api_token: 'test-token',
  base_url: baseUrl,
  start_date: START,
  end_date: END,
  sessions_page_size: 6,
  session_batch_size: 12,
  requests_per_minute: 6_000_000,
  max_retries: 1,
  retry_base_delay: 0.01,
  retry_max_delay: 0.02,
  request_timeout: 10,
  ...extra,
});

/** The variants: the default windows without lookback, and fixed P1D windows with lookback_window PT6H. */
const PLAIN = { lookback_window: 'PT0S' };
const LOOKBACK = { lookback_window: 'PT6H', adaptive_windows: false, window_size: 'P1D' };
const LOOKBACK_MS = 6 * 3600 * 1000;

/** At most PARALLEL runs at a time, over the whole file. */
let running = 0;
const queue: (() => void)[] = [];
async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => queue.push(resolve));
  running += 1;
  try {
    return await task();
  } finally {
    running -= 1;
    queue.shift()?.();
  }
}

function describeRequest(r: RecordedRequest): string {
  const body = (r.body ?? {}) as { start_date?: string; end_date?: string; session_ids?: unknown[] };
  const page = r.page === undefined ? '' : ` page ${r.page}`;
  const ids = Array.isArray(body.session_ids) ? ` (${body.session_ids.length} sessions)` : '';
  return `${r.endpoint} ${String(body.start_date)} .. ${String(body.end_date)}${page}${ids}`;
}

/** One server for every healthy rerun (it never dies); crashed runs each get their own. */
const healthy = await startFakeApi({ dataset: DATASET, rateLimit: RATE });
afterAll(() => healthy.close());

/** The requests of a healthy first sync: a cut at K leaves request K (0-based) unanswered. */
async function requestsOfHealthyRun(extra: object): Promise<string[]> {
  const api = await startFakeApi({ dataset: DATASET, rateLimit: RATE });
  try {
    const run = await runInProcess(['--config', writeJson(dir, `healthy-${Math.random()}.json`, config(api.url, extra))]);
    if (run.code !== 0) throw new Error(`the healthy run failed (${run.code}): ${run.stderr.slice(-2000)}`);
    return api.requests.map(describeRequest);
  } finally {
    await api.close();
  }
}

/** A deterministic sample of `count` of `0 .. n-1` (mulberry32 shuffle), sorted. */
function seededSample(n: number, count: number, seed: number): number[] {
  const random = prng(seed);
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, Math.min(count, n)).sort((x, y) => x - y);
}

const plainRequests = await requestsOfHealthyRun(PLAIN);
const lookbackRequests = await requestsOfHealthyRun(LOOKBACK);
const SEED = 20260101;
const lookbackCuts = seededSample(lookbackRequests.length, 6, SEED);
const cases = (requests: string[], cuts: number[]): [string, number][] => cuts.map((cut) => [`cut ${cut}: no answer from request ${cut} on (${requests[cut]})`, cut]);
const plainCases = cases(plainRequests, plainRequests.map((_, i) => i));
const lookbackCases = cases(lookbackRequests, lookbackCuts);
console.log(
  [
    `crash-resume: default windows, every cut point 0..${plainRequests.length - 1}:`,
    ...plainCases.map(([name]) => `  ${name}`),
    `crash-resume: P1D windows with lookback_window PT6H, seed ${SEED}, ${lookbackCuts.length} of ${lookbackRequests.length} cut points:`,
    ...lookbackCases.map(([name]) => `  ${name}`),
  ].join('\n'),
);

/**
 * The rerun depends only on the config and the state it is given (the server is deterministic and
 * healthy), so cut points that leave the same last STATE share one rerun.
 */
const reruns = new Map<string, Promise<Timed>>();
function rerun(extra: object, state: TapRun['messages'][number]['value']): Promise<Timed> {
  const key = JSON.stringify({ extra, state: state ?? null });
  let run = reruns.get(key);
  if (run === undefined) {
    const args = ['--config', writeJson(dir, `rerun-${Math.random()}.json`, config(healthy.url, extra))];
    if (state !== undefined) args.push('--state', writeJson(dir, `state-${Math.random()}.json`, state));
    run = limited(() => timedRun(args));
    reruns.set(key, run);
  }
  return run;
}

interface Timed {
  run: TapRun;
  /** How far the run's (fake) clock moved: the time it spent waiting. */
  virtualMs: number;
}

async function timedRun(args: string[]): Promise<Timed> {
  const clock = fakeClock(DEFAULT_NOW);
  const run = await runInProcess(args, { clock });
  return { run, virtualMs: clock.nowMs() - Date.parse(DEFAULT_NOW) };
}

const idOf = (r: Record<string, unknown>): number => Number(r.id);
const createdMs = (r: Record<string, unknown>): number => Date.parse(String(r.created_at));

async function crashAndResume(cut: number, extra: object, lookbackMs: number): Promise<void> {
  // 1. The crash: `cut` requests answered, then every connection dropped.
  const api = await startFakeApi({ dataset: DATASET, rateLimit: RATE });
  let first: Timed;
  try {
    api.dieAfter(cut);
    first = await limited(() => timedRun(['--config', writeJson(dir, `cut-${cut}-${Math.random()}.json`, config(api.url, extra))]));
    expect(api.requests.filter((r) => r.fault !== 'dead'), 'requests answered before the crash').toHaveLength(cut);
    // Each request the dead server saw was sent at most twice (once, and one retry), and at most
    // three go out at once (the batches of a window): the run gave up rather than retried on.
    expect(api.requests.filter((r) => r.fault === 'dead').length, 'requests sent to the dead server').toBeLessThanOrEqual(2 * 3);
  } finally {
    await api.close();
  }
  const one = first.run;
  expect(one.code, one.stderr.slice(-1500)).toBe(1);
  expect(first.virtualMs).toBeLessThan(CRASH_VIRTUAL_BOUND_MS);
  expect(criticalLines(one.stderr)).toHaveLength(1);
  expect(criticalLines(one.stderr)[0]).toMatch(/gave up after 1 retry: network error/);
  expect(one.stderr).not.toMatch(STACK_TRACE);
  const messages = one.messages; // fails on a line that is not whole JSON

  // Bookmarks never move backwards.
  const seen: Partial<Record<Stream, number>> = {};
  for (const state of one.states()) {
    for (const stream of STREAMS) {
      const value = state.bookmarks[stream]?.replication_key_value;
      if (value === undefined) continue;
      expect(Date.parse(value)).toBeGreaterThanOrEqual(seen[stream] ?? 0);
      seen[stream] = Date.parse(value);
    }
  }

  // 2. The rerun from the last STATE, as Meltano stores it.
  const state = one.lastState();
  const second = await rerun(extra, state);
  const two = second.run;
  expect(two.code, two.stderr.slice(-1500)).toBe(0);
  if (state !== undefined) expect(two.messages[0]).toEqual({ type: 'STATE', value: state });
  for (const stream of STREAMS) expect(two.lastState()?.bookmarks[stream]?.replication_key_value).toBe(END);

  // Records the crashed run wrote after its last STATE: the window in flight, of one stream.
  const lastStateAt = messages.map((m) => m.type).lastIndexOf('STATE');
  const inFlight = messages.slice(lastStateAt + 1).filter((m) => m.type === 'RECORD');
  expect(new Set(inFlight.map((m) => m.stream)).size).toBeLessThanOrEqual(1);

  // 3. Both runs together: exactly the expected records; duplicates only from the window in
  //    flight and the lookback.
  for (const stream of STREAMS) {
    const expected = new Map(expectedRecords(healthy.dataset, stream, START, END).map((r) => [idOf(r), r]));
    const a = one.records(stream);
    const b = two.records(stream);
    const bookmark = Date.parse(state?.bookmarks[stream]?.replication_key_value ?? START);
    const resumeFrom = Math.max(Date.parse(START), bookmark - lookbackMs);
    const label = `${stream}, cut ${cut}, bookmark ${new Date(bookmark).toISOString()}`;

    for (const record of [...a, ...b]) expect(record, label).toEqual(expected.get(idOf(record)));
    expect(new Set(a.map(idOf)).size, `${label}: a record twice in run 1`).toBe(a.length);
    expect(new Set(b.map(idOf)).size, `${label}: a record twice in run 2`).toBe(b.length);

    // No gap.
    const union = new Set([...a, ...b].map(idOf));
    expect([...expected.keys()].filter((id) => !union.has(id)), `${label}: records lost`).toEqual([]);

    // Run 1 wrote every record its bookmark covers; what it wrote past the bookmark is in flight.
    const aIds = new Set(a.map(idOf));
    const covered = [...expected.values()].filter((r) => createdMs(r) < bookmark).map(idOf);
    expect(covered.filter((id) => !aIds.has(id)), `${label}: bookmarked but never written`).toEqual([]);
    const inFlightIds = new Set(inFlight.filter((m) => m.stream === stream).map((m) => idOf(m.record ?? {})));
    for (const record of a.filter((r) => createdMs(r) >= bookmark)) {
      expect(inFlightIds.has(idOf(record)), `${label}: id ${idOf(record)} is past the bookmark but before a STATE`).toBe(true);
    }
    // Run 2 reads exactly [bookmark - lookback_window, end).
    const sorted = (ids: number[]) => ids.sort((x, y) => x - y);
    expect(sorted(b.map(idOf)), `${label}: rerun range`).toEqual(sorted([...expected.values()].filter((r) => createdMs(r) >= resumeFrom).map(idOf)));

    // Seen twice: only the window in flight, and [bookmark - lookback_window, bookmark).
    for (const record of b.filter((r) => aIds.has(idOf(r)))) {
      const at = createdMs(record);
      const ok = inFlightIds.has(idOf(record)) || (at >= resumeFrom && at < bookmark);
      expect(ok, `${label}: id ${idOf(record)} (${String(record.created_at)}) seen twice`).toBe(true);
    }
  }
}

describe.concurrent('a crash at every request of a sync, then a rerun from the last STATE (default windows, no lookback)', () => {
  it.each(plainCases)('%s', async (_name, cut) => crashAndResume(cut, PLAIN, 0), TEST_TIMEOUT_MS);
});

describe.concurrent(`a crash at sampled requests, then a rerun from the last STATE (P1D windows, lookback_window PT6H)`, () => {
  it.each(lookbackCases)('%s', async (_name, cut) => crashAndResume(cut, LOOKBACK, LOOKBACK_MS), TEST_TIMEOUT_MS);
});
