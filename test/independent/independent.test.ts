/**
 * The built tap against an independent implementation of the API contract
 * (test/independent/server.ts), written without reading src/ or test/fake-api/.
 * Expectations come from the README (Field types, How a sync works) and from the
 * server's own record of what it served.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { DateTime } from 'luxon';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expectedRecords, utcOf } from './expect.js';
import { runTap, MAIN, type Message, type TapRun } from './run.js';
import { FMT, IndependentApi, type ServerOptions, type StreamName } from './server.js';

const STREAMS: StreamName[] = ['sessions', 'visits', 'conversions'];
const TOKEN = 'indep-S3CRET-token-5f0c2a';
const ZONE = 'Europe/Amsterdam';
const UTC_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let server: IndependentApi | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  await running?.stop();
});

beforeAll(() => {
  if (!existsSync(MAIN)) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
});

async function startServer(o: Partial<ServerOptions> & Pick<ServerOptions, 'from' | 'to'>): Promise<IndependentApi> {
  server = new IndependentApi({
    seed: 20261025,
    zone: ZONE,
    token: TOKEN,
    perPageCap: 73,
    maxSessionIds: Number(process.env.INDEP_MAX_IDS ?? 37),
    rateLimit: 60,
    rateWindowMs: 1000,
    bodyBytesPerSecond: 300_000,
    ...o,
  });
  await server.start();
  return server;
}

/** the tap's config for a server that counts 60 requests a second (a minute scaled by 60) */
function config(api: IndependentApi, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    api_token: TOKEN,
    base_url: api.baseUrl,
    timezone: ZONE,
    requests_per_minute: 3600,
    rate_limit_window: 'PT1S',
    retry_base_delay: 0.05,
    retry_max_delay: 1,
    ...extra,
  };
}

const local = (iso: string): string => DateTime.fromISO(iso, { zone: ZONE }).toFormat(FMT);
const localMinus1s = (iso: string): string => DateTime.fromISO(iso, { zone: ZONE }).minus({ seconds: 1 }).toFormat(FMT);
const utc = (iso: string): string => DateTime.fromISO(iso, { zone: ZONE }).toUTC().toISO({ suppressMilliseconds: true })!;

/** exit 0 and no CRITICAL or ERROR line (shown, when there is one, as the reason) */
function expectSuccess(run: TapRun): void {
  expect(run.stderr.split('\n').filter((l) => /CRITICAL|ERROR/.test(l))).toEqual([]);
  expect(run.code).toBe(0);
}

function recordsOf(run: TapRun, stream: string): Array<Record<string, unknown>> {
  return run.messages.filter((m) => m.type === 'RECORD' && m.stream === stream).map((m) => m.record!);
}

/** every RECORD validates against the last SCHEMA of its stream before it, and against the stream's final SCHEMA */
function validateAgainstSchemas(messages: Message[]): void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormatsModule as unknown as (ajv: Ajv) => void)(ajv);
  const current = new Map<string, ValidateFunction>();
  const last = new Map<string, Record<string, unknown>>();
  for (const m of messages) if (m.type === 'SCHEMA') last.set(m.stream!, m.schema!);
  const final = new Map([...last].map(([s, schema]) => [s, ajv.compile(schema)]));
  const bad: string[] = [];
  for (const m of messages) {
    if (m.type === 'SCHEMA') current.set(m.stream!, ajv.compile(m.schema!));
    if (m.type !== 'RECORD') continue;
    const validate = current.get(m.stream!);
    if (!validate) {
      bad.push(`${m.stream} record before any SCHEMA`);
      continue;
    }
    const record = m.record!;
    const label = `${m.stream} id=${String(record.id)}`;
    for (const v of [validate, final.get(m.stream!)!]) {
      if (!v(record)) bad.push(`${label}: ${ajv.errorsText(v.errors)}`);
    }
  }
  expect(bad.slice(0, 5)).toEqual([]);
}

/** assertions every successful run must pass */
function checkCommon(run: TapRun, api: IndependentApi): void {
  expect(run.stderr).not.toContain(TOKEN);
  expect(run.stdout).not.toContain(TOKEN);
  for (const m of run.messages) expect(['SCHEMA', 'RECORD', 'STATE', 'ACTIVATE_VERSION']).toContain(m.type);
  validateAgainstSchemas(run.messages);
  for (const m of run.messages) {
    if (m.type !== 'RECORD') continue;
    for (const f of ['created_at', 'updated_at']) {
      const v = m.record![f];
      if (v !== undefined && v !== null) expect(v, `${m.stream}.${f}`).toMatch(UTC_Z);
    }
  }
  // every request: authenticated, honest User-Agent, never an empty or oversized batch
  for (const r of api.log) {
    expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    expect(r.userAgent ?? '').toMatch(/tap-wemasy/i);
  }
  const batches = api.log.filter((r) => r.path.endsWith('/get-visits') || r.path.endsWith('/get-conversions'));
  for (const r of batches) expect(r.sessionIds!.length, 'a request for an empty id batch').toBeGreaterThan(0);
  // ids go back as the parent stream gave them (contract: "send ids as the user or the parent stream gave them")
  expect(api.idFormChanged.slice(0, 3)).toEqual([]);
  // under the default pacing, in a window scaled to a second, the limit is never hit
  expect(api.rejected429).toBe(0);
  // a list-sessions page beyond the last is never asked for; no request is sent twice
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const r of api.log.filter((x) => x.status === 200)) {
    const key = `${r.path}?page=${r.page ?? ''} ${JSON.stringify(r.body)}`;
    if (seen.has(key)) dupes.push(key);
    seen.add(key);
  }
  expect(dupes.slice(0, 3)).toEqual([]);
}

/** every item served in [start, end) is emitted exactly once, with the README's conversions */
function checkExactlyOnce(run: TapRun, api: IndependentApi, startIso: string, endIso: string): void {
  const from = local(startIso);
  const to = localMinus1s(endIso);
  for (const stream of STREAMS) {
    const want = expectedRecords(api.inRange(stream, from, to), stream, ZONE);
    const got = recordsOf(run, stream);
    const ids = got.map((r) => r.id as number);
    const dup = ids.filter((id, n) => ids.indexOf(id) !== n);
    expect(dup, `${stream}: emitted more than once`).toEqual([]);
    expect([...ids].sort((a, b) => a - b), `${stream}: ids`).toEqual([...want.keys()].sort((a, b) => a - b));
    const diffs: unknown[] = [];
    for (const r of got) {
      const w = want.get(r.id as number);
      if (JSON.stringify(sortKeys(r)) !== JSON.stringify(sortKeys(w))) diffs.push({ stream, got: r, want: w });
    }
    expect(diffs.slice(0, 3)).toEqual([]);
  }
}

function sortKeys(o: Record<string, unknown> | undefined): unknown {
  if (!o) return o;
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function finalBookmarks(run: TapRun): Record<string, { replication_key: string; replication_key_value: string }> {
  const states = run.messages.filter((m) => m.type === 'STATE');
  const bookmarks = states.at(-1)!.value!.bookmarks;
  return Object.fromEntries(Object.entries(bookmarks).map(([k, v]) => [k, v!]));
}

/** date strings the contract says never to send: a time of the skipped spring hour, an edge inside the repeated autumn hour */
function checkDateStrings(api: IndependentApi): void {
  const sent = api.log.flatMap((r): Array<[string, string | undefined]> => [
    ['start_date', r.startDate],
    ['end_date', r.endDate],
  ]);
  for (const [field, s] of sent) {
    if (!s) continue;
    expect(() => utcOf(s, ZONE), `${field} ${s} does not exist in ${ZONE}`).not.toThrow();
    const t = utcOf(s, ZONE);
    const repeated = DateTime.fromISO(t).plus({ hours: 1 }).setZone(ZONE).toFormat(FMT) === s;
    if (repeated) {
      // the repeated hour may only be taken whole: start at its first second, end at its last
      if (field === 'start_date') expect(s.endsWith('02:00:00'), `start_date ${s}`).toBe(true);
      else expect(s.endsWith('02:59:59'), `end_date ${s}`).toBe(true);
    }
  }
}

/** list-sessions ranges of the sessions stream: consecutive, without gap or overlap (wall-clock seconds, skipping times that do not exist) */
function checkSessionWindowsTile(api: IndependentApi, startIso: string, endIso: string): void {
  const ranges = new Map<string, [string, string]>();
  for (const r of api.log) {
    if (!r.path.endsWith('/project/sessions') || r.status !== 200) continue;
    ranges.set(`${r.startDate}|${r.endDate}`, [r.startDate!, r.endDate!]);
  }
  const sorted = [...ranges.values()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // the sessions stream's windows cover exactly [start, end); other listings (session lookback) may lie before
  const inside = sorted.filter(([s]) => s >= local(startIso));
  expect(inside[0]![0]).toBe(local(startIso));
  expect(inside.at(-1)![1]).toBe(localMinus1s(endIso));
  for (let n = 1; n < inside.length; n++) {
    const prevEnd = inside[n - 1]![1];
    let next = DateTime.fromFormat(prevEnd, FMT, { zone: 'UTC' }).plus({ seconds: 1 });
    // skip wall-clock times that do not exist in the zone (the spring gap)
    while (!existsInZone(next.toFormat(FMT))) next = next.plus({ minutes: 1 });
    expect(inside[n]![0], `the window after one ending ${prevEnd}`).toBe(next.toFormat(FMT));
  }
}

/** when the server's fixed rate-limit window that holds request n ends */
function windowEnd(api: IndependentApi, n: number): number {
  let start = api.log[0]!.at;
  for (const r of api.log.slice(0, n + 1)) if (r.at - start >= api.opts.rateWindowMs) start = r.at;
  return start + api.opts.rateWindowMs;
}

function existsInZone(s: string): boolean {
  try {
    utcOf(s, ZONE);
    return true;
  } catch {
    return false;
  }
}

describe('the built tap against an independent API implementation', () => {
  it('syncs five days across the autumn change exactly once per stream, then resumes within its lookback', async () => {
    const start = '2026-10-23T00:00:00';
    const end = '2026-10-28T00:00:00';
    const api = await startServer({
      from: '2026-10-21T22:00:00Z',
      to: '2026-10-28T06:00:00Z',
      newFieldsFrom: '2026-10-25T12:00:00Z',
      phpJson: true,
      gzip: true,
    });
    const cfg = config(api, { start_date: '2026-10-23', end_date: '2026-10-28', lookback_window: 'PT3H' });
    const first = await runTap(cfg);
    expectSuccess(first);
    checkCommon(first, api);
    checkExactlyOnce(first, api, start, end);
    checkDateStrings(api);
    checkSessionWindowsTile(api, start, end);
    const bookmarks = finalBookmarks(first);
    for (const s of STREAMS) {
      expect(bookmarks[s]).toEqual({ replication_key: 'created_at', replication_key_value: utc(end) });
    }
    // the server's 422 above 37 ids is the only refusal there may be, once per batch stream at most
    const refused = api.log.filter((r) => r.status === 422);
    expect(refused.length).toBeLessThanOrEqual(2);
    for (const r of refused) expect(r.sessionIds!.length).toBeGreaterThan(37);
    // pages follow the served per_page (73), not the asked one
    const pages = api.log.filter((r) => r.path.endsWith('/project/sessions') && r.page !== null && r.page !== '1');
    expect(pages.length).toBeGreaterThan(0);

    // a second run from the final STATE emits only what lies in the lookback before the bookmark
    const before = api.log.length;
    const second = await runTap(cfg, first.messages.filter((m) => m.type === 'STATE').at(-1)!.value);
    expect(second.code).toBe(0);
    checkCommon(second, api);
    const lookbackStart = DateTime.fromISO(end, { zone: ZONE }).minus({ hours: 3 }).toISO()!;
    checkExactlyOnce(second, api, lookbackStart, end);
    expect(finalBookmarks(second)).toEqual(bookmarks);
    expect(api.log.length - before).toBeLessThan(api.log.length / 2);
  });

  it.each([true, false])('a server that allows fewer requests than the tap was told (Retry-After sent: %s): slows from the X-RateLimit headers, retries each 429 after the wait, loses nothing', async (retryAfter) => {
    const start = '2026-10-26T00:00:00';
    const end = '2026-10-27T00:00:00';
    const api = await startServer({
      seed: 4290,
      from: '2026-10-25T00:00:00Z',
      to: '2026-10-27T00:00:00Z',
      meanGapMinutes: 20,
      rateLimit: 12,
      maxSessionIds: 1000,
      bodyBytesPerSecond: 0,
      retryAfter,
    });
    const run = await runTap(
      config(api, { start_date: '2026-10-26', end_date: '2026-10-27', window_size: 'PT2H', adaptive_windows: false }),
    );
    expectSuccess(run);
    checkExactlyOnce(run, api, start, end);
    // no request arrives before the Retry-After of a 429 (or, without one, the window's end) has passed
    for (const [n, r] of api.log.entries()) {
      if (r.status !== 429) continue;
      const next = api.log[n + 1];
      const wait = r.retryAfter === undefined ? windowEnd(api, n) - r.at : Number(r.retryAfter) * 1000;
      if (next) expect(next.at - r.at).toBeGreaterThanOrEqual(wait - 50);
    }
    // the headers say 12 a second: the tap slows down instead of running into the limit again and again
    expect(api.rejected429).toBeLessThanOrEqual(2);
  });

  it('a slow but steady body that takes longer than request_timeout is read to its end, not abandoned', async () => {
    const start = '2026-10-26T00:00:00';
    const end = '2026-10-26T12:00:00';
    const api = await startServer({
      seed: 77,
      from: '2026-10-25T12:00:00Z',
      to: '2026-10-26T12:00:00Z',
      meanGapMinutes: 6,
      maxSessionIds: 1000,
      bodyBytesPerSecond: 30_000,
    });
    const run = await runTap(config(api, { start_date: start, end_date: end, request_timeout: 0.5, max_retries: 1 }));
    expectSuccess(run);
    checkExactlyOnce(run, api, start, end);
    // the slowest body took more than twice request_timeout
    const visits = api.log.filter((r) => r.path.endsWith('/get-visits') && r.status === 200);
    expect(Math.max(...visits.map((r) => r.doneAt! - r.at))).toBeGreaterThan(1000);
  });

  it('late data under the defaults: items that become visible up to 14 minutes after their created_at are all read, none lost behind the bookmark', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const api = await startServer({
      seed: 15,
      from: new Date(now - 8 * 3_600_000).toISOString(),
      to: new Date(now).toISOString(),
      meanGapMinutes: 1.5,
      maxSessionIds: 1000,
      bodyBytesPerSecond: 0,
      // "a visit may become visible some minutes after its created_at": under the README's end_lag (PT15M)
      maxVisibilityDelayMs: 14 * 60_000,
    });
    const start = DateTime.fromMillis(now - 2 * 3_600_000, { zone: ZONE }).toISO({ suppressMilliseconds: true })!;
    const lag = process.env.INDEP_END_LAG ? { end_lag: process.env.INDEP_END_LAG } : {}; // to see this test fail: PT0S
    const run = await runTap(config(api, { start_date: start, session_lookback: 'PT4H', ...lag }));
    expectSuccess(run);
    const bookmarks = finalBookmarks(run);
    const end = bookmarks.sessions!.replication_key_value;
    for (const s of STREAMS) expect(bookmarks[s]?.replication_key_value).toBe(end);
    // everything before the bookmark, late items included, exactly once
    checkExactlyOnce(run, api, DateTime.fromISO(start).setZone(ZONE).toISO()!, DateTime.fromISO(end).setZone(ZONE).toISO()!);
  });

  it('session ids served as numeric strings go back to get-visits and get-conversions as strings', async () => {
    const api = await startServer({
      seed: 3,
      from: '2026-10-25T00:00:00Z',
      to: '2026-10-26T00:00:00Z',
      maxSessionIds: 1000,
      typeDrift: false,
    });
    const run = await runTap(config(api, { start_date: '2026-10-25T06:00:00Z', end_date: '2026-10-26T00:00:00Z' }));
    expectSuccess(run);
    const sent = api.log.flatMap((r) => r.sessionIds ?? []);
    expect(sent.filter((id) => typeof id === 'string').length).toBeGreaterThan(0);
    expect(api.idFormChanged.slice(0, 3)).toEqual([]);
  });

  it('a 403 on get-conversions: stops without retrying it and names the endpoint', async () => {
    const api = await startServer({
      from: '2026-10-25T00:00:00Z',
      to: '2026-10-26T00:00:00Z',
      maxSessionIds: 1000,
      forbidden: ['get-conversions'],
    });
    const run = await runTap(config(api, { start_date: '2026-10-25', end_date: '2026-10-26' }));
    expect(run.code).not.toBe(0);
    expect(api.log.filter((r) => r.status === 403)).toHaveLength(1);
    const critical = run.stderr.split('\n').filter((l) => /CRITICAL/.test(l));
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatch(/get-conversions/);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
    // no bookmark for conversions
    for (const m of run.messages) if (m.type === 'STATE') expect(m.value?.bookmarks.conversions).toBeUndefined();
  });

  it('a refused token: one request, no retry, a one-line error that says so and never shows the token', async () => {
    const api = await startServer({ from: '2026-10-25T00:00:00Z', to: '2026-10-26T00:00:00Z', token: 'another-token' });
    const run = await runTap(config(api, { start_date: '2026-10-25', end_date: '2026-10-26' }));
    expect(run.code).toBe(1);
    expect(api.log.map((r) => r.status)).toEqual([401]);
    expect(run.messages.filter((m) => m.type === 'RECORD')).toEqual([]);
    const critical = run.stderr.split('\n').filter((l) => /CRITICAL/.test(l));
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatch(/token/i);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  for (const occurrence of ['first', 'second'] as const) {
    it(`a visits window whose session batch would end in the ${occurrence} 02:10 of the repeated autumn hour`, async () => {
      const start = '2026-10-25T00:00:00';
      const end = '2026-10-25T06:00:00';
      const api = await startServer({
        seed: 251,
        from: '2026-10-24T14:00:00Z',
        to: '2026-10-25T06:00:00Z',
        meanGapMinutes: 25,
        maxSessionIds: 1000,
        bodyBytesPerSecond: 0,
      });
      // sessions the tap asks for from the first window: created since start - session_lookback
      // (6 h: longer than any session of this server, 3 h 20 min, plus the hour a session of
      // the second 02:xx loses when its time is read as the first)
      const since = Date.parse('2026-10-24T16:00:00Z'); // 2026-10-25 00:00 CEST - 6 h
      const firstTwoTen = Date.parse('2026-10-25T00:10:00Z'); // 02:10 CEST
      const edge = occurrence === 'first' ? firstTwoTen : firstTwoTen + 3_600_000; // or 02:10 CET
      const before = api.items.filter((i) => i.stream === 'sessions' && i.createdMs >= since && i.createdMs < edge);
      const run = await runTap(
        config(api, {
          start_date: start,
          end_date: end,
          window_size: 'PT1H',
          session_lookback: 'PT6H',
          session_batch_size: before.length,
        }),
      );
      expectSuccess(run);
      checkCommon(run, api);
      checkExactlyOnce(run, api, start, end);
      checkDateStrings(api);
    });
  }

  for (const [season, day] of [
    ['spring', '2026-03-29'],
    ['autumn', '2026-10-25'],
  ] as const) {
    it(`hourly fixed windows over the ${season} change: no time that cannot be said, no gap, no overlap`, async () => {
      const start = `${day}T00:00:00`;
      const end = DateTime.fromISO(start, { zone: ZONE }).plus({ days: 1 }).toISO({ includeOffset: false })!;
      const api = await startServer({
        seed: season === 'spring' ? 329 : 1025,
        from: DateTime.fromISO(start, { zone: ZONE }).minus({ days: 1 }).toUTC().toISO()!,
        to: DateTime.fromISO(end, { zone: ZONE }).toUTC().toISO()!,
        meanGapMinutes: 15,
        perPageCap: 100,
        perPageAsString: true,
        maxSessionIds: 250,
        bodyBytesPerSecond: 0,
      });
      const run = await runTap(
        config(api, { start_date: day, end_date: end.slice(0, 10) === day ? end : end.slice(0, 10), window_size: 'PT1H', adaptive_windows: false }),
      );
      expectSuccess(run);
      checkCommon(run, api);
      checkExactlyOnce(run, api, start, end);
      checkDateStrings(api);
      checkSessionWindowsTile(api, start, end);
      for (const s of STREAMS) expect(finalBookmarks(run)[s]?.replication_key_value).toBe(utc(end));
    });
  }
});
