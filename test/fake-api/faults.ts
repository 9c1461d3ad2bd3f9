/**
 * Scripted faults. `inject()` queues them; each incoming request is offered to the queue in
 * order and the first fault that matches it (endpoint, page, `after` used up) answers it.
 */

export type Endpoint = 'sessions' | 'visits' | 'conversions';

export const FAULT_KINDS = [
  '401',
  '403',
  '422',
  '429',
  '500',
  '502-html',
  'status',
  'reset-before',
  'reset-during',
  'slow',
  'truncate',
  'stall',
  'invalid-json',
  'error-true',
  'wrong-shape',
  'empty-body',
  'redirect',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  readonly kind: FaultKind;
  /** Only requests to this endpoint (default: any request, unknown paths included). */
  readonly endpoint?: Endpoint;
  /** Only this `?page=` of list-sessions (default: any; a fault with a page never matches other endpoints). */
  readonly page?: number;
  /** Let this many matching requests through before striking (default 0). */
  readonly after?: number;
  /** How many matching requests it strikes (default 1; Infinity allowed). */
  readonly times?: number;
  /** For '429': Retry-After seconds (default 1), or null to send no Retry-After. */
  readonly retryAfter?: number | null;
  /** For 'slow': milliseconds to wait before answering normally (default 1000). */
  readonly delayMs?: number;
  /** For 'status': the status to answer with (default 500); for 'redirect', a 3xx (default 302). */
  readonly status?: number;
  /** For 'redirect': the Location header (default `https://moved.example/api`, another host). */
  readonly location?: string;
  /** For a 429: the X-RateLimit-Remaining it reports (default 0, an exhausted quota; more = a proxy's 429). */
  readonly remaining?: number;
  /**
   * For the kinds with a canned answer ('401', '403', '422', '429', '500', '502-html', 'status',
   * 'error-true'): echo the request's Authorization header (the token) into the answer's message
   * (and a 422's field errors), as a careless server or proxy might. See withEchoedAuthorization.
   */
  readonly echoAuthorization?: boolean;
  /** With echoAuthorization: this many filler characters before the echo (to place it at a cut). */
  readonly echoPadding?: number;
}

interface Queued {
  readonly fault: Fault;
  skipped: number;
  struck: number;
}

export interface FaultQueue {
  add(fault: Fault): void;
  clear(): void;
  /** The fault that answers this request, if any; counts it as used. */
  take(endpoint: Endpoint | 'unknown', page: number | undefined): Fault | undefined;
  /** Faults not yet used up, in queue order. */
  pending(): Fault[];
}

function checkFault(fault: Fault): void {
  if (!FAULT_KINDS.includes(fault.kind)) throw new RangeError(`unknown fault kind: ${String(fault.kind)}`);
  const { after = 0, times = 1 } = fault;
  if (!Number.isInteger(after) || after < 0) throw new RangeError(`fault.after must be an integer >= 0, got ${after}`);
  if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) throw new RangeError(`fault.times must be an integer >= 1 or Infinity, got ${times}`);
  if (fault.kind === 'redirect' && fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 300 && fault.status <= 399)) {
    throw new RangeError(`fault.status of a redirect must be a 3xx, got ${fault.status}`);
  }
  if (fault.kind === 'status' && fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    throw new RangeError(`fault.status must be an HTTP status, got ${fault.status}`);
  }
}

export function createFaultQueue(): FaultQueue {
  let queue: Queued[] = [];
  return {
    add(fault) {
      checkFault(fault);
      queue.push({ fault: { ...fault }, skipped: 0, struck: 0 });
    },
    clear() {
      queue = [];
    },
    take(endpoint, page) {
      for (const entry of queue) {
        const { fault } = entry;
        if (fault.endpoint !== undefined && fault.endpoint !== endpoint) continue;
        if (fault.page !== undefined && (endpoint !== 'sessions' || page !== fault.page)) continue;
        if (entry.skipped < (fault.after ?? 0)) {
          entry.skipped += 1;
          continue;
        }
        entry.struck += 1;
        if (entry.struck >= (fault.times ?? 1)) queue = queue.filter((e) => e !== entry);
        return fault;
      }
      return undefined;
    },
    pending: () => queue.map((e) => e.fault),
  };
}

/** A complete answer the server writes as is. */
export interface CannedResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const json = (status: number, value: unknown, headers?: Record<string, string>): CannedResponse => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
  ...(headers === undefined ? {} : { headers }),
});

const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/**
 * The fixed answer of a fault kind, or undefined for the kinds that act on the connection or on
 * the real answer ('reset-before', 'reset-during', 'slow', 'truncate', 'stall').
 */
export function cannedFaultResponse(fault: Fault, endpoint: Endpoint | 'unknown'): CannedResponse | undefined {
  switch (fault.kind) {
    case '401':
      return json(401, { error: true, message: 'Unauthenticated.' });
    case '403':
      return json(403, { error: true, message: 'This action is unauthorized.' });
    case '422':
      return json(422, {
        message: 'The given data was invalid.',
        errors: { start_date: ['The start date does not match the format Y-m-d H:i:s.'] },
      });
    case '429': {
      const retryAfter = fault.retryAfter === undefined ? 1 : fault.retryAfter;
      return json(429, { error: true, message: 'Too Many Attempts.' }, retryAfter === null ? {} : { 'Retry-After': String(retryAfter) });
    }
    case '500':
      return json(500, { error: true, message: 'Server Error' });
    case '502-html':
      return { status: 502, contentType: 'text/html', body: BAD_GATEWAY_HTML };
    case 'status': {
      const status = fault.status ?? 500;
      return json(status, { error: true, message: `Injected status ${status}` });
    }
    case 'invalid-json':
      return { status: 200, contentType: 'application/json', body: '{"error": false, "data": [oops, this is not JSON' };
    case 'error-true':
      return json(200, { error: true, message: 'Something went wrong' });
    case 'wrong-shape':
      return endpoint === 'sessions'
        ? json(200, { error: false, message: 'Sessions retrieved', data: { current_page: 1, total: 0, per_page: 15 } })
        : json(200, { error: false, data: { unexpected: true } });
    case 'empty-body':
      return { status: 200, contentType: 'application/json', body: '' };
    case 'redirect':
      // As a proxy in front of an http:// base_url or a moved API would answer.
      return { status: fault.status ?? 302, contentType: 'text/html', body: '<html><body>Found</body></html>', headers: { Location: fault.location ?? 'https://moved.example/api' } };
    case 'reset-before':
    case 'reset-during':
    case 'slow':
    case 'truncate':
    case 'stall':
      return undefined;
  }
}

/**
 * `response` with the request's Authorization header written into it: into `message` (and, for a
 * 422, a field error) of a JSON body, or into the page of an HTML one. The test of the tap's
 * redaction: whatever the server echoes, the token must never reach stdout or stderr.
 */
export function withEchoedAuthorization(response: CannedResponse, authorization: string, padding = 0): CannedResponse {
  const echo = `${'x'.repeat(padding)}received Authorization: ${authorization}`;
  if (response.contentType !== 'application/json') {
    return { ...response, body: response.body.replace('</h1>', `</h1>\r\n<p>${echo}</p>`) };
  }
  const body = JSON.parse(response.body) as Record<string, unknown>;
  body.message = `${typeof body.message === 'string' ? body.message : ''} (${echo})`;
  if (typeof body.errors === 'object' && body.errors !== null) {
    body.errors = { ...(body.errors as Record<string, unknown>), authorization: [`The header ${authorization} is not accepted here.`] };
  }
  return { ...response, body: JSON.stringify(body) };
}
