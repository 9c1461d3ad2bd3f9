import { ApiError } from '../errors.js';
import type { ApiRequest, FailedResponse, HttpClient, ServiceWording } from '../http/client.js';
import { parseRetryAfterMs } from '../http/retry.js';
import { isJsonObject } from '../json.js';
import { parseJsonExact } from '../exact-json.js';

/**
 * What Wemasy's failures mean, in the messages the user reads: its statuses (with Laravel's 422
 * field errors), its redirects, and bodies that are not JSON. The HTTP client classifies by
 * HTTP only and asks these for the words.
 */
const DEFAULT_BASE_URL = 'https://api.wemasy.nl/api';

export const wemasyWording: ServiceWording = {
  statusError,
  redirectError: (endpoint) =>
    new ApiError(
      'request-rejected',
      `Wemasy answered POST ${endpoint} with a redirect, which the tap does not follow (a POST must not become a GET): check base_url (https://, not http://; the API root, default ${DEFAULT_BASE_URL})`,
      { endpoint },
    ),
};

function statusError(response: FailedResponse): ApiError {
  const { status, endpoint, excerpt } = response;
  const parsed = parseJson(response.body);
  const serverMessage =
    isJsonObject(parsed) && typeof parsed.message === 'string' && parsed.message.trim() !== ''
      ? excerpt(parsed.message)
      : excerpt(response.body) || '(empty body)';
  const context = { endpoint, status };
  switch (true) {
    case status === 401:
      return new ApiError('auth', `Wemasy refused the API token (401) on POST ${endpoint}: ${serverMessage}`, context);
    case status === 403:
      return new ApiError('permission', `Wemasy denied the API token access to POST ${endpoint} (403): ${serverMessage}`, context);
    case status === 422: {
      const fieldErrors = readFieldErrors(parsed, excerpt);
      const details = Object.entries(fieldErrors)
        .map(([field, reasons]) => `${field}: ${reasons.join(', ')}`)
        .join('; ');
      return new ApiError('request-rejected', `Wemasy rejected POST ${endpoint} (422): ${details || serverMessage}`, { ...context, fieldErrors });
    }
    case status === 429: {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), response.nowMs);
      const wait = retryAfterMs === undefined ? 'no Retry-After' : `Retry-After ${retryAfterMs / 1000} s`;
      return new ApiError('rate-limited', `Wemasy rate limit exceeded (429) on POST ${endpoint} (${wait})`, { ...context, retryAfterMs });
    }
    case status >= 500:
      return new ApiError('server-fault', `Wemasy server fault (${status}) on POST ${endpoint}: ${serverMessage}`, context);
    default:
      return new ApiError('request-rejected', `Wemasy answered ${status} to POST ${endpoint}: ${serverMessage}`, context);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Laravel's `{"errors": {"field": ["reason", ...]}}`, each reason made printable. */
function readFieldErrors(body: unknown, clean: (text: string) => string): Record<string, string[]> {
  const errors = isJsonObject(body) ? body.errors : undefined;
  if (!isJsonObject(errors)) return {};
  const out: Record<string, string[]> = {};
  for (const [field, reasons] of Object.entries(errors)) {
    const list = Array.isArray(reasons) ? reasons : [reasons];
    out[clean(field)] = list.map((reason) => clean(typeof reason === 'string' ? reason : JSON.stringify(reason)));
  }
  return out;
}

/**
 * http.send() with a reader that parses the body as JSON (invalid JSON, an empty or truncated body
 * → a retryable ApiError 'bad-response') and then runs `check` on it inside the same attempt, so
 * that a body `check` rejects with a retryable ApiError (`"error": true`, a wrong shape) is
 * retried too. Numbers a double cannot hold keep their digits (src/exact-json.ts).
 */
export function postJson<T = unknown>(http: HttpClient, request: ApiRequest, check?: (body: unknown, endpoint: string) => T): Promise<T> {
  return http.send(request, async (response, endpoint, attempt) => {
    const text = await response.text();
    const status = response.status;
    if (text.trim() === '') {
      throw new ApiError('bad-response', `Wemasy sent an empty body (${status}) for POST ${endpoint}`, { endpoint, status });
    }
    let body: unknown;
    try {
      body = parseJsonExact(text);
    } catch (error) {
      const message = `Wemasy sent a body that is not valid JSON (${status}) for POST ${endpoint}: ${attempt.excerpt(text)}`;
      throw new ApiError('bad-response', message, { endpoint, status }, { cause: error });
    }
    return check === undefined ? (body as T) : check(body, endpoint);
  });
}
