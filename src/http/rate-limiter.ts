import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { parseRetryAfterMs } from './retry.js';

/**
 * Paces request starts to the API's per-minute budget and adjusts from the rate-limit
 * headers of each response. Shared by every request of a run.
 */
export interface RateLimiter {
  /**
   * Resolves when the caller may start its request, which counts as started at that moment.
   * Concurrent callers are served in call order (FIFO). Rejects with `signal.reason` when the
   * signal aborts, and then gives its turn to the next caller.
   */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Feeds back a response's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `Retry-After`. */
  observe(headers: Headers): void;
  /** The last `X-RateLimit-Remaining` seen, if any. */
  readonly remaining: number | undefined;
}

export interface RateLimiterOptions {
  readonly requestsPerMinute: number;
  /**
   * The window the server's `X-RateLimit-Limit` and `X-RateLimit-Remaining` count in (the API
   * documents a minute; `rate_limit_window` changes it for a server or proxy that counts
   * otherwise). Default 60 s.
   */
  readonly windowMs?: number;
  /** Only its wall time and sleeps: the limiter paces against the server's windows. */
  readonly clock: Pick<Clock, 'nowMs' | 'sleep'>;
  readonly log: Logger;
}

/** The window the API's limit is stated in (60 requests per minute). */
const MINUTE_MS = 60_000;
/** Every wait is stretched by this much, so network jitter cannot put one request too many in a window. */
const SAFETY_MARGIN = 0.02;
/** Remaining at or below this share of the limit counts as running low. */
const LOW_SHARE = 0.1;

/**
 * Creates the limiter. Its rules:
 *
 * 1. **Pacing.** Request starts are at least `60 s / limit * 1.02` apart, where `limit` is the
 *    lower of `requestsPerMinute` and the server's `X-RateLimit-Limit`. Even spacing never
 *    bursts, so no 60-second span (a fixed window of any phase, or a sliding one) holds more
 *    than `limit` starts: `limit` intervals span 61.2 s.
 * 2. **Window anchor.** The server's current window is taken to have begun no later than the
 *    *anchor*: the time of the first response observed in it. The anchor moves to "now" on the
 *    first observation, whenever Remaining rises (the window reset or old requests slid out),
 *    and when it is older than a window (a window must have turned over since).
 * 3. **Remaining 0.** Nothing is started until a full window after the anchor (plus the margin),
 *    when any window that was full at the anchor has reset.
 * 4. **Remaining low** (≤ 10% of the limit) **and not explained by our own requests** (the server
 *    counts more than we started in the last window, so another client shares the token):
 *    the remaining budget is spread over the rest of the window, one request per
 *    `(window end - now) / remaining`. When our own requests explain it, pacing (rule 1) is
 *    already safe and nothing changes.
 * 5. **Retry-After** (on a 429): nothing is started before the time the server named; it
 *    replaces the estimates of rules 3 and 4.
 *
 * Each observation recomputes rules 3-5 from the newest headers. Slowing down for the rate
 * limit is logged at INFO once per episode (an episode ends when an observation sets no hold);
 * routine waits are logged at DEBUG.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { requestsPerMinute, clock, log } = options;
  const WINDOW_MS = options.windowMs ?? MINUTE_MS;
  const stretchedWindowMs = WINDOW_MS * (1 + SAFETY_MARGIN);
  /** requests_per_minute, as a count per server window. */
  const ownLimit = (requestsPerMinute * WINDOW_MS) / MINUTE_MS;

  let serverLimit: number | undefined;
  let remaining: number | undefined;
  let anchorMs: number | undefined;
  /** No request starts before this instant (rules 3-5). */
  let holdUntilMs = 0;
  let slowedDown = false;
  let lastStartMs: number | undefined;
  /** Our request starts within the last (stretched) window, oldest first. */
  const recentStarts: number[] = [];
  /** Settles when the previous caller has had its turn; never rejects. */
  let queueTail: Promise<void> = Promise.resolve();

  const effectiveLimit = (): number => Math.min(ownLimit, serverLimit ?? Infinity);
  const intervalMs = (): number => (WINDOW_MS / effectiveLimit()) * (1 + SAFETY_MARGIN);
  const pacedStartMs = (): number => (lastStartMs === undefined ? -Infinity : lastStartMs + intervalMs());

  const forgetOldStarts = (nowMs: number): void => {
    while (recentStarts.length > 0 && (recentStarts[0] ?? 0) <= nowMs - stretchedWindowMs) recentStarts.shift();
  };

  async function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const nowMs = clock.nowMs();
      const startMs = Math.max(pacedStartMs(), holdUntilMs);
      if (startMs <= nowMs) {
        lastStartMs = nowMs;
        recentStarts.push(nowMs);
        forgetOldStarts(nowMs);
        return;
      }
      log.debug('rate limiter: waiting before the next request', { wait_ms: Math.ceil(startMs - nowMs) });
      await clock.sleep(startMs - nowMs, signal);
    }
  }

  /** The hold rules 3-5 ask for after an observation at `nowMs`, with why; `untilMs` 0 = none. */
  function holdFor(nowMs: number, left: number | undefined, retryAfterMs: number | undefined): Hold {
    if (retryAfterMs !== undefined) {
      return { untilMs: nowMs + retryAfterMs, why: `the server asked to retry after ${seconds(retryAfterMs)} s` };
    }
    if (left === undefined) return { untilMs: 0, why: '' };
    const limit = serverLimit ?? ownLimit;
    const windowEndMs = (anchorMs ?? nowMs) + stretchedWindowMs;
    if (left === 0) {
      return {
        untilMs: windowEndMs,
        why: `no requests left in this window (limit ${limit}); pausing for ${seconds(windowEndMs - nowMs)} s`,
      };
    }
    forgetOldStarts(nowMs);
    const othersShareBudget = limit - left > recentStarts.length;
    if (left <= Math.max(1, Math.floor(limit * LOW_SHARE)) && othersShareBudget) {
      const gapMs = (windowEndMs - nowMs) / left;
      return {
        untilMs: nowMs + gapMs,
        why: `only ${left} of ${limit} requests left in this window; spacing requests ${seconds(gapMs)} s apart`,
      };
    }
    return { untilMs: 0, why: '' };
  }

  function observe(headers: Headers): void {
    const nowMs = clock.nowMs();
    const limit = readCount(headers.get('x-ratelimit-limit'));
    const left = readCount(headers.get('x-ratelimit-remaining'));
    const retryAfterMs = parseRetryAfterMs(headers.get('retry-after'), nowMs);

    if (limit !== undefined && limit > 0 && limit !== serverLimit) {
      serverLimit = limit;
      if (limit < ownLimit) {
        const per = WINDOW_MS === MINUTE_MS ? 'minute' : `${seconds(WINDOW_MS)} s`;
        log.info(
          `Wemasy rate limit: the server allows ${limit} requests per ${per}, fewer than ` +
            `requests_per_minute (${requestsPerMinute}) allows; pacing to ${limit}`,
        );
      }
    }
    if (left !== undefined) {
      if (remaining === undefined || left > remaining || anchorMs === undefined || nowMs - anchorMs >= WINDOW_MS) {
        anchorMs = nowMs;
      }
      remaining = left;
    }

    const hold = holdFor(nowMs, left, retryAfterMs);
    holdUntilMs = hold.untilMs;
    if (hold.untilMs === 0) {
      if (slowedDown) log.debug('rate limiter: budget recovered, back to normal pacing');
      slowedDown = false;
    } else if (hold.untilMs > Math.max(pacedStartMs(), nowMs) && !slowedDown) {
      slowedDown = true;
      log.info(`Wemasy rate limit: ${hold.why}`);
    } else {
      log.debug(`rate limiter: ${hold.why}`);
    }
  }

  return {
    acquire(signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const previous = queueTail;
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      queueTail = previous.then(() => done);
      return (async () => {
        try {
          await untilSettled(previous, signal);
          await takeSlot(signal);
        } finally {
          release();
        }
      })();
    },
    observe,
    get remaining() {
      return remaining;
    },
  };
}

interface Hold {
  readonly untilMs: number;
  readonly why: string;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** A non-negative integer header, or `undefined`. */
function readCount(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** Resolves with `promise`, or rejects with the signal's reason if it aborts first. */
function untilSettled(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
