/** Section 3: a server limited to 10 requests a second, the tap at 600 a minute: wall time and 429s. */
import { DateTime } from 'luxon';
import { startFakeApi } from '../../test/fake-api/server.js';
import { TOKEN, catalogSelecting, tally, writeJson } from '../lib/fixtures.js';
import { median, runChild } from '../lib/measure.js';
import { ratio, seconds, table, type Cell } from '../lib/table.js';
import { bench, checkRun, goal, print, progress, tapArgs } from '../lib/context.js';

interface FillCase {
  readonly label: string;
  /** The server's limiter: `limit` requests per fixed window of `windowMs`, sent as X-RateLimit-Limit. */
  readonly limit: number;
  readonly windowMs: number;
  /** Kill the tap after this long; the row then reports the pace it kept instead of a wall time. */
  readonly capMs: number;
}

// Longer than 60 lines on purpose: one measurement read top to bottom, from the server it starts
// to the table it prints, so that each figure sits beside how it is computed.
export async function rateLimitFill(): Promise<void> {
  const days = bench.quick ? 40 : 120;
  const rpm = 600;
  // (a) is the brief's setting: the server counts 10 per 1-second window, and the tap is told so
  // with rate_limit_window PT1S (its headers count per second, not per minute as the API
  // documents); (b) states the same 10 a second the way the API contract does.
  const cases: FillCase[] = [
    { label: '(a) 10 per 1 s window', limit: 10, windowMs: 1000, capMs: 30_000 },
    { label: '(b) 600 per 60 s window', limit: 600, windowMs: 60_000, capMs: 60_000 },
  ];
  const rows: Cell[][] = [];
  const catalog = writeJson(bench.tmp, 'catalog-sessions.json', catalogSelecting(['sessions']));
  for (const c of cases) {
    const api = await startFakeApi({ dataset: { zone: 'UTC', sessionIntervalSeconds: 7200 }, rateLimit: { limit: c.limit, windowMs: c.windowMs } });
    try {
      const config = writeJson(bench.tmp, `ratelimit-${c.limit}.json`, {
        api_token: TOKEN,
        base_url: api.url,
        start_date: '2021-01-01',
        end_date: DateTime.fromISO('2021-01-01', { zone: 'utc' }).plus({ days }).toISODate(),
        timezone: 'UTC',
        window_size: 'P1D',
        adaptive_windows: false,
        requests_per_minute: rpm,
        rate_limit_window: c.windowMs === 60_000 ? 'PT1M' : `PT${c.windowMs / 1000}S`,
        request_timeout: 60,
      });
      progress(`rate limit ${c.label}: ${days} requests, tap at ${rpm}/min (cap ${seconds(c.capMs)} s)`);
      api.reset();
      const run = await runChild(process.execPath, tapArgs(config, '--catalog', catalog), { stdout: 'null', timeoutMs: c.capMs, tmpDir: bench.tmp });
      if (!run.timedOut) checkRun(`rate limit ${c.label}`, run);
      const counts = tally(api.requests);
      const served = counts.total - counts.status429 - counts.otherErrors;
      const perSecond = c.limit / (c.windowMs / 1000);
      const minimumMs = (days / perSecond) * 1000;
      let wall = run.wallMs;
      let note = '';
      if (run.timedOut) {
        // Unfinished: project the wall time from the gap the tap kept between requests.
        const times = api.requests.map((r) => r.atMs);
        const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
        const gap = median(gaps);
        const first = times[0] === undefined ? NaN : times[0] - (Date.now() - run.wallMs);
        wall = Number.isFinite(gap) ? first + (days - 1) * gap : NaN;
        const pace = /pacing to \d+/.exec(run.stderr)?.[0];
        note = `killed after ${seconds(run.wallMs)} s with ${served} done; ${Number.isFinite(gap) ? `one request per ${seconds(gap)} s` : 'no pace'}${pace === undefined ? '' : `, tap log: "${pace}"`}`;
      }
      const over = wall / minimumMs;
      const arrivals = api.requests.map((r) => r.atMs);
      const spanMs = arrivals.length < 2 ? NaN : (arrivals[arrivals.length - 1] as number) - (arrivals[0] as number);
      const gapMs = spanMs / (arrivals.length - 1);
      const tag = c.label.slice(0, 3);
      rows.push([
        c.label,
        rpm,
        run.timedOut ? `${served} of ${days}` : served,
        counts.status429,
        seconds(minimumMs),
        run.timedOut ? `≈ ${seconds(wall)} (projected)` : seconds(wall),
        run.timedOut ? `≈ ${ratio(over)}` : ratio(over),
        Number.isFinite(gapMs) ? `${gapMs.toFixed(0)} (${ratio(gapMs / (1000 / perSecond))})` : 'n/a',
        goal('3 rate limit', `${tag} wall ≤ 1.15 × requests / ${perSecond} per s`, run.timedOut ? `≈ ${ratio(over)} (projected)` : ratio(over), over <= 1.15),
        goal('3 rate limit', `${tag} zero 429s`, String(counts.status429), counts.status429 === 0),
        note,
      ]);
    } finally {
      await api.close();
    }
  }
  print();
  print(`## 3. Rate-limit fill: sessions stream only, ${days} P1D windows (one request each), adaptive_windows false`);
  print();
  print(
    table(
      ['server limit', 'requests_per_minute', 'requests', '429s', 'minimum s', 'wall s', 'wall / minimum', 'ms between requests', '≤ 1.15×', 'zero 429', 'note'],
      rows,
    ),
  );
  print();
  print('minimum = requests / (limit per second); wall = the tap process from spawn to exit, start-up included;');
  print('ms between requests = (last arrival - first arrival) / (requests - 1) at the server, against 1 / (limit per second).');
  print('The server sends X-RateLimit-Limit = its limit per window; the tap reads the headers per rate_limit_window');
  print('(PT1S in (a), the API default PT1M in (b)) and paces to min(requests_per_minute, header per minute).');
}
