/** Section 5: requests against the minimum for server caps of ids and per_page. */
import { startFakeApi } from '../../test/fake-api/server.js';
import { ENDPOINTS, TOKEN, duplicateIds, recordSets, tally, writeJson } from '../lib/fixtures.js';
import { runChild } from '../lib/measure.js';
import { formatNumber, ratio, table, type Cell } from '../lib/table.js';
import { ninetyDays, windowFloor, windowsPerStream } from './ninety-days.js';
import { bench, checkRun, goal, print, progress, tapArgs } from '../lib/context.js';

// Longer than 60 lines on purpose: one measurement read top to bottom, from the server it starts
// to the table it prints, so that each figure sits beside how it is computed.
export async function requestTable(): Promise<void> {
  const { zone, start, end, dataset, sessions } = ninetyDays();
  const rows: Cell[][] = [];
  const caps = bench.quick ? [100, 5000] : [100, 500, 5000];
  for (const idCap of caps) {
    for (const perPage of [100, 1000]) {
      const api = await startFakeApi({ dataset, maxPerPage: perPage, maxSessionIds: idCap, rateLimit: { limit: 1_000_000_000, windowMs: 60_000 } });
      try {
        const config = writeJson(bench.tmp, `table-${idCap}-${perPage}.json`, {
          api_token: TOKEN,
          base_url: api.url,
          start_date: start.toISODate(),
          end_date: end.toISODate(),
          timezone: zone,
          requests_per_minute: 1_000_000_000,
          request_timeout: 120,
          max_retries: 0,
        });
        progress(`request table: ids cap ${idCap}, per_page cap ${perPage}`);
        const run = await runChild(process.execPath, tapArgs(config), { stdout: 'capture', timeoutMs: 180_000, tmpDir: bench.tmp });
        const ok = checkRun(`request table cap ${idCap} per_page ${perPage}`, run);
        const counts = tally(api.requests);
        const sets = ok ? recordSets(run.stdout) : undefined;
        const dups = ENDPOINTS.reduce((sum, e) => sum + duplicateIds(sets?.get(e) ?? []), 0);
        const minimum = Math.ceil(sessions / perPage) + 2 * Math.ceil(sessions / idCap);
        const floor = windowFloor(api, perPage, idCap);
        const overhead = Math.max(0, floor - minimum);
        const allowed = 1.1 * minimum + overhead;
        const windows = ok ? windowsPerStream(run.stdout) : {};
        const refused = api.requests.filter((r) => r.status === 422).length;
        const learned = /session batch size: (\d+) ids per request/.exec(run.stderr)?.[1] ?? 'n/a';
        rows.push([
          formatNumber(idCap),
          formatNumber(perPage),
          ...ENDPOINTS.map((e) => counts.byEndpoint[e]),
          counts.total,
          refused,
          learned,
          minimum,
          ratio(counts.total / minimum),
          ENDPOINTS.map((e) => windows[e] ?? 0).join(' / '),
          `${floor} (+${overhead})`,
          `${counts.total} ≤ ${allowed.toFixed(1)}`,
          dups,
          goal('5 request table', `ids ${idCap}, per_page ${perPage}: requests ≤ 1.1 × minimum + window overhead`, `${counts.total} vs ${allowed.toFixed(1)} (minimum ${minimum})`, ok ? counts.total <= allowed && dups === 0 : undefined),
        ]);
      } finally {
        await api.close();
      }
    }
  }
  print();
  print(`## 5. Requests against the minimum: 90 days (${start.toISODate()} .. ${end.toISODate()}, ${zone}), ${formatNumber(sessions)} sessions, all streams, default settings`);
  print();
  print(
    table(
      ['ids cap', 'per_page cap', 'sessions req', 'visits req', 'conversions req', 'total', '422 refused', 'learned batch', 'minimum', 'total / minimum', 'windows s / v / c', 'window floor (+overhead)', 'goal: ≤ 1.1 × min + overhead', 'dup ids', 'verdict'],
      rows,
    ),
  );
  print();
  print('minimum = ceil(sessions / per_page cap) + 2 × ceil(sessions / ids cap): one listing of every session and one');
  print('get-visits and one get-conversions request per full batch, as if the whole range were one window and the caps known.');
  print('window floor = the fewest requests the windows the tap used allow: per listing ceil(its sessions / per_page) pages,');
  print('per visits or conversions window ceil(its session ids / ids cap); overhead = floor - minimum (one partial page or');
  print('batch per window and stream, and the session_lookback day each child window asks for again). The rest (total -');
  print('floor) is what learning costs: batches below the cap before it is known, and the refused request that finds it.');
}
