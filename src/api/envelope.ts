import { ApiError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';

/**
 * Checks of the API's success bodies. Anything other than the documented shape is a fault of the
 * server: a 'server-fault' for `"error": true`, a 'bad-response' otherwise. Both are retryable,
 * and both are thrown before a single item of the body is used, so a bad body never becomes
 * records and never moves a bookmark.
 */
function checkEnvelope(body: unknown, endpoint: string): JsonObject {
  if (!isJsonObject(body)) throw new ApiError('bad-response', `POST ${endpoint} answered a body that is not a JSON object`, { endpoint, status: 200 });
  const reported = reportedError(body, endpoint);
  if (reported !== undefined) throw reported;
  return body;
}

/** The envelope's `"error": true` (with its message) as a retryable server fault, else undefined. */
export function reportedError(fields: Readonly<Record<string, unknown>>, endpoint: string): ApiError | undefined {
  if (fields.error !== true) return undefined;
  const message = typeof fields.message === 'string' ? fields.message : 'no message';
  return new ApiError('server-fault', `POST ${endpoint} answered 200 with "error": true: ${message}`, { endpoint, status: 200 });
}

function badShape(endpoint: string, problem: string): ApiError {
  return new ApiError('bad-response', `POST ${endpoint} answered an unexpected shape: ${problem}`, { endpoint, status: 200 });
}

/** Each item must be an object or a bare id (string or number); checked before any is used. */
export function checkItems(items: JsonValue[], endpoint: string): JsonValue[] {
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    if (typeof item === 'string' || typeof item === 'number' || isJsonObject(item)) continue;
    const what = item === null ? 'null' : Array.isArray(item) ? 'a list' : typeof item;
    throw badShape(endpoint, `item ${i} is ${what}, not an object or an id`);
  }
  return items;
}

/** One page of the Laravel length-aware paginator that list-sessions answers. */
export interface SessionsPage {
  readonly items: JsonValue[];
  readonly currentPage: number;
  readonly lastPage: number;
  readonly hasNext: boolean;
  readonly total: number | undefined;
  /** The page size the paginator says it used. */
  readonly perPage: number | undefined;
}

export function sessionsPage(body: unknown, endpoint: string): SessionsPage {
  const page = checkEnvelope(body, endpoint).data;
  if (!isJsonObject(page)) throw badShape(endpoint, '"data" is not a page object');
  const { data, current_page: current, last_page: last, next_page_url: next, total, per_page: perPage } = page;
  if (!Array.isArray(data)) throw badShape(endpoint, '"data.data" is not a list');
  const currentPage = typeof current === 'number' ? current : Number(current);
  if (!Number.isInteger(currentPage) || currentPage < 1) throw badShape(endpoint, '"data.current_page" is not a page number');
  const lastPage = last === undefined ? currentPage : Number(last);
  if (!Number.isInteger(lastPage)) throw badShape(endpoint, '"data.last_page" is not a page number');
  if (next !== undefined && next !== null && typeof next !== 'string') throw badShape(endpoint, '"data.next_page_url" is not a URL or null');
  const hasNext = next === undefined ? currentPage < lastPage : next !== null;
  return { items: checkItems(data, endpoint), currentPage, lastPage, hasNext, total: typeof total === 'number' ? total : undefined, perPage: positiveInteger(perPage) };
}

/** A positive integer, or a string of one (Laravel may send per_page as the string it was given). */
function positiveInteger(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}
