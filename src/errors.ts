/**
 * The tap's error family, typed by what the caller should do next.
 *
 * - `retryable` errors are retried by the HTTP client (bounded by `max_retries`).
 * - `userInput` errors (config, state, catalog, command line) exit with code 2 and never print
 *   a stack trace; everything else exits with code 1.
 * Messages name what the user can act on and never contain the API token.
 */
export type ErrorKind =
  | 'usage'
  | 'config'
  | 'state'
  | 'catalog'
  | 'auth'
  | 'permission'
  | 'request-rejected'
  | 'rate-limited'
  | 'server-fault'
  | 'bad-response'
  | 'network'
  | 'timeout'
  | 'record-invalid'
  | 'interrupted'
  | 'output-closed';

const USER_INPUT_KINDS: ReadonlySet<ErrorKind> = new Set(['usage', 'config', 'state', 'catalog']);
const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set([
  'rate-limited',
  'server-fault',
  'bad-response',
  'network',
  'timeout',
]);

export class TapError extends Error {
  override name = 'TapError';
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }

  /** The HTTP client retries this error (after a wait) instead of failing the run. */
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }

  /** The user gave the tap something wrong (config, state, catalog, flags). */
  get userInput(): boolean {
    return USER_INPUT_KINDS.has(this.kind);
  }
}

/** Details of an API call that failed; everything here is safe to print. */
export interface ApiErrorContext {
  /** Endpoint path, e.g. `/services/analytics/v1/sessions/get-visits`. */
  readonly endpoint: string;
  /** HTTP status, when a response arrived. */
  readonly status?: number | undefined;
  /** Wait the server asked for (`Retry-After`), in milliseconds. */
  readonly retryAfterMs?: number | undefined;
  /** Per-field errors of a rejected request (Wemasy's: Laravel's 422, read in api/responses.ts). */
  readonly fieldErrors?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** An error from talking to an HTTP API (http/client.ts, worded by the service's api/): a status, a fault, a bad body. */
export class ApiError extends TapError {
  override name = 'ApiError';
  readonly context: ApiErrorContext;

  constructor(kind: ErrorKind, message: string, context: ApiErrorContext, options?: ErrorOptions) {
    super(kind, message, options);
    this.context = context;
  }
}

/** Exit code for an error reaching the CLI edge: 2 for user input, 1 for everything else. */
export function exitCodeOf(error: unknown): 1 | 2 {
  return error instanceof TapError && error.userInput ? 2 : 1;
}

/** One line describing any thrown value, for the CRITICAL log line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.replace(/\s*\n\s*/g, ' ');
  return String(error);
}
