/**
 * Small checks shared by the end-to-end tests of failures (crash-resume, signals, pipe, bad input,
 * secrets).
 */

/** A stack trace on stderr: Node's own (indented `at` lines), or one the logger folded into a line. */
export const STACK_TRACE = /^\s+at |\bat .*\((file:|node:)/m;

/** Resolves once `condition` holds (polled every 20 ms); rejects after `timeoutMs`, so nothing hangs. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
