/** Section 2: requests per endpoint over 90 days with fixed and with adaptive windows, same records. */
import { startFakeApi } from '../../test/fake-api/server.js';
import { ENDPOINTS, TOKEN, duplicateIds, recordSets, sameRecordSets, tally, writeJson, type RequestTally } from '../lib/fixtures.js';
import { runChild } from '../lib/measure.js';
import { formatNumber, seconds, table, type Cell } from '../lib/table.js';
import { ninetyDays } from './ninety-days.js';
import { bench, checkRun, crashes, goal, print, progress, tapArgs } from '../lib/context.js';

// Longer than 60 lines on purpose: one measurement read top to bottom, from the server it starts
// to the table it prints, so that each figure sits beside how it is computed.
export async function requestEconomy(): Promise<void> {
  const { zone, start, end, dataset, options: datasetOptions } = ninetyDays();
  const expected = {
    sessions: dataset.sessionsCreatedIn(start.toMillis(), end.toMillis()).length,
    visits: dataset.visitsCreatedIn(start.toMillis(), end.toMillis()).length,
    conversions: dataset.conversionsCreatedIn(start.toMillis(), end.toMillis()).length,
  };
  const rows: Cell[][] = [];
  const verdicts: Cell[][] = [];
  for (const maxPerPage of bench.quick ? [100] : [100, 1000]) {
    const api = await startFakeApi({ dataset, maxPerPage, rateLimit: { limit: 1_000_000_000, windowMs: 60_000 } });
    try {
      const results = new Map<boolean, { tally: RequestTally; sets: Map<string, string[]> | undefined }>();
      for (const adaptive of [false, true]) {
        const config = writeJson(bench.tmp, `economy-${maxPerPage}-${adaptive}.json`, {
          api_token: TOKEN,
          base_url: api.url,
          start_date: start.toISODate(),
          end_date: end.toISODate(),
          timezone: zone,
          window_size: 'P1D',
          adaptive_windows: adaptive,
          requests_per_minute: 1_000_000_000,
          request_timeout: 120,
          max_retries: 0,
        });
        progress(`requests: maxPerPage ${maxPerPage}, ${adaptive ? 'adaptive' : 'fixed'} windows`);
        api.reset();
        const run = await runChild(process.execPath, tapArgs(config), { stdout: 'capture', timeoutMs: 120_000, tmpDir: bench.tmp });
        const ok = checkRun(`requests maxPerPage=${maxPerPage} adaptive=${adaptive}`, run);
        const counts = tally(api.requests);
        const sets = ok ? recordSets(run.stdout) : undefined;
        results.set(adaptive, { tally: counts, sets });
        const emitted = ENDPOINTS.map((s) => sets?.get(s)?.length ?? 0);
        const dups = ENDPOINTS.reduce((sum, s) => sum + duplicateIds(sets?.get(s) ?? []), 0);
        const complete = ENDPOINTS.every((s, i) => emitted[i] === expected[s]);
        if (ok && !complete) crashes.push(`requests maxPerPage=${maxPerPage} adaptive=${adaptive}: emitted ${emitted.join('/')} records, expected ${ENDPOINTS.map((s) => expected[s]).join('/')}`);
        rows.push([
          maxPerPage,
          adaptive ? 'adaptive' : 'fixed',
          ...ENDPOINTS.map((e) => counts.byEndpoint[e]),
          counts.total,
          counts.status429 + counts.otherErrors,
          emitted.map((e) => formatNumber(e)).join(' / '),
          dups,
          seconds(run.wallMs),
        ]);
      }
      const fixed = results.get(false);
      const adaptive = results.get(true);
      const share = fixed === undefined || adaptive === undefined ? NaN : adaptive.tally.total / fixed.tally.total;
      const same = fixed?.sets === undefined || adaptive?.sets === undefined ? undefined : sameRecordSets(fixed.sets, adaptive.sets);
      const ok = Number.isFinite(share) ? share <= 1 / 3 : undefined;
      verdicts.push([
        maxPerPage,
        `${fixed?.tally.total ?? 'n/a'} → ${adaptive?.tally.total ?? 'n/a'}`,
        share.toFixed(3),
        goal('2 requests', `maxPerPage ${maxPerPage}: adaptive ≤ 1/3 of fixed requests`, share.toFixed(3), ok),
        same === undefined ? 'n/a' : same ? 'yes' : 'NO',
        goal('2 requests', `maxPerPage ${maxPerPage}: identical records`, same === undefined ? 'n/a' : same ? 'yes' : 'no', same),
      ]);
    } finally {
      await api.close();
    }
  }

  print();
  print(
    `## 2. Request economy: 90 days (${start.toISODate()} .. ${end.toISODate()}, ${zone}), window_size P1D, all streams`,
  );
  print();
  print(
    `Dataset: ${formatNumber(expected.sessions)} sessions (one per ${datasetOptions.sessionIntervalSeconds} s), ` +
      `${formatNumber(expected.visits)} visits, ${formatNumber(expected.conversions)} conversions ` +
      `(visitsPerSession ${datasetOptions.visitsPerSession}, conversionEvery ${datasetOptions.conversionEvery}); ` +
      'defaults otherwise (session_batch_size 1000 growing up to 10000, sessions_page_size 10000, session_lookback P1D); the server takes any number of session ids.',
  );
  print();
  print(
    table(
      ['maxPerPage', 'window mode', 'sessions req', 'visits req', 'conversions req', 'total req', 'non-200', 'records s / v / c', 'dup ids', 'wall s'],
      rows,
    ),
  );
  print();
  print(table(['maxPerPage', 'requests fixed → adaptive', 'adaptive / fixed', '≤ 1/3', 'identical records', 'verdict'], verdicts));
}
