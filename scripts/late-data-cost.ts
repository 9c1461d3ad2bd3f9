/**
 * `npx tsx scripts/late-data-cost.ts`: what the late-data defaults (end_lag PT15M, lookback_window
 * PT2H) cost in requests, measured against the test server.
 *
 * A project of about 2,000 sessions a day (4 visits at most per session, conversions on one in
 * three; list-sessions capped at 100 per page). The tap runs in-process on a fake clock, on a
 * schedule, each run resuming from the previous one's last STATE, all other settings at their
 * defaults. The first run (the backfill) is not counted; the rest are, per day of data:
 * - nightly: a run every day at 02:00 UTC, for 7 days;
 * - hourly: a run every hour, for 2 days.
 * Each schedule runs twice: with the defaults (or with the settings given as a JSON argument,
 * e.g. '{"lookback_window": "P1D"}'), and with end_lag and lookback_window PT0S.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runTap } from '../src/tap.js';
import { startFakeApi } from '../test/fake-api/server.js';
import { fakeClock } from '../test/helpers/in-process.js';

const clock = fakeClock('1970-01-01T00:00:00Z');
const api = await startFakeApi({
  dataset: { zone: 'Europe/Amsterdam', sessionIntervalSeconds: 43 },
  rateLimit: { limit: 1_000_000, windowMs: 60_000 },
  now: () => clock.nowMs(),
});
const dir = mkdtempSync(join(tmpdir(), 'tap-wemasy-late-cost-'));
const HOUR = 3_600_000;

/** Runs the tap at each instant in turn; returns the requests of every run but the first. */
async function schedule(name: string, runs: readonly number[], extra: object): Promise<number> {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ api_token: 'test-token', base_url: api.url, start_date: '2026-03-01', timezone: 'Europe/Amsterdam', ...extra }));
  let state: unknown;
  let counted = 0;
  for (const [i, at] of runs.entries()) {
    clock.set(new Date(at).toISOString());
    let out = '';
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out += chunk.toString('utf8');
        callback();
      },
    });
    const args = ['--config', config];
    if (state !== undefined) {
      const path = join(dir, `${name}-state.json`);
      writeFileSync(path, JSON.stringify(state));
      args.push('--state', path);
    }
    api.requests.length = 0;
    let stderr = '';
    const code = await runTap(args, { stdout, writeStderr: (line) => void (stderr += line), env: {}, clock });
    if (code !== 0) throw new Error(`${name} run ${i} failed: ${stderr.split('\n').filter((l) => l.includes('CRITICAL')).join(' ')}`);
    state = out.trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string; value?: unknown }).filter((m) => m.type === 'STATE').at(-1)?.value;
    if (i > 0) counted += api.requests.length;
  }
  return counted;
}

const nightly = Array.from({ length: 8 }, (_, i) => Date.parse('2026-03-10T02:00:00Z') + i * 24 * HOUR);
const hourly = [Date.parse('2026-03-10T00:00:00Z'), ...Array.from({ length: 48 }, (_, i) => Date.parse('2026-03-10T00:00:00Z') + (i + 1) * HOUR)];
const off = { end_lag: 'PT0S', lookback_window: 'PT0S' };
const tried = JSON.parse(process.argv[2] ?? '{}') as object;
const rows: string[] = [];
for (const [name, runs, days] of [['nightly', nightly, 7], ['hourly', hourly, 2]] as const) {
  const withDefaults = (await schedule(`${name}-defaults`, runs, tried)) / days;
  const without = (await schedule(`${name}-off`, runs, off)) / days;
  rows.push(
    `${name.padEnd(8)} requests per day of data: ${without.toFixed(1)} without, ${withDefaults.toFixed(1)} with ${process.argv[2] ?? 'the defaults'}: ` +
      `+${(withDefaults - without).toFixed(1)} (x${(withDefaults / without).toFixed(2)})`,
  );
}
await api.close();
process.stdout.write(`${rows.join('\n')}\n`);
