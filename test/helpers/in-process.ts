import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import type { Clock } from '../../src/clock.js';
import { runTap } from '../../src/tap.js';
import { tapRun, type TapRun } from './run-tap.js';

/**
 * Runs the tap in-process through its entry function (src/tap.ts), with an injected clock and
 * stdout: for tests where a child process adds nothing.
 */

/** A clock that stands still unless moved; sleeping moves it forward at once (after a macrotask). */
export interface FakeClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export function fakeClock(startIso: string): FakeClock {
  let ms = Date.parse(startIso);
  const clock: FakeClock = {
    nowMs: () => ms,
    now: () => DateTime.fromMillis(ms, { zone: 'utc' }),
    sleep: (wait, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        setImmediate(() => {
          ms += Math.max(0, wait);
          resolve();
        });
      }),
    set(iso) {
      ms = Date.parse(iso);
    },
    advance(delta) {
      ms += delta;
    },
  };
  return clock;
}

/** A stdout that collects what it is given; with `delayMs`, it accepts each chunk only after that long (a slow reader). */
export function collectingStdout(options: { delayMs?: number; highWaterMark?: number } = {}): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      if (options.delayMs === undefined) callback();
      else setTimeout(callback, options.delayMs);
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/**
 * The virtual instant an in-process run starts at unless the test gives a clock: a fixed "now",
 * after every range the tests sync, so that nothing depends on the day the suite runs.
 */
export const DEFAULT_NOW = '2026-11-30T12:00:00Z';

/** What a run printed and returned; the same shape as a child process's TapRun (signal always null). */
export type InProcessRun = TapRun;

export interface InProcessOptions {
  /** Default: a fakeClock at DEFAULT_NOW. */
  clock?: Clock;
  stdout?: Writable & { text(): string };
  /** The tap's whole environment (a child would inherit the test's; in-process it sees only this). */
  env?: NodeJS.ProcessEnv;
  /** Aborts the run as main.ts does on SIGTERM/SIGINT. */
  signal?: AbortSignal;
}

/** Runs `tap-wemasy ...args` through runTap (src/tap.ts) in this process and collects what it printed. */
export async function runInProcess(args: readonly string[], options: InProcessOptions = {}): Promise<InProcessRun> {
  const stdout = options.stdout ?? collectingStdout();
  let stderr = '';
  const code = await runTap(args, {
    stdout,
    writeStderr: (line) => {
      stderr += line;
    },
    env: options.env ?? {},
    clock: options.clock ?? fakeClock(DEFAULT_NOW),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return tapRun(code, null, stdout.text(), stderr);
}
