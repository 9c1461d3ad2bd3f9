import type { Writable } from 'node:stream';
import type { Clock } from './clock.js';

// Its own module so that the modes tap.ts loads (commands, discovery) can name it without
// importing tap.ts back (a cycle).

/** Everything the tap touches outside itself, passed in (tests and the benchmark swap parts). */
export interface TapIo {
  readonly stdout: Writable;
  readonly writeStderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  /** Aborted on SIGTERM/SIGINT: waits and requests stop, no further bookmark is written. */
  readonly signal?: AbortSignal;
}
