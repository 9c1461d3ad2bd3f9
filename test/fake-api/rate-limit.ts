/**
 * The API's rate limit: a fixed window counter, windows starting when the limiter starts (or is
 * reset). A request over the limit is refused and not counted, as Laravel's throttle does.
 */

export interface RateLimitOptions {
  /** Requests allowed per window. Default 60 (API contract: 60 a minute per token). */
  readonly limit: number;
  /** Window length in milliseconds. Default 60 000. */
  readonly windowMs: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Left in the current window after this request. */
  readonly remaining: number;
  /** Milliseconds until the current window ends. */
  readonly resetInMs: number;
}

export interface RateLimiter {
  /** Counts one request (when allowed) and says whether it may pass. */
  hit(): RateDecision;
  /** The current window's state without counting a request. */
  peek(): RateDecision;
  /** Restarts the windows at the current time with nothing counted. */
  reset(): void;
}

export function createRateLimiter(options: RateLimitOptions, now: () => number): RateLimiter {
  const { limit, windowMs } = options;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`rateLimit.limit must be an integer >= 0, got ${limit}`);
  if (!(windowMs > 0)) throw new RangeError(`rateLimit.windowMs must be > 0, got ${windowMs}`);
  let startMs = now();
  let windowIndex = 0;
  let count = 0;

  const current = (): { resetInMs: number } => {
    const t = now();
    const index = Math.floor((t - startMs) / windowMs);
    if (index !== windowIndex) {
      windowIndex = index;
      count = 0;
    }
    return { resetInMs: startMs + (index + 1) * windowMs - t };
  };

  return {
    hit() {
      const { resetInMs } = current();
      if (count >= limit) return { allowed: false, limit, remaining: 0, resetInMs };
      count += 1;
      return { allowed: true, limit, remaining: limit - count, resetInMs };
    },
    peek() {
      const { resetInMs } = current();
      return { allowed: count < limit, limit, remaining: Math.max(0, limit - count), resetInMs };
    },
    reset() {
      startMs = now();
      windowIndex = 0;
      count = 0;
    },
  };
}
