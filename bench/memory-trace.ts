/**
 * Where the memory of a long sync goes (issue 11): runs the built tap over the simulated year of
 * bench section 6 (one session per 120 s, 60 requests a minute on a clock 6 times faster) with
 * bench/trace-preload.mjs, which samples process.memoryUsage() and writes heap snapshots.
 *
 *   npx tsx bench/memory-trace.ts [--days 365] [--snapshots 8,60] [--scale 6] [--every 250] [--node-flags '--max-semi-space-size=4']
 *
 * Prints rss / heapTotal / heapUsed / external over time and at their peaks, for each heap
 * snapshot the largest kinds of objects (self size by constructor name) with the change from the
 * first snapshot, and where the wall time above requests ÷ rate goes: start-up (spawn to the first
 * request), the time after the last request, and the gaps between request arrivals longer than
 * the tap's pacing (60 s / limit × 1.02), by the endpoints before and after. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { createDataset } from '../test/fake-api/dataset.js';
import { startFakeApi, type RecordedRequest } from '../test/fake-api/server.js';
import { ROOT, TAP_BIN, TOKEN, writeJson } from './lib/fixtures.js';
import { table } from './lib/table.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => args[args.indexOf(`--${name}`) + 1] ?? fallback;
const days = Number(args.includes('--days') ? option('days', '365') : '365');
const scale = Number(args.includes('--scale') ? option('scale', '6') : '6');
const snapshots = args.includes('--snapshots') ? option('snapshots', '') : '';
const every = args.includes('--every') ? option('every', '250') : '250';
const nodeFlags = args.includes('--node-flags') ? option('node-flags', '').split(' ').filter((f) => f !== '') : [];

interface Sample {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The first snapshot's sizes by constructor, to show what changed by the later ones. */
const firstSnapshot = new Map<string, number>();
const tmp = mkdtempSync(join(tmpdir(), 'tap-wemasy-trace-'));
const windowMs = 60_000 / scale;
const dataset = createDataset({ zone: 'UTC', epoch: '2021-01-01T00:00:00Z', until: '2022-01-01T00:00:00Z', sessionIntervalSeconds: 120, visitsPerSession: 1, conversionEvery: 10 });
const api = await startFakeApi({ dataset, maxPerPage: 1000, maxSessionIds: 5000, rateLimit: { limit: 60, windowMs } });
try {
  const config = writeJson(tmp, 'config.json', {
    api_token: TOKEN,
    base_url: api.url,
    start_date: '2021-01-01',
    end_date: DateTime.fromISO('2021-01-01', { zone: 'utc' }).plus({ days }).toISODate(),
    timezone: 'UTC',
    requests_per_minute: 60 * scale,
    rate_limit_window: `PT${windowMs / 1000}S`,
    request_timeout: 120,
  });
  const traceFile = join(tmp, 'trace.jsonl');
  const started = performance.now();
  const spawnedAt = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', join(ROOT, 'bench/trace-preload.mjs'), TAP_BIN, '--config', config], {
      stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'],
      env: { ...process.env, TRACE_FILE: traceFile, TRACE_DIR: tmp, TRACE_SNAPSHOT_AT: snapshots, TRACE_EVERY_MS: every },
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (/^trace:|CRITICAL|ERROR/.test(line)) process.stderr.write(`${line}\n`);
    });
    child.once('error', reject);
    child.once('close', resolve);
  });
  const wall = performance.now() - started;
  const samples = readFileSync(traceFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Sample);
  printTrace(samples, days, wall, code, api.requests.length);
  printGaps(api.requests, spawnedAt, wall);
  for (const at of snapshots.split(',').filter((s) => s !== '')) printSnapshot(join(tmp, `at-${at}s.heapsnapshot`), at);
} finally {
  await api.close();
  rmSync(tmp, { recursive: true, force: true });
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function printTrace(samples: readonly Sample[], days: number, wall: number, code: number | null, requests: number): void {
  console.log(`${days} days${nodeFlags.length > 0 ? ` (node ${nodeFlags.join(' ')})` : ''}: exit ${code}, ${requests} requests, ${(wall / 1000).toFixed(1)} s, ${samples.length} samples`);
  const step = Math.max(1, Math.floor(samples.length / 20));
  const rows = samples.filter((_, i) => i % step === 0 || i === samples.length - 1).map((s) => [(s.t / 1000).toFixed(1), mb(s.rss), mb(s.heapTotal), mb(s.heapUsed), mb(s.external), mb(s.arrayBuffers)]);
  const peak = (key: keyof Sample): string => mb(Math.max(...samples.map((s) => s[key])));
  rows.push(['peak', peak('rss'), peak('heapTotal'), peak('heapUsed'), peak('external'), peak('arrayBuffers')]);
  console.log(table(['s', 'rss MB', 'heapTotal MB', 'heapUsed MB', 'external MB', 'arrayBuffers MB'], rows));
}


/** Self size by constructor name (V8 heap snapshot format: nodes are flat arrays of node_fields). */
function printSnapshot(path: string, at: string): void {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const bySize = new Map<string, number>();
  const counts = new Map<string, number>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt] as number] ?? '?';
    const name = type === 'object' || type === 'closure' ? (snapshot.strings[snapshot.nodes[i + nameAt] as number] ?? '?') : `(${type})`;
    bySize.set(name, (bySize.get(name) ?? 0) + (snapshot.nodes[i + sizeAt] as number));
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const total = [...bySize.values()].reduce((a, b) => a + b, 0);
  const first = firstSnapshot.size === 0;
  const top = [...bySize.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`\nheap snapshot at ${at} s: ${mb(total)} MB in ${snapshot.nodes.length / fields.length} nodes`);
  console.log(table(['constructor', 'count', 'self MB', 'change MB'], top.map(([name, size]) => [name.slice(0, 40), counts.get(name) ?? 0, mb(size), first ? '' : mb(size - (firstSnapshot.get(name) ?? 0))])));
  if (first) for (const [name, size] of bySize) firstSnapshot.set(name, size);
}

/** Where the wall time above requests ÷ rate goes. */
function printGaps(requests: readonly RecordedRequest[], spawnedAt: number, wall: number): void {
  const pace = (windowMs / 60) * 1.02;
  const first = requests[0];
  const last = requests[requests.length - 1];
  if (first === undefined || last === undefined) return;
  const byStep = new Map<string, { count: number; excess: number }>();
  for (let i = 1; i < requests.length; i += 1) {
    const before = requests[i - 1] as RecordedRequest;
    const after = requests[i] as RecordedRequest;
    const excess = after.atMs - before.atMs - pace;
    if (excess <= 5) continue;
    const step = `${before.endpoint}${before.page === undefined ? '' : before.page > 1 ? ' page>1' : ' page 1'} -> ${after.endpoint}${after.page === undefined ? '' : after.page > 1 ? ' page>1' : ' page 1'}`;
    const entry = byStep.get(step) ?? { count: 0, excess: 0 };
    entry.count += 1;
    entry.excess += excess;
    byStep.set(step, entry);
  }
  const minimum = (requests.length / 60) * windowMs;
  const rows: (string | number)[][] = [
    ['wall', '', (wall / 1000).toFixed(2), ratio(wall, minimum)],
    ['requests ÷ rate', requests.length, (minimum / 1000).toFixed(2), '1.000'],
    ['pacing margin (× 1.02)', '', ((minimum * 0.02) / 1000).toFixed(2), ratio(minimum * 0.02, minimum)],
    ['start-up (spawn to first request)', '', ((first.atMs - spawnedAt) / 1000).toFixed(2), ratio(first.atMs - spawnedAt, minimum)],
    ['after the last request', '', ((spawnedAt + wall - last.atMs - pace) / 1000).toFixed(2), ratio(spawnedAt + wall - last.atMs - pace, minimum)],
  ];
  for (const [step, { count, excess }] of [...byStep.entries()].sort((a, b) => b[1].excess - a[1].excess)) {
    rows.push([`gaps ${step}`, count, (excess / 1000).toFixed(2), ratio(excess, minimum)]);
  }
  console.log(`\npacing ${pace.toFixed(0)} ms between requests; gaps count when longer by more than 5 ms`);
  console.log(table(['time', 'count', 's', 'share of requests ÷ rate'], rows));
}

function ratio(part: number, whole: number): string {
  return (part / whole).toFixed(3);
}
