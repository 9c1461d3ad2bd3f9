import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { createRateLimiter, type RateLimiter } from '../../src/http/rate-limiter.js';
import { createLogger } from '../../src/log.js';

/**
 * Time that moves only when something sleeps (auto mode: at once) or when the test calls
 * advance() (manual mode: sleeps stay pending until their time comes). Records every wait.
 */
class FakeClock implements Pick<Clock, 'nowMs' | 'now' | 'sleep'> {
  ms = 0;
  auto = true;
  readonly waits: number[] = [];
  private timers: Array<{ at: number; resolve: () => void }> = [];

  nowMs(): number {
    return this.ms;
  }

  now(): DateTime {
    return DateTime.fromMillis(this.ms, { zone: 'utc' });
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.waits.push(ms);
    if (this.auto) {
      this.ms += Math.max(0, ms);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const timer = { at: this.ms + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  advance(ms: number): void {
    this.ms += ms;
    const due = this.timers.filter((t) => t.at <= this.ms);
    this.timers = this.timers.filter((t) => t.at > this.ms);
    for (const timer of due) timer.resolve();
  }
}

/** Lets pending promise callbacks run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(requestsPerMinute: number, windowMs?: number): { clock: FakeClock; limiter: RateLimiter; lines: string[]; info: () => string[] } {
  const clock = new FakeClock();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const limiter = createRateLimiter({ requestsPerMinute, clock, log, label: 'Wemasy', ...(windowMs === undefined ? {} : { windowMs }) });
  return { clock, limiter, lines, info: () => lines.filter((line) => line.includes(' INFO ')) };
}

const headers = (limit: number, remaining: number, extra: Record<string, string> = {}): Headers =>
  new Headers({ 'X-RateLimit-Limit': String(limit), 'X-RateLimit-Remaining': String(remaining), ...extra });

/** Acquires and returns the (fake) time at which the slot was granted. */
async function startAt(limiter: RateLimiter, clock: FakeClock): Promise<number> {
  await limiter.acquire();
  return clock.nowMs();
}

describe('pacing', () => {
  it('spaces request starts evenly, 60 s / rpm plus a 2% margin, and never bursts', async () => {
    const { clock, limiter } = setup(60);
    const starts: number[] = [];
    for (let i = 0; i < 4; i += 1) starts.push(await startAt(limiter, clock));
    expect(starts).toEqual([0, 1_020, 2_040, 3_060]);
    expect(clock.waits).toEqual([1_020, 1_020, 1_020]);
  });

  it('lets a request start at once after an idle spell, but does not catch up with a burst', async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    clock.advance(10_000);
    expect(await startAt(limiter, clock)).toBe(10_000);
    expect(await startAt(limiter, clock)).toBe(11_020);
  });

  it('fits no more than the limit in any 60 s span', async () => {
    const { clock, limiter } = setup(10);
    const starts: number[] = [];
    for (let i = 0; i < 30; i += 1) starts.push(await startAt(limiter, clock));
    for (const first of starts) {
      expect(starts.filter((s) => s >= first && s < first + 60_000).length).toBeLessThanOrEqual(10);
    }
  });

  it('serves concurrent callers in call order, each in its own slot', async () => {
    const { clock, limiter } = setup(60);
    const granted: Array<[string, number]> = [];
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => limiter.acquire().then(() => granted.push([name, clock.nowMs()]))),
    );
    expect(granted).toEqual([
      ['a', 0],
      ['b', 1_020],
      ['c', 2_040],
      ['d', 3_060],
    ]);
  });

  it('logs routine waits at DEBUG only', async () => {
    const { clock, limiter, lines, info } = setup(60);
    await startAt(limiter, clock);
    await startAt(limiter, clock);
    limiter.observe(headers(60, 58));
    expect(info()).toEqual([]);
    expect(lines.some((line) => line.includes(' DEBUG rate limiter: waiting'))).toBe(true);
  });
});

describe('feedback from the rate-limit headers', () => {
  it('records Remaining', () => {
    const { limiter } = setup(60);
    expect(limiter.remaining).toBeUndefined();
    limiter.observe(headers(60, 42));
    expect(limiter.remaining).toBe(42);
    limiter.observe(new Headers({ 'X-RateLimit-Remaining': 'lots' }));
    expect(limiter.remaining).toBe(42);
  });

  it('pauses for a full window after the first response of the window when Remaining is 0', async () => {
    const { clock, limiter, info } = setup(60);
    await limiter.acquire();
    clock.advance(300); // the response arrives
    limiter.observe(headers(60, 0));
    expect(await startAt(limiter, clock)).toBe(300 + 61_200);
    expect(info()).toHaveLength(1);
    expect(info()[0]).toMatch(/Wemasy rate limit: no requests left in this window \(limit 60\); pausing for 61\.2 s/);
  });

  it('measures the pause from the first response of the window, not from the empty one', async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    clock.advance(200);
    limiter.observe(headers(60, 50)); // first response seen in this window: the anchor
    await limiter.acquire(); // 1 020
    clock.advance(200);
    limiter.observe(headers(60, 40)); // another client shares the token
    await limiter.acquire(); // 2 040
    clock.advance(200);
    limiter.observe(headers(60, 0));
    expect(await startAt(limiter, clock)).toBe(200 + 61_200);
  });

  it('re-anchors when Remaining rises (the window reset) or the anchor is a window old', async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    limiter.observe(headers(60, 30)); // anchor 0
    clock.advance(10_000);
    limiter.observe(headers(60, 45)); // rose: a new window began by now
    await limiter.acquire();
    limiter.observe(headers(60, 0));
    expect(await startAt(limiter, clock)).toBe(10_000 + 61_200);
    clock.advance(70_000);
    limiter.observe(headers(60, 0)); // no rise seen for over a window: anchor is now
    expect(await startAt(limiter, clock)).toBe(71_200 + 70_000 + 61_200);
  });

  it('logs INFO once per episode, and again after the budget recovered', async () => {
    const { clock, limiter, info } = setup(60);
    await limiter.acquire();
    limiter.observe(headers(60, 0));
    limiter.observe(headers(60, 0));
    await limiter.acquire();
    limiter.observe(headers(60, 0));
    expect(info()).toHaveLength(1);
    limiter.observe(headers(60, 59)); // the window reset
    await limiter.acquire();
    limiter.observe(headers(60, 0));
    expect(info()).toHaveLength(2);
    expect(clock.waits.length).toBeGreaterThan(0);
  });

  it('resumes normal pacing once Remaining rises again', async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    limiter.observe(headers(60, 0));
    const resumed = await startAt(limiter, clock);
    expect(resumed).toBe(61_200);
    limiter.observe(headers(60, 59));
    expect(await startAt(limiter, clock)).toBe(resumed + 1_020);
  });

  it('spreads a low budget over the rest of the window when other clients use it', async () => {
    const { clock, limiter, info } = setup(60);
    await limiter.acquire();
    clock.advance(300);
    limiter.observe(headers(60, 3)); // 57 used, only 1 of them ours
    // window end = 300 + 61 200; 3 left → one per 20.4 s
    const second = await startAt(limiter, clock);
    expect(second).toBe(300 + 20_400);
    limiter.observe(headers(60, 2));
    expect(await startAt(limiter, clock)).toBe(second + (61_500 - second) / 2);
    expect(info()).toHaveLength(1);
    expect(info()[0]).toMatch(/only 3 of 60 requests left in this window; spacing requests 20\.4 s apart/);
  });

  it('does not slow down when its own requests explain a low Remaining', async () => {
    const { clock, limiter, info } = setup(10);
    const starts: number[] = [];
    for (let left = 9; left >= 1; left -= 1) {
      starts.push(await startAt(limiter, clock));
      limiter.observe(headers(10, left));
    }
    starts.push(await startAt(limiter, clock));
    expect(starts.at(-1)).toBe(9 * 6_120);
    expect(info()).toEqual([]);
  });

  it('adopts a lower server Limit, and logs that at INFO once', async () => {
    const { clock, limiter, info } = setup(60);
    await limiter.acquire();
    limiter.observe(headers(30, 29));
    expect(await startAt(limiter, clock)).toBe(2_040);
    limiter.observe(headers(30, 28));
    expect(await startAt(limiter, clock)).toBe(4_080);
    expect(info()).toHaveLength(1);
    expect(info()[0]).toMatch(/allows 30 requests per minute, fewer than requests_per_minute \(60\)/);
  });

  it('keeps its own rate when the server allows more', async () => {
    const { clock, limiter, info } = setup(60);
    await limiter.acquire();
    limiter.observe(headers(120, 119));
    expect(await startAt(limiter, clock)).toBe(1_020);
    expect(info()).toEqual([]);
  });

  it("holds requests until a 429's Retry-After, which beats its own estimate", async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    clock.advance(100);
    limiter.observe(headers(60, 0, { 'Retry-After': '5' }));
    expect(await startAt(limiter, clock)).toBe(5_100);
  });

  it('ignores responses without rate-limit headers', async () => {
    const { clock, limiter } = setup(60);
    await limiter.acquire();
    limiter.observe(new Headers());
    expect(await startAt(limiter, clock)).toBe(1_020);
    expect(limiter.remaining).toBeUndefined();
  });
});

describe('abort', () => {
  it('rejects at once with the reason of an already aborted signal', async () => {
    const { limiter } = setup(60);
    const reason = new Error('SIGTERM');
    await expect(limiter.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('rejects a waiting caller with the reason and gives its slot to the next one', async () => {
    const { clock, limiter } = setup(60);
    clock.auto = false;
    await limiter.acquire(); // granted at 0
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal); // sleeps until 1 020
    const next = limiter.acquire(); // queued behind it
    let nextAt: number | undefined;
    void next.then(() => (nextAt = clock.nowMs()));
    await flush();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await flush();
    expect(nextAt).toBeUndefined();
    clock.advance(1_020);
    await next;
    expect(nextAt).toBe(1_020);
  });

  it('rejects a queued caller at once, without waiting for the ones before it', async () => {
    const { clock, limiter } = setup(60);
    clock.auto = false;
    await limiter.acquire();
    const first = limiter.acquire(); // sleeps until 1 020
    const controller = new AbortController();
    const queued = limiter.acquire(controller.signal);
    const last = limiter.acquire();
    await flush();
    controller.abort(new Error('stop'));
    await expect(queued).rejects.toThrow('stop');
    expect(clock.nowMs()).toBe(0);
    clock.advance(1_020);
    await first;
    await flush();
    clock.advance(1_020);
    await last;
    expect(clock.nowMs()).toBe(2_040);
  });
});

describe('a server that counts in another window (rate_limit_window)', () => {
  it('10 per 1-second window with requests_per_minute 600: paced 102 ms apart, Remaining 0 holds only to the window end', async () => {
    const { clock, limiter } = setup(600, 1000);
    const starts: number[] = [];
    for (let i = 0; i < 25; i += 1) {
      starts.push(await startAt(limiter, clock));
      // a fixed 1-second server window: what the server reports after this request
      const inWindow = starts.filter((t) => Math.floor(t / 1000) === Math.floor(starts[i]! / 1000)).length;
      limiter.observe(headers(10, Math.max(0, 10 - inWindow)));
    }
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(102);
    // never more than 10 starts in any fixed second, and no long pause
    for (const second of new Set(starts.map((t) => Math.floor(t / 1000)))) {
      expect(starts.filter((t) => Math.floor(t / 1000) === second).length).toBeLessThanOrEqual(10);
    }
    expect(starts.at(-1)! - starts[0]!).toBeLessThan(25 * 102 * 1.2);
  });
});
