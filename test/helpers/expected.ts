import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import type { Dataset } from '../fake-api/dataset.js';

type Stream = 'sessions' | 'visits' | 'conversions';

const schemaFields = (stream: Stream): string[] =>
  Object.keys(
    (JSON.parse(readFileSync(new URL(`../../schemas/${stream}.json`, import.meta.url), 'utf8')) as { properties: Record<string, unknown> })
      .properties,
  );

/**
 * The API's zone-less string as the UTC instant the tap must emit (an oracle independent of
 * src/). A string of the repeated autumn hour stands for two instants; the tap's documented rule
 * is the earlier one.
 */
export function utc(local: string, zone: string): string {
  const dt = DateTime.fromFormat(local, 'yyyy-MM-dd HH:mm:ss', { zone });
  if (!dt.isValid) throw new Error(`bad local time ${local}`);
  const earliest = dt.getPossibleOffsets().reduce((a, b) => (b.toMillis() < a.toMillis() ? b : a), dt);
  return earliest.toUTC().toISO({ suppressMilliseconds: true });
}

/** One API item as the record the tap must emit: schema fields only, date-times in UTC. */
export function expectedRecord(stream: Stream, item: object, zone: string, fields = schemaFields(stream)): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (!fields.includes(key)) continue;
    record[key] = (key === 'created_at' || key === 'updated_at') && typeof value === 'string' ? utc(value, zone) : value;
  }
  return record;
}

/** Every record of `stream` created in [startIso, endIso), in the order given by `byId`. */
export function expectedRecords(
  dataset: Dataset,
  stream: Stream,
  startIso: string,
  endIso: string,
  options: { types?: readonly string[]; fields?: string[] } = {},
): Record<string, unknown>[] {
  const start = Date.parse(startIso);
  const end = Date.parse(endIso);
  const entries =
    stream === 'sessions'
      ? dataset.sessionsCreatedIn(start, end)
      : stream === 'visits'
        ? dataset.visitsCreatedIn(start, end)
        : dataset.conversionsCreatedIn(start, end, options.types);
  return byId(entries.map((e) => expectedRecord(stream, e.item, dataset.zone, options.fields)));
}

/** Records sorted by id, to compare sets of records whatever order the tap emitted them in. */
export function byId<T extends Record<string, unknown>>(records: T[]): T[] {
  return [...records].sort((a, b) => Number(a.id) - Number(b.id));
}
