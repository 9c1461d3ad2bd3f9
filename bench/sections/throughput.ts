/** Section 1: one get-visits window of N visits, the tap against a ceiling (fetch + JSON.parse + RECORD lines). */
import { join } from 'node:path';
import { createDataset } from '../../test/fake-api/dataset.js';
import { API_PATHS, startFakeApi, type FakeApi } from '../../test/fake-api/server.js';
import { CEILING_BIN, TOKEN, catalogSelecting, tally, writeJson, type RequestTally } from '../lib/fixtures.js';
import { median, recordCountFromStderr, runChild, type ChildRun } from '../lib/measure.js';
import { formatNumber, mb, ratio, seconds, table, verdict, type Cell } from '../lib/table.js';
import { bench, checkRun, crashes, goal, print, progress, tapArgs } from '../lib/context.js';

export async function throughput(): Promise<void> {
  const sizes = bench.quick ? [10_000, 50_000] : [10_000, 100_000, 500_000];
  progress(`throughput: preparing sessions for ${sizes.map((n) => formatNumber(n)).join(', ')} visits`);
  // Sessions one second apart from 2020-01-01 00:00:01 UTC, up to 99 visits each, all visits
  // within 20 h of their session: every visit of the first ~14k sessions lies on 2020-01-01
  // or 2020-01-02, so one P2D window [2020-01-01, 2020-01-03) holds them all.
  const dataset = createDataset({
    zone: 'UTC',
    epoch: '2020-01-01T00:00:00Z',
    until: '2020-01-02T00:00:00Z',
    sessionIntervalSeconds: 1,
    jitter: false,
    visitsPerSession: 99,
  });
  const api = await startFakeApi({ dataset, rateLimit: { limit: 1_000_000_000, windowMs: 60_000 } });
  const catalog = writeJson(bench.tmp, 'catalog-visits.json', catalogSelecting(['visits']));
  const rows: Cell[][] = [];
  const peakByN = new Map<number, number | undefined>();
  try {
    for (const n of sizes) {
      const { row, tapPeak } = await measureSize({ api, dataset, catalog }, n);
      rows.push(row);
      peakByN.set(n, tapPeak);
    }
  } finally {
    await api.close();
  }

  printThroughput(rows, sizes, peakByN);
}

interface Setup {
  readonly api: FakeApi;
  readonly dataset: ReturnType<typeof createDataset>;
  readonly catalog: string;
}

/** The runs at one N, tap and ceiling alternating: the table row and the tap's peak RSS. */
async function measureSize({ api, dataset, catalog }: Setup, n: number): Promise<{ row: Cell[]; tapPeak: number | undefined }> {
  const ids = sessionsHolding(dataset, n);
  const config = writeJson(bench.tmp, `throughput-${n}.json`, {
    api_token: TOKEN,
    base_url: api.url,
    start_date: '2020-01-01',
    end_date: '2020-01-03',
    timezone: 'UTC',
    window_size: 'P2D',
    adaptive_windows: false,
    session_ids: ids,
    session_batch_size: 10_000,
    requests_per_minute: 1_000_000_000,
    request_timeout: 600,
    max_retries: 0,
  });
  const ceilingSpec = join(bench.tmp, `ceiling-${n}.json`);
  const timeoutMs = 60_000 + n * 0.5;
  const reps = bench.quick ? 1 : n >= 500_000 ? 2 : 3;
  const tapRuns: ChildRun[] = [];
  const ceilingRuns: ChildRun[] = [];
  let tapRequests: RequestTally | undefined;
  let tapCount: number | undefined;
  let ceilingCount: number | undefined;
  let bodyBytes = NaN;
  for (let rep = 0; rep < reps; rep += 1) {
    progress(`throughput: N=${formatNumber(n)} (${ids.length} sessions), run ${rep + 1}/${reps}: tap`);
    api.reset();
    const tap = await runChild(process.execPath, tapArgs(config, '--catalog', catalog), { stdout: 'null', timeoutMs, tmpDir: bench.tmp });
    if (!checkRun(`throughput N=${n}: tap`, tap)) break;
    tapRuns.push(tap);
    tapRequests = tally(api.requests);
    tapCount = recordCountFromStderr(tap.stderr, 'visits');
    if (rep === 0) writeCeilingSpec(api, n, ids);
    progress(`throughput: N=${formatNumber(n)}, run ${rep + 1}/${reps}: ceiling`);
    const ceiling = await runChild(process.execPath, [CEILING_BIN, ceilingSpec], { stdout: 'null', timeoutMs, tmpDir: bench.tmp });
    if (!checkRun(`throughput N=${n}: ceiling`, ceiling)) break;
    ceilingRuns.push(ceiling);
    const said = /ceiling: (\d+) records, (\d+) bytes/.exec(ceiling.stderr);
    ceilingCount = Number(said?.[1] ?? NaN);
    bodyBytes = Number(said?.[2] ?? NaN);
  }
  if (tapCount !== undefined && tapCount !== n) crashes.push(`throughput N=${n}: the tap emitted ${tapCount} records`);
  if (ceilingCount !== undefined && ceilingCount !== n) crashes.push(`throughput N=${n}: the ceiling wrote ${ceilingCount} records`);
  const tapRate = n / (median(tapRuns.map((r) => r.wallMs)) / 1000);
  const ceilingRate = n / (median(ceilingRuns.map((r) => r.wallMs)) / 1000);
  const tapPeak = maxOf(tapRuns.map((r) => r.peakRssKb));
  const ceilingPeak = maxOf(ceilingRuns.map((r) => r.peakRssKb));
  const share = tapRate / ceilingRate;
  const rateOk = tapRuns.length > 0 && ceilingRuns.length > 0 ? share >= 0.8 : undefined;
  goal('1 throughput', `N=${formatNumber(n)}: tap ≥ 0.8 × ceiling records/s`, `${share.toFixed(2)}×`, rateOk);
  const row: Cell[] = [
    formatNumber(n),
    (bodyBytes / 2 ** 20).toFixed(1),
    tapRequests === undefined ? 'n/a' : `${tapRequests.total}`,
    `${tapRuns.length}+${ceilingRuns.length}`,
    seconds(median(tapRuns.map((r) => r.wallMs))),
    Math.round(tapRate),
    mb(tapPeak),
    seconds(median(ceilingRuns.map((r) => r.wallMs))),
    Math.round(ceilingRate),
    mb(ceilingPeak),
    ratio(share),
    verdict(rateOk),
  ];
  return { row, tapPeak };
}

/** The ceiling replays the tap's own request: same URL, headers that matter, body. */
function writeCeilingSpec(api: FakeApi, n: number, ids: readonly number[]): void {
  const sent = api.requests.find((r) => r.endpoint === 'visits' && r.status === 200);
  const body = sent?.rawBody ?? JSON.stringify({ key: 'list', start_date: '2020-01-01 00:00:00', end_date: '2020-01-02 23:59:59', session_ids: ids });
  writeJson(bench.tmp, `ceiling-${n}.json`, {
    url: api.url + API_PATHS.visits,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json' },
    body,
    stream: 'visits',
  });
}

function printThroughput(rows: Cell[][], sizes: readonly number[], peakByN: Map<number, number | undefined>): void {
  print();
  print('## 1. Throughput: one window of N visits, visits stream only, stdout to /dev/null');
  print();
  print(
    table(
      ['N visits', 'body MB', 'tap requests', 'runs tap+ceiling', 'tap s', 'tap rec/s', 'tap peak MB', 'ceiling s', 'ceiling rec/s', 'ceiling peak MB', 'tap/ceiling', '≥ 0.8×'],
      rows,
    ),
  );
  print();
  print('Times are medians of the runs (tap and ceiling alternate); peak RSS is the largest of the runs.');
  const largest = sizes[sizes.length - 1] as number;
  const smallest = sizes[0] as number;
  const big = peakByN.get(largest);
  const small = peakByN.get(smallest);
  const under150 = big === undefined ? undefined : big / 1024 < 150;
  const growth = big === undefined || small === undefined ? NaN : big / small;
  const flat = Number.isFinite(growth) ? growth <= 1.5 : undefined;
  print();
  print(
    table(
      ['memory goal', 'measured', 'verdict'],
      [
        [`tap peak RSS at N=${formatNumber(largest)} < 150 MB`, `${mb(big)} MB`, goal('1 throughput', `peak RSS at N=${formatNumber(largest)} < 150 MB`, `${mb(big)} MB`, under150)],
        [
          `tap peak RSS at N=${formatNumber(largest)} ≤ 1.5 × at N=${formatNumber(smallest)}`,
          `${ratio(growth)} (${mb(big)} / ${mb(small)} MB)`,
          goal('1 throughput', `peak RSS N=${formatNumber(largest)} ≤ 1.5 × N=${formatNumber(smallest)}`, ratio(growth), flat),
        ],
      ],
    ),
  );
}

/**
 * Session ids whose visits number exactly `n` in total: sessions with at least 50 visits (so
 * that 500k visits fit in the 10,000 ids one request may carry), in id order, the last one
 * swapped for a later session with exactly the visits still missing.
 */
function sessionsHolding(dataset: ReturnType<typeof createDataset>, n: number): number[] {
  const ids: number[] = [];
  let total = 0;
  for (let k = 1; total < n; k += 1) {
    if (!dataset.hasSession(k)) throw new Error(`the throughput dataset has too few sessions for ${n} visits`);
    const count = dataset.visitsOf(k).length;
    if (count < 50) continue;
    if (total + count <= n) {
      ids.push(k);
      total += count;
      continue;
    }
    const missing = n - total;
    let j = k;
    while (dataset.visitsOf(j).length !== missing) {
      j += 1;
      if (!dataset.hasSession(j)) throw new Error(`no session with exactly ${missing} visits`);
    }
    ids.push(j);
    total += missing;
  }
  if (ids.length > 10_000) throw new Error(`${n} visits need ${ids.length} sessions, more than one request carries`);
  return ids;
}

function maxOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
