import type { DateTime } from 'luxon';
import type { WemasyApi } from '../api/wemasy.js';
import type { Settings } from '../config/settings-types.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { emittedSchema, type StreamSelection } from '../singer/catalog.js';
import type { TapState } from '../singer/messages.js';
import { readBookmark, withBookmark } from '../singer/state.js';
import type { MessageWriter } from '../singer/writer.js';
import { SessionIndex, configuredSessions, sessionIdOf, type SessionIdSource } from '../streams/session-ids.js';
import { toApiRange } from '../time/api-time.js';
import { formatInstant } from '../time/iso.js';
import { planWindows, type Window } from '../time/windows.js';
import { createRecordPipeline, type RecordPipeline } from './records.js';

export interface SyncDeps {
  readonly settings: Settings;
  readonly api: WemasyApi;
  readonly writer: MessageWriter;
  readonly log: Logger;
  /** The moment the run began (UTC). */
  readonly startedAt: DateTime;
  /** Requests sent so far, for progress lines. */
  readonly requestCount: () => number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The run's end: `end_date`, or the moment the run began when it is not set or lies in the
 * future, in whole seconds (the API's granularity). No bookmark ever goes past it.
 */
export function runEnd(settings: Settings, startedAt: DateTime): DateTime {
  const now = startedAt.startOf('second');
  const end = settings.endDate === undefined || settings.endDate > now ? now : settings.endDate;
  return end.toUTC();
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
 * Per stream: one SCHEMA, then for each date window every record of the window, then a STATE
 * whose bookmark is the window's end. A bookmark is never written before the last record it
 * covers, never moves backwards, and never passes the run's end. Every STATE is the whole state
 * of all streams (Meltano stores only the last one the target echoes).
 */
export async function runSync(selections: readonly StreamSelection[], initial: TapState, deps: SyncDeps): Promise<TapState> {
  const { settings, writer, log } = deps;
  const end = runEnd(settings, deps.startedAt);
  let state = initial;
  const index =
    settings.sessionIds === undefined
      ? new SessionIndex(deps.api, settings.timezone, settings.sessionLookback, end, log)
      : undefined;
  const sessionIds: SessionIdSource = index ?? configuredSessions(settings.sessionIds ?? []);

  for (const selection of selections) {
    const { def } = selection;
    await writer.write({
      type: 'SCHEMA',
      stream: def.name,
      schema: emittedSchema(selection),
      key_properties: def.keyProperties,
      bookmark_properties: [def.replicationKey],
    });
    const from = streamStart(settings, state, selection);
    const bookmark = readBookmark(state, def.name);
    if (from >= end) {
      log.info(`${def.name}: nothing to sync, complete through ${formatInstant(bookmark ?? from)}`);
      continue;
    }
    const windows = planWindows(from, end, settings.windowSize, settings.timezone);
    const pipeline = createRecordPipeline(selection, settings.timezone, log);
    log.info(`${def.name}: syncing ${formatInstant(from)} .. ${formatInstant(end)} in ${windows.length} windows`);
    const streamStarted = Date.now();
    let total = 0;
    for (const [i, window] of windows.entries()) {
      deps.signal?.throwIfAborted();
      const emit = async (items: readonly JsonValue[]): Promise<number> => {
        const extractedAt = new Date().toISOString();
        for (const item of items) {
          const record = pipeline.toRecord(item);
          if (index !== undefined && def.name === 'sessions') index.add(sessionIdOf(record) ?? '', createdMs(record));
          await writer.write({ type: 'RECORD', stream: def.name, record, time_extracted: extractedAt });
        }
        return items.length;
      };
      const count = await readWindow(selection, window, deps, sessionIds, emit);
      if (index !== undefined && def.name === 'sessions') index.markCovered(window.start, window.end);
      total += count;
      const through = bookmark !== undefined && bookmark > window.end ? bookmark : window.end;
      state = withBookmark(state, def.name, def.replicationKey, through);
      await writer.write({ type: 'STATE', value: state });
      logProgress(log, def.name, window, count, i + 1, windows.length, deps.requestCount(), streamStarted);
    }
    log.metric({ type: 'counter', metric: 'record_count', value: total, tags: { stream: def.name } });
  }
  await writer.write({ type: 'STATE', value: state });
  await writer.flush();
  return state;
}

function createdMs(record: JsonObject): number | undefined {
  return typeof record.created_at === 'string' ? Date.parse(record.created_at) : undefined;
}

async function readWindow(
  selection: StreamSelection,
  window: Window,
  deps: SyncDeps,
  sessionIds: SessionIdSource,
  emit: (items: readonly JsonValue[]) => Promise<number>,
): Promise<number> {
  const range = toApiRange(window, deps.settings.timezone);
  let count = 0;
  if (selection.def.name === 'sessions') {
    for await (const items of deps.api.listSessions(range)) count += await emit(items);
    return count;
  }
  const ids = await sessionIds.idsFor(window);
  const size = deps.settings.sessionBatchSize;
  for (let i = 0; i < ids.length; i += size) {
    const batch = ids.slice(i, i + size);
    const items =
      selection.def.name === 'visits' ? await deps.api.getVisits(range, batch) : await deps.api.getConversions(range, batch);
    count += await emit(items);
  }
  return count;
}

function logProgress(
  log: Logger,
  stream: string,
  window: Window,
  records: number,
  done: number,
  total: number,
  requests: number,
  startedMs: number,
): void {
  const elapsed = Date.now() - startedMs;
  const leftSeconds = done === 0 ? undefined : Math.round(((elapsed / done) * (total - done)) / 1000);
  log.info(`${stream}: window ${done}/${total} ${formatInstant(window.start)} .. ${formatInstant(window.end)} done`, {
    records,
    requests,
    eta_s: leftSeconds,
  });
}

