import { ApiError, TapError } from '../errors.js';

/** What went wrong in one attempt, as the client knows it when fetch or a body read throws. */
export interface AttemptState {
  readonly endpoint: string;
  /** The request's own signal (run and per-request signals combined), if any. */
  readonly signal: AbortSignal | undefined;
  /** The silence watchdog: aborted when the server was silent for `timeoutMs`. */
  readonly watchdog: { readonly signal: AbortSignal; readonly inBody: boolean };
  readonly timeoutMs: number;
  /** The response status, 0 before the headers came. */
  readonly status: number;
  /** The error of a redirect, which the client never follows (the service's wording). */
  redirectError(endpoint: string): ApiError;
}

/**
 * Turns what fetch (`whileReading` false) or a body read (true) threw into the error the retry
 * loop sees: the abort reason of the caller's signal as is; a 'timeout' when the watchdog fired;
 * a refused redirect (not retried); a 'network' error for a failed connection. A TapError (from
 * the reader) and, while reading, anything that is not a connection failure (a bug) pass as is.
 */
export function attemptFailure(error: unknown, whileReading: boolean, state: AttemptState): unknown {
  const { endpoint, status } = state;
  if (state.signal?.aborted) return state.signal.reason;
  if (state.watchdog.signal.aborted) {
    const seconds = state.timeoutMs / 1000;
    const message = state.watchdog.inBody
      ? `the body of POST ${endpoint} stalled: nothing received for ${seconds} s`
      : `no response within ${seconds} s on POST ${endpoint}`;
    return new ApiError('timeout', message, { endpoint, status: status || undefined });
  }
  if (error instanceof TapError) return error;
  if (!whileReading && isRefusedRedirect(error)) return state.redirectError(endpoint);
  if (whileReading && !looksLikeNetworkFailure(error)) return error;
  const message = `network error on POST ${endpoint}: ${describeNetworkError(error)}`;
  return new ApiError('network', message, { endpoint, status: status || undefined }, { cause: error });
}

/**
 * fetch's answer to a 301, 302, 303, 307 or 308 under `redirect: 'error'`: a TypeError "fetch
 * failed" whose cause says "unexpected redirect" (undici; the status and Location are not kept).
 */
function isRefusedRedirect(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  for (let e: unknown = error.cause, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    if (/\bredirect\b/i.test(e.message)) return true;
  }
  return false;
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

/** A retryable error that used up its retries, with a message that says so. */
export function gaveUp(error: unknown, retries: number): unknown {
  if (!(error instanceof TapError) || !error.retryable) return error;
  const message = `gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'}: ${error.message}`;
  return error instanceof ApiError
    ? new ApiError(error.kind, message, error.context, { cause: error })
    : new TapError(error.kind, message, { cause: error });
}
