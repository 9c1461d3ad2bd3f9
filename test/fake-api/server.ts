import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDataset, type ConversionItem, type Dataset, type DatasetOptions, type SessionItem, type VisitItem } from './dataset.js';
import { wireJson } from './drift.js';
import { cannedFaultResponse, createFaultQueue, withEchoedAuthorization, type CannedResponse, type Endpoint, type Fault, type FaultKind } from './faults.js';
import { paginate } from './paginator.js';
import { createRateLimiter, type RateDecision, type RateLimitOptions } from './rate-limit.js';
import { laravelMessage, validateChildrenBody, validateSessionsBody, type ChildrenQuery, type FieldErrors, type SessionsQuery } from './validation.js';

/**
 * A node:http server on 127.0.0.1 that implements the Wemasy Analytics API contract
 * (/work/shared/api/wemasy-analytics.md) over the deterministic dataset, with scripted faults.
 * Run it alone with `npm run server` or `npx tsx test/fake-api/standalone.ts --port 8787 --zone Europe/Amsterdam`.
 */

export type { Endpoint, Fault, FaultKind } from './faults.js';

/** Endpoint paths below the base URL (API contract, sections 1-3). */
export const API_PATHS: Readonly<Record<Endpoint, string>> = {
  sessions: '/services/analytics/v1/project/sessions',
  visits: '/services/analytics/v1/sessions/get-visits',
  conversions: '/services/analytics/v1/sessions/get-conversions',
};
/** The base URL's path; the tap's base_url is `http://127.0.0.1:<port>/api`. */
export const API_PREFIX = '/api';
export const DEFAULT_TOKEN = 'test-token';
/** Laravel's default page size, used when list-sessions gets no per_page. */
export const DEFAULT_PER_PAGE = 15;
/** How long 'reset-during' lets the partial body travel before it resets the connection. */
const RESET_DURING_DELAY_MS = 20;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * A body sent slowly: `bytesPerChunk` bytes, then a pause of `intervalMs`, until it is all sent
 * (of 200 answers of these endpoints; default all three).
 */
export interface BodyRate {
  readonly bytesPerChunk: number;
  readonly intervalMs: number;
  readonly endpoints?: readonly Endpoint[];
}

export interface FakeApiOptions {
  /** The Bearer token accepted. Default 'test-token'. */
  readonly token?: string;
  /** A dataset, or the options to create one. Default: createDataset(). */
  readonly dataset?: Dataset | DatasetOptions;
  /** Default 60 requests per 60 000 ms, in fixed windows from server start (or reset()). */
  readonly rateLimit?: RateLimitOptions;
  /** Send `Retry-After` on the rate limiter's own 429s. Default true. */
  readonly retryAfter?: boolean;
  /** per_page above this is capped. Default 100. */
  readonly maxPerPage?: number;
  /**
   * Most session_ids one get-visits or get-conversions request may carry (Laravel's `max:N`
   * array rule): above it the answer is a 422 `{"message": "The session ids field must not have
   * more than N items.", "errors": {"session_ids": [that message]}}`, or the status given by
   * `sessionIdsRefusal` (a proxy's 413 or 414, with an HTML body). Default: no limit.
   */
  readonly maxSessionIds?: number;
  readonly sessionIdsRefusal?: 413 | 414 | 422;
  /** These endpoints answer 403 to an authorized request. */
  readonly forbidden?: readonly Endpoint[];
  /** Port on 127.0.0.1; default 0 (any free port). */
  readonly port?: number;
  /** The rate limiter's clock, in epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Called with one line per answered (or dropped) request. */
  readonly log?: (line: string) => void;
  /** Send bodies slowly, at this rate (see setBodyRate). Default: at once. */
  readonly bodyRate?: BodyRate;
}

export interface RecordedRequest {
  readonly endpoint: Endpoint | 'unknown';
  readonly method: string;
  /** URL path, e.g. '/api/services/analytics/v1/project/sessions'. */
  readonly path: string;
  /** The query string's parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** list-sessions' page number (1 when absent or not a positive integer); undefined for other endpoints. */
  readonly page: number | undefined;
  /** The parsed JSON body; undefined when the body is empty or not JSON (see rawBody). */
  body: unknown;
  rawBody: string;
  /** Request headers, lower-case names, `authorization` removed (the token is never stored). */
  readonly headers: Readonly<Record<string, string>>;
  /** True when the request carried the right Bearer token. */
  readonly authorized: boolean;
  /** The status sent; 0 when the connection was dropped (reset, dead API) or no answer was written. */
  status: number;
  /** When the request arrived, by the server's clock (`now`). */
  readonly atMs: number;
  /** The injected fault that answered it, or 'dead' after dieAfter(). */
  fault?: FaultKind | 'dead';
  /** True when the client closed the connection before the answer was complete (an aborted request). */
  closedByClient?: boolean;
}

export interface FakeApi {
  /** The base URL to give the tap, e.g. 'http://127.0.0.1:40123/api'. */
  readonly url: string;
  readonly port: number;
  readonly dataset: Dataset;
  /** Every request in arrival order; cleared (same array) by reset(). */
  readonly requests: RecordedRequest[];
  /** Queues a fault (see faults.ts for matching). Throws a RangeError for a malformed fault. */
  inject(fault: Fault): void;
  /** Faults not yet used up. */
  pendingFaults(): Fault[];
  /** After `n` more requests, destroy the socket of every request without an answer. */
  dieAfter(n: number): void;
  /** Undoes dieAfter(). */
  revive(): void;
  /** Sends later bodies at this rate (undefined: at once). reset() restores the option's rate. */
  setBodyRate(rate: BodyRate | undefined): void;
  /** Clears requests and faults, revives, and restarts the rate-limit window. */
  reset(): void;
  /** Stops listening, drops open connections and pending slow answers. Idempotent. */
  close(): Promise<void>;
}

function isDataset(value: Dataset | DatasetOptions | undefined): value is Dataset {
  return typeof value === 'object' && typeof (value as Partial<Dataset>).sessionsCreatedIn === 'function';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function endpointOf(pathname: string): Endpoint | 'unknown' {
  for (const [endpoint, path] of Object.entries(API_PATHS) as [Endpoint, string][]) {
    if (pathname === API_PREFIX + path) return endpoint;
  }
  return 'unknown';
}

/** Laravel reads a page that is not a positive integer as page 1. */
function pageOf(value: string | null): number {
  const n = value === null ? NaN : Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

function safeHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'authorization' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const json = (status: number, value: unknown, headers?: Record<string, string>): CannedResponse => ({
  status,
  contentType: 'application/json',
  body: wireJson(value),
  ...(headers === undefined ? {} : { headers }),
});

const invalid = (errors: FieldErrors): CannedResponse => json(422, { message: 'The given data was invalid.', errors });

function matchesFilter(actual: unknown, wanted: unknown): boolean {
  if (wanted === null) return actual === null || actual === undefined;
  if (Array.isArray(wanted)) return wanted.some((w) => matchesFilter(actual, w));
  if (actual === undefined || actual === null || typeof wanted === 'object') return false;
  const text = scalarText(actual);
  return text !== undefined && text === scalarText(wanted);
}

/** A JSON scalar as the text a query parameter would carry; `undefined` for anything else. */
function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** Sorts on the column like SQL ORDER BY, then on id ascending so that pages are stable. */
function sortSessions(items: SessionItem[], key: SessionsQuery['sortKey'], order: 'asc' | 'desc'): SessionItem[] {
  const sign = order === 'desc' ? -1 : 1;
  return items.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    const base = typeof x === 'number' && typeof y === 'number' ? x - y : x < y ? -1 : x > y ? 1 : 0;
    return sign * base || a.id - b.id;
  });
}

/** Marks `record` closedByClient when the connection closes before its answer is complete. */
function noteClientClose(res: ServerResponse, record: RecordedRequest): void {
  res.on('close', () => {
    if (!res.writableFinished && record.fault !== 'dead') record.closedByClient = true;
  });
}

export async function startFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  const token = options.token ?? DEFAULT_TOKEN;
  const dataset = isDataset(options.dataset) ? options.dataset : createDataset(options.dataset);
  const now = options.now ?? Date.now;
  const limiter = createRateLimiter(options.rateLimit ?? { limit: 60, windowMs: 60_000 }, now);
  const sendRetryAfter = options.retryAfter ?? true;
  const maxPerPage = options.maxPerPage ?? 100;
  const forbidden = new Set(options.forbidden ?? []);
  const faults = createFaultQueue();
  const requests: RecordedRequest[] = [];
  const waits = new Set<{ timer: NodeJS.Timeout; done: (completed: boolean) => void }>();
  let dieBudget: number | undefined;
  let bodyRate = checkBodyRate(options.bodyRate);
  let closed = false;
  let baseUrl = '';

  /** Resolves true after `ms`, or false at once when the server closes first. */
  const pause = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (closed) {
        resolve(false);
        return;
      }
      const wait = {
        timer: setTimeout(() => {
          waits.delete(wait);
          resolve(true);
        }, Math.max(0, ms)),
        done: resolve,
      };
      waits.add(wait);
    });

  const takeDeath = (): boolean => {
    if (dieBudget === undefined) return false;
    if (dieBudget <= 0) return true;
    dieBudget -= 1;
    return false;
  };

  const isAuthorized = (req: IncomingMessage): boolean => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match !== null && match[1] === token;
  };

  const rateHeaders = (decision: RateDecision): Record<string, string> => ({
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
  });

  const listSessions = (query: SessionsQuery, page: number): CannedResponse => {
    const matching = dataset
      .sessionsInLocalRange(query.startDate, query.endDate, { includeIpAddresses: query.includeIpAddresses })
      .map((entry) => (dataset.live ? dataset.liveItem('sessions', entry, now()) : entry.item))
      .filter((item): item is SessionItem => item !== undefined)
      .filter((item) => Object.entries(query.filters).every(([field, wanted]) => matchesFilter((item as unknown as Record<string, unknown>)[field], wanted)));
    const perPage = Math.min(query.perPage ?? DEFAULT_PER_PAGE, maxPerPage);
    const body = paginate(sortSessions(matching, query.sortKey, query.sortOrder), page, perPage, baseUrl + API_PATHS.sessions);
    return json(200, { error: false, message: 'Sessions retrieved', data: body });
  };

  const listChildren = (query: ChildrenQuery, kind: 'visits' | 'conversions'): CannedResponse => {
    const wantedIds = query.ids === undefined ? undefined : new Set(query.ids);
    const found: { id: number; wire: unknown }[] = [];
    for (const sessionId of new Set(query.sessionIds)) {
      const children = kind === 'visits' ? dataset.visitsOf(sessionId) : dataset.conversionsOf(sessionId);
      for (const child of children) {
        const served = dataset.live ? dataset.liveItem<VisitItem | ConversionItem>(kind, child, now()) : child.item;
        if (served === undefined) continue;
        const item = served as { created_at: string; type?: string };
        if (wantedIds !== undefined && !wantedIds.has(child.id)) continue;
        if (query.types !== undefined && !query.types.includes(item.type ?? '')) continue;
        if (query.startDate !== undefined && item.created_at < query.startDate) continue;
        if (query.endDate !== undefined && item.created_at > query.endDate) continue;
        found.push({ id: child.id, wire: kind === 'visits' && dataset.options.bareVisitIds ? child.id : served });
      }
    }
    found.sort((a, b) => a.id - b.id);
    return json(200, { error: false, data: query.key === 'count' ? found.length : found.map((f) => f.wire) });
  };

  /** The answer the API itself would give, faults aside. */
  const realAnswer = (record: RecordedRequest, decision: RateDecision): CannedResponse => {
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.resetInMs / 1000));
      const headers: Record<string, string> = { 'X-RateLimit-Reset': String(Math.ceil((now() + decision.resetInMs) / 1000)) };
      if (sendRetryAfter) headers['Retry-After'] = String(seconds);
      return json(429, { error: true, message: 'Too Many Attempts.' }, headers);
    }
    const { endpoint } = record;
    if (endpoint === 'unknown') return json(404, { error: true, message: 'Not Found' });
    if (record.method !== 'POST') {
      return json(405, { error: true, message: `The ${record.method} method is not supported for this route. Supported methods: POST.` }, { Allow: 'POST' });
    }
    if (!record.authorized) return json(401, { error: true, message: 'Unauthenticated.' });
    if (forbidden.has(endpoint)) return json(403, { error: true, message: 'This action is unauthorized.' });
    // Laravel reads a body that is not a JSON object as no input at all.
    const body = isObject(record.body) ? record.body : {};
    if (endpoint === 'sessions') {
      const checked = validateSessionsBody(body, dataset);
      return checked.ok ? listSessions(checked.value, record.page ?? 1) : invalid(checked.errors);
    }
    const tooMany = options.maxSessionIds !== undefined && Array.isArray(body.session_ids) && body.session_ids.length > options.maxSessionIds;
    if (tooMany && options.sessionIdsRefusal !== undefined && options.sessionIdsRefusal !== 422) {
      const status = options.sessionIdsRefusal;
      const title = status === 413 ? '413 Request Entity Too Large' : '414 Request-URI Too Large';
      return { status, contentType: 'text/html', body: `<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center><hr><center>nginx</center></body></html>` };
    }
    const checked = validateChildrenBody(body, dataset, endpoint, options.maxSessionIds);
    if (checked.ok) return listChildren(checked.value, endpoint);
    return tooMany ? json(422, { message: laravelMessage(checked.errors), errors: checked.errors }) : invalid(checked.errors);
  };

  const headersFor = (answer: CannedResponse, decision: RateDecision, contentLength: number): Record<string, string | number> => ({
    'Content-Type': answer.contentType,
    'Content-Length': contentLength,
    'Cache-Control': 'no-cache, private',
    ...rateHeaders(decision),
    ...answer.headers,
  });

  const logLine = (record: RecordedRequest): void => {
    if (options.log === undefined) return;
    const page = record.page === undefined ? '' : ` page=${record.page}`;
    const fault = record.fault === undefined ? '' : ` fault=${record.fault}`;
    options.log(`${record.method} ${record.path} -> ${record.status === 0 ? 'dropped' : record.status} (${record.endpoint}${page}${fault})`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const endpoint = endpointOf(url.pathname);
    const record: RecordedRequest = {
      endpoint,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      page: endpoint === 'sessions' ? pageOf(url.searchParams.get('page')) : undefined,
      body: undefined,
      rawBody: '',
      headers: safeHeaders(req.headers),
      authorized: isAuthorized(req),
      status: 0,
      atMs: now(),
    };
    requests.push(record);
    noteClientClose(res, record);
    if (takeDeath()) {
      record.fault = 'dead';
      req.socket.destroy();
      logLine(record);
      return;
    }
    try {
      record.rawBody = await readBody(req);
    } catch {
      req.socket.destroy();
      return;
    }
    try {
      record.body = record.rawBody === '' ? undefined : JSON.parse(record.rawBody);
    } catch {
      record.body = undefined;
    }

    let decision = limiter.hit();
    const fault = faults.take(endpoint, record.page);
    if (fault !== undefined) record.fault = fault.kind;
    if (fault?.kind === 'reset-before') {
      req.socket.resetAndDestroy();
      logLine(record);
      return;
    }
    if (fault?.kind === 'slow' && !(await pause(fault.delayMs ?? 1000))) return;
    if (res.destroyed) {
      logLine(record);
      return;
    }

    let canned = fault === undefined ? undefined : cannedFaultResponse(fault, endpoint);
    if (canned !== undefined && fault?.echoAuthorization === true) canned = withEchoedAuthorization(canned, req.headers.authorization ?? '', fault.echoPadding);
    if (canned?.status === 429) decision = { ...decision, remaining: fault?.remaining ?? 0 };
    let answer: CannedResponse;
    try {
      answer = canned ?? realAnswer(record, decision);
    } catch (error) {
      answer = json(500, { error: true, message: `Server Error: ${error instanceof Error ? error.message : String(error)}` });
    }
    const bytes = Buffer.from(answer.body, 'utf8');

    if (fault?.kind === 'stall') {
      // Announce the whole body, send its first half (at the body rate, if one is set), then
      // send nothing more: the connection stays open until the client gives up or close().
      record.status = answer.status;
      res.writeHead(answer.status, headersFor(answer, decision, bytes.length));
      res.flushHeaders();
      logLine(record);
      await writeSlowly(res, bytes.subarray(0, Math.floor(bytes.length / 2)), bodyRate);
      return;
    }

    if (fault?.kind === 'truncate' || fault?.kind === 'reset-during') {
      // Announce the whole body, send its first half, then drop the connection: closed
      // gracefully for 'truncate', reset (RST) for 'reset-during'.
      const kind = fault.kind;
      record.status = kind === 'truncate' ? answer.status : 0;
      res.writeHead(answer.status, headersFor(answer, decision, bytes.length));
      res.flushHeaders();
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => {
        if (kind === 'truncate') {
          res.socket?.destroy();
          return;
        }
        void pause(RESET_DURING_DELAY_MS).then(() => res.socket?.resetAndDestroy());
      });
      logLine(record);
      return;
    }

    record.status = answer.status;
    res.writeHead(answer.status, headersFor(answer, decision, bytes.length));
    if (bodyRate !== undefined && answer.status === 200 && endpoint !== 'unknown' && (bodyRate.endpoints ?? [endpoint]).includes(endpoint)) {
      logLine(record);
      if (await writeSlowly(res, bytes, bodyRate)) res.end();
      return;
    }
    res.end(bytes);
    logLine(record);
  };

  /** Writes `bytes` at `rate` (at once without one); false when the client or the server went away first. */
  const writeSlowly = async (res: ServerResponse, bytes: Buffer, rate: BodyRate | undefined): Promise<boolean> => {
    const step = rate?.bytesPerChunk ?? bytes.length;
    for (let at = 0; at < bytes.length; at += step) {
      if (res.destroyed) return false;
      res.write(bytes.subarray(at, at + step));
      if (rate !== undefined && at + step < bytes.length && !(await pause(rate.intervalMs))) return false;
    }
    return !res.destroyed;
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}${API_PREFIX}`;
  let closing: Promise<void> | undefined;

  return {
    url: baseUrl,
    port,
    dataset,
    requests,
    inject: (fault) => faults.add(fault),
    pendingFaults: () => faults.pending(),
    dieAfter(n) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`dieAfter(n) needs an integer >= 0, got ${n}`);
      dieBudget = n;
    },
    revive() {
      dieBudget = undefined;
    },
    setBodyRate(rate) {
      bodyRate = checkBodyRate(rate);
    },
    reset() {
      requests.length = 0;
      faults.clear();
      dieBudget = undefined;
      bodyRate = checkBodyRate(options.bodyRate);
      limiter.reset();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const wait of waits) {
          clearTimeout(wait.timer);
          wait.done(false);
        }
        waits.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function checkBodyRate(rate: BodyRate | undefined): BodyRate | undefined {
  if (rate === undefined) return undefined;
  if (!Number.isInteger(rate.bytesPerChunk) || rate.bytesPerChunk < 1) throw new RangeError(`bodyRate.bytesPerChunk must be an integer >= 1, got ${rate.bytesPerChunk}`);
  if (!(rate.intervalMs >= 0)) throw new RangeError(`bodyRate.intervalMs must be >= 0, got ${rate.intervalMs}`);
  return rate;
}
