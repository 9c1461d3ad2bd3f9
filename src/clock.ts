import { DateTime } from 'luxon';

/**
 * Time, as the tap sees it: wall time, a monotonic count, sleeps and timers, in one interface
 * that is passed in (TapIo.clock), so that tests and benchmarks control all of it. No module but
 * this one reads the system's time or starts a system timer (ESLint enforces it for src/).
 */
export interface Clock {
  /** Milliseconds since the epoch (wall time). */
  nowMs(): number;
  /** The current instant, in UTC. */
  now(): DateTime;
  /**
   * Milliseconds from an arbitrary origin on a clock that never jumps (NTP, a changed system
   * time): for durations only.
   */
  monotonicMs(): number;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fire` once, `ms` milliseconds from now, unless cancelled first. */
  timer(ms: number, fire: () => void, options?: TimerOptions): Timer;
}

export interface TimerOptions {
  /** The timer alone does not keep the process alive (Node's `unref`). Default false. */
  readonly unref?: boolean;
}

/** A pending call of a {@link Clock.timer}. */
export interface Timer {
  /**
   * Starts the count again from now, with the same duration, if the timer has neither fired nor
   * been cancelled. Cheap (no new system timer): fit for every chunk of a body.
   */
  restart(): void;
  /** Stops the timer: `fire` will not be called. Calling it again, or after firing, does nothing. */
  cancel(): void;
}

/** The real clock: the system's time and Node's timers. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  now: () => DateTime.utc(),
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      const timer = systemClock.timer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  timer: (ms, fire, options = {}) => {
    let done = false;
    const handle = setTimeout(() => {
      done = true;
      fire();
    }, Math.max(0, ms));
    if (options.unref === true) handle.unref();
    return {
      restart: () => {
        if (!done) handle.refresh();
      },
      cancel: () => {
        done = true;
        clearTimeout(handle);
      },
    };
  },
};
