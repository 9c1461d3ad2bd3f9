/** The 90-day dataset of sections 2, 5 and 7, and what sections 5 and 7 read from a run. */
import { DateTime } from 'luxon';
import { createDataset } from '../../test/fake-api/dataset.js';
import type { FakeApi } from '../../test/fake-api/server.js';

export function ninetyDays() {
  const zone = 'Europe/Amsterdam';
  const start = DateTime.fromISO('2020-01-01', { zone });
  const end = start.plus({ days: 90 });
  const options = {
    zone,
    epoch: start.toUTC().toISO({ suppressMilliseconds: true }) ?? '',
    until: end.toUTC().toISO({ suppressMilliseconds: true }) ?? '',
    sessionIntervalSeconds: 1555,
    visitsPerSession: 38,
    conversionEvery: 2,
  };
  const dataset = createDataset(options);
  const sessions = dataset.sessionsCreatedIn(start.toMillis(), end.toMillis()).length;
  return { zone, start, end, dataset, sessions, options };
}

/** Windows per stream: the distinct bookmark values the run's STATE messages moved through. */
export function windowsPerStream(stdout: string): Record<string, number> {
  const seen: Record<string, Set<string>> = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{"type":"STATE"')) continue;
    const bookmarks = (JSON.parse(line) as { value: { bookmarks: Record<string, { replication_key_value: string }> } }).value.bookmarks;
    for (const [stream, mark] of Object.entries(bookmarks)) (seen[stream] ??= new Set()).add(mark.replication_key_value);
  }
  return Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.size]));
}

/**
 * The fewest requests the tap's own windows allow: per list-sessions listing ceil(sessions / page)
 * pages (at least one), per visits or conversions window ceil(ids asked / cap) requests, from the
 * ranges and ids the server saw answered. Its excess over the minimum is the window overhead: one
 * partial page or batch per window and stream, and the lookback sessions each child window asks
 * for again.
 */
export function windowFloor(api: FakeApi, perPage: number, cap: number): number {
  const listings = new Set<string>();
  const children = new Map<string, number>();
  for (const r of api.requests) {
    if (r.status !== 200) continue;
    const body = r.body as { start_date: string; end_date: string; session_ids?: unknown[] };
    const key = `${r.endpoint} ${body.start_date} ${body.end_date}`;
    if (r.endpoint === 'sessions') listings.add(`${body.start_date}|${body.end_date}`);
    else children.set(key, (children.get(key) ?? 0) + (body.session_ids?.length ?? 0));
  }
  let floor = 0;
  for (const listing of listings) {
    const [from, to] = listing.split('|') as [string, string];
    floor += Math.max(1, Math.ceil(api.dataset.sessionsInLocalRange(from, to, { includeIpAddresses: false }).length / perPage));
  }
  for (const ids of children.values()) floor += Math.ceil(ids / cap);
  return floor;
}
