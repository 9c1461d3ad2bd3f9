import { ApiError } from '../errors.js';
import { limitIn } from './batch-size.js';
import type { HttpClient, ResponseReader } from '../http/client.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { SessionId } from '../config/settings-types.js';
import { CONVERSIONS_PATH, SESSIONS_PATH, VISITS_PATH } from './endpoints.js';
import type { ApiRange } from '../time/api-time.js';
import { checkItems, reportedError, sessionsPage } from './envelope.js';
import { postJson } from './responses.js';
import { JsonStreamError, parseItemsStream } from './json-items.js';

/**
 * Receives items as they are parsed, with the attempt (1 for the first try of the request, more
 * after a retry); the request's timeout does not run while it works. Items reach the sink before
 * the body is complete: an attempt that then fails has already handed over the items before the
 * failure, and its retry hands them over again.
 */
export type ItemSink = (items: JsonValue[], attempt: number) => Promise<void>;

/**
 * The Wemasy Analytics endpoints the tap reads, typed. Bodies are checked before use.
 *
 * Every method takes an optional `signal` that aborts its requests, their retries and the waits
 * between them at once (with the signal's reason), on top of the run's signal that the HTTP
 * client holds: the sync engine passes one per window, so a fatal error in one batch stops the
 * sibling requests of that window instead of letting them run their retry ladders.
 */
export interface WemasyApi {
  /** Sessions created in `range` (inclusive, project zone), one page of items at a time. */
  listSessions(range: ApiRange, signal?: AbortSignal): AsyncGenerator<JsonValue[]>;
  /**
   * Every visit of these sessions inside `range`, handed to `sink` batch by batch while the body
   * arrives (the endpoint has no pagination: one body can hold hundreds of thousands). When an
   * attempt fails part-way (a reset, a body cut short), the request is retried and `sink` sees the
   * items from the start again: the caller drops the ones it already has. Resolves to the number
   * of items of the attempt that succeeded.
   */
  streamVisits(range: ApiRange, sessionIds: readonly SessionId[], sink: ItemSink, signal?: AbortSignal): Promise<StreamedBody>;
  /** Every conversion of these sessions inside `range` (optionally of some types), as streamVisits. */
  streamConversions(range: ApiRange, sessionIds: readonly SessionId[], sink: ItemSink, signal?: AbortSignal): Promise<StreamedBody>;
  /** streamVisits collected into one list, for small bodies (sampling); a retry's repeats are dropped by id. */
  getVisits(range: ApiRange, sessionIds: readonly SessionId[], signal?: AbortSignal): Promise<JsonValue[]>;
  getConversions(range: ApiRange, sessionIds: readonly SessionId[], signal?: AbortSignal): Promise<JsonValue[]>;
  /** One cheap authenticated request (a one-item page of a one-second range). */
  checkConnection(range: ApiRange, signal?: AbortSignal): Promise<void>;
  /**
   * One list-sessions page of `range` with `per_page` = `perPage`: the paginator's `total` and the
   * `per_page` it used (the estimate asks for one item to count, and for a large page to learn the cap).
   */
  countSessions(range: ApiRange, perPage: number, signal?: AbortSignal): Promise<{ readonly total: number | undefined; readonly perPage: number | undefined }>;
  /** The `per_page` list-sessions' paginator last said it used; undefined before the first page. */
  readonly pageSize: number | undefined;
}

/** What a streamed get-visits or get-conversions body held: items of the attempt that succeeded, and its bytes. */
export interface StreamedBody {
  readonly items: number;
  readonly bytes: number;
}

export interface WemasyApiOptions {
  readonly http: HttpClient;
  readonly sessionFilters: JsonObject;
  readonly sessionsPageSize: number;
  readonly conversionTypes: readonly string[] | undefined;
}

/** Sort on the unique id so that offset pages are stable (ties on created_at are not). */
const SESSIONS_SORT = { sortKey: 'id', sortOrder: 'asc' } as const;

export function createWemasyApi(options: WemasyApiOptions): WemasyApi {
  const { http } = options;
  const pages = sessionPages(options);
  const { fetchPage } = pages;

  const collect = async (stream: (sink: ItemSink) => Promise<StreamedBody>): Promise<JsonValue[]> => {
    const byId = new Map<unknown, JsonValue>();
    await stream((items) => {
      for (const item of items) byId.set(itemId(item), item);
      return Promise.resolve();
    });
    return [...byId.values()];
  };

  const api: WemasyApi = {
    listSessions: (range, signal) => listAllPages(pages, range, signal),
    streamVisits(range, sessionIds, sink, signal) {
      const body = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      return http.send({ path: VISITS_PATH, body, signal }, readItems(sink));
    },
    streamConversions(range, sessionIds, sink, signal) {
      const body: JsonObject = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      if (options.conversionTypes !== undefined) body.conversion_types = [...options.conversionTypes];
      return http.send({ path: CONVERSIONS_PATH, body, signal }, readItems(sink));
    },
    getVisits: (range, sessionIds, signal) => collect((sink) => api.streamVisits(range, sessionIds, sink, signal)),
    getConversions: (range, sessionIds, signal) => collect((sink) => api.streamConversions(range, sessionIds, sink, signal)),
    async checkConnection(range, signal) {
      await fetchPage(range, 1, 1, signal);
    },
    async countSessions(range, perPage, signal) {
      const result = await fetchPage(range, 1, perPage, signal);
      return { total: result.total, perPage: result.perPage };
    },
    get pageSize() {
      return pages.pageSize;
    },
  };
  return api;
}

/**
 * Every page of one listing. Each asks for the same per_page, so that offsets stay consistent;
 * the paginator's last_page and next_page_url say when it ends, whatever size it used.
 *
 * The next page is asked for before this one's items are handed out (issue 11): its request waits
 * for the rate limiter and the server while the caller writes these records, not after. Its
 * failure surfaces where it is awaited, after this page's items, as before; a caller that stops
 * early aborts it.
 */
async function* listAllPages(pages: ReturnType<typeof sessionPages>, range: ApiRange, signal: AbortSignal | undefined): AsyncGenerator<JsonValue[]> {
  const first = await pages.firstPage(range, signal);
  let result = first.result;
  const stopped = new AbortController();
  const pageSignal = signal === undefined ? stopped.signal : AbortSignal.any([signal, stopped.signal]);
  try {
    for (let page = 1; ; page += 1) {
      const more = result.hasNext && page < result.lastPage;
      const next = more ? pages.fetchPage(range, page + 1, first.perPage, pageSignal) : undefined;
      next?.catch(() => undefined); // handled where it is awaited
      yield result.items;
      if (next === undefined) return;
      result = await next;
    }
  } finally {
    stopped.abort();
  }
}

/**
 * list-sessions, one page at a time: the per_page the paginator last said it used, and the one a
 * 422 forced (asked for from then on, across listings).
 */
function sessionPages(options: WemasyApiOptions) {
  const { http } = options;
  let pageSize: number | undefined;
  let askedPageSize: number | undefined;

  const sessionsBody = (range: ApiRange, perPage: number): JsonObject => ({
    start_date: range.start_date,
    end_date: range.end_date,
    ...SESSIONS_SORT,
    per_page: String(perPage),
    filters: options.sessionFilters,
  });

  const fetchPage = async (range: ApiRange, page: number, perPage: number, signal: AbortSignal | undefined) => {
    const request = { path: SESSIONS_PATH, body: sessionsBody(range, perPage), query: { page: String(page) }, signal };
    return postJson(http, request, (body, endpoint) => {
      const result = sessionsPage(body, endpoint);
      if (result.currentPage !== page) {
        throw new ApiError('bad-response', `POST ${endpoint} answered page ${result.currentPage} when asked for page ${page}`, {
          endpoint,
          status: 200,
        });
      }
      if (result.perPage !== undefined && perPage > 1) pageSize = result.perPage;
      return result;
    });
  };

  /** Page 1 with `per_page` lowered when the API refuses the size asked for (a 422 naming only `per_page`). */
  const firstPage = async (range: ApiRange, signal: AbortSignal | undefined) => {
    let perPage = askedPageSize ?? options.sessionsPageSize;
    for (;;) {
      try {
        return { result: await fetchPage(range, 1, perPage, signal), perPage };
      } catch (error) {
        const limit = pageSizeRefusal(error);
        if (limit === undefined || perPage <= 1) throw error;
        perPage = limit > 0 && limit < perPage ? limit : Math.max(1, Math.floor(perPage / 2));
        askedPageSize = perPage;
      }
    }
  };

  return {
    fetchPage,
    firstPage,
    get pageSize() {
      return pageSize;
    },
  };
}

/** An item's identity: its `id`, or the item itself when it is a bare id. */
export function itemId(item: JsonValue): unknown {
  return isJsonObject(item) ? item.id : item;
}

/**
 * Reads a `{"error": false, "data": [...]}` body as it arrives (see json-items.ts) and hands the
 * items to `sink`. A malformed body (cut short, invalid JSON, `data` not a list) is a retryable
 * 'bad-response', an `"error": true` a retryable 'server-fault', whether the flag comes before
 * the items or after them.
 */
function readItems(sink: ItemSink): ResponseReader<StreamedBody> {
  let attempt = 0;
  return async (response, endpoint, current) => {
    attempt += 1;
    if (response.body === null) throw new ApiError('bad-response', `POST ${endpoint} answered an empty body`, { endpoint, status: response.status });
    let bytes = 0;
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    const counted = (async function* () {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    })();
    const parsed = parseItemsStream(counted);
    let count = 0;
    try {
      for await (const batch of parsed.items) {
        const early = reportedError(parsed.envelope().fields, endpoint);
        if (early !== undefined) throw early;
        const items = checkItems(batch as JsonValue[], endpoint);
        count += items.length;
        await current.outside(sink(items, attempt));
      }
    } catch (error) {
      if (!(error instanceof JsonStreamError)) throw error;
      const reported = reportedError(error.envelope?.fields ?? parsed.envelope().fields, endpoint);
      throw reported ?? new ApiError('bad-response', `POST ${endpoint} answered a malformed body: ${error.message}`, { endpoint, status: response.status }, { cause: error });
    }
    const reported = reportedError(parsed.envelope().fields, endpoint);
    if (reported !== undefined) throw reported;
    return { items: count, bytes };
  };
}

/** The page size a 422 naming only `per_page` allows ("must not be greater than N"; 0 when it names none), else undefined. */
function pageSizeRefusal(error: unknown): number | undefined {
  if (!(error instanceof ApiError) || error.context.status !== 422) return undefined;
  const fields = error.context.fieldErrors ?? {};
  const names = Object.keys(fields);
  if (names.length !== 1 || names[0] !== 'per_page') return undefined;
  return limitIn(fields.per_page ?? []) ?? 0;
}
