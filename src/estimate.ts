/**
 * `--estimate`: what a sync with this config, catalog and state would cost, before running it.
 *
 * Two cheap requests: list-sessions over the whole range with `per_page` 1 (its paginator's
 * `total` is the number of sessions), and list-sessions over one second with the configured
 * `per_page` (the paginator's `per_page` says what page size the server really serves). The rest
 * is arithmetic: the sync's own windows, pages and batches replayed on sessions spread evenly over
 * the range. Nothing is written but the estimate; no record, no state.
 */
import type { DateTime } from 'luxon';
import type { WemasyApi } from './api/wemasy.js';
import type { Settings } from './config/settings-types.js';
import { TapError } from './errors.js';
import type { StreamSelection } from './singer/catalog.js';
import type { TapState } from './singer/messages.js';
import { streamStart } from './sync/sync.js';
import { toApiRange } from './time/api-time.js';
import { formatInstant } from './time/iso.js';
import { planWindows } from './time/windows.js';

const DAY_MS = 86_400_000;

export interface StreamEstimate {
  readonly stream: string;
  readonly from: string;
  /** Sessions whose records (sessions) or ids (visits, conversions) the stream reads. */
  readonly sessions: number;
  readonly windows: number;
  /** Requests when the API accepts batches up to max_session_batch_size (sessions: pages). */
  readonly requests: number;
  /** Requests when the API accepts no batch larger than session_batch_size. */
  readonly requestsWithoutGrowth: number;
}

export interface Estimate {
  readonly end: string;
  readonly timezone: string;
  /** Sessions created in the widest range any selected stream reads (lookback included). */
  readonly sessions: number;
  readonly sessionsPerDay: number;
  /** The page size list-sessions' paginator said it uses when asked for sessions_page_size. */
  readonly pageSize: number;
  readonly streams: readonly StreamEstimate[];
  /** Requests the sync needs: at the best batch size the config allows, and without growth. */
  readonly requests: number;
  readonly requestsWithoutGrowth: number;
  readonly requestsPerMinute: number;
  /** requests / requests_per_minute, in seconds. */
  readonly seconds: number;
  readonly secondsWithoutGrowth: number;
  /** Requests this estimate made. */
  readonly requestsMade: number;
}

/** Approximate milliseconds of a calendar duration (P1D = 24 h). */
const approxMs = (d: import('luxon').Duration): number => d.toMillis();

/** Session counts of the windows a stream would run over [from, end), sessions spread evenly. */
function windowSessions(from: DateTime, end: DateTime, perMs: number, settings: Settings, recordsPerSession: number): number[] {
  if (!settings.adaptiveWindows) {
    return planWindows(from, end, settings.windowSize, settings.timezone).map((w) => perMs * (w.end.toMillis() - w.start.toMillis()));
  }
  // The adaptive rule of sync/window-source.ts, on even data.
  const out: number[] = [];
  const maxMs = approxMs(settings.maxWindowSize);
  const minMs = Math.min(approxMs(settings.windowSize), 3_600_000);
  let size = approxMs(settings.windowSize);
  for (let t = from.toMillis(); t < end.toMillis(); ) {
    const span = Math.min(size, end.toMillis() - t);
    const sessions = perMs * span;
    out.push(sessions);
    t += span;
    const records = sessions * recordsPerSession;
    if (records * 4 < settings.windowTargetRecords) size = Math.min(maxMs, size * 2);
    else if (records > settings.windowTargetRecords) size = Math.max(minMs, size / 2);
  }
  return out;
}

/** Requests for batches of ids growing from `start` by doubling up to `cap` (a full batch doubles). */
function batchRequests(perWindow: readonly number[], start: number, cap: number): number {
  let size = Math.max(1, Math.min(start, cap));
  let requests = 0;
  for (const n of perWindow) {
    let left = Math.round(n);
    while (left > 0) {
      const batch = Math.min(size, left);
      requests += 1;
      left -= batch;
      if (batch === size && size < cap) size = Math.min(cap, size * 2);
    }
  }
  return requests;
}

/** A selected stream with a range to read, and where it starts. */
interface Start {
  readonly selection: StreamSelection;
  readonly from: DateTime;
}

/** What the estimate knows of the range: sessions in it, their density, the page size. */
interface RangeFacts {
  readonly total: number;
  readonly perMs: number;
  readonly pageSize: number;
}

/**
 * The estimate of a sync of `selections` from `state`: two list-sessions requests (one to count
 * the range's sessions, one to learn the page size), then the sync's windows, pages and batches
 * replayed on sessions spread evenly.
 */
export async function estimateSync(
  selections: readonly StreamSelection[],
  state: TapState,
  settings: Settings,
  api: WemasyApi,
  end: DateTime,
): Promise<Omit<Estimate, 'requestsMade'>> {
  const starts = selections.map((s) => ({ selection: s, from: streamStart(settings, state, s.def.name) })).filter((s) => s.from < end);
  const children = starts.filter((s) => s.selection.def.name !== 'sessions');
  const sessionsStream = starts.find((s) => s.selection.def.name === 'sessions');
  const facts = await countRange(starts, settings, api, end);
  const streams: StreamEstimate[] = [];
  // Windows of the sessions stream (children follow them when it is selected).
  const sessionsWindows = sessionsStream === undefined ? undefined : windowSessions(sessionsStream.from, end, facts.perMs, settings, 1);
  if (sessionsStream !== undefined && sessionsWindows !== undefined) {
    streams.push(sessionsEstimate(sessionsStream, sessionsWindows, facts, end));
  }
  streams.push(...childEstimates(children, sessionsWindows, facts, settings, end));
  const listing = listingRequests(children, sessionsStream, facts, settings, end);
  if (listing > 0) {
    streams.push({ stream: 'session ids', from: '', sessions: 0, windows: 0, requests: listing, requestsWithoutGrowth: listing });
  }
  const requests = streams.reduce((sum, s) => sum + s.requests, 0);
  const requestsWithoutGrowth = streams.reduce((sum, s) => sum + s.requestsWithoutGrowth, 0);
  const rate = settings.http.requestsPerMinute;
  return {
    end: formatInstant(end),
    timezone: settings.timezone,
    sessions: facts.total,
    sessionsPerDay: facts.perMs * DAY_MS,
    pageSize: facts.pageSize,
    streams,
    requests,
    requestsWithoutGrowth,
    requestsPerMinute: rate,
    seconds: (requests / rate) * 60,
    secondsWithoutGrowth: (requestsWithoutGrowth / rate) * 60,
  };
}

/** The two requests: the sessions of the widest range any stream reads, and the page size the paginator uses. */
async function countRange(starts: readonly Start[], settings: Settings, api: WemasyApi, end: DateTime): Promise<RangeFacts> {
  const zone = settings.timezone;
  const listed = settings.sessionIds === undefined;
  const earliest = starts.reduce<DateTime | undefined>((min, s) => {
    const from = s.selection.def.name === 'sessions' || !listed ? s.from : s.from.minus(settings.sessionLookback);
    return min === undefined || from < min ? from : min;
  }, undefined);
  if (earliest === undefined) return { total: 0, perMs: 0, pageSize: settings.sessionsPageSize };
  const counted = await api.countSessions(toApiRange({ start: earliest, end }, zone), 1);
  if (counted.total === undefined) {
    throw new TapError('bad-response', 'list-sessions did not say how many sessions the range holds (no "total" in its paginator); no estimate');
  }
  const probe = await api.countSessions(toApiRange({ start: end.minus({ seconds: 1 }), end }, zone), settings.sessionsPageSize);
  const spanMs = end.toMillis() - earliest.toMillis();
  return {
    total: counted.total,
    perMs: spanMs > 0 ? counted.total / spanMs : 0,
    pageSize: Math.min(settings.sessionsPageSize, probe.perPage ?? settings.sessionsPageSize),
  };
}

function sessionsEstimate(start: Start, windows: readonly number[], facts: RangeFacts, end: DateTime): StreamEstimate {
  const pages = windows.reduce((sum, n) => sum + Math.max(1, Math.ceil(Math.round(n) / facts.pageSize)), 0);
  return {
    stream: 'sessions',
    from: formatInstant(start.from),
    sessions: Math.round(facts.perMs * (end.toMillis() - start.from.toMillis())),
    windows: windows.length,
    requests: pages,
    requestsWithoutGrowth: pages,
  };
}

/** Visits and conversions take turns window by window and share the learned batch size. */
function childEstimates(
  children: readonly Start[],
  sessionsWindows: readonly number[] | undefined,
  facts: RangeFacts,
  settings: Settings,
  end: DateTime,
): StreamEstimate[] {
  const listed = settings.sessionIds === undefined;
  const childWindows = children.map((c) => {
    const own = sessionsWindows ?? windowSessions(c.from, end, facts.perMs, settings, 1);
    const lookback = listed ? facts.perMs * settings.sessionLookback.toMillis() : 0;
    const ids = listed ? own.map((n) => n + lookback) : own.map(() => settings.sessionIds?.length ?? 0);
    return { child: c, ids };
  });
  const best = interleavedRequests(
    childWindows.map((c) => c.ids),
    settings.sessionBatchSize,
    settings.maxSessionBatchSize,
  );
  return childWindows.map((c, i) => ({
    stream: c.child.selection.def.name,
    from: formatInstant(c.child.from),
    sessions: Math.round(c.ids.reduce((a, b) => a + b, 0)),
    windows: c.ids.length,
    requests: best[i] ?? 0,
    requestsWithoutGrowth: batchRequests(c.ids, settings.sessionBatchSize, settings.sessionBatchSize),
  }));
}

/** Requests per stream when one sizer, growing from `start` up to `cap`, is fed the streams' windows in turn. */
function interleavedRequests(windowsPerStream: readonly (readonly number[])[], start: number, cap: number): number[] {
  const counts = windowsPerStream.map(() => 0);
  let size = Math.max(1, Math.min(start, cap));
  const longest = Math.max(0, ...windowsPerStream.map((w) => w.length));
  for (let w = 0; w < longest; w += 1) {
    windowsPerStream.forEach((windows, i) => {
      let left = Math.round(windows[w] ?? 0);
      while (left > 0) {
        const batch = Math.min(size, left);
        counts[i] = (counts[i] ?? 0) + 1;
        left -= batch;
        if (batch === size && size < cap) size = Math.min(cap, size * 2);
      }
    });
  }
  return counts;
}

/**
 * Listing session ids for the children: the lookback before the sessions stream's range when it
 * is selected, else every session of the children's range, about one page per request.
 */
function listingRequests(children: readonly Start[], sessionsStream: Start | undefined, facts: RangeFacts, settings: Settings, end: DateTime): number {
  if (settings.sessionIds !== undefined || children.length === 0) return 0;
  const childFrom = Math.min(...children.map((c) => c.from.toMillis() - settings.sessionLookback.toMillis()));
  if (sessionsStream === undefined) {
    // Chunks reach about 0.9 of a page ahead.
    return Math.max(1, Math.ceil((facts.perMs * (end.toMillis() - childFrom)) / (0.9 * facts.pageSize)));
  }
  // The lookback before the sessions stream is one listing.
  return Math.ceil((facts.perMs * Math.max(0, sessionsStream.from.toMillis() - childFrom)) / facts.pageSize);
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `1 h 05 min`, `4 min 10 s`, `12 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return days > 0 ? `${days} d ${hours} h ${String(minutes).padStart(2, '0')} min` : `${hours} h ${String(minutes).padStart(2, '0')} min`;
}

/** The estimate for a human: a few aligned lines. */
export function renderEstimate(e: Estimate, settings: Settings): string {
  const range = (from: string): string => `${from} .. ${e.end}`;
  const grows = settings.maxSessionBatchSize > settings.sessionBatchSize;
  const rows = e.streams.map((s) => {
    const alt = grows && s.requests !== s.requestsWithoutGrowth ? `; ${count(s.requestsWithoutGrowth)} if batches cannot grow` : '';
    const what =
      s.stream === 'session ids'
        ? 'list-sessions pages for the ids of visits and conversions'
        : `${range(s.from)}, ${count(s.windows)} windows, ${count(s.sessions)} ${s.stream === 'sessions' ? 'sessions' : 'session ids asked for'}`;
    return `  ${s.stream.padEnd(12)} ${count(s.requests).padStart(7)} ${s.requests === 1 ? 'request ' : 'requests'}  ${what}${alt}`;
  });
  const duration = grows && e.requests !== e.requestsWithoutGrowth
    ? `${formatDuration(e.seconds)} (${formatDuration(e.secondsWithoutGrowth)} if batches cannot grow)`
    : formatDuration(e.seconds);
  return [
    `tap-wemasy estimate (timezone ${e.timezone}; sessions spread evenly over the range)`,
    `  sessions     ${count(e.sessions)} in the range read (${e.sessionsPerDay.toFixed(1)} a day); list-sessions serves ${count(e.pageSize)} per page`,
    ...rows,
    `  total        ${count(e.requests)} requests${grows && e.requests !== e.requestsWithoutGrowth ? ` (${count(e.requestsWithoutGrowth)} if the API takes no more than ${settings.sessionBatchSize} session ids per request)` : ''}`,
    `  duration     ${duration} at ${e.requestsPerMinute} requests a minute`,
    `  (this estimate made ${e.requestsMade} requests; session ids per request grow from ${settings.sessionBatchSize} up to ${settings.maxSessionBatchSize} as the API accepts them)`,
  ].join('\n');
}
