import { ApiError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { SessionId } from '../config/settings-types.js';
import { CONVERSIONS_PATH, SESSIONS_PATH, VISITS_PATH } from '../streams/definitions.js';
import type { ApiRange } from '../time/api-time.js';
import { listItems, sessionsPage } from './envelope.js';

/** The Wemasy Analytics endpoints the tap reads, typed. Bodies are checked before use. */
export interface WemasyApi {
  /** Sessions created in `range` (inclusive, project zone), one page of items at a time. */
  listSessions(range: ApiRange): AsyncGenerator<JsonValue[]>;
  /** Every visit of these sessions inside `range`; the endpoint has no pagination. */
  getVisits(range: ApiRange, sessionIds: readonly SessionId[]): Promise<JsonValue[]>;
  /** Every conversion of these sessions inside `range`, optionally of some types only. */
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

  return {
    async *listSessions(range) {
      for (let page = 1; ; page += 1) {
        const result = await fetchPage(range, page, options.sessionsPageSize);
        yield result.items;
        if (!result.hasNext || page >= result.lastPage) return;
      }
    },
    async getVisits(range, sessionIds) {
      const body = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      return http.postJson({ path: VISITS_PATH, body }, listItems);
    },
    async getConversions(range, sessionIds) {
      const body: JsonObject = { key: 'list', start_date: range.start_date, end_date: range.end_date, session_ids: [...sessionIds] };
      if (options.conversionTypes !== undefined) body.conversion_types = [...options.conversionTypes];
      return http.postJson({ path: CONVERSIONS_PATH, body }, listItems);
    },
    async checkConnection(range) {
      await fetchPage(range, 1, 1);
    },
  };
}
