import { parseRetryAfterMs } from './retry.js';

/** The window the API's limit is stated in (60 requests per minute). */
export const MINUTE_MS = 60_000;
/** Every wait is stretched by this much, so network jitter cannot put one request too many in a window. */
export const SAFETY_MARGIN = 0.02;
/** Remaining at or below this share of the limit counts as running low. */
const LOW_SHARE = 0.1;

/** No request starts before `untilMs` (0: no hold), and why. */
export interface Hold {
  readonly untilMs: number;
  readonly why: string;
}

const NO_HOLD: Hold = { untilMs: 0, why: '' };

/**
 * The server's side of the budget, read from the rate-limit headers of each response: rules 2-5
 * of createRateLimiter (rate-limiter.ts), which documents them. Holds the server's limit, what it
 * says is left, the window anchor, and our own recent starts (to tell whether another client
 * shares the token).
 */
export class ServerWindow {
  /** The server's `X-RateLimit-Limit`, once seen. */
  serverLimit: number | undefined;
  /** The last `X-RateLimit-Remaining` seen. */
  remaining: number | undefined;
  private anchorMs: number | undefined;
  /** Our request starts within the last (stretched) window, oldest first. */
  private readonly recentStarts: number[] = [];
  private readonly stretchedWindowMs: number;

  /** `ownLimit`: requests_per_minute as a count per server window of `windowMs`. */
  constructor(
    private readonly ownLimit: number,
    private readonly windowMs: number,
  ) {
    this.stretchedWindowMs = windowMs * (1 + SAFETY_MARGIN);
  }

  /** The lower of our limit and the server's. */
  limit(): number {
    return Math.min(this.ownLimit, this.serverLimit ?? Infinity);
  }

  /** One of our requests started at `nowMs`. */
  started(nowMs: number): void {
    this.recentStarts.push(nowMs);
    this.forgetOldStarts(nowMs);
  }

  /** Reads one response's headers, observed at `nowMs`: the hold they ask for, and the server's limit if it changed. */
  observe(headers: Headers, nowMs: number): { readonly hold: Hold; readonly newLimit: number | undefined } {
    const limit = readCount(headers.get('x-ratelimit-limit'));
    const left = readCount(headers.get('x-ratelimit-remaining'));
    const retryAfterMs = parseRetryAfterMs(headers.get('retry-after'), nowMs);
    let newLimit: number | undefined;
    if (limit !== undefined && limit > 0 && limit !== this.serverLimit) {
      this.serverLimit = limit;
      newLimit = limit;
    }
    if (left !== undefined) {
      const { remaining, anchorMs } = this;
      if (remaining === undefined || left > remaining || anchorMs === undefined || nowMs - anchorMs >= this.windowMs) {
        this.anchorMs = nowMs;
      }
      this.remaining = left;
    }
    return { hold: this.holdFor(nowMs, left, retryAfterMs), newLimit };
  }

  /** The hold rules 3-5 ask for after an observation at `nowMs`, with why. */
  private holdFor(nowMs: number, left: number | undefined, retryAfterMs: number | undefined): Hold {
    if (retryAfterMs !== undefined) {
      return { untilMs: nowMs + retryAfterMs, why: `the server asked to retry after ${seconds(retryAfterMs)} s` };
    }
    if (left === undefined) return NO_HOLD;
    const limit = this.serverLimit ?? this.ownLimit;
    const windowEndMs = (this.anchorMs ?? nowMs) + this.stretchedWindowMs;
    if (left === 0) {
      return {
        untilMs: windowEndMs,
        why: `no requests left in this window (limit ${limit}); pausing for ${seconds(windowEndMs - nowMs)} s`,
      };
    }
    this.forgetOldStarts(nowMs);
    const othersShareBudget = limit - left > this.recentStarts.length;
    if (left <= Math.max(1, Math.floor(limit * LOW_SHARE)) && othersShareBudget) {
      const gapMs = (windowEndMs - nowMs) / left;
      return {
        untilMs: nowMs + gapMs,
        why: `only ${left} of ${limit} requests left in this window; spacing requests ${seconds(gapMs)} s apart`,
      };
    }
    return NO_HOLD;
  }

  private forgetOldStarts(nowMs: number): void {
    const starts = this.recentStarts;
    while (starts.length > 0 && (starts[0] ?? 0) <= nowMs - this.stretchedWindowMs) starts.shift();
  }
}

export const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** A non-negative integer header, or `undefined`. */
function readCount(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
