import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { STACK_TRACE, waitFor } from '../helpers/checks.js';
import { expectedRecords } from '../helpers/expected.js';
import { TAP_BIN, criticalLines, runTap, tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * stdout is a pipe to a target: the tap must stop by itself and quietly when the reader goes away,
 * and must wait (not buffer) when the reader is slow. Child processes: a real pipe, EPIPE, and the
 * process's memory are what is tested (slow-reader.test.ts covers the writer in-process).
 */

const STREAMS = ['sessions', 'visits', 'conversions'] as const;
const START = '2026-01-01T00:00:00Z';
const END = '2026-01-06T00:00:00Z';
/** A generous ceiling on the tap's resident memory while it cannot write. */
const RSS_BOUND_KB = 200 * 1024;

let api: FakeApi;
let dir: string;
let configPath: string;

beforeAll(async () => {
  // A session a minute: about 7 MB of Singer messages for five days.
  api = await startFakeApi({ dataset: { zone: 'UTC', sessionIntervalSeconds: 60 }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
  configPath = writeJson(dir, 'config.json', {
    api_token: 'test-token',
    base_url: api.url,
    start_date: START,
    end_date: END,
    requests_per_minute: 6_000_000,
    retry_base_delay: 0.01,
    retry_max_delay: 0.05,
  });
});
afterAll(() => api.close());


/** VmRSS of a live process in kB, from /proc (Linux). */
function rssKb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** A record as a string with sorted keys, to compare large sets quickly. */
const canonical = (record: Record<string, unknown>): string => JSON.stringify(Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b))));
const canonicalSet = (records: Record<string, unknown>[]): string[] => records.map(canonical).sort();

describe('the reader of stdout goes away', () => {
  it('after a few lines (like `| head -n 5`): exits 1 by itself, one CRITICAL line, no stack trace', async () => {
    let lines = 0;
    let closed = false;
    const run = await runTap(['--config', configPath], {
      timeoutMs: 30_000,
      onSpawn: (child) => {
        child.stdout?.on('data', (chunk: string) => {
          lines += chunk.split('\n').length - 1;
          if (lines >= 5 && !closed) {
            closed = true;
            child.stdout?.destroy();
          }
        });
      },
    });
    expect(closed).toBe(true);
    // Not ended by the watchdog's SIGKILL: the tap noticed the closed pipe and stopped.
    expect(run.signal).toBeNull();
    expect(run.code, run.stderr.slice(-1500)).toBe(1);
    const critical = criticalLines(run.stderr);
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatch(/reader of stdout went away|broken pipe/);
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(run.stderr).not.toMatch(/this is a bug/);
    expect(run.stderr).not.toMatch(/EPIPE.*\n.*Error|Unhandled|uncaught/i);
  });

  it('through a real shell pipe into `head -n 5`: five lines, the tap exits 1 without a stack trace', async () => {
    const errPath = join(dir, 'head.err');
    const script = `"$0" "$1" --config "$2" 2>"$3" | head -n 5; echo "exit=\${PIPESTATUS[0]}"`;
    // execFile's timeout is a watchdog (the promise rejects): the tap must end by itself.
    const { stdout } = await promisify(execFile)('bash', ['-c', script, process.execPath, TAP_BIN, configPath, errPath], { timeout: 30_000 });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    for (const line of lines.slice(0, 5)) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(lines[5]).toBe('exit=1');
    const stderr = readFileSync(errPath, 'utf8');
    expect(criticalLines(stderr)).toHaveLength(1);
    expect(criticalLines(stderr)[0]).toMatch(/reader of stdout went away|broken pipe/);
    expect(stderr).not.toMatch(STACK_TRACE);
  });
});

describe('a slow reader', () => {
  it('the tap waits for it instead of buffering (bounded RSS, no requests while blocked), then completes with exact records', async () => {
    api.reset();
    let received = 0;
    let exited = false;
    const samples: number[] = [];
    let requestsWhilePaused = -1;
    let stalledRequests = -2;
    const run = await runTap(['--config', configPath], {
      timeoutMs: 90_000,
      onSpawn: (child) => {
        child.once('exit', () => (exited = true));
        child.stdout?.once('data', () => child.stdout?.pause());
        child.stdout?.on('data', (chunk: string) => (received += chunk.length));
        void (async () => {
          // Stalled: no request for 1.5 s while the reader reads nothing; then five samples of
          // VmRSS, 200 ms apart, during which no request may come either (else it was not
          // stalled but slow: wait again).
          for (let attempt = 0; attempt < 5 && !exited; attempt += 1) {
            let seen = -1;
            let stillSince = Date.now();
            await waitFor(() => {
              if (api.requests.length !== seen) {
                seen = api.requests.length;
                stillSince = Date.now();
              }
              return exited || (received > 0 && Date.now() - stillSince > 1500);
            }, 'the tap to stall on a full pipe');
            requestsWhilePaused = api.requests.length;
            samples.length = 0;
            for (let i = 0; i < 5 && !exited; i += 1) {
              samples.push(rssKb(child.pid as number));
              await new Promise((resolve) => setTimeout(resolve, 200));
            }
            if (api.requests.length === requestsWhilePaused) break;
          }
          stalledRequests = api.requests.length;
          child.stdout?.resume();
        })().catch((error: unknown) => {
          console.error(error);
          child.kill('SIGKILL');
          child.stdout?.resume();
        });
      },
    });
    console.log(`slow reader: stalled after ${requestsWhilePaused} of ${api.requests.length} requests; VmRSS while blocked ${samples.map((kb) => Math.round(kb / 1024)).join(', ')} MB; ${(run.stdout.length / 1e6).toFixed(1)} MB written`);
    expect(samples.length).toBe(5); // it was still running while blocked
    expect(stalledRequests, 'requests sent while the reader read nothing').toBe(requestsWhilePaused);
    expect(requestsWhilePaused).toBeLessThan(api.requests.length);
    expect(Math.max(...samples)).toBeLessThan(RSS_BOUND_KB);
    expect(run.code, run.stderr.slice(-1500)).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(5_000_000);
    for (const stream of STREAMS) {
      const expected = canonicalSet(expectedRecords(api.dataset, stream, START, END));
      expect(expected.length).toBeGreaterThan(1000);
      const got = canonicalSet(run.records(stream));
      expect(got.length, stream).toBe(expected.length);
      expect(got.every((record, i) => record === expected[i]), stream).toBe(true);
    }
    expect(run.lastState()?.bookmarks.conversions?.replication_key_value).toBe(END);
  }, 120_000);
});
