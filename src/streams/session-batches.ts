import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { Duration, type DateTime } from 'luxon';
import type { BatchSizer } from '../api/batch-size.js';
import { itemId, type ItemSink, type StreamedBody, type WemasyApi } from '../api/wemasy.js';
import type { SessionId } from '../config/settings-types.js';
import type { JsonValue } from '../json.js';
import type { StreamReader } from '../sync/stream.js';
import { toApiRange, type ApiRange } from '../time/api-time.js';
import { nextWindowEnd, type Window } from '../time/windows.js';
import { shippedSchema, type RunContext, type WemasyStream } from './stream.js';

/** One get-visits or get-conversions request: items go to `sink` while the body arrives. */
export type BatchFetch = (range: ApiRange, ids: readonly SessionId[], sink: ItemSink, signal: AbortSignal) => Promise<StreamedBody>;

export interface SessionChildOptions {
  readonly name: string;
  readonly description: string;
  /** The endpoint the stream reads, on the run's API client. */
  readonly fetch: (api: WemasyApi) => BatchFetch;
}

/**
 * Requests of one window that may be in flight at once. The rate limiter still spaces their
 * starts; running a few together keeps one slow response from idling the request budget. Records
 * of concurrent responses interleave, which is fine inside a window: its bookmark moves only once
 * all of them are written.
 */
export const REQUESTS_IN_FLIGHT = 3;

/** The longest first window of a stream that lists its own session ids (no sessions stream ahead). */
const FIRST_OWN_WINDOW = Duration.fromObject({ hours: 1 });

/**
 * A stream read by session id (visits, conversions): for each window, the sessions that may have
 * items in it (the index lists what the sessions stream has not), in batches of the size learned
 * so far, a few requests at a time. With the index, its windows never pass the sessions stream
 * (its parent) and end where their session ids fill whole batches.
 */
export function sessionChildStream(options: SessionChildOptions): WemasyStream {
  const { name } = options;
  return {
    name,
    keyProperties: ['id'],
    replicationKey: 'created_at',
    description: options.description,
    schema: () => shippedSchema(name),
    open(run) {
      const fetch = options.fetch(run.api);
      const reader: StreamReader = {
        read: (window, signal) => readBatches(name, window, run, fetch, signal),
        begin: () => void run.readingByIds.add(name),
      };
      const { index } = run;
      if (index === undefined) return reader;
      let listsOwnIds = false;
      let first = true;
      return {
        ...reader,
        parent: 'sessions',
        begin(from, parentSyncing) {
          run.readingByIds.add(name);
          listsOwnIds = !parentSyncing;
          index.follow(name, from);
        },
        // The first window keeps its nominal end: it comes before the batch size is known, and a
        // window stretched to fill the starting batch would make the first STATE wait for all of
        // it. When the stream lists its own session ids, that first window is an hour at most, so
        // its STATE comes after one listing and about one batch; the windows after it grow from
        // what it held.
        adjustEnd(start, nominal, limit) {
          if (!first) return index.batchEnd(start, nominal, limit, run.batchSizer.size);
          first = false;
          return Promise.resolve(listsOwnIds ? firstOwnWindowEnd(start, nominal, run) : nominal);
        },
        windowDone: (window) => index.advance(name, window.end),
        finish: (end) => index.advance(name, end),
      };
    },
  };
}

function firstOwnWindowEnd(start: DateTime, nominal: DateTime, run: RunContext): DateTime {
  const hour = nextWindowEnd(start, FIRST_OWN_WINDOW, run.settings.timezone, nominal);
  return hour < nominal ? hour : nominal;
}

/**
 * The window's items, batch after batch, from up to REQUESTS_IN_FLIGHT requests at once, through
 * a bounded object stream (a request's body waits while the records before it are written). The
 * first failure ends the iteration at once; the engine then aborts the window's signal, which
 * stops the sibling requests.
 */
async function* readBatches(name: string, window: Window, run: RunContext, fetch: BatchFetch, signal: AbortSignal): AsyncGenerator<readonly JsonValue[]> {
  const range = toApiRange(window, run.settings.timezone);
  const ids = await run.sessionIds.idsFor(window);
  const queue = new BatchQueue(ids, run.batchSizer);
  const channel = new PassThrough({ objectMode: true, highWaterMark: 1 });
  const push = async (items: readonly JsonValue[]): Promise<void> => {
    signal.throwIfAborted();
    if (channel.destroyed) throw new Error('window closed');
    if (!channel.write(items)) await once(channel, 'drain', { signal });
  };
  const worker = async (): Promise<void> => {
    for (let batch = queue.take(); batch !== undefined; batch = queue.take()) {
      await readBatch(batch, { name, range, run, fetch, push, queue, signal });
    }
  };
  const workers = Array.from({ length: REQUESTS_IN_FLIGHT }, () =>
    worker().catch((error: unknown) => {
      queue.stop();
      channel.destroy(error instanceof Error ? error : new Error(String(error)));
    }),
  );
  void Promise.all(workers).then(() => {
    if (!channel.destroyed) channel.end();
  });
  try {
    for await (const items of channel) yield items as readonly JsonValue[];
  } finally {
    queue.stop();
    channel.destroy();
  }
}

/**
 * The window's session ids, cut into batches as they go out, at the size learned so far; a batch
 * the API refuses for its size goes back to the front, to be cut again smaller. A refused request
 * carried no items, so nothing is emitted twice and no id is lost.
 */
class BatchQueue {
  private readonly returned: SessionId[][] = [];
  private next = 0;
  private stopped = false;

  constructor(
    private readonly ids: readonly SessionId[],
    private readonly sizer: BatchSizer,
  ) {}

  /** The next batch, or undefined when every id is taken or the window failed. */
  take(): readonly SessionId[] | undefined {
    if (this.stopped) return undefined;
    const size = this.sizer.size;
    const head = this.returned.shift();
    if (head !== undefined) {
      if (head.length <= size) return head;
      this.returned.unshift(head.slice(size));
      return head.slice(0, size);
    }
    if (this.next >= this.ids.length) return undefined;
    const batch = this.ids.slice(this.next, this.next + size);
    this.next += batch.length;
    return batch;
  }

  /** A batch refused for its size: taken again first, at the new size. */
  putBack(batch: readonly SessionId[]): void {
    this.returned.unshift([...batch]);
  }

  /** The window failed or ended: no further batch goes out. */
  stop(): void {
    this.stopped = true;
  }
}

interface BatchContext {
  readonly name: string;
  readonly range: ApiRange;
  readonly run: RunContext;
  readonly fetch: BatchFetch;
  readonly push: (items: readonly JsonValue[]) => Promise<void>;
  readonly queue: BatchQueue;
  /** The window's: aborted when the window fails, so this request stops at once. */
  readonly signal: AbortSignal;
}

/**
 * One request for one batch. Records are written while the body arrives: when an attempt fails
 * part-way (cut short, reset, stalled past request_timeout), its records so far are already on
 * stdout. A retried request sends its items again from the start: the ones already emitted are
 * dropped, so that within the run each record is written once. If the retries run out, the
 * window's bookmark has not moved and the next run writes them again (at-least-once within a
 * window; targets upsert by id). The first attempt only notes the ids (an array push); a retry
 * looks them up.
 */
async function readBatch(batch: readonly SessionId[], { name, range, run, fetch, push, queue, signal }: BatchContext): Promise<void> {
  const emittedIds: unknown[] = [];
  let seen: Set<unknown> | undefined;
  const sink: ItemSink = async (items, attempt) => {
    if (attempt > 1) seen ??= new Set(emittedIds);
    const fresh = seen === undefined ? items : items.filter((item) => !seen?.has(itemId(item)));
    for (const item of fresh) {
      const id = itemId(item);
      if (seen === undefined) emittedIds.push(id);
      else seen.add(id);
    }
    if (fresh.length > 0) await push(fresh);
  };
  const sizer = run.batchSizer;
  const startedMs = run.clock.nowMs();
  try {
    const body = await fetch(range, batch, sink, signal);
    sizer.accepted(batch.length, body.bytes, run.clock.nowMs() - startedMs);
  } catch (error) {
    if (!sizer.refused(batch.length, error)) throw error;
    run.log.info(`${name}: the API refused ${batch.length} session ids in one request; sending them ${sizer.size} at a time`);
    queue.putBack(batch);
  }
}
