import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock, type Clock } from '../src/clock.js';
import type { HttpSettings } from '../src/config/settings-types.js';
import { ApiError, type ErrorKind } from '../src/errors.js';
import { postJson, wemasyWording } from '../src/api/responses.js';
import { createHttpClient, type ApiRequest, type HttpClient, type HttpClientOptions } from '../src/http/client.js';
import { createRateLimiter, type RateLimiter } from '../src/http/rate-limiter.js';
import { createLogger } from '../src/log.js';
import { fakeClock, type FakeClock } from './helpers/in-process.js';

const TOKEN = 'tok-SECRET-7f3a9c1e5b';
const PATH = '/services/analytics/v1/sessions/get-visits';
const HTTP: HttpSettings = {
  requestsPerMinute: 60_000,
  rateLimitWindowMs: 60_000,
  // Far above how long a test request takes even on a loaded machine: only the timeout tests
  // below, which use SHORT_TIMEOUT, depend on the limit being reached.
  timeoutMs: 5_000,
  maxRetries: 3,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 50,
};

// ---------------------------------------------------------------------------------------------
// A scripted server: each request takes the next step; the last step repeats.

type Step = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface TestServer {
  readonly url: string;
  readonly seen: Seen[];
  script(...steps: Step[]): void;
  close(): Promise<void>;
}

async function startServer(): Promise<TestServer> {
  const seen: Seen[] = [];
  let steps: Step[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const step = steps.length > 1 ? steps.shift() : steps[0];
      (step ?? json(599, { error: true, message: 'unscripted request' }))(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    script: (...next) => void (steps = next),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const RATE_HEADERS = { 'X-RateLimit-Limit': '60000', 'X-RateLimit-Remaining': '59000' };

function raw(status: number, text: string, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    if (res.destroyed) return;
    res.writeHead(status, { ...RATE_HEADERS, ...headers });
    res.end(text);
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return raw(status, JSON.stringify(body), { 'Content-Type': 'application/json', ...headers });
}

const ok = (data: unknown = []): Step => json(200, { error: false, data });

/** Answers only after `ms`. */
const late = (ms: number, step: Step): Step => (req, res) => void setTimeout(() => step(req, res), ms);

/** Sends the headers and half a body, then stalls for `ms` before finishing. */
const stallingBody =
  (ms: number): Step =>
  (_req, res) => {
    res.writeHead(200, { ...RATE_HEADERS, 'Content-Type': 'application/json', 'Content-Length': '32' });
    res.write('{"error": false, ');
    setTimeout(() => void (res.destroyed || res.end('"data": [1]}    ')), ms);
  };

/** Sends `{"error": false, "data": [0, 1, ...]}` in `chunks` pieces, one every `everyMs`. */
const tricklingBody =
  (chunks: number, everyMs: number): Step =>
  (_req, res) => {
    const items = Array.from({ length: chunks }, (_, i) => `${i}`);
    const parts = ['{"error": false, "data": [', ...items.map((item, i) => (i === 0 ? item : `, ${item}`)), ']}'];
    res.writeHead(200, { ...RATE_HEADERS, 'Content-Type': 'application/json' });
    const next = (): void => {
      if (res.destroyed) return;
      const part = parts.shift();
      if (part === undefined) {
        res.end();
        return;
      }
      res.write(part);
      setTimeout(next, everyMs);
    };
    next();
  };

/** Drops the connection before any response. */
const hangUp: Step = (req) => void req.socket.destroy();

/** Promises a 100-byte body, sends part of it, then drops the connection. */
const cutBody: Step = (_req, res) => {
  res.writeHead(200, { ...RATE_HEADERS, 'Content-Type': 'application/json', 'Content-Length': '100' });
  res.write('{"error": false, "data": [{"id": 1}, ');
  setTimeout(() => res.socket?.destroy(), 10);
};

// ---------------------------------------------------------------------------------------------
// Per-test wiring: a client, a captured log, and the checks every test shares.

let server: TestServer;
let lines: string[];
let thrown: unknown[];

beforeEach(async () => {
  server = await startServer();
  lines = [];
  thrown = [];
});

afterEach(async () => {
  await server.close();
  // The token travels only in the Authorization header: never in a log line or an error.
  for (const line of lines) expect(line).not.toContain(TOKEN);
  for (const error of thrown) expect(String(error instanceof Error ? error.message : error)).not.toContain(TOKEN);
});

/** The HTTP client with Wemasy's wording, and postJson (src/api/responses.ts) on top, as the tap wires them. */
type TestClient = HttpClient & {
  postJson<T = unknown>(request: ApiRequest, check?: (body: unknown, endpoint: string) => T): Promise<T>;
};

function makeClient(overrides: Partial<HttpClientOptions> = {}): { client: TestClient; limiter: RateLimiter } {
  const clock = overrides.clock ?? systemClock;
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  const limiter = overrides.limiter ?? createRateLimiter({ requestsPerMinute: HTTP.requestsPerMinute, clock, log });
  const http = createHttpClient({
    baseUrl: `${server.url}/api`,
    apiToken: TOKEN,
    userAgent: 'tap-wemasy/0.1.0 (test)',
    http: HTTP,
    limiter,
    clock,
    log,
    wording: wemasyWording,
    random: () => 0,
    ...overrides,
  });
  const client: TestClient = {
    send: (request, read) => http.send(request, read),
    get requestCount() {
      return http.requestCount;
    },
    postJson: (request, check) => postJson(http, request, check),
  };
  return { client, limiter };
}

/** Runs the request, expects an ApiError of `kind`, and returns it. */
async function failure(promise: Promise<unknown>, kind: ErrorKind): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  thrown.push(error);
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError.kind, apiError.message).toBe(kind);
  return apiError;
}

const warnings = (): string[] => lines.filter((line) => line.includes(' WARN '));
const metrics = (): Array<{ value: number; tags: Record<string, unknown> }> =>
  lines.filter((line) => line.startsWith('INFO METRIC: ')).map((line) => JSON.parse(line.slice(13)) as { value: number; tags: Record<string, unknown> });

/** The system clock, except that sleeping is fast-forwarded: each wait is recorded, and time jumps by it. */
function fastForwardClock(): { clock: Clock; waits: number[] } {
  const waits: number[] = [];
  let offsetMs = 0;
  const nowMs = (): number => Date.now() + offsetMs;
  return {
    waits,
    clock: {
      ...systemClock,
      nowMs,
      now: () => DateTime.fromMillis(nowMs(), { zone: 'utc' }),
      sleep: async (ms, signal) => {
        waits.push(ms);
        const real = Math.min(ms, 2);
        await systemClock.sleep(real, signal);
        offsetMs += Math.max(0, ms - real);
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe('a successful request', () => {
  it('POSTs JSON with the auth, accept, content-type and user-agent headers', async () => {
    server.script(ok([{ id: 1 }]));
    const { client, limiter } = makeClient();
    const body = { key: 'list', session_ids: [1, '2'] };
    const result = await client.postJson({ path: PATH, body, query: { page: '2' } });

    expect(result).toEqual({ error: false, data: [{ id: 1 }] });
    expect(client.requestCount).toBe(1);
    expect(server.seen).toHaveLength(1);
    const [request] = server.seen;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/api${PATH}?page=2`);
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe('tap-wemasy/0.1.0 (test)');
    expect(JSON.parse(request?.body ?? '')).toEqual(body);
    expect(limiter.remaining).toBe(59_000);
  });

  it('logs the request at DEBUG without headers, and one metric per attempt', async () => {
    server.script(ok());
    const { client } = makeClient();
    await client.postJson({ path: PATH, body: { key: 'count' }, query: { page: '3' } });

    const debug = lines.filter((line) => line.includes(' DEBUG POST '));
    expect(debug).toHaveLength(1);
    expect(debug[0]).toContain(`POST ${PATH}?page=3`);
    expect(debug[0]).toContain('{\\"key\\":\\"count\\"}');
    expect(lines.join('')).not.toMatch(/authorization|bearer/i);
    expect(metrics()).toEqual([
      {
        type: 'timer',
        metric: 'http_request_duration',
        value: expect.any(Number) as number,
        tags: { endpoint: PATH, http_status_code: 200, status: 'succeeded' },
      },
    ]);
  });

  it('sends no query string when there is none', async () => {
    server.script(ok());
    const { client } = makeClient();
    await client.postJson({ path: PATH, body: {} });
    expect(server.seen[0]?.url).toBe(`/api${PATH}`);
  });
});

describe('statuses that stop the run at once', () => {
  it('401: says the token was refused, never retries, never shows the token', async () => {
    server.script(json(401, { error: true, message: `Unauthenticated: token ${TOKEN} is unknown` }));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'auth');

    expect(error.message).toBe(`Wemasy refused the API token (401) on POST ${PATH}: Unauthenticated: token *** is unknown`);
    expect(error.context).toEqual({ endpoint: PATH, status: 401 });
    expect(server.seen).toHaveLength(1);
    expect(client.requestCount).toBe(1);
    expect(warnings()).toEqual([]);
  });

  it('403: names the endpoint, never retries', async () => {
    server.script(json(403, { error: true, message: 'This action is unauthorized.' }));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'permission');

    expect(error.message).toBe(`Wemasy denied the API token access to POST ${PATH} (403): This action is unauthorized.`);
    expect(server.seen).toHaveLength(1);
  });

  it('422: lists the field errors, never retries', async () => {
    server.script(
      json(422, {
        message: 'The given data was invalid.',
        errors: {
          start_date: ['The start date does not match the format Y-m-d H:i:s.'],
          session_ids: ['The session ids field is required.', 'The session ids must be an array.'],
        },
      }),
    );
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'request-rejected');

    expect(error.message).toBe(
      `Wemasy rejected POST ${PATH} (422): start_date: The start date does not match the format Y-m-d H:i:s.; ` +
        'session_ids: The session ids field is required., The session ids must be an array.',
    );
    expect(error.context.fieldErrors).toEqual({
      start_date: ['The start date does not match the format Y-m-d H:i:s.'],
      session_ids: ['The session ids field is required.', 'The session ids must be an array.'],
    });
    expect(server.seen).toHaveLength(1);
  });

  it('another 4xx is a rejected request, not retried', async () => {
    server.script(raw(404, '<html><body><h1>Not Found</h1></body></html>', { 'Content-Type': 'text/html' }));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'request-rejected');
    expect(error.message).toBe(`Wemasy answered 404 to POST ${PATH}: Not Found`);
    expect(server.seen).toHaveLength(1);
  });
});

describe('redirects', () => {
  const REDIRECT_MESSAGE =
    `Wemasy answered POST ${PATH} with a redirect, which the tap does not follow (a POST must not become a GET): ` +
    'check base_url (https://, not http://; the API root, default https://api.wemasy.nl/api)';

  it.each([301, 302, 303, 307, 308])('%i: not followed (no GET, no second POST), not retried, one line naming base_url, never the token', async (status) => {
    // The server answers every request with the redirect: a followed one would show as a GET (301-303) or a second POST (307, 308).
    server.script(raw(status, '<html><body>Moved</body></html>', { 'Content-Type': 'text/html', Location: `${server.url}/api/moved?api_token=${TOKEN}` }));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: { page: 1 } }), 'request-rejected');
    expect(error.message).toBe(REDIRECT_MESSAGE);
    expect(error.retryable).toBe(false);
    expect(server.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual([`POST /api${PATH}`]);
    expect(warnings()).toEqual([]);
    expect(metrics().map((m) => m.tags)).toEqual([{ endpoint: PATH, http_status_code: 0, status: 'failed' }]);
  });

  it('a 3xx that is not a redirect (304) is a rejected request with its status, not retried', async () => {
    server.script(raw(304, ''));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'request-rejected');
    expect(error.message).toBe(`Wemasy answered 304 to POST ${PATH}: (empty body)`);
    expect(server.seen).toHaveLength(1);
  });
});

describe('server faults', () => {
  it('retries 5xx with backoff and succeeds', async () => {
    server.script(json(500, { error: true, message: 'Server Error' }), json(503, { error: true, message: 'down' }), ok([7]));
    const { client } = makeClient();
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: [7] });

    expect(server.seen).toHaveLength(3);
    expect(client.requestCount).toBe(3);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[0]).toContain(
      `WARN retrying POST ${PATH} (attempt 2 of 4) after Wemasy server fault (500) on POST ${PATH}: Server Error; waiting 0.003 s`,
    );
    expect(warnings()[1]).toContain('(attempt 3 of 4)');
    expect(warnings()[1]).toContain('waiting 0.005 s');
    expect(metrics().map((m) => [m.tags.http_status_code, m.tags.status])).toEqual([
      [500, 'failed'],
      [503, 'failed'],
      [200, 'succeeded'],
    ]);
  });

  it('gives up after max_retries with a clear message and an excerpt of an HTML page', async () => {
    const page = `<!DOCTYPE html><html><head><style>body { color: red }</style><title>502</title></head>
      <body>\n\n<h1>502   Bad Gateway</h1>\n<p>${'nginx is sad. '.repeat(40)}</p></body></html>`;
    server.script(raw(502, page, { 'Content-Type': 'text/html' }));
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'server-fault');

    expect(server.seen).toHaveLength(4);
    expect(error.message).toMatch(new RegExp(`^gave up after 3 retries: Wemasy server fault \\(502\\) on POST ${PATH}: 502 502 Bad Gateway nginx is sad\\.`));
    const excerpt = error.message.split(`POST ${PATH}: `)[1] ?? '';
    expect(excerpt.length).toBeLessThanOrEqual(200);
    expect(excerpt).not.toMatch(/[<>]|color|\s{2}/);
    expect(error.context.status).toBe(502);
    expect(warnings()).toHaveLength(3);
  });

  it('a 5xx with an empty body says so', async () => {
    server.script(raw(500, ''));
    const { client } = makeClient({ http: { ...HTTP, maxRetries: 0 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'server-fault');
    expect(error.message).toBe(`Wemasy server fault (500) on POST ${PATH}: (empty body)`);
    expect(server.seen).toHaveLength(1);
  });

  it('retries invalid JSON as a bad response', async () => {
    server.script(raw(200, '{"error": false, "data": [1, 2'), ok([1, 2]));
    const { client } = makeClient();
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: [1, 2] });
    expect(server.seen).toHaveLength(2);
    expect(warnings()[0]).toContain('Wemasy sent a body that is not valid JSON (200)');
  });

  it('gives up on a body that is never valid JSON', async () => {
    server.script(raw(200, '<html>maintenance</html>'));
    const { client } = makeClient({ http: { ...HTTP, maxRetries: 1 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'bad-response');
    expect(error.message).toBe(
      `gave up after 1 retry: Wemasy sent a body that is not valid JSON (200) for POST ${PATH}: maintenance`,
    );
    expect(server.seen).toHaveLength(2);
  });

  it('an empty 200 is a bad response', async () => {
    server.script(raw(200, ''));
    const { client } = makeClient({ http: { ...HTTP, maxRetries: 0 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'bad-response');
    expect(error.message).toBe(`Wemasy sent an empty body (200) for POST ${PATH}`);
  });

  it('retries what a reader rejects as retryable (e.g. "error": true), and the whole attempt again', async () => {
    server.script(json(200, { error: true, message: 'try later' }), ok(['v']));
    const { client } = makeClient();
    const result = await client.send({ path: PATH, body: {} }, async (response, endpoint) => {
      const body = (await response.json()) as { error: boolean; data?: unknown; message?: string };
      if (body.error) throw new ApiError('server-fault', `Wemasy reported an error on ${endpoint}: ${body.message}`, { endpoint, status: 200 });
      return body.data;
    });
    expect(result).toEqual(['v']);
    expect(server.seen).toHaveLength(2);
  });

  it('does not retry a bug in the reader and rethrows it as is', async () => {
    server.script(ok());
    const { client } = makeClient();
    const bug = new RangeError('reader bug');
    await expect(client.send({ path: PATH, body: {} }, () => Promise.reject(bug))).rejects.toBe(bug);
    expect(server.seen).toHaveLength(1);
  });
});

describe('rate limiting', () => {
  it('429 waits exactly Retry-After seconds, then sends the same request again', async () => {
    server.script(json(429, { error: true, message: 'Too Many Attempts.' }, { 'Retry-After': '7', 'X-RateLimit-Remaining': '0' }), ok([1]));
    const { clock, waits } = fastForwardClock();
    const { client } = makeClient({ clock });
    expect(await client.postJson({ path: PATH, body: { key: 'list' } })).toEqual({ error: false, data: [1] });

    expect(waits).toContain(7_000);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]?.body).toBe(server.seen[0]?.body);
    expect(warnings()[0]).toContain('after Wemasy rate limit exceeded (429) on POST');
    expect(warnings()[0]).toContain('waiting 7.0 s');
  });

  it('429 honours a Retry-After beyond the backoff cap', async () => {
    server.script(json(429, { error: true }, { 'Retry-After': '600' }), ok());
    const { clock, waits } = fastForwardClock();
    const { client } = makeClient({ clock });
    await client.postJson({ path: PATH, body: {} });
    expect(waits).toContain(600_000);
  });

  it('429 without Retry-After waits retry_max_delay (one window)', async () => {
    server.script(json(429, { error: true }), ok());
    const { client } = makeClient();
    await client.postJson({ path: PATH, body: {} });
    expect(server.seen).toHaveLength(2);
    expect(warnings()[0]).toContain('(no Retry-After); waiting 0.050 s');
  });

  it('429 reads Retry-After as an HTTP date too', async () => {
    const at = new Date(Date.now() + 3_000).toUTCString();
    server.script(json(429, { error: true }, { 'Retry-After': at }));
    const { client } = makeClient({ http: { ...HTTP, maxRetries: 0 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'rate-limited');
    expect(error.context.retryAfterMs).toBeGreaterThan(1_000);
    expect(error.context.retryAfterMs).toBeLessThanOrEqual(3_000);
  });

  it('feeds every response, errors included, to the limiter', async () => {
    server.script(json(500, { error: true }, { 'X-RateLimit-Remaining': '59991' }), json(200, { data: [] }, { 'X-RateLimit-Remaining': '59990' }));
    const seen: number[] = [];
    const base = createRateLimiter({ requestsPerMinute: 60_000, clock: systemClock, log: createLogger({ write: () => {} }) });
    const limiter: RateLimiter = {
      acquire: (signal) => base.acquire(signal),
      observe: (headers) => {
        base.observe(headers);
        seen.push(Number(headers.get('x-ratelimit-remaining')));
      },
      get remaining() {
        return base.remaining;
      },
    };
    const { client } = makeClient({ limiter });
    await client.postJson({ path: PATH, body: {} });
    expect(seen).toEqual([59_991, 59_990]);
  });
});

describe('timeouts and broken connections', () => {
  const SHORT_TIMEOUT: HttpSettings = { ...HTTP, timeoutMs: 200 };

  it('times out a response that does not come, then retries', async () => {
    server.script(late(600, ok()), ok(['late']));
    const { client } = makeClient({ http: SHORT_TIMEOUT });
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: ['late'] });
    expect(server.seen).toHaveLength(2);
    expect(warnings()[0]).toContain(`after no response within 0.2 s on POST ${PATH}`);
    expect(metrics()[0]?.tags).toEqual({ endpoint: PATH, http_status_code: 0, status: 'failed' });
  });

  it('a body that stalls for longer than the timeout fails and is retried', async () => {
    server.script(stallingBody(600));
    const { client } = makeClient({ http: { ...SHORT_TIMEOUT, maxRetries: 1 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'timeout');
    expect(error.message).toBe(`gave up after 1 retry: the body of POST ${PATH} stalled: nothing received for 0.2 s`);
    expect(server.seen).toHaveLength(2);
  });

  it('a body that keeps arriving completes however long it takes: the timeout restarts with every chunk', async () => {
    // 12 pieces 100 ms apart: the body takes longer than the 1 s timeout, never silent for long.
    server.script(tricklingBody(10, 100));
    const { client } = makeClient({ http: { ...HTTP, timeoutMs: 1_000, maxRetries: 0 } });
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(server.seen).toHaveLength(1);
  });

  it('a connection dropped before the response is a network error, retried', async () => {
    server.script(hangUp, ok([3]));
    const { client } = makeClient();
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: [3] });
    expect(server.seen).toHaveLength(2);
    expect(warnings()[0]).toMatch(/after network error on POST \S+: fetch failed \(.*(other side closed|socket hang up|ECONNRESET)/);
  });

  it('gives up on a connection that keeps dropping, naming the cause', async () => {
    server.script(hangUp);
    const { client } = makeClient();
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'network');
    expect(error.message).toMatch(/^gave up after 3 retries: network error on POST \S+: fetch failed \(.*(UND_ERR_SOCKET|ECONNRESET)/);
    expect(server.seen).toHaveLength(4);
  });

  it('a body cut short by a dropped connection is a network error, retried', async () => {
    server.script(cutBody, ok([4]));
    const { client } = makeClient();
    expect(await client.postJson({ path: PATH, body: {} })).toEqual({ error: false, data: [4] });
    expect(server.seen).toHaveLength(2);
    expect(warnings()[0]).toMatch(/after network error on POST \S+: terminated/);
    expect(metrics()[0]?.tags).toEqual({ endpoint: PATH, http_status_code: 200, status: 'failed' });
  });

  it('a refused connection is a network error with its code', async () => {
    const closed = await startServer();
    const url = closed.url;
    await closed.close();
    const { client } = makeClient({ baseUrl: `${url}/api`, http: { ...HTTP, maxRetries: 0 } });
    const error = await failure(client.postJson({ path: PATH, body: {} }), 'network');
    expect(error.message).toMatch(/^network error on POST \S+: fetch failed \(.*ECONNREFUSED/);
  });
});

describe('the run signal', () => {
  it('aborting an in-flight request rejects with the reason and does not retry', async () => {
    server.script(late(150, ok()));
    const controller = new AbortController();
    const { client } = makeClient({ signal: controller.signal, http: { ...HTTP, timeoutMs: 5_000 } });
    const reason = new Error('SIGTERM received');
    const pending = client.postJson({ path: PATH, body: {} });
    await vi.waitFor(() => expect(server.seen).toHaveLength(1));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(server.seen).toHaveLength(1);
    expect(warnings()).toEqual([]);
  });

  it('aborting during a retry wait rejects with the reason at once: no virtual time passes, no request follows', async () => {
    server.script(json(503, { error: true }));
    const clock = fakeClock('2026-01-01T00:00:00Z', { autoAdvance: false });
    const controller = new AbortController();
    const { client } = makeClient({ clock, signal: controller.signal, http: { ...HTTP, retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000 } });
    const reason = new Error('SIGTERM received');
    const pending = client.postJson({ path: PATH, body: {} });
    await waitForRetryWait(clock);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(clock.nowMs()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(clock.pendingTimers).toBe(0);
    expect(server.seen).toHaveLength(1);
  });
});

describe('the signal of one request', () => {
  it('aborting it while the request waits for a retry rejects with its reason at once: no virtual time passes, no request follows', async () => {
    server.script(json(503, { error: true }));
    const clock = fakeClock('2026-01-01T00:00:00Z', { autoAdvance: false });
    const run = new AbortController();
    const { client } = makeClient({ clock, signal: run.signal, http: { ...HTTP, retryBaseDelayMs: 10_000, retryMaxDelayMs: 10_000 } });
    const window = new AbortController();
    const reason = new Error('a sibling batch failed');
    const pending = client.postJson({ path: PATH, body: {}, signal: window.signal });
    await waitForRetryWait(clock);
    window.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(clock.nowMs()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(clock.pendingTimers).toBe(0);
    expect(server.seen).toHaveLength(1);
    // The run goes on: the client still serves other requests.
    expect(run.signal.aborted).toBe(false);
    server.script(ok([1]));
    const next = client.postJson({ path: PATH, body: {} });
    // It waits for the rate limiter's spacing (1 ms at 60,000 a minute) on the manual clock.
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1));
    clock.advance(1_000);
    expect(await next).toEqual({ error: false, data: [1] });
    expect(server.seen).toHaveLength(2);
  });

  it('aborting it while the request is in flight rejects with its reason and does not retry', async () => {
    server.script(late(150, ok()));
    const window = new AbortController();
    const { client } = makeClient();
    const reason = new Error('a sibling batch failed');
    const pending = client.postJson({ path: PATH, body: {}, signal: window.signal });
    await vi.waitFor(() => expect(server.seen).toHaveLength(1));
    window.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(server.seen).toHaveLength(1);
    expect(warnings()).toEqual([]);
  });

  it('an already aborted signal sends nothing', async () => {
    server.script(ok());
    const { client } = makeClient();
    const reason = new Error('window stopped');
    await expect(client.postJson({ path: PATH, body: {}, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.seen).toHaveLength(0);
  });
});

/** Resolves once the client logged a retry and sleeps on the (manual) fake clock. */
async function waitForRetryWait(clock: FakeClock): Promise<void> {
  await vi.waitFor(() => {
    expect(warnings()).toHaveLength(1);
    expect(clock.pendingTimers).toBe(1);
  });
}
