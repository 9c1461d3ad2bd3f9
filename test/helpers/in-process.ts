import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import type { Clock } from '../../src/clock.js';
import type { WemasyStream } from '../../src/streams/stream.js';
import { runTap } from '../../src/tap.js';
import { tapRun, type TapRun } from './run-tap.js';

/**
 * Runs the tap in-process through its entry function (src/tap.ts), with an injected clock and
 * stdout: for tests where a child process adds nothing.
 */

/**
 * A virtual clock for in-process runs: wall time, monotonic time, sleeps and timers all follow
 * one virtual instant, which moves only
 * - when a test calls `set(iso)` (to that instant; backwards too) or `advance(ms)` (forwards), or
 * - in auto mode (the default), when something sleeps: one macrotask after `sleep(ms)` is called
 *   (setImmediate, so pending I/O callbacks run first), the instant moves to that sleep's deadline
 *   if it is not there yet. Concurrent sleeps therefore overlap (two sleeps of 10 ms started
 *   together end at +10 ms, not +20 ms), as in real time. In manual mode (`autoAdvance: false`)
 *   sleeps wait, like timers, until the test moves time past their deadline.
 * Whenever the instant moves forwards, the timers (Clock.timer, and the sleeps) whose deadline it
 * reaches fire in deadline order (then in creation order), each with the clock set to its own
 * deadline, before the clock reaches the target. Nothing here runs on wall time, so a test of
 * request timeouts or stalled bodies is deterministic: the tap's request-timeout watchdog fires
 * only when virtual time passes it. Note what that means against a real server: virtual time does
 * not move while the tap waits for a response, so a response never times out by itself; a test
 * of a stall moves the clock (`advance`) while the server stalls. And because a sleep jumps the
 * instant at once, a concurrent sleep longer than `request_timeout` times out a request in flight.
 */
export interface FakeClock extends Clock {
  /** Moves the instant to `iso` (backwards too); timers it reaches fire first. */
  set(iso: string): void;
  /** Moves the instant by `ms`; forwards, the timers it reaches fire first, in deadline order. */
  advance(ms: number): void;
  /** Timers and sleeps that have neither fired nor been cancelled. */
  readonly pendingTimers: number;
}

interface FakeTimer {
  deadline: number;
  readonly duration: number;
  readonly seq: number;
  readonly fire: () => void;
}

export function fakeClock(startIso: string, options: { autoAdvance?: boolean } = {}): FakeClock {
  const autoAdvance = options.autoAdvance ?? true;
  let ms = Date.parse(startIso);
  let seq = 0;
  const timers = new Set<FakeTimer>();

  /** Moves the instant to `target`, firing due timers one at a time at their own deadline. */
  const moveTo = (target: number): void => {
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of timers) {
        if (t.deadline <= target && (next === undefined || t.deadline < next.deadline || (t.deadline === next.deadline && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      timers.delete(next);
      ms = Math.max(ms, next.deadline);
      next.fire();
    }
    ms = target;
  };

  const timer: Clock['timer'] = (wait, fire) => {
    const entry: FakeTimer = { deadline: ms + Math.max(0, wait), duration: Math.max(0, wait), seq: seq++, fire };
    timers.add(entry);
    return {
      restart: () => {
        if (timers.has(entry)) entry.deadline = ms + entry.duration;
      },
      cancel: () => void timers.delete(entry),
    };
  };

  const clock: FakeClock = {
    nowMs: () => ms,
    now: () => DateTime.fromMillis(ms, { zone: 'utc' }),
    monotonicMs: () => ms,
    timer,
    sleep: (wait, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const deadline = ms + Math.max(0, wait);
        let settled = false;
        const onAbort = (): void => {
          settled = true;
          pending.cancel();
          reject(signal?.reason);
        };
        const pending = timer(wait, () => {
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        if (autoAdvance) {
          setImmediate(() => {
            if (!settled) moveTo(Math.max(ms, deadline));
          });
        }
      }),
    set(iso) {
      const target = Date.parse(iso);
      if (target >= ms) moveTo(target);
      else ms = target;
    },
    advance(delta) {
      if (delta >= 0) moveTo(ms + delta);
      else ms += delta;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
  return clock;
}

/**
 * A stdout that collects what it is given. A slow reader: with `slow`, it accepts each chunk only
 * on a later turn of the event loop (setImmediate: other I/O runs first, no wall-clock wait), so
 * that with a small `highWaterMark` the tap meets back-pressure at every write; with `delayMs`,
 * only after that long in real time.
 */
export function collectingStdout(options: { slow?: boolean; delayMs?: number; highWaterMark?: number } = {}): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      if (options.delayMs !== undefined) setTimeout(callback, options.delayMs);
      else if (options.slow === true) setImmediate(callback);
      else callback();
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
  /** The streams to sync instead of the tap's own list (runTap's optional argument). */
  streams?: readonly WemasyStream[];
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
  }, options.streams);
  return tapRun(code, null, stdout.text(), stderr);
}
