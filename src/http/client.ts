import type { Clock } from '../clock.js';
import type { ApiError } from '../errors.js';
import type { JsonObject } from '../json.js';
import type { Logger } from '../log.js';
import { attemptFailure, gaveUp } from './failures.js';
import type { RateLimiter } from './rate-limiter.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';
import { safeExcerpt } from './safe-text.js';
import { silenceTimeout, type AttemptClock } from './silence-timeout.js';

export type { AttemptClock } from './silence-timeout.js';

/**
 * A generic JSON-over-HTTP client: rate limiting, a silence timeout, retries with backoff,
 * cancellation. It knows HTTP, not the service: what a failed status means in the service's
 * words, and how its bodies look, come from the caller (ServiceWording, ResponseReader).
 */

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

/** A response whose status is not 2xx, as the client hands it to the service's wording. */
export interface FailedResponse {
  readonly endpoint: string;
  readonly status: number;
  readonly headers: Headers;
  /** The whole body, as text. */
  readonly body: string;
  /** When it arrived, by the client's clock (for a Retry-After date). */
  readonly nowMs: number;
  /** Server-provided text made safe to print: excerpted, never holding the token. */
  readonly excerpt: (text: string) => string;
}

/** What the service's failures mean, in its words: the client classifies by HTTP only. */
export interface ServiceWording {
  /**
   * The error for a response whose status is not 2xx. Its kind decides what happens next
   * (errors.ts): 'rate-limited' (with `context.retryAfterMs`), 'server-fault' and the other
   * retryable kinds are retried, 'auth', 'permission' and 'request-rejected' stop the run.
   */
  statusError(response: FailedResponse): ApiError;
  /**
   * The error for a redirect (301, 302, 303, 307, 308), never followed (fetch's `redirect:
   * 'error'`: a POST must not turn into a GET without its body) nor retried; fetch keeps neither
   * the status nor the Location.
   */
  redirectError(endpoint: string): ApiError;
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
  readonly wording: ServiceWording;
  /** Returns a number in [0, 1) for backoff jitter; defaults to Math.random. */
  readonly random?: () => number;
  /** The run's signal (SIGTERM): aborts waits and in-flight requests; its reason is rethrown as is. */
  readonly signal?: AbortSignal;
  /** Defaults to globalThis.fetch. */
  readonly fetch?: typeof fetch;
}

/** What a reader gets besides the response: see ResponseReader. */
export interface Attempt extends AttemptClock {
  /** Server-provided text made safe to print: excerpted, never holding the token. */
  readonly excerpt: (text: string) => string;
}

/**
 * Consumes one response. `attempt.outside(promise)` marks time spent waiting on something other
 * than the server (a slow reader of stdout, say): the request timeout does not run meanwhile,
 * so back-pressure from the target never turns into a timeout and a download repeated for nothing.
 */
export type ResponseReader<T> = (response: Response, endpoint: string, attempt: Attempt) => Promise<T>;

export interface HttpClient {
  /**
   * POSTs the request and hands the response to `read`. Every attempt waits for the rate limiter;
   * `request_timeout` bounds the server's silence (to the response headers, then between chunks
   * of the body; see silenceTimeout), not the whole attempt. `read` may throw a
   * retryable ApiError (e.g. 'bad-response' for invalid JSON, 'server-fault' for `"error": true`);
   * the whole attempt is then retried under the same policy as a 5xx.
   *
   * Throws what ServiceWording.statusError makes of a non-2xx status (retried first when its kind
   * is retryable), ServiceWording.redirectError for a redirect, 'timeout' and 'network' ApiErrors,
   * or what `read` threw, once retries are used up. An abort of the run signal or of
   * `request.signal` rejects with its reason, at once, whether the request is queued, in flight
   * or between retries.
   */
  send<T>(request: ApiRequest, read: ResponseReader<T>): Promise<T>;
  /** Requests sent so far (attempts, including retries). */
  readonly requestCount: number;
}

/** Creates the client; see {@link HttpClient} for what each call does. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { http, clock, log } = options;
  const random = options.random ?? Math.random;
  const policy: RetryPolicy = { maxRetries: http.maxRetries, baseDelayMs: http.retryBaseDelayMs, maxDelayMs: http.retryMaxDelayMs };
  const wiring: Wiring = {
    options,
    fetch: options.fetch ?? globalThis.fetch,
    excerpt: (text) => safeExcerpt(text, options.apiToken),
    requestCount: 0,
  };

  async function send<T>(request: ApiRequest, read: ResponseReader<T>): Promise<T> {
    const query = new URLSearchParams(request.query ?? {}).toString();
    const target = query === '' ? request.path : `${request.path}?${query}`;
    const url = `${options.baseUrl}${target}`;
    const signal = anySignal(options.signal, request.signal);
    for (let retries = 0; ; retries += 1) {
      log.debug(`POST ${target}`, { attempt: retries + 1, body: JSON.stringify(request.body) });
      try {
        return await attempt(wiring, request, url, read, signal);
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

  return {
    send,
    get requestCount() {
      return wiring.requestCount;
    },
  };
}

/** What every attempt of one client shares. */
interface Wiring {
  readonly options: HttpClientOptions;
  readonly fetch: typeof fetch;
  readonly excerpt: (text: string) => string;
  requestCount: number;
}

/** One attempt: a turn from the rate limiter, the POST, the response handed to `read`; one metric. */
async function attempt<T>(
  wiring: Wiring,
  request: ApiRequest,
  url: string,
  read: ResponseReader<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const { http, limiter, clock, log, wording } = wiring.options;
  const endpoint = request.path;
  await limiter.acquire(signal);
  wiring.requestCount += 1;
  const startedMs = clock.nowMs();
  const watchdog = silenceTimeout(http.timeoutMs, clock);
  const state = { endpoint, signal, watchdog, timeoutMs: http.timeoutMs, status: 0, redirectError: (at: string) => wording.redirectError(at) };
  let outcome: 'succeeded' | 'failed' = 'failed';
  try {
    let response: Response;
    try {
      response = await wiring.fetch(url, requestInit(wiring.options, request, anySignal(signal, watchdog.signal)));
    } catch (error) {
      throw attemptFailure(error, false, state);
    }
    state.status = response.status;
    watchdog.headersReceived();
    response = watchdog.watchBody(response);
    limiter.observe(response.headers);
    try {
      if (!response.ok) {
        const body = await response.text();
        throw wording.statusError({ endpoint, status: response.status, headers: response.headers, body, nowMs: clock.nowMs(), excerpt: wiring.excerpt });
      }
      const result = await read(response, endpoint, { ...watchdog.clock, excerpt: wiring.excerpt });
      outcome = 'succeeded';
      return result;
    } catch (error) {
      throw attemptFailure(error, true, state);
    }
  } finally {
    watchdog.clear();
    log.metric({
      type: 'timer',
      metric: 'http_request_duration',
      value: (clock.nowMs() - startedMs) / 1000,
      tags: { endpoint, http_status_code: state.status, status: outcome },
    });
  }
}

function requestInit(options: HttpClientOptions, request: ApiRequest, signal: AbortSignal | undefined): RequestInit {
  return {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${options.apiToken}`,
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': options.userAgent,
    },
    body: JSON.stringify(request.body),
    // Never followed: a 302/303 would turn the POST into a GET without its body. fetch throws
    // instead, and the attempt fails with ServiceWording.redirectError, not retried.
    redirect: 'error',
    signal: signal ?? null,
  };
}

/** One signal that aborts when either does, with the reason of the first to abort. */
function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return AbortSignal.any([a, b]);
}
