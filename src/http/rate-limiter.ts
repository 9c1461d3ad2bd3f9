import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { MINUTE_MS, SAFETY_MARGIN, ServerWindow, seconds } from './rate-window.js';

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
  /** Who sets the limit, for the log lines: `Wemasy` gives "Wemasy rate limit: ...". Default `API`. */
  readonly label?: string;
}

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
  const label = options.label ?? 'API';
  const windowMs = options.windowMs ?? MINUTE_MS;
  /** requests_per_minute, as a count per server window. */
  const ownLimit = (requestsPerMinute * windowMs) / MINUTE_MS;
  const server = new ServerWindow(ownLimit, windowMs);
  /** No request starts before this instant (rules 3-5). */
  let holdUntilMs = 0;
  let slowedDown = false;
  let lastStartMs: number | undefined;
  const pacedStartMs = (): number =>
    lastStartMs === undefined ? -Infinity : lastStartMs + (windowMs / server.limit()) * (1 + SAFETY_MARGIN);

  async function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const nowMs = clock.nowMs();
      const startMs = Math.max(pacedStartMs(), holdUntilMs);
      if (startMs <= nowMs) {
        lastStartMs = nowMs;
        server.started(nowMs);
        return;
      }
      log.debug('rate limiter: waiting before the next request', { wait_ms: Math.ceil(startMs - nowMs) });
      await clock.sleep(startMs - nowMs, signal);
    }
  }

  function observe(headers: Headers): void {
    const nowMs = clock.nowMs();
    const { hold, newLimit } = server.observe(headers, nowMs);
    if (newLimit !== undefined && newLimit < ownLimit) {
      const per = windowMs === MINUTE_MS ? 'minute' : `${seconds(windowMs)} s`;
      log.info(
        `${label} rate limit: the server allows ${newLimit} requests per ${per}, fewer than ` +
          `requests_per_minute (${requestsPerMinute}) allows; pacing to ${newLimit}`,
      );
    }
    holdUntilMs = hold.untilMs;
    if (hold.untilMs === 0) {
      if (slowedDown) log.debug('rate limiter: budget recovered, back to normal pacing');
      slowedDown = false;
    } else if (hold.untilMs > Math.max(pacedStartMs(), nowMs) && !slowedDown) {
      slowedDown = true;
      log.info(`${label} rate limit: ${hold.why}`);
    } else {
      log.debug(`rate limiter: ${hold.why}`);
    }
  }

  const inTurn = turns();
  return {
    acquire: (signal) => inTurn(signal, () => takeSlot(signal)),
    observe,
    get remaining() {
      return server.remaining;
    },
  };
}

/**
 * Serves callers one at a time in call order (FIFO): `work` runs once every earlier caller's has
 * settled. A caller whose signal aborts while it waits rejects with the reason and gives its turn
 * to the next.
 */
function turns(): (signal: AbortSignal | undefined, work: () => Promise<void>) => Promise<void> {
  /** Settles when the previous caller has had its turn; never rejects. */
  let queueTail: Promise<void> = Promise.resolve();
  return (signal, work) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const previous = queueTail;
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    queueTail = previous.then(() => done);
    return (async () => {
      try {
        await untilSettled(previous, signal);
        await work();
      } finally {
        release();
      }
    })();
  };
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
