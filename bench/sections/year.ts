/** Section 6: a simulated year at 60 requests a minute on a scaled clock: wall time, 429s, peak RSS. */
import { createDataset } from '../../test/fake-api/dataset.js';
import { startFakeApi } from '../../test/fake-api/server.js';
import { ENDPOINTS, TOKEN, tally, writeJson } from '../lib/fixtures.js';
import { recordCountFromStderr, runChild } from '../lib/measure.js';
import { formatNumber, mb, ratio, seconds, table, type Cell } from '../lib/table.js';
import { bench, checkRun, goal, print, progress, tapArgs } from '../lib/context.js';

// Longer than 60 lines on purpose: one measurement read top to bottom, from the server it starts
// to the table it prints, so that each figure sits beside how it is computed.
export async function simulatedYear(): Promise<void> {
  // 60 requests a minute on a clock 6 times faster: 60 per 10-second window, the tap told so.
  // (At 15 times the gap between requests, 67 ms, is shorter than a list-sessions page takes the
  // test server to build and the tap to write, and the run measures that instead of the pacing.)
  const scale = 6;
  const windowMs = 60_000 / scale;
  const perSecond = 60 / (windowMs / 1000);
  const dataset = createDataset({ zone: 'UTC', epoch: '2021-01-01T00:00:00Z', until: '2022-01-01T00:00:00Z', sessionIntervalSeconds: 120, visitsPerSession: 1, conversionEvery: 10 });
  const rows: Cell[][] = [];
  const peaks = new Map<string, number | undefined>();
  for (const [label, endDate] of [['one day', '2021-01-02'], ['30 days', '2021-01-31'], ['a year', '2022-01-01']] as const) {
    const api = await startFakeApi({ dataset, maxPerPage: 1000, maxSessionIds: 5000, rateLimit: { limit: 60, windowMs } });
    try {
      const config = writeJson(bench.tmp, `year-${label}.json`, {
        api_token: TOKEN,
        base_url: api.url,
        start_date: '2021-01-01',
        end_date: endDate,
        timezone: 'UTC',
        requests_per_minute: 60 * scale,
        rate_limit_window: `PT${windowMs / 1000}S`,
        request_timeout: 120,
      });
      progress(`simulated year: ${label} at 60 requests a minute, clock x${scale}`);
      const run = await runChild(process.execPath, tapArgs(config), { stdout: 'null', timeoutMs: 600_000, tmpDir: bench.tmp });
      checkRun(`simulated year ${label}`, run);
      const counts = tally(api.requests);
      const minimumMs = (counts.total / perSecond) * 1000;
      const over = run.wallMs / minimumMs;
      peaks.set(label, run.peakRssKb);
      const records = ENDPOINTS.map((e) => recordCountFromStderr(run.stderr, e) ?? 0);
      rows.push([
        label,
        counts.total,
        counts.status429,
        records.map((n) => formatNumber(n)).join(' / '),
        seconds(minimumMs),
        seconds(run.wallMs),
        ratio(over),
        `${(minimumMs / 1000 * scale / 60).toFixed(1)} min`,
        mb(run.peakRssKb),
        label === 'a year' ? goal('6 a year', `wall ≤ 1.05 × requests / rate (clock ×${scale})`, ratio(over), over <= 1.05) : '',
        label === 'a year' ? goal('6 a year', 'zero 429s', String(counts.status429), counts.status429 === 0) : '',
      ]);
    } finally {
      await api.close();
    }
  }
  const day = peaks.get('one day');
  const month = peaks.get('30 days');
  const year = peaks.get('a year');
  const growth = day === undefined || year === undefined ? NaN : year / day;
  const overMonth = month === undefined || year === undefined ? NaN : year / month;
  print();
  print(`## 6. A simulated year: 365 days, one session per 120 s (262,800 sessions), all streams, 60 requests a minute on a clock ${scale}× faster`);
  print();
  print(table(['range', 'requests', '429s', 'records s / v / c', 'minimum s', 'wall s', 'wall / minimum', 'minimum at real speed', 'peak RSS MB', 'wall ≤ 1.05×', 'zero 429'], rows));
  print();
  print(
    table(
      ['memory goal', 'measured', 'verdict'],
      [
        ['peak RSS of the year ≤ 1.2 × of one day', `${ratio(growth)} (${mb(year)} / ${mb(day)} MB)`, goal('6 a year', 'peak RSS year ≤ 1.2 × one day', ratio(growth), Number.isFinite(growth) ? growth <= 1.2 : undefined)],
        ['peak RSS of the year against 30 days (no goal: does memory grow with the range?)', `${ratio(overMonth)} (${mb(year)} / ${mb(month)} MB)`, 'n/a'],
      ],
    ),
  );
  print();
  print(`The server allows 60 requests per ${windowMs / 1000}-second window (60 a minute, ${scale}× faster) and caps per_page at 1000 and`);
  print(`session_ids at 5000 (Laravel's 422); the tap runs with requests_per_minute ${60 * scale} and rate_limit_window PT${windowMs / 1000}S, defaults`);
  print('otherwise. minimum = requests / (60 per window); wall = the tap process from spawn to exit, start-up included.');
}
