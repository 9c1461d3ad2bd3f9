import type { Clock } from '../clock.js';
import { ApiError, TapError } from '../errors.js';
import { isJsonObject, type JsonObject } from '../json.js';
import type { Logger } from '../log.js';
import type { RateLimiter } from './rate-limiter.js';
import { parseJsonExact } from '../exact-json.js';
import { parseRetryAfterMs, retryDelayMs, type RetryPolicy } from './retry.js';
import { silenceTimeout, type AttemptClock } from './silence-timeout.js';

export type { AttemptClock } from './silence-timeout.js';

/** One API call: a POST of `body` to `path` (below the base URL), with an optional query string. */
export interface ApiRequest {
  readonly path: string;
  readonly body: JsonObject;
  readonly query?: Readonly<Record<string, string>>;
  /**
   * Aborts this request alone: its wait for the rate limiter, the attempt in flight and the waits
   * between retries, at once, rejecting with the signal's reason (as the run's signal does for
   * every request). A caller passes one per unit of work, e.g. a window, to stop its siblings.
   */
  readonly signal?: AbortSignal | undefined;
}

/** HTTP behaviour, in the units the code uses. */
export interface HttpSettings {
  readonly requestsPerMinute: number;
  /** The window the server's rate-limit headers count in (the API's is a minute). */
  readonly rateLimitWindowMs: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** First retry delay for faults; doubled each attempt, with jitter. */
  readonly retryBaseDelayMs: number;
  /** Cap of a backoff delay; also the wait after a 429 that carries no Retry-After. */
  readonly retryMaxDelayMs: number;
}

export interface HttpClientOptions {
  /** API root without a trailing slash, e.g. `https://api.wemasy.nl/api`. */
  readonly baseUrl: string;
  readonly apiToken: string;
  /** e.g. `tap-wemasy/0.1.0 (+node v20)`. */
  readonly userAgent: string;
  readonly http: HttpSettings;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly log: Logger;
  /** Returns a number in [0, 1) for backoff jitter; defaults to Math.random. */
  readonly random?: () => number;
  /** The run's signal (SIGTERM): aborts waits and in-flight requests; its reason is rethrown as is. */
  readonly signal?: AbortSignal;
  /** Defaults to globalThis.fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * Consumes one response. `clock.outside(promise)` marks time spent waiting on something other
 * than the server (a slow reader of stdout, say): the request timeout does not run meanwhile,
 * so back-pressure from the target never turns into a timeout and a download repeated for nothing.
 */
export type ResponseReader<T> = (response: Response, endpoint: string, clock: AttemptClock) => Promise<T>;

export interface HttpClient {
  /**
   * POSTs the request and hands the response to `read`. Every attempt waits for the rate limiter;
   * `request_timeout` bounds the server's silence (to the response headers, then between chunks
   * of the body; see silenceTimeout), not the whole attempt. `read` may throw a
   * retryable ApiError (e.g. 'bad-response' for invalid JSON, 'server-fault' for `"error": true`);
   * the whole attempt is then retried under the same policy as a 5xx.
   *
   * Throws ApiError: 'auth' (401), 'permission' (403), 'request-rejected' (422 or another 4xx),
   * never retried; 'rate-limited' (429), 'server-fault' (5xx), 'timeout', 'network', or what
   * `read` threw, once retries are used up. An abort of the run signal or of `request.signal`
   * rejects with its reason, at once, whether the request is queued, in flight or between retries.
   */
  send<T>(request: ApiRequest, read: ResponseReader<T>): Promise<T>;
  /**
   * send() with a reader that parses the body as JSON (invalid JSON, an empty or truncated body →
   * ApiError 'bad-response') and then runs `check` on it inside the same attempt, so that a body
   * `check` rejects with a retryable ApiError (`"error": true`, a wrong shape) is retried too.
   */
  postJson<T = unknown>(request: ApiRequest, check?: (body: unknown, endpoint: string) => T): Promise<T>;
  /** Requests sent so far (attempts, including retries). */
  readonly requestCount: number;
}

const EXCERPT_LENGTH = 200;

/** Creates the client; see {@link HttpClient} for what each call does. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { baseUrl, apiToken, userAgent, http, limiter, clock, log, signal: runSignal } = options;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const random = options.random ?? Math.random;
  const policy: RetryPolicy = {
    maxRetries: http.maxRetries,
    baseDelayMs: http.retryBaseDelayMs,
    maxDelayMs: http.retryMaxDelayMs,
  };
  let requestCount = 0;

  /** Server-provided text, made safe to print: excerpted, and never holding the token. */
  // Scrubbed before it is cut: a token cut in half by the excerpt would no longer be recognised.
  const excerpt = (text: string): string => excerptOf(scrub(text, apiToken));

  async function attempt<T>(
    request: ApiRequest,
    url: string,
    read: ResponseReader<T>,
    callSignal: AbortSignal | undefined,
  ): Promise<T> {
    const endpoint = request.path;
    await limiter.acquire(callSignal);
    requestCount += 1;
    const startedMs = clock.nowMs();
    const timer = silenceTimeout(http.timeoutMs, clock);
    const timeout = timer.signal;
    const signal = callSignal === undefined ? timeout : AbortSignal.any([callSignal, timeout]);
    let status = 0;
    let outcome: 'succeeded' | 'failed' = 'failed';
    /** Turns what fetch or a body read threw into the error the retry loop sees. */
    const failure = (error: unknown, whileReading: boolean): unknown => {
      if (callSignal?.aborted) return callSignal.reason;
      if (timeout.aborted) {
        const seconds = http.timeoutMs / 1000;
        const message = timer.inBody
          ? `the body of POST ${endpoint} stalled: nothing received for ${seconds} s`
          : `no response within ${seconds} s on POST ${endpoint}`;
        return new ApiError('timeout', message, { endpoint, status: status || undefined });
      }
      if (error instanceof TapError) return error;
      if (whileReading && !looksLikeNetworkFailure(error)) return error;
      const context = { endpoint, status: status || undefined };
      const message = `network error on POST ${endpoint}: ${describeNetworkError(error)}`;
      return new ApiError('network', message, context, { cause: error });
    };

    try {
      let response: Response;
      try {
        response = await fetchFn(url, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${apiToken}`,
            Accept: 'application/json',
            'Content-Type': 'application/json',
            'User-Agent': userAgent,
          },
          body: JSON.stringify(request.body),
          // Never followed: a 302/303 turns the POST into a GET without its body. Not 'error'
          // either: fetch would throw a bare "fetch failed", a network error the loop retries;
          // a 3xx answer becomes a clear error below (statusError).
          redirect: 'manual',
          signal,
        });
      } catch (error) {
        throw failure(error, false);
      }
      status = response.status;
      timer.headersReceived();
      response = timer.watchBody(response);
      limiter.observe(response.headers);
      try {
        if (!response.ok) throw statusError(response, await response.text(), endpoint);
        const result = await read(response, endpoint, timer.clock);
        outcome = 'succeeded';
        return result;
      } catch (error) {
        throw failure(error, true);
      }
    } finally {
      timer.clear();
      log.metric({
        type: 'timer',
        metric: 'http_request_duration',
        value: (clock.nowMs() - startedMs) / 1000,
        tags: { endpoint, http_status_code: status, status: outcome },
      });
    }
  }

  function statusError(response: Response, body: string, endpoint: string): ApiError {
    const status = response.status;
    const parsed = parseJson(body);
    const serverMessage =
      isJsonObject(parsed) && typeof parsed.message === 'string' && parsed.message.trim() !== ''
        ? excerpt(parsed.message)
        : excerpt(body) || '(empty body)';
    const context = { endpoint, status };
    switch (true) {
      case status >= 300 && status < 400:
        return new ApiError(
          'request-rejected',
          `Wemasy redirected POST ${endpoint} (${status}) to ${redirectTarget(response.headers.get('location'))}; the tap does not follow redirects: check base_url`,
          context,
        );
      case status === 401:
        return new ApiError('auth', `Wemasy refused the API token (401) on POST ${endpoint}: ${serverMessage}`, context);
      case status === 403:
        return new ApiError(
          'permission',
          `Wemasy denied the API token access to POST ${endpoint} (403): ${serverMessage}`,
          context,
        );
      case status === 422: {
        const fieldErrors = readFieldErrors(parsed, excerpt);
        const details = Object.entries(fieldErrors)
          .map(([field, reasons]) => `${field}: ${reasons.join(', ')}`)
          .join('; ');
        return new ApiError(
          'request-rejected',
          `Wemasy rejected POST ${endpoint} (422): ${details || serverMessage}`,
          { ...context, fieldErrors },
        );
      }
      case status === 429: {
        const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), clock.nowMs());
        const wait = retryAfterMs === undefined ? 'no Retry-After' : `Retry-After ${retryAfterMs / 1000} s`;
        return new ApiError('rate-limited', `Wemasy rate limit exceeded (429) on POST ${endpoint} (${wait})`, {
          ...context,
          retryAfterMs,
        });
      }
      case status >= 500:
        return new ApiError('server-fault', `Wemasy server fault (${status}) on POST ${endpoint}: ${serverMessage}`, context);
      default:
        return new ApiError('request-rejected', `Wemasy answered ${status} to POST ${endpoint}: ${serverMessage}`, context);
    }
  }

  /** Where a redirect points, as its host only (never a path or query that could carry a secret). */
  function redirectTarget(location: string | null): string {
    if (location === null) return 'no Location';
    try {
      return `host ${excerpt(new URL(location, `${baseUrl}/`).host)}`;
    } catch {
      return 'an unreadable Location';
    }
  }

  async function send<T>(request: ApiRequest, read: ResponseReader<T>): Promise<T> {
    const query = new URLSearchParams(request.query ?? {}).toString();
    const target = query === '' ? request.path : `${request.path}?${query}`;
    const url = `${baseUrl}${target}`;
    const signal = anySignal(runSignal, request.signal);
    for (let retries = 0; ; retries += 1) {
      log.debug(`POST ${target}`, { attempt: retries + 1, body: JSON.stringify(request.body) });
      try {
        return await attempt(request, url, read, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const delayMs = retryDelayMs(error, retries, policy, random);
        if (delayMs === undefined) throw retries > 0 ? gaveUp(error, retries) : error;
        const reason = error instanceof Error ? error.message : String(error);
        log.warn(
          `retrying POST ${request.path} (attempt ${retries + 2} of ${policy.maxRetries + 1}) after ${reason}; ` +
            `waiting ${(delayMs / 1000).toFixed(delayMs < 1000 ? 3 : 1)} s`,
        );
        await clock.sleep(delayMs, signal);
      }
    }
  }

  /** Reads the body as JSON; an empty, truncated or invalid body is a retryable 'bad-response'. */
  async function readJson(response: Response, endpoint: string): Promise<unknown> {
    const text = await response.text();
    const status = response.status;
    if (text.trim() === '') {
      throw new ApiError('bad-response', `Wemasy sent an empty body (${status}) for POST ${endpoint}`, { endpoint, status });
    }
    try {
      return parseJsonExact(text);
    } catch (error) {
      throw new ApiError(
        'bad-response',
        `Wemasy sent a body that is not valid JSON (${status}) for POST ${endpoint}: ${excerpt(text)}`,
        { endpoint, status },
        { cause: error },
      );
    }
  }

  return {
    send,
    postJson: <T>(request: ApiRequest, check?: (body: unknown, endpoint: string) => T) =>
      send(request, async (response, endpoint) => {
        const body = await readJson(response, endpoint);
        return check === undefined ? (body as T) : check(body, endpoint);
      }),
    get requestCount() {
      return requestCount;
    },
  };
}

/** One signal that aborts when either does, with the reason of the first to abort. */
function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return AbortSignal.any([a, b]);
}

/** A retryable error that used up its retries, with a message that says so. */
function gaveUp(error: unknown, retries: number): unknown {
  if (!(error instanceof TapError) || !error.retryable) return error;
  const message = `gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'}: ${error.message}`;
  return error instanceof ApiError
    ? new ApiError(error.kind, message, error.context, { cause: error })
    : new TapError(error.kind, message, { cause: error });
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

/** At most 200 characters of a body: scripts, styles and tags stripped, whitespace collapsed. */
function excerptOf(text: string): string {
  const flat = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length <= EXCERPT_LENGTH ? flat : `${flat.slice(0, EXCERPT_LENGTH - 1)}…`;
}

function scrub(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('***');
}

/** Codes and messages of a failed connection, as undici and node:net report them. */
const NETWORK_HINT = /terminated|fetch failed|other side closed|socket hang up|ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|UND_ERR/i;

/** True when a body read failed because the connection did (not because of a bug in the reader). */
function looksLikeNetworkFailure(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (NETWORK_HINT.test(`${e.name} ${e.message} ${typeof code === 'string' ? code : ''}`)) return true;
  }
  return false;
}

/** `fetch failed (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9)`: the message and its cause's code. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const causes: string[] = [];
  for (let e: unknown = error.cause, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    causes.push(typeof code === 'string' && !e.message.includes(code) ? `${code}: ${e.message}` : e.message);
  }
  const ownCode = (error as { code?: unknown }).code;
  const head = typeof ownCode === 'string' && !error.message.includes(ownCode) ? `${ownCode}: ${error.message}` : error.message;
  return causes.length === 0 ? head : `${head} (${causes.join('; ')})`;
}
