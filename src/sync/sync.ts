import { Duration, type DateTime } from 'luxon';
import type { BatchSizer } from '../api/batch-size.js';
import { itemId, type WemasyApi } from '../api/wemasy.js';
import type { SessionId, Settings } from '../config/settings-types.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import type { StreamSelection } from '../singer/catalog.js';
import type { TapState } from '../singer/messages.js';
import { readBookmark, withBookmark } from '../singer/state.js';
import type { MessageWriter } from '../singer/writer.js';
import { SessionIndex, configuredSessions, sessionIdOf, type SessionIdSource } from '../streams/session-ids.js';
import { toApiRange } from '../time/api-time.js';
import { formatInstant } from '../time/iso.js';
import { nextWindowEnd, safeEdgeAtOrBefore, type Window } from '../time/windows.js';
import { createRecordCounter, createStreamProgress } from './progress.js';
import { createConformanceIssues, createRecordPipeline, formatsFor, type ConformanceIssues, type RecordPipeline } from './records.js';
import { adaptiveWindows, fixedWindows, type WindowSource } from './window-source.js';

export interface SyncDeps {
  readonly settings: Settings;
  readonly api: WemasyApi;
  readonly writer: MessageWriter;
  readonly log: Logger;
  /** The moment the run began (UTC). */
  readonly startedAt: DateTime;
  /** Requests sent so far, for progress lines. */
  readonly requestCount: () => number;
  /** The rate limiter's last `X-RateLimit-Remaining`, for progress lines. */
  readonly rateLimitRemaining?: (() => number | undefined) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Session ids per get-visits or get-conversions request, learned as the run goes. */
  readonly batchSizer: BatchSizer;
}

/**
 * The run's end: `end_lag` before the moment the run began (the API shows records some minutes
 * after their created_at), or `end_date` when that is earlier; in whole seconds (the API's
 * granularity). No bookmark ever goes past it.
 */
export function runEnd(settings: Settings, startedAt: DateTime): DateTime {
  const latest = startedAt.startOf('second').minus(settings.endLag).startOf('second');
  const end = settings.endDate === undefined || settings.endDate > latest ? latest : settings.endDate;
  // A zone-less string cannot end a range inside the repeated autumn hour.
  return safeEdgeAtOrBefore(end, settings.timezone);
}

/** Where a stream starts: its bookmark minus `lookback_window`, never before `start_date`. */
export function streamStart(settings: Settings, state: TapState, selection: StreamSelection): DateTime {
  const bookmark = readBookmark(state, selection.def.name);
  if (bookmark === undefined) return settings.startDate;
  const from = bookmark.minus(settings.lookbackWindow);
  return from < settings.startDate ? settings.startDate : from;
}

/** One selected stream's progress through its windows. */
interface StreamRun {
  readonly selection: StreamSelection;
  readonly pipeline: RecordPipeline;
  readonly windows: WindowSource;
  readonly bookmark: DateTime | undefined;
  readonly emit: (items: readonly JsonValue[]) => Promise<void>;
  readonly progress: ReturnType<typeof createStreamProgress>;
  readonly counter: ReturnType<typeof createRecordCounter>;
  /** Where the stream's next window starts; `end` once it is done. */
  cursor: DateTime;
  /** Records written in the current window. */
  written: number;
}

/**
 * Syncs the selected streams and returns the final state.
 *
 * One SCHEMA per stream first (and another before the first record with a field its schema did
 * not name); then the streams advance window by window in step, the one whose
 * next window starts earliest first (the sessions stream on a tie): the sessions stream's window,
 * then the visits and conversions windows that its sessions cover, and so on. Each window writes
 * every record it holds, then a STATE whose bookmark for that stream is the window's end. So the
 * first STATE comes after the first window whatever the range, a failed run loses at most the
 * window in flight, and the session ids visits and conversions need are held only for the
 * windows under way (older ones are released). A bookmark is never written before the last
 * record it covers, never moves backwards, and never passes the run's end. Every STATE is the
 * whole state of all streams (Meltano stores only the last one the target echoes).
 */
export async function runSync(selections: readonly StreamSelection[], initial: TapState, deps: SyncDeps): Promise<TapState> {
  const issues = createConformanceIssues(deps.log, deps.settings.strictTypes);
  try {
    return await syncStreams(selections, initial, deps, issues);
  } finally {
    // Also after a failure: what was already conformed with loss is worth knowing.
    issues.report();
  }
}

async function syncStreams(selections: readonly StreamSelection[], initial: TapState, deps: SyncDeps, issues: ConformanceIssues): Promise<TapState> {
  const { settings, writer, log } = deps;
  const end = runEnd(settings, deps.startedAt);
  let state = initial;
  const index =
    settings.sessionIds === undefined
      ? new SessionIndex(deps.api, settings.timezone, settings.sessionLookback, end, log, {
          pageSize: settings.sessionsPageSize,
          maxChunkMs: settings.maxWindowSize.toMillis() || 31 * 86_400_000,
        })
      : undefined;
  const sessionIds: SessionIdSource = index ?? configuredSessions(settings.sessionIds ?? []);

  // Every schema compiles before anything is written: a broken catalog schema fails the run
  // before the first SCHEMA message, not in the middle of it.
  const addFormats = await formatsFor(selections);
  const pipelines = new Map(selections.map((s) => [s, createRecordPipeline(s, { zone: settings.timezone, log, issues, addFormats })]));
  const runs: StreamRun[] = [];
  const sessionsSelected = selections.some((s) => s.def.name === 'sessions' && streamStart(settings, state, s) < end);
  for (const selection of selections) {
    const { def } = selection;
    const pipeline = pipelines.get(selection) as RecordPipeline;
    await writer.write(pipeline.schemaMessage());
    const from = streamStart(settings, state, selection);
    const bookmark = readBookmark(state, def.name);
    if (from >= end) {
      log.info(`${def.name}: nothing to sync, complete through ${formatInstant(bookmark ?? from)}`);
      continue;
    }
    const counter = createRecordCounter(log, def.name);
    const feedsIndex = index !== undefined && def.name === 'sessions';
    // The window's records are counted where they are written (run.written): requests of a
    // window run concurrently, so a count returned through their promises and summed after an
    // await (`count += await ...`) would lose the increments made meanwhile.
    const emit = async (items: readonly JsonValue[]): Promise<void> => {
      const extractedAt = new Date().toISOString();
      let written = 0;
      for (const item of items) {
        const record = pipeline.toRecord(item);
        if (record === undefined) continue;
        // A field seen for the first time: its SCHEMA goes before the first record carrying it.
        const schema = pipeline.takeSchemaChange();
        if (schema !== undefined) await writer.write(schema);
        if (feedsIndex) {
          const sessionId = sessionIdOf(record);
          if (sessionId !== undefined) index.add(sessionId, createdMs(record));
        }
        const wait = writer.writeRecord(def.name, record, extractedAt);
        run.written += 1;
        written += 1;
        if (wait !== undefined) await wait;
      }
      // Skipped items (a key that cannot be conformed) are not records: only what was written counts.
      counter.add(written);
    };
    log.info(`${def.name}: syncing ${formatInstant(from)} .. ${formatInstant(end)}`);
    const run: StreamRun = {
      selection,
      pipeline,
      windows: windowSource(selection, from, end, settings, index, deps.batchSizer, !sessionsSelected),
      bookmark,
      emit,
      progress: createStreamProgress(log, def.name, from, end, deps),
      counter,
      cursor: from,
      written: 0,
    };
    runs.push(run);
  }

  const sessionsRun = index === undefined ? undefined : runs.find((r) => r.selection.def.name === 'sessions');
  const children = runs.filter((r) => r.selection.def.name !== 'sessions');
  for (;;) {
    const run = earliest(runs, end);
    if (run === undefined) break;
    deps.signal?.throwIfAborted();
    const { def } = run.selection;
    // A child window does not run ahead of the sessions stream, whose records give its ids.
    const horizon = run !== sessionsRun && sessionsRun !== undefined && sessionsRun.cursor < end ? sessionsRun.cursor : undefined;
    const window = await run.windows.next(run.cursor, horizon);
    if (window === undefined) {
      run.cursor = end;
      finishStream(run);
      continue;
    }
    run.written = 0;
    await readWindow(run.selection, window, deps, sessionIds, run.emit);
    const count = run.written;
    run.windows.done(window, count);
    if (run === sessionsRun) index?.markCovered(window.start, window.end);
    const through = run.bookmark !== undefined && run.bookmark > window.end ? run.bookmark : window.end;
    state = withBookmark(state, def.name, def.replicationKey, through);
    await writer.write({ type: 'STATE', value: state });
    run.progress.windowDone(window, count);
    run.cursor = window.end;
    if (run.cursor >= end) finishStream(run);
    if (index !== undefined && run !== sessionsRun) {
      // Sessions created before every child's next window start minus the lookback are done with.
      const open = children.filter((r) => r.cursor < end).map((r) => r.cursor);
      const oldest = open.length === 0 ? end : open.reduce((a, b) => (a < b ? a : b));
      index.release(oldest.minus(settings.sessionLookback));
    }
  }
  if (children.length > 0) log.info(deps.batchSizer.summary());
  if (index !== undefined && children.length > 0) log.info(index.summary());
  await writer.write({ type: 'STATE', value: state });
  await writer.flush();
  return state;
}

/** A stream's last lines: its record_count, and the new fields it left out. */
function finishStream(run: StreamRun): void {
  run.counter.flush();
  run.pipeline.finish();
}

/** The unfinished stream whose next window starts first; the sessions stream wins a tie. */
function earliest(runs: readonly StreamRun[], end: DateTime): StreamRun | undefined {
  let best: StreamRun | undefined;
  for (const run of runs) {
    if (run.cursor >= end) continue;
    if (best === undefined || run.cursor < best.cursor) best = run;
    else if (+run.cursor === +best.cursor && run.selection.def.name === 'sessions') best = run;
  }
  return best;
}

/**
 * Visits or conversions requests of one window that may be in flight at once. The rate limiter
 * still spaces their starts; running a few together keeps one slow response from idling the
 * request budget. Records of concurrent responses interleave, which is fine inside a window: its
 * bookmark moves only once all of them are written.
 */
const REQUESTS_IN_FLIGHT = 3;

/** The longest first window of a visits or conversions stream that lists its own session ids. */
const FIRST_OWN_WINDOW = Duration.fromObject({ hours: 1 });

function createdMs(record: JsonObject): number | undefined {
  return typeof record.created_at === 'string' ? Date.parse(record.created_at) : undefined;
}

async function readWindow(
  selection: StreamSelection,
  window: Window,
  deps: SyncDeps,
  sessionIds: SessionIdSource,
  emit: (items: readonly JsonValue[]) => Promise<void>,
): Promise<void> {
  const range = toApiRange(window, deps.settings.timezone);
  if (selection.def.name === 'sessions') {
    for await (const items of deps.api.listSessions(range)) await emit(items);
    return;
  }
  const ids = await sessionIds.idsFor(window);
  const sizer = deps.batchSizer;
  // Batches are cut from the queue as they go out, at the size learned so far; a batch the API
  // refuses for its size goes back to the front of the queue, to be cut again smaller. A refused
  // request carried no items, so nothing is emitted twice and no id is lost.
  const queue: SessionId[][] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const take = (): readonly SessionId[] | undefined => {
    if (failure !== undefined) return undefined;
    const head = queue.shift();
    if (head !== undefined) {
      if (head.length <= sizer.size) return head;
      queue.unshift(head.slice(sizer.size));
      return head.slice(0, sizer.size);
    }
    if (next >= ids.length) return undefined;
    const batch = ids.slice(next, next + sizer.size);
    next += batch.length;
    return batch;
  };
  const worker = async (): Promise<void> => {
    for (let batch = take(); batch !== undefined; batch = take()) {
      // Records are written while the body arrives: when an attempt fails part-way (cut short,
      // reset, stalled past request_timeout), its records so far are already on stdout. A
      // retried request sends its items again from the start: drop the ones already emitted, so
      // that within the run each record is written once. If the retries run out, the window's
      // bookmark has not moved and the next run writes them again (at-least-once within a
      // window; targets upsert by id). The first attempt only notes the ids (an array push); a
      // retry looks them up.
      const emittedIds: unknown[] = [];
      let seen: Set<unknown> | undefined;
      const sink = async (items: readonly JsonValue[], attempt: number): Promise<void> => {
        if (attempt > 1) seen ??= new Set(emittedIds);
        const fresh = seen === undefined ? items : items.filter((item) => !seen?.has(itemId(item)));
        for (const item of fresh) {
          const id = itemId(item);
          if (seen === undefined) emittedIds.push(id);
          else seen.add(id);
        }
        await emit(fresh);
      };
      const startedMs = performance.now();
      try {
        const body =
          selection.def.name === 'visits'
            ? await deps.api.streamVisits(range, batch, sink)
            : await deps.api.streamConversions(range, batch, sink);
        sizer.accepted(batch.length, body.bytes, performance.now() - startedMs);
      } catch (error) {
        if (!sizer.refused(batch.length, error)) throw error;
        deps.log.info(`${selection.def.name}: the API refused ${batch.length} session ids in one request; sending them ${sizer.size} at a time`);
        queue.unshift([...batch]);
      }
    }
  };
  // Up to REQUESTS_IN_FLIGHT workers; the first error stops the others from taking new batches.
  const guarded = async (): Promise<void> => {
    try {
      await worker();
    } catch (error) {
      failure ??= { error };
    }
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, guarded));
  if (failure !== undefined) throw failure.error;
}

/** Fixed or adaptive windows; a child stream's adaptive windows end on full session batches. */
function windowSource(
  selection: StreamSelection,
  from: DateTime,
  end: DateTime,
  settings: Settings,
  index: SessionIndex | undefined,
  sizer: BatchSizer,
  listsOwnIds: boolean,
): WindowSource {
  if (!settings.adaptiveWindows) return fixedWindows(from, end, settings);
  const child = selection.def.name !== 'sessions' && index !== undefined;
  // The first window keeps its nominal end: it comes before the batch size is known, and a window
  // stretched to fill the starting batch would make the first STATE wait for all of it. When the
  // stream lists its own session ids (no sessions stream ahead of it), that first window is an
  // hour at most, so its STATE comes after one listing and about one batch; the windows after it
  // grow from what it held.
  let first = true;
  return adaptiveWindows(
    end,
    settings,
    child
      ? async (start, nominal, limit) => {
          if (first) {
            first = false;
            if (listsOwnIds) {
              const hour = nextWindowEnd(start, FIRST_OWN_WINDOW, settings.timezone, nominal);
              return hour < nominal ? hour : nominal;
            }
            return nominal;
          }
          return index.batchEnd(start, nominal, limit, sizer.size);
        }
      : undefined,
  );
}

