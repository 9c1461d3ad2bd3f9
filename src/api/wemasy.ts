import { ApiError } from '../errors.js';
import type { HttpClient, ResponseReader } from '../http/client.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { SessionId } from '../config/settings-types.js';
import { CONVERSIONS_PATH, SESSIONS_PATH, VISITS_PATH } from '../streams/definitions.js';
import type { ApiRange } from '../time/api-time.js';
import { checkItems, reportedError, sessionsPage } from './envelope.js';
import { JsonStreamError, parseItemsStream } from './json-items.js';

/**
 * Receives items as they are parsed, with the attempt (1 for the first try of the request, more
 * after a retry); the request's timeout does not run while it works. Items reach the sink before
 * the body is complete: an attempt that then fails has already handed over the items before the
 * failure, and its retry hands them over again.
 */
export type ItemSink = (items: JsonValue[], attempt: number) => Promise<void>;

/** The Wemasy Analytics endpoints the tap reads, typed. Bodies are checked before use. */
export interface WemasyApi {
  /** Sessions created in `range` (inclusive, project zone), one page of items at a time. */
  listSessions(range: ApiRange): AsyncGenerator<JsonValue[]>;
  /**
   * Every visit of these sessions inside `range`, handed to `sink` batch by batch while the body
   * arrives (the endpoint has no pagination: one body can hold hundreds of thousands). When an
   * attempt fails part-way (a reset, a body cut short), the request is retried and `sink` sees the
   * items from the start again: the caller drops the ones it already has. Resolves to the number
   * of items of the attempt that succeeded.
   */
  streamVisits(range: ApiRange, sessionIds: readonly SessionId[], sink: ItemSink): Promise<number>;
  /** Every conversion of these sessions inside `range` (optionally of some types), as streamVisits. */
  streamConversions(range: ApiRange, sessionIds: readonly SessionId[], sink: ItemSink): Promise<number>;
  /** streamVisits collected into one list, for small bodies (sampling); a retry's repeats are dropped by id. */
  getVisits(range: ApiRange, sessionIds: readonly SessionId[]): Promise<JsonValue[]>;
  getConversions(range: ApiRange, sessionIds: readonly SessionId[]): Promise<JsonValue[]>;
  /** One cheap authenticated request (a one-item page of a one-second range). */
  checkConnection(range: ApiRange): Promise<void>;
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

  const sessionsBody = (range: ApiRange, perPage: number): JsonObject => ({
    start_date: range.start_date,
    end_date: range.end_date,
    ...SESSIONS_SORT,
    per_page: String(perPage),
    filters: options.sessionFilters,
  });

  const fetchPage = async (range: ApiRange, page: number, perPage: number) => {
    const request = { path: SESSIONS_PATH, body: sessionsBody(range, perPage), query: { page: String(page) } };
    return http.postJson(request, (body, endpoint) => {
      const result = sessionsPage(body, endpoint);
      if (result.currentPage !== page) {
        throw new ApiError('bad-response', `POST ${endpoint} answered page ${result.currentPage} when asked for page ${page}`, {
          endpoint,
          status: 200,
        });
      }
      return result;
    });
  };

  const collect = async (stream: (sink: ItemSink) => Promise<number>): Promise<JsonValue[]> => {
    const byId = new Map<unknown, JsonValue>();
    await stream(async (items) => {
      for (const item of items) byId.set(itemId(item), item);
    });
    return [...byId.values()];
  };

  const api: WemasyApi = {
    async *listSessions(range) {
      for (let page = 1; ; page += 1) {
        const result = await fetchPage(range, page, options.sessionsPageSize);
        yield result.items;
        if (!result.hasNext || page >= result.lastPage) return;
      }
    },
    streamVisits(range, sessionIds, sink) {
      const body = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      return http.send({ path: VISITS_PATH, body }, readItems(sink));
    },
    streamConversions(range, sessionIds, sink) {
      const body: JsonObject = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      if (options.conversionTypes !== undefined) body.conversion_types = [...options.conversionTypes];
      return http.send({ path: CONVERSIONS_PATH, body }, readItems(sink));
    },
    getVisits: (range, sessionIds) => collect((sink) => api.streamVisits(range, sessionIds, sink)),
    getConversions: (range, sessionIds) => collect((sink) => api.streamConversions(range, sessionIds, sink)),
    async checkConnection(range) {
      await fetchPage(range, 1, 1);
    },
  };
  return api;
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
function readItems(sink: ItemSink): ResponseReader<number> {
  let attempt = 0;
  return async (response, endpoint, clock) => {
    attempt += 1;
    if (response.body === null) throw new ApiError('bad-response', `POST ${endpoint} answered an empty body`, { endpoint, status: response.status });
    const parsed = parseItemsStream(response.body as unknown as AsyncIterable<Uint8Array>);
    let count = 0;
    try {
      for await (const batch of parsed.items) {
        const early = reportedError(parsed.envelope().fields, endpoint);
        if (early !== undefined) throw early;
        const items = checkItems(batch as JsonValue[], endpoint);
        count += items.length;
        await clock.outside(sink(items, attempt));
      }
    } catch (error) {
      if (!(error instanceof JsonStreamError)) throw error;
      const reported = reportedError(error.envelope?.fields ?? parsed.envelope().fields, endpoint);
      throw reported ?? new ApiError('bad-response', `POST ${endpoint} answered a malformed body: ${error.message}`, { endpoint, status: response.status }, { cause: error });
    }
    const reported = reportedError(parsed.envelope().fields, endpoint);
    if (reported !== undefined) throw reported;
    return count;
  };
}
