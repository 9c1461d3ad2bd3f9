/**
 * `npm run bench`: the built tap (`node dist/main.js`) as a child process against the bundled
 * Wemasy test server (test/fake-api), in sections (bench/sections/), each printed as a table:
 *
 *   1. throughput   one get-visits window of N = 10k, 100k, 500k visits: records/s and peak RSS
 *                   of the tap, against a ceiling (bench/ceiling.mjs) that fetches the same
 *                   response, JSON.parse-s it and writes one line per item
 *   2. requests     90 days, ~5,000 sessions, ~100k visits + conversions, window_size P1D:
 *                   requests per endpoint with fixed and with adaptive windows, same records?
 *   3. rate limit   a server limited to 10 requests a second, the tap at 600 a minute: wall time
 *                   against requests / 10 per s, and the 429s the server sent
 *   4. start-up     `node dist/main.js --about` against `node -e 0`, median of 15
 *   5. request table 90 days, ~5,000 sessions, all streams, defaults: requests against the
 *                   minimum ceil(sessions / per_page) + 2 * ceil(sessions / max_ids) for server
 *                   caps of 100, 500 and 5,000 ids and per_page caps of 100 and 1,000
 *   6. a year       365 days at 60 requests a minute on a clock scaled 6x: wall time against
 *                   requests / rate, 429s, and peak RSS against a run of one day
 *   7. first STATE  a 90-day backfill: how many requests the server had answered when the first
 *                   STATE reached stdout, with the sessions stream selected and without it
 *   8. hot paths    the hand-written item scanner against stream-json and JSON.parse, and the
 *                   hand-written date-time converter against luxon: does each still pay?
 *
 * It is a measurement, not a test: it exits non-zero only when something crashes (the tap
 * exits non-zero, a child times out, the server fails), never because a goal is missed.
 * Options: `--section 1,3` runs some sections only; `--quick` runs fewer repetitions and
 * smaller sizes (for trying the script out). Tables are also written to .bench/last-run.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { bench, crashes, output, print, summary } from './lib/context.js';
import { ROOT, TAP_BIN } from './lib/fixtures.js';
import { hasGnuTime, killChildren } from './lib/measure.js';
import { seconds, table } from './lib/table.js';
import { requestEconomy } from './sections/economy.js';
import { firstState } from './sections/first-state.js';
import { hotPaths } from './sections/hot-paths.js';
import { rateLimitFill } from './sections/rate-limit.js';
import { requestTable } from './sections/request-table.js';
import { startUp } from './sections/startup.js';
import { throughput } from './sections/throughput.js';
import { simulatedYear } from './sections/year.js';

const args = process.argv.slice(2);
const sectionArg = args.find((a, i) => args[i - 1] === '--section') ?? args.find((a) => a.startsWith('--section='))?.slice(10);
const sections = new Set((sectionArg ?? '1,2,3,4,5,6,7,8').split(',').map((s) => Number(s.trim())));
const SECTIONS: readonly [number, () => unknown][] = [
  [1, throughput],
  [2, requestEconomy],
  [3, rateLimitFill],
  [4, startUp],
  [5, requestTable],
  [6, simulatedYear],
  [7, firstState],
  [8, hotPaths],
];

if (!existsSync(TAP_BIN)) {
  process.stderr.write(`bench: ${TAP_BIN} is missing; run \`npm run build\` first (npm run bench does)\n`);
  process.exit(1);
}
bench.quick = args.includes('--quick');
bench.tmp = mkdtempSync(join(tmpdir(), 'tap-wemasy-bench-'));
// Children run in their own process groups (so a timeout ends them with their wrapper), so an
// interrupted bench must end them itself.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    rmSync(bench.tmp, { recursive: true, force: true });
    process.stderr.write(`bench: interrupted by ${signal}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
const benchStarted = Date.now();

print('# tap-wemasy benchmarks');
print();
print(
  `${new Date().toISOString()} · node ${process.version} · ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}) · ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB · peak RSS via ${hasGnuTime() ? 'GNU time (%M)' : '/proc/<pid>/status VmHWM polled every 20 ms'}` +
    (bench.quick ? ' · --quick' : ''),
);
print(`tap built from ${gitDescription()}`);
print(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min; other jobs share these CPUs)`);

try {
  for (const [number, run] of SECTIONS) if (sections.has(number)) await run();
} catch (error) {
  crashes.push(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  rmSync(bench.tmp, { recursive: true, force: true });
}

print();
print('## Summary');
print();
print(table(['section', 'goal', 'measured', 'verdict'], summary.map((s) => [s.section, s.goal, s.measured, s.verdict])));
print();
print(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
print(`total bench time ${seconds(Date.now() - benchStarted)} s${crashes.length > 0 ? `; ${crashes.length} crash(es)` : ''}`);
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench/last-run.md'), `${output.join('\n')}\n`);
if (crashes.length > 0) {
  process.stderr.write(`\nbench: CRASHED\n${crashes.join('\n\n')}\n`);
  process.exitCode = 1;
}

/** `commit abc1234` plus whether the working tree had uncommitted changes (read-only git calls). */
function gitDescription(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'an unknown revision (not a git checkout)';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  const changed = dirty.stdout.trim().split('\n').filter((l) => l.length > 0).length;
  return `commit ${head.stdout.trim()}${changed > 0 ? ` with uncommitted changes to ${changed} file(s) under src/` : ''}`;
}
