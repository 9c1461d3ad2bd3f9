import { ApiError, TapError } from '../errors.js';

/** How often and how long the HTTP client waits before repeating a failed request. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 disables retrying. */
  readonly maxRetries: number;
  /** Backoff before the first retry of a fault; doubled for each further retry. */
  readonly baseDelayMs: number;
  /** Cap of a backoff delay; also the wait after a 429 without `Retry-After` (one rate-limit window). */
  readonly maxDelayMs: number;
}

/**
 * The wait before the next retry of `error`, or `undefined` to give up.
 *
 * - Gives up on anything that is not a retryable {@link TapError}, and once `retriesSoFar`
 *   reaches `policy.maxRetries`.
 * - `rate-limited`: the server's `Retry-After` (`context.retryAfterMs`) exactly, uncapped;
 *   without one, `policy.maxDelayMs`.
 * - other retryable kinds: `min(maxDelayMs, baseDelayMs * 2^retriesSoFar)`, scaled by a jitter
 *   factor in [0.5, 1) drawn from `random` (which returns a number in [0, 1)).
 */
export function retryDelayMs(
  error: unknown,
  retriesSoFar: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (!(error instanceof TapError) || !error.retryable) return undefined;
  if (retriesSoFar >= policy.maxRetries) return undefined;
  if (error.kind === 'rate-limited') {
    const retryAfterMs = error instanceof ApiError ? error.context.retryAfterMs : undefined;
    return retryAfterMs ?? policy.maxDelayMs;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retriesSoFar);
  const jitter = 0.5 + 0.5 * Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.round(ceiling * jitter);
}

/**
 * A `Retry-After` header value in milliseconds from `nowMs`: delay-seconds (decimals accepted)
 * or an HTTP date (a date in the past gives 0). `undefined` when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names a month and a time of day; Date.parse alone would also take "-5" or "12".
  if (!/[a-z]{3}/i.test(text) || !/\d{1,2}:\d{2}:\d{2}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
