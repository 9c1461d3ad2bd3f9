import type { DateTime } from 'luxon';
import type { Logger } from '../log.js';
import { formatInstant } from '../time/iso.js';

/**
 * What a sync tells the person watching it, on stderr: Singer `record_count` metric lines and one
 * human progress line per completed window.
 */

/** A `record_count` line is written after this many records of a stream... */
export const RECORD_COUNT_EVERY = 10_000;
/** ...or when this long has passed since the stream's last one, whichever comes first. */
export const RECORD_COUNT_INTERVAL_MS = 60_000;

export interface RecordCounter {
  /** Counts `n` records; writes a metric line when the count or the interval is reached. */
  add(n?: number): void;
  /** Writes the records counted since the last line (at the end of the stream; 0 is written too). */
  flush(): void;
}

/**
 * The Singer `record_count` counter of one stream (`INFO METRIC: {"type": "counter", "metric":
 * "record_count", "value": n, "tags": {"stream": ...}}`). As in singer-python and the Meltano SDK,
 * each line carries the records counted since the previous line of that stream, so the values of
 * a stream add up to its records in the run.
 */
export function createRecordCounter(log: Logger, stream: string, now: () => number): RecordCounter {
  let pending = 0;
  let lastMs = now();
  const write = (): void => {
    log.metric({ type: 'counter', metric: 'record_count', value: pending, tags: { stream } });
    pending = 0;
    lastMs = now();
  };
  return {
    add(n = 1) {
      pending += n;
      if (pending >= RECORD_COUNT_EVERY || now() - lastMs >= RECORD_COUNT_INTERVAL_MS) write();
    },
    flush: write,
  };
}

export interface ProgressSources {
  /** Requests sent so far in the run (all streams, retries included). */
  readonly requestCount: () => number;
  /** The API's last `X-RateLimit-Remaining`, when one was seen. */
  readonly rateLimitRemaining?: (() => number | undefined) | undefined;
}

export interface StreamProgress {
  /** Logs one INFO line for a window whose records are all written. */
  windowDone(window: { readonly start: DateTime; readonly end: DateTime }, records: number): void;
}

/**
 * Progress of one stream over `[from, to)`. The estimate of the time left assumes the rest of the
 * range goes at the pace so far (by share of the range's time covered, so it holds whatever the
 * windows' sizes).
 */
export function createStreamProgress(
  log: Logger,
  stream: string,
  from: DateTime,
  to: DateTime,
  sources: ProgressSources,
  now: () => number,
): StreamProgress {
  const startedMs = now();
  const fromMs = from.toMillis();
  const spanMs = Math.max(1, to.toMillis() - fromMs);
  let total = 0;
  let windows = 0;
  return {
    windowDone(window, records) {
      total += records;
      windows += 1;
      const share = Math.min(1, Math.max(0, (window.end.toMillis() - fromMs) / spanMs));
      const elapsedMs = now() - startedMs;
      const leftSeconds = share <= 0 ? undefined : Math.round((elapsedMs * (1 - share)) / share / 1000);
      log.info(`${stream}: window ${formatInstant(window.start)} .. ${formatInstant(window.end)} done`, {
        records,
        stream_records: total,
        windows,
        requests: sources.requestCount(),
        rate_limit_remaining: sources.rateLimitRemaining?.(),
        done_pct: Math.floor(share * 100),
        eta_s: leftSeconds,
      });
    },
  };
}
