/** Section 7: how many requests were answered when the first STATE reached stdout. */
import { startFakeApi } from '../../test/fake-api/server.js';
import { TOKEN, catalogSelecting, writeJson } from '../lib/fixtures.js';
import { runChild } from '../lib/measure.js';
import { table, type Cell } from '../lib/table.js';
import { ninetyDays } from './ninety-days.js';
import { bench, checkRun, goal, print, progress, tapArgs } from '../lib/context.js';

// Longer than 60 lines on purpose: one measurement read top to bottom, from the server it starts
// to the table it prints, so that each figure sits beside how it is computed.
export async function firstState(): Promise<void> {
  // From the dataset's second day: the first window's lookback day holds sessions, as in a real
  // backfill (the dataset has none before its first day).
  const { zone, start: first, end, dataset } = ninetyDays();
  const start = first.plus({ days: 1 });
  const rows: Cell[][] = [];
  const catalogs: [string, string | undefined][] = [
    ['all streams', undefined],
    ['visits + conversions', writeJson(bench.tmp, 'catalog-children.json', catalogSelecting(['visits', 'conversions']))],
  ];
  for (const [perPage, idCap] of [[100, 100], [1000, 100]] as const) {
    for (const [label, catalog] of catalogs) {
      const api = await startFakeApi({ dataset, maxPerPage: perPage, maxSessionIds: idCap, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
      try {
        const config = writeJson(bench.tmp, `first-${label.length}-${perPage}.json`, {
          api_token: TOKEN,
          base_url: api.url,
          start_date: start.toISODate(),
          end_date: end.toISODate(),
          timezone: zone,
          // paced, so that the count of answered requests when the STATE arrives is exact
          requests_per_minute: 600,
          request_timeout: 120,
        });
        progress(`first STATE: ${label}, per_page cap ${perPage}, ids cap ${idCap}`);
        let seenAt: number | undefined;
        let buffered = '';
        const run = await runChild(process.execPath, tapArgs(config, ...(catalog === undefined ? [] : ['--catalog', catalog])), {
          stdout: 'capture',
          timeoutMs: 300_000,
          tmpDir: bench.tmp,
          onStdout: (chunk) => {
            if (seenAt !== undefined) return;
            buffered += chunk.toString('utf8');
            if (buffered.includes('{"type":"STATE"')) seenAt = api.requests.filter((r) => r.status !== 0).length;
            buffered = buffered.slice(-64);
          },
        });
        checkRun(`first STATE ${label}`, run);
        const total = api.requests.length;
        const share = seenAt === undefined ? NaN : seenAt / total;
        rows.push([
          label,
          perPage,
          idCap,
          total,
          seenAt ?? 'n/a',
          `${(share * 100).toFixed(1)} %`,
          `${Math.ceil(total * 0.02)}`,
          goal('7 first STATE', `${label}, per_page ${perPage}, ids ${idCap}: first STATE within 2% of requests`, `request ${seenAt ?? 'n/a'} of ${total}`, Number.isFinite(share) ? share <= 0.02 : undefined),
        ]);
      } finally {
        await api.close();
      }
    }
  }
  print();
  print(`## 7. Time to the first STATE: 89-day backfill (${start.toISODate()} .. ${end.toISODate()}, ${zone}; the day before has sessions too), default settings`);
  print();
  print(table(['streams', 'per_page cap', 'ids cap', 'requests', 'answered at first STATE', 'share', '2% of requests', 'verdict'], rows));
  print();
  print('answered at first STATE = requests the server had answered when the first STATE line reached the bench on the');
  print("tap's stdout (the tap paced at 600 a minute, so no request is in doubt). Before this change, without the sessions");
  print('stream, the first STATE waited for the listing of every session of the range.');
}
