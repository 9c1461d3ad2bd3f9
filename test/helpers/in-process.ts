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
