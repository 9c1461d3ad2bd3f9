import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import type { Clock } from '../../src/clock.js';
import type { WemasyStream } from '../../src/streams/stream.js';
import { runTap } from '../../src/tap.js';
import { parseMessages, type SingerMessage } from './run-tap.js';

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

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
  readonly messages: SingerMessage[];
  records(stream: string): Record<string, unknown>[];
  lastState(): NonNullable<SingerMessage['value']> | undefined;
}

export async function runInProcess(
  args: readonly string[],
  options: { clock: Clock; stdout?: Writable & { text(): string }; env?: NodeJS.ProcessEnv; streams?: readonly WemasyStream[] },
): Promise<InProcessRun> {
  const stdout = options.stdout ?? collectingStdout();
  let stderr = '';
  const code = await runTap(args, {
    stdout,
    writeStderr: (line) => {
      stderr += line;
    },
    env: options.env ?? {},
    clock: options.clock,
  }, options.streams);
  const text = stdout.text();
  const messages = parseMessages(text);
  const states = messages.filter((m) => m.type === 'STATE').map((m) => m.value as NonNullable<SingerMessage['value']>);
  return {
    code,
    stdout: text,
    stderr,
    messages,
    records: (stream) => messages.filter((m) => m.type === 'RECORD' && m.stream === stream).map((m) => m.record as Record<string, unknown>),
    lastState: () => states.at(-1),
  };
}
