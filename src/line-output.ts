import type { Writable } from 'node:stream';
import { TapError } from './errors.js';

/**
 * A protocol's stdout (Singer's or Airbyte's): whole JSON lines, batched into chunks of about
 * 64 KiB (one `write` per chunk, not per line), flushed at once when the caller says so (after a
 * STATE, so that a bookmark reaches the reader promptly). A chunk that stdout does not accept at
 * once is waited for (back-pressure: a slow reader slows the tap instead of growing its memory).
 * When the reader goes away (EPIPE), every later call rejects with an 'output-closed' error.
 */
export interface LineOutput {
  /**
   * Buffers `text` (one or more lines, each ending in a newline). Returns a promise only when the
   * caller must wait (a chunk was handed to stdout: `now`, or the buffer reached a chunk);
   * otherwise nothing, so the per-record path costs no microtask.
   */
  append(text: string, now: boolean): Promise<void> | undefined;
  /** Hands every buffered line to stdout and waits until it accepted them. */
  flush(): Promise<void>;
}

const CHUNK_BYTES = 64 * 1024;

export function createLineOutput(out: Writable): LineOutput {
  let buffer = '';
  let closedError: TapError | undefined;
  out.on('error', (error: NodeJS.ErrnoException) => {
    closedError = new TapError(
      'output-closed',
      error.code === 'EPIPE' ? 'the reader of stdout went away (broken pipe)' : `stdout failed: ${error.message}`,
      { cause: error },
    );
  });

  const flush = async (): Promise<void> => {
    if (closedError) throw closedError;
    if (buffer.length === 0) return;
    const chunk = buffer;
    buffer = '';
    if (!out.write(chunk)) await drained(out, () => closedError);
    // Read anew: an 'error' event may have come during the wait (TypeScript keeps the narrowing above).
    const failed = closedError as TapError | undefined;
    if (failed) throw failed;
  };

  return {
    append(text, now) {
      if (closedError) return Promise.reject(closedError);
      buffer += text;
      return now || buffer.length >= CHUNK_BYTES ? flush() : undefined;
    },
    flush,
  };
}

/** Resolves on `out`'s next 'drain'; rejects with the output's error when it fails or closes first. */
function drained(out: Writable, closedError: () => TapError | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      out.off('drain', onDrain);
      out.off('error', onFail);
      out.off('close', onFail);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onFail = (): void => {
      cleanup();
      reject(closedError() ?? new TapError('output-closed', 'stdout was closed'));
    };
    out.once('drain', onDrain);
    out.once('error', onFail);
    out.once('close', onFail);
  });
}
