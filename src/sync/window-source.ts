import { DateTime, Duration } from 'luxon';
import type { EngineSettings as Settings } from './stream.js';
import { nextWindowEnd, planWindows, type Window } from '../time/windows.js';

/**
 * Hands out a stream's windows one at a time, so that their sizes can follow what earlier windows
 * returned. Windows always tile `[from, to)` exactly: each starts where the previous one ended.
 */
export interface WindowSource {
  /**
   * The window that starts at `start`, or undefined when `start` has reached the end. With a
   * `horizon` after `start`, an adaptive window ends there at the latest (a child stream does not
   * run ahead of the sessions stream that tells it its session ids); fixed windows keep their plan.
   */
  next(start: DateTime, horizon?: DateTime): Promise<Window | undefined>;
  /** Reports how many records a window held. */
  done(window: Window, records: number): void;
}

/**
 * Where a child stream (visits, conversions) may end a window that starts at `start`: given the
 * nominal end and the furthest allowed end, an end at or after the nominal one. Lets the session
 * index end windows where their session ids fill whole batches.
 */
export type EndAdjuster = (start: DateTime, nominal: DateTime, limit: DateTime) => Promise<DateTime>;

/** `window_size` everywhere: the plan laid out once on the zone's wall clock. */
export function fixedWindows(from: DateTime, to: DateTime, settings: Settings): WindowSource {
  const plan = planWindows(from, to, settings.windowSize, settings.timezone);
  let i = 0;
  return {
    next: (start) => {
      while (i < plan.length && (plan[i] as Window).start < start) i += 1;
      return Promise.resolve(plan[i]);
    },
    done: () => undefined,
  };
}

const MIN_ADAPTIVE = Duration.fromObject({ hours: 1 });
/** A window that returned few records lets the next grow by at most this factor. */
const MAX_GROWTH = 8;
const BASE = DateTime.utc(2000, 1, 1);
const approxMs = (d: Duration): number => BASE.plus(d).toMillis() - BASE.toMillis();

/** `d` times `factor`, keeping calendar units (P1D -> P2D) where the result stays whole. */
export function scaleDuration(d: Duration, factor: number): Duration {
  const scaled = d.mapUnits((x) => x * factor);
  if (Object.values(scaled.toObject()).every((x) => Number.isInteger(x))) return scaled;
  return Duration.fromMillis(Math.max(1000, Math.round(approxMs(d) * factor))).shiftTo('hours', 'minutes', 'seconds');
}

/**
 * Windows that start at `window_size` and then follow the data: a window with fewer than a
 * quarter of `window_target_records` widens the next one towards half the target at the density
 * it saw (2 to 8 times, up to `max_window_size`: fewer windows, fewer requests), a window
 * with more than the target halves it (down to an hour, or `window_size` when that is smaller).
 * A rest of the range shorter than half the window is taken into it (within `max_window_size`).
 * A child stream's end is then moved to where its session ids fill whole batches (see
 * EndAdjuster). Which records a window holds never depends on its size: only the number of
 * requests does.
 */
export function adaptiveWindows(to: DateTime, settings: Settings, adjustEnd?: EndAdjuster): WindowSource {
  const zone = settings.timezone;
  const maxMs = approxMs(settings.maxWindowSize);
  const minMs = Math.min(approxMs(settings.windowSize), approxMs(MIN_ADAPTIVE));
  let size = settings.windowSize;
  return {
    async next(start, horizon) {
      if (start >= to) return undefined;
      const until = horizon !== undefined && horizon > start && horizon < to ? horizon : to;
      let nominal = nextWindowEnd(start, size, zone, until);
      // A tail shorter than half a window joins this one instead of costing a window of its own
      // (a window costs at least a listing page and its session ids' batches): a nightly run that
      // re-reads lookback_window before its bookmark then reads one window, not a day and a stub.
      if (nominal < until && approxMs(until.diff(nominal)) * 2 <= approxMs(size) && until.toMillis() - start.toMillis() <= maxMs) nominal = until;
      const maxEnd = nextWindowEnd(start, settings.maxWindowSize, zone, until);
      const limit = maxEnd < nominal ? nominal : maxEnd;
      const end = adjustEnd === undefined ? nominal : await adjustEnd(start, nominal, limit);
      return { start, end };
    },
    done(_window, records) {
      const target = settings.windowTargetRecords;
      if (records * 4 < target && approxMs(size) < maxMs) {
        // Towards half the target at the density seen, at most MAX_GROWTH times at once: a
        // nearly empty window does not open a month-long one in a single step.
        const factor = Math.min(MAX_GROWTH, Math.max(2, Math.floor(target / (2 * Math.max(records, 1)))));
        const grown = scaleDuration(size, factor);
        size = approxMs(grown) > maxMs ? settings.maxWindowSize : grown;
      } else if (records > target && approxMs(size) > minMs) {
        const shrunk = scaleDuration(size, 0.5);
        size = approxMs(shrunk) < minMs ? Duration.fromMillis(minMs) : shrunk;
      }
    },
  };
}
