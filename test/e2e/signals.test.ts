import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { STACK_TRACE, waitFor } from '../helpers/checks.js';
import { expectedRecords } from '../helpers/expected.js';
import { useTapFixture } from '../helpers/fixture.js';
import { criticalLines, runTap, type TapRun } from '../helpers/run-tap.js';

/**
 * SIGTERM and SIGINT in the middle of a sync (a request held by the server, a retry's backoff,
 * a reader that stopped reading): the tap stops by itself with 143 / 130 (not the watchdog's
 * SIGKILL), sends no request after the signal, stdout holds only whole JSON lines, and its last
 * STATE covers only records it wrote. Child processes: signals reach only a process.
 */

const STREAMS = ['sessions', 'visits', 'conversions'] as const;
const START = '2026-01-01T00:00:00Z';

const tap = useTapFixture({
  defaults: { start_date: START, end_date: '2026-01-06', requests_per_minute: 6_000_000, request_timeout: 60 },
});
const config = (extra: object = {}): string => tap.config(extra);

interface Interrupted {
  run: TapRun;
  /** Requests the server had seen when the signal was sent. */
  requestsAtSignal: number;
}

/**
 * Runs the tap against `server`, sends `signal` once `ready(child)` resolves, and counts the
 * requests sent by then. `ready` may pause the child's stdout; it is resumed after the exit.
 */
async function interrupt(server: FakeApi, args: string[], signal: NodeJS.Signals, ready: (child: ChildProcess) => Promise<void>): Promise<Interrupted> {
  let requestsAtSignal = Number.NaN;
  const run = await runTap(args, {
    timeoutMs: 30_000,
    onSpawn: (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      void ready(child).then(
        async () => {
          requestsAtSignal = server.requests.length;
          child.kill(signal);
          await exited;
          child.stdout?.resume();
        },
        (error: unknown) => {
          console.error(error);
          child.kill('SIGKILL');
        },
      );
    },
  });
  return { run, requestsAtSignal };
}

/** The checks every interrupted run passes. */
function expectCleanInterruption({ run }: Interrupted, signal: NodeJS.Signals, code: number): void {
  expect(run.code, run.stderr.slice(-1500)).toBe(code);
  expect(run.signal).toBeNull();
  expect(run.stdout === '' || run.stdout.endsWith('\n')).toBe(true);
  expect(() => run.messages).not.toThrow(); // every line is whole JSON
  const critical = criticalLines(run.stderr);
  expect(critical).toHaveLength(1);
  expect(critical[0]).toMatch(new RegExp(`interrupted by ${signal}`));
  expect(run.stderr).not.toMatch(STACK_TRACE);
  // Every record a bookmark covers was written before it.
  const state = run.lastState();
  for (const stream of STREAMS) {
    const bookmark = state?.bookmarks[stream]?.replication_key_value;
    if (bookmark === undefined) continue;
    const written = new Set(run.records(stream).map((r) => Number(r.id)));
    const covered = expectedRecords(tap.api.dataset, stream, START, bookmark).map((r) => Number(r.id));
    expect(covered.filter((id) => !written.has(id)), `${stream} records before ${bookmark}`).toEqual([]);
  }
}

/** The start of the request held by the 'slow' fault, as a UTC instant (the zone is UTC). */
function heldRequestStart(): string {
  const held = tap.api.requests.find((r) => r.fault === 'slow');
  const start = (held?.body as { start_date?: string } | undefined)?.start_date;
  if (start === undefined) throw new Error('no held request');
  return `${start.replace(' ', 'T')}Z`;
}

describe.each([
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)('%s', (signal, code) => {
  it(`while a request is held by the server: exit ${code}, whole lines, no bookmark past the written records`, async () => {
    const api = tap.api;
    api.inject({ kind: 'slow', endpoint: 'visits', after: 2, delayMs: 60_000 });
    const result = await interrupt(api, ['--config', config({ session_batch_size: 10 })], signal, () => waitFor(() => api.requests.some((r) => r.fault === 'slow'), 'the held request'));
    expectCleanInterruption(result, signal, code);
    // The held window was never bookmarked, and nothing was asked after the signal.
    const bookmarks = result.run.lastState()?.bookmarks;
    // The streams advance in step: the sessions stream is ahead of the held visits window.
    expect(Date.parse(bookmarks?.sessions?.replication_key_value ?? '')).toBeGreaterThan(Date.parse(heldRequestStart()));
    const visits = bookmarks?.visits?.replication_key_value;
    if (visits !== undefined) expect(Date.parse(visits)).toBeLessThanOrEqual(Date.parse(heldRequestStart()));
    expect(bookmarks?.conversions).toBeUndefined();
    expect(api.requests.at(-1)?.fault).toBe('slow');
    expect(api.requests).toHaveLength(result.requestsAtSignal);
  });
});

it('SIGTERM during the backoff before a retry: exit 143, the retry is never sent', async () => {
  const api = tap.api;
  api.inject({ kind: '500', endpoint: 'conversions', times: Infinity });
  let stderr = '';
  const result = await interrupt(api, ['--config', config({ retry_base_delay: 30, retry_max_delay: 60, max_retries: 3 })], 'SIGTERM', async (child) => {
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => / WARN retrying POST \/services\/analytics\/v1\/sessions\/get-conversions/.test(stderr), 'the retry warning');
  });
  expectCleanInterruption(result, 'SIGTERM', 143);
  expect(api.requests.filter((r) => r.endpoint === 'conversions')).toHaveLength(1);
  expect(api.requests).toHaveLength(result.requestsAtSignal);
  expect(result.run.lastState()?.bookmarks.conversions).toBeUndefined();
  // Streams in step: visits finished the same first window as sessions before conversions' failed.
  const marks = result.run.lastState()?.bookmarks;
  expect(marks?.visits?.replication_key_value).toBeDefined();
  expect(marks?.visits?.replication_key_value).toBe(marks?.sessions?.replication_key_value);
});

it('SIGTERM while the reader of stdout has stopped reading: exit 143 (the grace timer ends a stuck write), whole lines', async () => {
  // Enough output (about 9 MB) that the tap must wait for the reader.
  const big = await startFakeApi({ dataset: { zone: 'UTC', sessionIntervalSeconds: 60 }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  try {
    const args = ['--config', tap.file('big.json', { api_token: 'test-token', base_url: big.url, start_date: START, end_date: '2026-01-11', requests_per_minute: 6_000_000 })];
    let received = 0;
    const result = await interrupt(big, args, 'SIGTERM', async (child) => {
      child.stdout?.once('data', () => child.stdout?.pause());
      child.stdout?.on('data', (chunk: string) => (received += chunk.length));
      // Stalled: the tap sends no request for a whole second while it cannot write.
      let seen = -1;
      let stillSince = Date.now();
      await waitFor(() => {
        if (big.requests.length !== seen) {
          seen = big.requests.length;
          stillSince = Date.now();
        }
        return received > 0 && Date.now() - stillSince > 1000;
      }, 'the tap to stall on a full pipe', 25_000);
    });
    expect(result.run.code).toBe(143);
    expect(result.run.signal).toBeNull();
    expect(big.requests).toHaveLength(result.requestsAtSignal);
    expect(result.run.stdout.endsWith('\n')).toBe(true);
    expect(() => result.run.messages).not.toThrow();
    expect(criticalLines(result.run.stderr)[0]).toMatch(/interrupted by SIGTERM/);
    expect(result.run.stderr).not.toMatch(STACK_TRACE);
    const state = result.run.lastState();
    for (const stream of STREAMS) {
      const bookmark = state?.bookmarks[stream]?.replication_key_value;
      if (bookmark === undefined) continue;
      const written = new Set(result.run.records(stream).map((r) => Number(r.id)));
      expect(expectedRecords(big.dataset, stream, START, bookmark).filter((r) => !written.has(Number(r.id)))).toEqual([]);
    }
  } finally {
    await big.close();
  }
});
