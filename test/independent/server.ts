/**
 * An independent, minimal implementation of the Wemasy Analytics API contract
 * (../shared/api/wemasy-analytics.md and get-visits.seed.txt), written without
 * reading the tap's source or the project's own test server (test/fake-api/).
 *
 * It reads the contract as a different implementer might, using every freedom it
 * leaves: ids as numbers or numeric strings, undocumented fields of any JSON type,
 * fields that appear mid-range, bare ids in `data`, `count` in three forms, a
 * per_page cap that is not round, absolute next_page_url, a Laravel 422 above a
 * batch size, a fixed-window rate limit with X-RateLimit headers and 429 +
 * Retry-After, zone-less date-times in an IANA zone compared as strings, and a
 * slow but steady body.
 *
 * Its data is seeded; `truth` holds every item with the exact form it is served
 * in, so a test can compute the expected records without asking the tap.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import { prng } from '../helpers/prng.js'; // a generic seeded PRNG: no API guesses in it

export const FMT = 'yyyy-MM-dd HH:mm:ss';
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type StreamName = 'sessions' | 'visits' | 'conversions';

export interface Item {
  stream: StreamName;
  /** numeric id (all generated ids are below 2^53) */
  id: number;
  /** the owning session (visits, conversions) */
  sessionId?: number;
  /** creation time as a UTC instant (ms) */
  createdMs: number;
  /** creation time as served: zone-less wall clock of the project zone */
  createdLocal: string;
  /** conversion type (conversions only) */
  conversionType?: string;
  /** exactly what the server puts in `data` for this item */
  served: Json;
  /** the item is served only from createdMs + visibleAfterMs on (late data) */
  visibleAfterMs: number;
}

export interface ServerOptions {
  seed: number;
  zone: string;
  token: string;
  /** items are generated for sessions starting in [from, to) (ISO instants) */
  from: string;
  to: string;
  /** mean gap between sessions, minutes */
  meanGapMinutes?: number;
  /** list-sessions never serves more than this per page */
  perPageCap: number;
  /** serve the paginator's per_page as a string ("73") instead of a number */
  perPageAsString?: boolean;
  /** get-visits / get-conversions refuse more session ids than this (Laravel 422) */
  maxSessionIds: number;
  /** requests allowed per rate-limit window */
  rateLimit: number;
  /** length of the rate-limit window in ms (the API: 60 000) */
  rateWindowMs: number;
  /** body speed of get-visits / get-conversions, bytes per second (0: all at once) */
  bodyBytesPerSecond?: number;
  /** bodies as PHP writes them: pretty-printed, "\/" and \uXXXX escapes */
  phpJson?: boolean;
  /** gzip a body when the request accepts it (as nginx in front of the API would) */
  gzip?: boolean;
  /** vary the JSON type of undocumented fields (time_spend, value); false: always numbers */
  typeDrift?: boolean;
  /** endpoints (last path segment) the token may not use: 403 */
  forbidden?: string[];
  /** send Retry-After with a 429 (the contract: the tap waits for the window to reset without it) */
  retryAfter?: boolean;
  /** items become visible a seeded delay of up to this many ms after their created_at (late data) */
  maxVisibilityDelayMs?: number;
  /** fields that start to appear on items created at or after this instant (ISO) */
  newFieldsFrom?: string;
}

/** a request's JSON body (null when it is not a JSON object) */
export type Body = Record<string, unknown>;

export interface LoggedRequest {
  path: string;
  page: string | null;
  body: Body | null;
  /** body fields the tests read, when they have the expected type */
  startDate: string | undefined;
  endDate: string | undefined;
  sessionIds: unknown[] | undefined;
  status: number;
  authorization: string | undefined;
  userAgent: string | undefined;
  acceptEncoding: string | undefined;
  at: number;
  /** when the response was finished (ms) */
  doneAt?: number;
  /** Retry-After sent with a 429 */
  retryAfter?: string;
}

/**
 * A number served with its own spelling (`1.0e+21`, `12.50`, digits beyond a double), as
 * another JSON encoder (PHP's, a database driver's) may write it. In `served` it stands as
 * this marker string; the body carries the raw text.
 */
export const RAW = '\u0001raw:';
export const rawNumber = (text: string): string => `${RAW}${text}`;
export function serialize(body: Json, php = false): string {
  const text = JSON.stringify(body, null, php ? 4 : undefined).replace(/"\\u0001raw:([^"]+)"/g, '$1');
  if (!php) return text;
  // PHP's json_encode with JSON_PRETTY_PRINT only: "/" escaped as "\/", non-ASCII as \uXXXX
  let out = '';
  for (let n = 0; n < text.length; n++) {
    const c = text.charCodeAt(n);
    if (text[n] === '/') out += '\\/';
    else if (c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += text[n];
  }
  return out;
}

/** how Laravel serializes an Eloquent timestamp: UTC, microseconds, Z */
export function laravelIso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const RAW_SPELLINGS = ['12.50', '1E3', '1.0e+21', '12345678901234567890123', '0.10', '-7', '1e400', '3.000'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const OSES = ['Windows', 'macOS', 'Linux', 'Android', 'iOS'];
const COUNTRIES = ['NL', 'BE', 'DE', 'FR', 'GB', 'US'];
const PAGES = ['/', '/pricing', '/blog/dst', '/contact', '/shop?item=3&ref=mail', '/über-uns', '/🎃-sale'];

export class IndependentApi {
  readonly opts: Required<ServerOptions>;
  readonly items: Item[] = [];
  readonly log: LoggedRequest[] = [];
  /** session ids sent back in another JSON type than list-sessions served them in */
  readonly idFormChanged: Array<{ served: Json; sent: unknown }> = [];
  /** count of 429 answers */
  rejected429 = 0;
  private readonly sessionById = new Map<number, Item>();
  private server?: http.Server;
  private windowStart = 0;
  private windowCount = 0;
  port = 0;

  constructor(options: ServerOptions) {
    this.opts = {
      meanGapMinutes: 40,
      perPageAsString: false,
      bodyBytesPerSecond: 0,
      phpJson: false,
      gzip: false,
      typeDrift: true,
      forbidden: [],
      retryAfter: true,
      maxVisibilityDelayMs: 0,
      newFieldsFrom: options.to,
      ...options,
    };
    this.generate();
    const late = prng(this.opts.seed ^ 0x5eed);
    for (const i of this.items) i.visibleAfterMs = Math.floor(late() * this.opts.maxVisibilityDelayMs);
    for (const i of this.items) if (i.stream === 'sessions') this.sessionById.set(i.id, i);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  local(ms: number): string {
    return DateTime.fromMillis(ms, { zone: this.opts.zone }).toFormat(FMT);
  }

  // ------------------------------------------------------------------ data

  private generate(): void {
    const r = prng(this.opts.seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
    const from = Date.parse(this.opts.from);
    const to = Date.parse(this.opts.to);
    const newFrom = Date.parse(this.opts.newFieldsFrom);

    // Session starts: random gaps, plus a session at 23:50 local every day and
    // one in each occurrence of a repeated autumn hour (if the range has one).
    const starts = new Set<number>();
    for (let t = from + Math.floor(r() * 600) * 1000; t < to; ) {
      starts.add(t);
      t += Math.max(60, Math.round(-Math.log(1 - r()) * this.opts.meanGapMinutes * 60)) * 1000;
    }
    for (
      let d = DateTime.fromMillis(from, { zone: this.opts.zone }).startOf('day');
      d.toMillis() < to;
      d = d.plus({ days: 1 })
    ) {
      // 23:50 (visits after midnight), and the last and first second of a day
      for (const [hour, minute, second] of [[23, 50, 7], [23, 59, 59], [0, 0, 0]] as const) {
        const t = d.set({ hour, minute, second }).toMillis();
        if (t >= from && t < to) starts.add(t);
      }
      // repeated hour: 02:10 local of the first and of the second occurrence
      const firstTwo = d.set({ hour: 2, minute: 10, second: 0 }).toMillis();
      const secondTwo = firstTwo + 3600_000;
      if (this.local(secondTwo) === this.local(firstTwo)) {
        for (const t of [firstTwo, secondTwo]) if (t >= from && t < to) starts.add(t);
      }
    }

    let sessionId = 700_000 + Math.floor(r() * 1000);
    let visitId = 9_000_000;
    let conversionId = 40_000;
    const idForm = (id: number): Json => (r() < 0.3 ? String(id) : id);
    const anyType = (base: number): Json => {
      const x = r();
      if (!this.opts.typeDrift) return base;
      if (x < 0.35) return base;
      if (x < 0.5) return String(base);
      if (x < 0.6) return base + 0.25;
      if (x < 0.68) return null;
      if (x < 0.74) return 'n/a';
      if (x < 0.8) return r() < 0.5;
      if (x < 0.87) return { seconds: base, exact: r() < 0.5 };
      if (x < 0.93) return [base, String(base)];
      return `${base}s`;
    };

    for (const start of [...starts].sort((a, b) => a - b)) {
      const id = (sessionId += 1 + Math.floor(r() * 5));
      // visits and conversions of this session, spread over up to ~2.5 h
      let t = start;
      const visits: number[] = [];
      const nVisits = Math.floor(r() * 6);
      for (let i = 0; i < nVisits; i++) {
        t += i === 0 && r() < 0.3 ? 0 : Math.floor(r() * 40 * 60) * 1000;
        visits.push(t);
      }
      const updated = t + Math.floor(r() * 600) * 1000;
      const session: Record<string, Json> = {
        id: idForm(id),
        browser: pick(BROWSERS),
        device: pick(DEVICES),
        platform_os: pick(OSES),
        country: r() < 0.1 ? null : pick(COUNTRIES),
        time_spend: anyType(Math.round((updated - start) / 1000)),
        created_at: this.local(start),
        updated_at: r() < 0.1 ? null : r() < 0.15 ? laravelIso(updated) : this.local(updated),
        // fields no document names
        read_status: r() < 0.5 ? 'read' : 'unread',
        visitor: { hash: Math.floor(r() * 1e9).toString(16), returning: r() < 0.3 },
        pages_count: r() < 0.8 ? visits.length : String(visits.length),
        is_bot: r() < 0.05,
      };
      if (r() < 0.3) session.score = rawNumber(pick(RAW_SPELLINGS));
      if (r() < 0.5) session.ip_address = `192.0.2.${Math.floor(r() * 255)}`;
      if (start >= newFrom) session.utm_campaign = r() < 0.7 ? pick(['autumn', 'dst', 'x']) : 7;
      this.items.push({ stream: 'sessions', id, createdMs: start, createdLocal: this.local(start), served: session, visibleAfterMs: 0 });

      for (const vt of visits) {
        const vid = (visitId += 1 + Math.floor(r() * 3));
        const shape = r();
        let served: Json;
        if (shape < 0.06) served = vid; // a bare id
        else if (shape < 0.12) served = String(vid); // a bare id as a string
        else {
          const visit: Record<string, Json> = {
            id: idForm(vid),
            session_id: idForm(id),
            created_at: this.local(vt),
            url: `https://example.test${pick(PAGES)}`,
            title: r() < 0.05 ? 'Nul\u0000Byte' : r() < 0.1 ? null : r() < 0.1 ? 'A "quote", a \\ and a\ttab \u2028' : `Page ${vid % 97}`,
            referrer: r() < 0.4 ? null : 'https://search.example/?q=wemasy',
            time_spend: anyType(Math.floor(r() * 300)),
            updated_at: this.local(vt + Math.floor(r() * 120) * 1000),
          };
          if (r() < 0.2) visit.scroll = r() < 0.5 ? 0.5 : { depth: 50, unit: '%' };
          if (vt >= newFrom) {
            visit.utm_source = r() < 0.5 ? 'newsletter' : r() < 0.5 ? 12 : null;
            visit.viewport = [1280, 720];
          }
          served = visit;
        }
        this.items.push({
          stream: 'visits',
          id: vid,
          sessionId: id,
          createdMs: vt,
          createdLocal: this.local(vt),
          served,
          visibleAfterMs: 0,
        });
      }

      const nConv = r() < 0.6 ? 0 : 1 + Math.floor(r() * 2);
      for (let i = 0; i < nConv; i++) {
        const ct = start + Math.floor(r() * 150 * 60) * 1000;
        const cid = (conversionId += 1 + Math.floor(r() * 2));
        const type = r() < 0.5 ? 'click' : 'url';
        const v = r();
        const conversion: Record<string, Json> = {
          id: idForm(cid),
          session_id: idForm(id),
          created_at: this.local(ct),
          type,
          name: type === 'click' ? 'Buy button' : 'Thank-you page',
          value: !this.opts.typeDrift || v < 0.4 ? 12.5 : v < 0.6 ? '12.50' : v < 0.7 ? '€ 3,20' : v < 0.8 ? null : v < 0.9 ? 3 : { amount: 3, currency: 'EUR' },
          url: `https://example.test${pick(PAGES)}`,
          updated_at: this.local(ct),
        };
        if (ct >= newFrom) conversion.goal_id = r() < 0.5 ? 17 : '17';
        this.items.push({
          stream: 'conversions',
          id: cid,
          sessionId: id,
          createdMs: ct,
          createdLocal: this.local(ct),
          conversionType: type,
          served: conversion,
          visibleAfterMs: 0,
        });
      }
    }
  }

  /** items of a stream whose served created_at string lies in [startLocal, endLocal] */
  inRange(stream: StreamName, startLocal: string, endLocal: string): Item[] {
    return this.items.filter(
      (i) => i.stream === stream && i.createdLocal >= startLocal && i.createdLocal <= endLocal,
    );
  }

  /** what the server answers now: items not yet visible are left out */
  private visible(stream: StreamName, startLocal: string, endLocal: string): Item[] {
    const now = Date.now();
    return this.inRange(stream, startLocal, endLocal).filter((i) => i.createdMs + i.visibleAfterMs <= now);
  }

  // ------------------------------------------------------------------ http

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => {
          res.destroy(err as Error);
        });
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private send(res: http.ServerResponse, status: number, body: Json, extra: Record<string, string> = {}): void {
    const text = Buffer.from(serialize(body, this.opts.phpJson), 'utf8');
    const zip = this.acceptsGzip(res);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      ...(zip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
      ...this.rateHeaders(),
      ...extra,
    });
    res.end(zip ? gzipSync(text) : text);
  }

  private acceptsGzip(res: http.ServerResponse): boolean {
    const accept = String(res.req.headers['accept-encoding'] ?? '');
    return this.opts.gzip && /\bgzip\b/.test(accept);
  }

  private rateHeaders(): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.opts.rateLimit),
      'X-RateLimit-Remaining': String(Math.max(0, this.opts.rateLimit - this.windowCount)),
    };
  }

  private validation(res: http.ServerResponse, errors: Record<string, string[]>): number {
    const first = Object.values(errors)[0]![0]!;
    const more = Object.values(errors).flat().length - 1;
    const message = more > 0 ? `${first} (and ${more} more error${more > 1 ? 's' : ''})` : first;
    this.send(res, 422, { message, errors });
    return 422;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    let parsed: unknown = null;
    try {
      parsed = raw ? (JSON.parse(raw) as unknown) : null;
    } catch {
      parsed = raw;
    }
    const body = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Body) : null;
    const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const entry: LoggedRequest = {
      path: url.pathname,
      page: url.searchParams.get('page'),
      body,
      startDate: text(body?.start_date),
      endDate: text(body?.end_date),
      sessionIds: Array.isArray(body?.session_ids) ? (body.session_ids as unknown[]) : undefined,
      status: 0,
      authorization: req.headers.authorization,
      userAgent: req.headers['user-agent'],
      acceptEncoding: req.headers['accept-encoding'],
      at: Date.now(),
    };
    this.log.push(entry);
    entry.status = await this.route(req, res, url, body);
    entry.doneAt = Date.now();
    const retryAfter = res.getHeader('Retry-After');
    if (retryAfter !== undefined) entry.retryAfter = String(retryAfter);
  }

  /** a fixed window that begins with its first request (as Laravel's throttle does) */
  private admit(res: http.ServerResponse): boolean {
    const now = Date.now();
    if (now - this.windowStart >= this.opts.rateWindowMs) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.windowCount >= this.opts.rateLimit) {
      const wait = Math.max(1, Math.ceil((this.windowStart + this.opts.rateWindowMs - now) / 1000));
      this.rejected429++;
      this.send(res, 429, { error: true, message: 'Too Many Attempts.' }, this.opts.retryAfter ? { 'Retry-After': String(wait) } : {});
      return false;
    }
    this.windowCount++;
    return true;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Body | null): Promise<number> {
    if (!this.admit(res)) return 429;
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      this.send(res, 401, { error: true, message: 'Unauthenticated.' });
      return 401;
    }
    if (req.method !== 'POST') {
      this.send(res, 405, { error: true, message: 'The GET method is not supported for this route.' });
      return 405;
    }
    if (this.opts.forbidden.includes(url.pathname.split('/').pop()!)) {
      this.send(res, 403, { error: true, message: 'This action is unauthorized.' });
      return 403;
    }
    if (body === null) {
      return this.validation(res, { body: ['The request body must be a JSON object.'] });
    }
    switch (url.pathname) {
      case '/api/services/analytics/v1/project/sessions':
        return this.listSessions(res, url, body);
      case '/api/services/analytics/v1/sessions/get-visits':
        return this.batch(res, body, 'visits');
      case '/api/services/analytics/v1/sessions/get-conversions':
        return this.batch(res, body, 'conversions');
      default:
        this.send(res, 404, { error: true, message: 'Not Found' });
        return 404;
    }
  }

  private dateErrors(body: Body, required: boolean, errors: Record<string, string[]>): void {
    for (const field of ['start_date', 'end_date']) {
      const v = body[field];
      const label = field.replace('_', ' ');
      if (v === undefined || v === null) {
        if (required) errors[field] = [`The ${label} field is required.`];
      } else if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v)) {
        errors[field] = [`The ${label} field must match the format Y-m-d H:i:s.`];
      } else if (!DateTime.fromFormat(v, FMT, { zone: 'UTC' }).isValid) {
        errors[field] = [`The ${label} field must be a valid date.`];
      }
    }
    const { start_date: from, end_date: to } = body;
    if (!errors.start_date && !errors.end_date && typeof from === 'string' && typeof to === 'string' && to < from) {
      errors.end_date = ['The end date field must be a date after or equal to start date.'];
    }
  }

  private listSessions(res: http.ServerResponse, url: URL, body: Body): number {
    const errors: Record<string, string[]> = {};
    this.dateErrors(body, true, errors);
    const sortKeys = ['id', 'browser', 'device', 'platform_os', 'country', 'time_spend', 'created_at'];
    const { sortKey, sortOrder, filters, per_page: perPageAsked, read_status: readStatus } = body;
    if (sortKey === undefined) errors.sortKey = ['The sort key field is required.'];
    else if (typeof sortKey !== 'string' || !sortKeys.includes(sortKey)) errors.sortKey = ['The selected sort key is invalid.'];
    if (sortOrder === undefined) errors.sortOrder = ['The sort order field is required.'];
    else if (sortOrder !== 'asc' && sortOrder !== 'desc') errors.sortOrder = ['The selected sort order is invalid.'];
    if (filters === undefined) errors.filters = ['The filters field must be present.'];
    else if (filters === null || typeof filters !== 'object') errors.filters = ['The filters field must be an array.'];
    // the contract types per_page as "string (a number)", so this server validates it as Laravel's
    // 'nullable|string|numeric' would: a JSON number is refused
    if (perPageAsked !== undefined && perPageAsked !== null) {
      if (typeof perPageAsked !== 'string') errors.per_page = ['The per page field must be a string.'];
      else if (!/^\d+$/.test(perPageAsked)) errors.per_page = ['The per page field must be a number.'];
    }
    for (const field of ['check_irregular_traffic', 'include_ip_addresses']) {
      const flag = body[field];
      if (flag !== undefined && flag !== null && typeof flag !== 'string') {
        errors[field] = [`The ${field.replaceAll('_', ' ')} field must be a string.`];
      }
    }
    if (readStatus !== undefined && readStatus !== null && readStatus !== 'read' && readStatus !== 'unread') {
      errors.read_status = ['The selected read status is invalid.'];
    }
    if (Object.keys(errors).length) return this.validation(res, errors);

    const asked = typeof perPageAsked === 'string' ? Math.max(1, Number(perPageAsked)) : 15;
    const perPage = Math.min(asked, this.opts.perPageCap);
    const all = this.visible('sessions', String(body.start_date), String(body.end_date));
    const key = String(sortKey);
    const value = (i: Item): string | number => {
      if (key === 'id') return i.id;
      if (key === 'created_at') return i.createdMs;
      const v = (i.served as Record<string, Json>)[key];
      return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : (v as string | number);
    };
    all.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const c = x < y ? -1 : x > y ? 1 : a.id - b.id;
      return sortOrder === 'desc' ? -c : c;
    });
    const total = all.length;
    const lastPage = Math.max(1, Math.ceil(total / perPage));
    const pageParam = url.searchParams.get('page');
    const page = pageParam && /^\d+$/.test(pageParam) && Number(pageParam) >= 1 ? Number(pageParam) : 1;
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const path = `${this.baseUrl}/services/analytics/v1/project/sessions`;
    const pageUrl = (n: number) => `${path}?page=${n}`;
    const links: Json[] = [{ url: page > 1 ? pageUrl(page - 1) : null, label: '&laquo; Previous', active: false }];
    for (let n = 1; n <= lastPage; n++) links.push({ url: pageUrl(n), label: String(n), active: n === page });
    links.push({ url: page < lastPage ? pageUrl(page + 1) : null, label: 'Next &raquo;', active: false });
    this.send(res, 200, {
      error: false,
      message: 'Sessions retrieved successfully.',
      data: {
        current_page: page,
        data: slice.map((i) => i.served),
        first_page_url: pageUrl(1),
        from: slice.length ? (page - 1) * perPage + 1 : null,
        last_page: lastPage,
        last_page_url: pageUrl(lastPage),
        links,
        next_page_url: page < lastPage ? pageUrl(page + 1) : null,
        path,
        per_page: this.opts.perPageAsString ? String(perPage) : perPage,
        prev_page_url: page > 1 ? pageUrl(page - 1) : null,
        to: slice.length ? (page - 1) * perPage + slice.length : null,
        total,
      },
    });
    return 200;
  }

  private async batch(res: http.ServerResponse, body: Body, stream: 'visits' | 'conversions'): Promise<number> {
    const errors: Record<string, string[]> = {};
    this.dateErrors(body, false, errors);
    const key = body.key ?? 'list';
    if (key !== 'list' && key !== 'count') errors.key = ['The selected key is invalid.'];
    const ids: unknown = body.session_ids;
    const max = this.opts.maxSessionIds;
    if (ids === undefined || ids === null || (Array.isArray(ids) && ids.length === 0)) {
      errors.session_ids = ['The session ids field is required.'];
    } else if (!Array.isArray(ids)) {
      errors.session_ids = ['The session ids field must be an array.'];
    } else if (ids.length > max) {
      errors.session_ids = [`The session ids field must not have more than ${max} items.`];
    } else {
      (ids as unknown[]).forEach((v: unknown, n: number) => {
        if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^\d+$/.test(v))) {
          errors[`session_ids.${n}`] = [`The session_ids.${n} field must be an integer.`];
        }
      });
    }
    const extraName = stream === 'visits' ? 'visit_ids' : 'conversion_types';
    const extra: unknown = body[extraName];
    if (extra !== undefined && extra !== null && !Array.isArray(extra)) {
      errors[extraName] = [`The ${extraName.replace('_', ' ')} field must be an array.`];
    }
    if (Object.keys(errors).length) return this.validation(res, errors);

    const wanted = new Set((ids as Array<string | number>).map((v) => Number(v)));
    for (const v of ids as Array<string | number>) {
      const session = this.sessionById.get(Number(v));
      const served = session ? (session.served as Record<string, Json>).id : undefined;
      if (served !== undefined && typeof served !== typeof v) this.idFormChanged.push({ served, sent: v });
    }
    const start = typeof body.start_date === 'string' ? body.start_date : '0000-00-00 00:00:00';
    const end = typeof body.end_date === 'string' ? body.end_date : '9999-12-31 23:59:59';
    let found = this.visible(stream, start, end).filter((i) => wanted.has(i.sessionId!));
    if (Array.isArray(extra)) {
      if (stream === 'visits') {
        const only = new Set(extra.map((v: unknown) => Number(v)));
        found = found.filter((i) => only.has(i.id));
      } else {
        const only = new Set(extra.map(String));
        found = found.filter((i) => only.has(i.conversionType!));
      }
    }
    if (key === 'count') {
      const n = found.length;
      const form = n % 3;
      this.send(res, 200, { error: false, data: form === 0 ? n : form === 1 ? String(n) : { count: n } });
      return 200;
    }
    await this.sendSlowly(res, { error: false, message: `${found.length} ${stream} found.`, data: found.map((i) => i.served) });
    return 200;
  }

  /** a steady body: chunks at bodyBytesPerSecond */
  private async sendSlowly(res: http.ServerResponse, body: Json): Promise<void> {
    const plain = Buffer.from(serialize(body, this.opts.phpJson), 'utf8');
    const zip = this.acceptsGzip(res);
    const text = zip ? gzipSync(plain) : plain;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      ...(zip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
      ...this.rateHeaders(),
    });
    const rate = this.opts.bodyBytesPerSecond;
    if (!rate) {
      res.end(text);
      return;
    }
    const tickMs = 20;
    const chunk = Math.max(1, Math.floor((rate * tickMs) / 1000));
    for (let off = 0; off < text.length; off += chunk) {
      if (res.destroyed) return;
      res.write(text.subarray(off, off + chunk));
      await new Promise((r) => setTimeout(r, tickMs));
    }
    res.end();
  }
}
