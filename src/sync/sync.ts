import type { DateTime } from 'luxon';
import type { Clock } from '../clock.js';
import { isJsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import type { TapState } from '../singer/messages.js';
import { readBookmark, withBookmark } from '../singer/state.js';
import type { MessageWriter } from '../singer/writer.js';
import { formatInstant } from '../time/iso.js';
import { safeEdgeAtOrBefore, type Window } from '../time/windows.js';
import { createRecordCounter, createStreamProgress } from './progress.js';
import { createConformanceIssues, type ConformanceIssues } from './conformance-issues.js';
import { createRecordPipeline, formatsFor, type RecordPipeline } from './records.js';
import type { EngineSettings, StreamReader, SyncStream } from './stream.js';
import { adaptiveWindows, fixedWindows, type WindowSource } from './window-source.js';

export interface SyncDeps {
  readonly settings: EngineSettings;
  readonly writer: MessageWriter;
  readonly log: Logger;
  /** Wall time for `time_extracted` and progress lines. */
  readonly clock: Clock;
  /** The moment the run began (UTC). */
  readonly startedAt: DateTime;
  /** Requests sent so far, for progress lines. */
  readonly requestCount: () => number;
  /** The rate limiter's last `X-RateLimit-Remaining`, for progress lines. */
  readonly rateLimitRemaining?: (() => number | undefined) | undefined;
  /** The run's: aborted on SIGTERM/SIGINT. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The run's end: `end_lag` before the moment the run began (an API shows records some minutes
 * after their created_at), or `end_date` when that is earlier; in whole seconds. No bookmark ever
 * goes past it.
 */
export function runEnd(settings: EngineSettings, startedAt: DateTime): DateTime {
  const latest = startedAt.startOf('second').minus(settings.endLag).startOf('second');
  const end = settings.endDate === undefined || settings.endDate > latest ? latest : settings.endDate;
  // A zone-less string cannot end a range inside the repeated autumn hour.
  return safeEdgeAtOrBefore(end, settings.timezone);
}

/** Where a stream starts: its bookmark minus `lookback_window`, never before `start_date`. */
export function streamStart(settings: EngineSettings, state: TapState, stream: string): DateTime {
  const bookmark = readBookmark(state, stream);
  if (bookmark === undefined) return settings.startDate;
  const from = bookmark.minus(settings.lookbackWindow);
  return from < settings.startDate ? settings.startDate : from;
}

/** One selected stream's progress through its windows. */
interface StreamRun {
  readonly name: string;
  readonly replicationKey: string;
  /** The first key property, when the reader wants each record's served key (onRecord). */
  readonly keyField: string | undefined;
  readonly reader: StreamReader;
  readonly pipeline: RecordPipeline;
  readonly windows: WindowSource;
  readonly bookmark: DateTime | undefined;
  readonly progress: ReturnType<typeof createStreamProgress>;
  readonly counter: ReturnType<typeof createRecordCounter>;
  /** Where the stream's next window starts; `end` once it is done. */
  cursor: DateTime;
}

/** Records written in one window, counted where they are written. */
interface Tally {
  written: number;
}

/**
 * Syncs the selected streams and returns the final state.
 *
 * One SCHEMA per stream first (and another before the first record with a field its schema did
 * not name); then the streams advance window by window in step, the one whose next window starts
 * earliest first (a parent before its children, else the catalog's order, on a tie). Each window
 * writes every record it holds, then a STATE whose bookmark for that stream is the window's end.
 * So the first STATE comes after the first window whatever the range, a failed run loses at most
 * the window in flight, and a child stream never runs ahead of its parent. A bookmark is never
 * written before the last record it covers, never moves backwards, and never passes the run's
 * end. Every STATE is the whole state of all streams (Meltano stores only the last one the target
 * echoes).
 */
export async function runSync(streams: readonly SyncStream[], initial: TapState, deps: SyncDeps): Promise<TapState> {
  const issues = createConformanceIssues(deps.log, deps.settings.strictTypes);
  try {
    return await syncStreams(streams, initial, deps, issues);
  } finally {
    // Also after a failure: what was already conformed with loss is worth knowing.
    issues.report();
  }
}

async function syncStreams(streams: readonly SyncStream[], initial: TapState, deps: SyncDeps, issues: ConformanceIssues): Promise<TapState> {
  const { writer } = deps;
  const end = runEnd(deps.settings, deps.startedAt);
  const runs = await startRuns(streams, initial, end, deps, issues);
  let state = initial;
  for (let run = earliest(runs, end); run !== undefined; run = earliest(runs, end)) {
    deps.signal?.throwIfAborted();
    const parent = run.reader.parent === undefined ? undefined : runs.find((r) => r.name === run?.reader.parent);
    const horizon = parent !== undefined && parent.cursor < end ? parent.cursor : undefined;
    const window = await run.windows.next(run.cursor, horizon);
    if (window === undefined) {
      finishStream(run, end);
      continue;
    }
    const count = await readWindow(run, window, deps);
    run.windows.done(window, count);
    run.reader.windowDone?.(window);
    const through = run.bookmark !== undefined && run.bookmark > window.end ? run.bookmark : window.end;
    state = withBookmark(state, run.name, run.replicationKey, through);
    await writer.write({ type: 'STATE', value: state });
    run.progress.windowDone(window, count);
    run.cursor = window.end;
    if (run.cursor >= end) finishStream(run, end);
  }
  await writer.write({ type: 'STATE', value: state });
  await writer.flush();
  return state;
}

/** Writes every selected stream's SCHEMA and sets up the streams that have a range to sync. */
async function startRuns(
  streams: readonly SyncStream[],
  state: TapState,
  end: DateTime,
  deps: SyncDeps,
  issues: ConformanceIssues,
): Promise<StreamRun[]> {
  const { settings, log } = deps;
  // Every schema compiles before anything is written: a broken catalog schema fails the run
  // before the first SCHEMA message, not in the middle of it.
  const addFormats = await formatsFor(streams.map((s) => s.selection));
  const pipelines = streams.map((s) => createRecordPipeline(s.selection, { zone: settings.timezone, log, issues, addFormats }));
  const syncing = new Set(streams.filter((s) => streamStart(settings, state, s.selection.def.name) < end).map((s) => s.selection.def.name));
  const runs: StreamRun[] = [];
  for (const [i, { selection, reader }] of streams.entries()) {
    const { name, replicationKey } = selection.def;
    const pipeline = pipelines[i] as RecordPipeline;
    await deps.writer.write(pipeline.schemaMessage());
    const from = streamStart(settings, state, name);
    const bookmark = readBookmark(state, name);
    if (!syncing.has(name)) {
      log.info(`${name}: nothing to sync, complete through ${formatInstant(bookmark ?? from)}`);
      continue;
    }
    reader.begin?.(from, reader.parent !== undefined && syncing.has(reader.parent));
    log.info(`${name}: syncing ${formatInstant(from)} .. ${formatInstant(end)}`);
    const now = (): number => deps.clock.nowMs();
    runs.push({
      name,
      replicationKey,
      keyField: reader.onRecord === undefined ? undefined : selection.def.keyProperties[0],
      reader,
      pipeline,
      windows: settings.adaptiveWindows ? adaptiveWindows(end, settings, reader.adjustEnd?.bind(reader)) : fixedWindows(from, end, settings),
      bookmark,
      progress: createStreamProgress(log, name, from, end, deps, now),
      counter: createRecordCounter(log, name, now),
      cursor: from,
    });
  }
  return runs;
}

/** A stream's last lines: its record_count, and the new fields it left out. */
function finishStream(run: StreamRun, end: DateTime): void {
  run.cursor = end;
  run.counter.flush();
  run.pipeline.finish();
  run.reader.finish?.(end);
}

/** The unfinished stream whose next window starts first; a parent, then the catalog's order, wins a tie. */
function earliest(runs: readonly StreamRun[], end: DateTime): StreamRun | undefined {
  let best: StreamRun | undefined;
  for (const run of runs) {
    if (run.cursor >= end) continue;
    if (best === undefined || run.cursor < best.cursor) best = run;
    else if (+run.cursor === +best.cursor && best.reader.parent === run.name) best = run;
  }
  return best;
}

/**
 * Reads one window and writes its records. The window has its own AbortController, linked to
 * the run's signal: when the window fails, the requests still in flight for it (sibling batches)
 * are aborted at once instead of running their retries out.
 */
async function readWindow(run: StreamRun, window: Window, deps: SyncDeps): Promise<number> {
  const tally: Tally = { written: 0 };
  const controller = new AbortController();
  const onRunAbort = (): void => controller.abort(deps.signal?.reason);
  if (deps.signal?.aborted) onRunAbort();
  else deps.signal?.addEventListener('abort', onRunAbort, { once: true });
  try {
    for await (const items of run.reader.read(window, controller.signal)) await writeItems(run, items, deps, tally);
    return tally.written;
  } catch (error) {
    controller.abort(error);
    throw error;
  } finally {
    deps.signal?.removeEventListener('abort', onRunAbort);
  }
}

/**
 * Conforms and writes one batch of a window's items. Records are counted where they are written
 * (the tally): a stream may read its window with requests in flight at once, so a count returned
 * through their promises and summed after an await would lose increments.
 */
async function writeItems(run: StreamRun, items: readonly JsonValue[], deps: SyncDeps, tally: Tally): Promise<void> {
  const { pipeline, reader } = run;
  const extractedAt = new Date(deps.clock.nowMs()).toISOString();
  const { keyField } = run;
  let written = 0;
  for (const item of items) {
    // The key as the API served it, taken before the record is conformed (in place).
    const servedKey = keyField === undefined ? undefined : servedValue(item, keyField);
    const record = pipeline.toRecord(item);
    if (record === undefined) continue;
    // A field seen for the first time: its SCHEMA goes before the first record carrying it.
    const schema = pipeline.takeSchemaChange();
    if (schema !== undefined) await deps.writer.write(schema);
    reader.onRecord?.(record, servedKey);
    const wait = deps.writer.writeRecord(run.name, record, extractedAt);
    tally.written += 1;
    written += 1;
    if (wait !== undefined) await wait;
  }
  // Skipped items (a key that cannot be conformed) are not records: only what was written counts.
  run.counter.add(written);
}

function servedValue(item: JsonValue, field: string): JsonValue | undefined {
  return isJsonObject(item) ? item[field] : item;
}
