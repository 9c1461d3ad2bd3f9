import type { DateTime } from 'luxon';
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
import { safeEdgeAtOrBefore, type Window } from '../time/windows.js';
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
}

/**
 * The run's end: `end_date`, or the moment the run began when it is not set or lies in the
 * future, in whole seconds (the API's granularity). No bookmark ever goes past it.
 */
export function runEnd(settings: Settings, startedAt: DateTime): DateTime {
  const now = startedAt.startOf('second');
  const end = settings.endDate === undefined || settings.endDate > now ? now : settings.endDate;
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

/**
 * Syncs the selected streams in order and returns the final state.
 *
 * Per stream: one SCHEMA (and a new one before the first record with a field it did not name),
 * then for each date window every record of the window, then a STATE whose bookmark is the
 * window's end. A bookmark is never written before the last record it
 * covers, never moves backwards, and never passes the run's end. Every STATE is the whole state
 * of all streams (Meltano stores only the last one the target echoes).
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
      ? new SessionIndex(deps.api, settings.timezone, settings.sessionLookback, end, log)
      : undefined;
  const sessionIds: SessionIdSource = index ?? configuredSessions(settings.sessionIds ?? []);

  // Every schema compiles before anything is written: a broken catalog schema fails the run
  // before the first SCHEMA message, not in the middle of it.
  const addFormats = await formatsFor(selections);
  const pipelines = new Map(selections.map((s) => [s, createRecordPipeline(s, { zone: settings.timezone, log, issues, addFormats })]));
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
    const windows = windowSource(selection, from, end, settings, index);
    log.info(`${def.name}: syncing ${formatInstant(from)} .. ${formatInstant(end)}`);
    const progress = createStreamProgress(log, def.name, from, end, deps);
    const counter = createRecordCounter(log, def.name);
    for (let window = await windows.next(from); window !== undefined; window = await windows.next(window.end)) {
      deps.signal?.throwIfAborted();
      const feedsIndex = index !== undefined && def.name === 'sessions';
      // The window's records, counted where they are written: requests of a window run
      // concurrently, so a count returned through their promises and summed after an await
      // (`count += await ...`) would lose the increments made meanwhile.
      let count = 0;
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
          count += 1;
          written += 1;
          if (wait !== undefined) await wait;
        }
        // Skipped items (a key that cannot be conformed) are not records: only what was written counts.
        counter.add(written);
      };
      await readWindow(selection, window, deps, sessionIds, emit);
      windows.done(window, count);
      if (index !== undefined && def.name === 'sessions') index.markCovered(window.start, window.end);
      const through = bookmark !== undefined && bookmark > window.end ? bookmark : window.end;
      state = withBookmark(state, def.name, def.replicationKey, through);
      await writer.write({ type: 'STATE', value: state });
      progress.windowDone(window, count);
    }
    counter.flush();
    pipeline.finish();
  }
  await writer.write({ type: 'STATE', value: state });
  await writer.flush();
  return state;
}

/**
 * Visits or conversions requests of one window that may be in flight at once. The rate limiter
 * still spaces their starts; running a few together keeps one slow response from idling the
 * request budget. Records of concurrent responses interleave, which is fine inside a window: its
 * bookmark moves only once all of them are written.
 */
const REQUESTS_IN_FLIGHT = 3;

/** Runs `work` on every item, at most `limit` at a time; fails with the first error once all have settled. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

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
  const size = deps.settings.sessionBatchSize;
  const batches: (readonly SessionId[])[] = [];
  for (let i = 0; i < ids.length; i += size) batches.push(ids.slice(i, i + size));
  await forEachConcurrently(batches, REQUESTS_IN_FLIGHT, async (batch) => {
    // A retried request sends its items again from the start: drop the ones already emitted,
    // so that a response cut short and retried still yields each record once. The first attempt
    // only notes the ids (an array push); a retry looks them up.
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
    if (selection.def.name === 'visits') await deps.api.streamVisits(range, batch, sink);
    else await deps.api.streamConversions(range, batch, sink);
  });
}

/** Fixed or adaptive windows; a child stream's adaptive windows end on full session batches. */
function windowSource(selection: StreamSelection, from: DateTime, end: DateTime, settings: Settings, index: SessionIndex | undefined): WindowSource {
  if (!settings.adaptiveWindows) return fixedWindows(from, end, settings);
  const child = selection.def.name !== 'sessions' && index !== undefined;
  return adaptiveWindows(
    end,
    settings,
    child ? (start, nominal, limit) => index.batchEnd(start, nominal, limit, settings.sessionBatchSize) : undefined,
  );
}

