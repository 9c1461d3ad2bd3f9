import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import type { Dataset } from '../fake-api/dataset.js';

type Stream = 'sessions' | 'visits' | 'conversions';

type Properties = Record<string, { type?: string | string[] }>;
/** The shipped schemas' properties, read once per stream (expectedRecord asks for every field of every record). */
const schemas = new Map<Stream, Properties>();
const schemaProperties = (stream: Stream): Properties => {
  let properties = schemas.get(stream);
  if (properties === undefined) {
    properties = (JSON.parse(readFileSync(new URL(`../../schemas/${stream}.json`, import.meta.url), 'utf8')) as { properties: Properties }).properties;
    schemas.set(stream, properties);
  }
  return properties;
};
const schemaFields = (stream: Stream): string[] => Object.keys(schemaProperties(stream));

/**
 * A served value as the README's conversion table says a `["null", "string"]` field carries it
 * (an oracle independent of src/): strings as served (NUL characters left for the caller to
 * strip), numbers as their decimal text, booleans as "true"/"false", objects and arrays as their
 * JSON text.
 */
export function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

const isTextField = (stream: Stream, field: string): boolean => {
  const type = schemaProperties(stream)[field]?.type;
  return Array.isArray(type) && type.length === 2 && type.includes('null') && type.includes('string');
};

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

/**
 * One API item as the record the tap must emit: every field (or only `fields`), date-times in
 * UTC, text fields and fields the schema does not name (the tap delivers them) as text.
 */
export function expectedRecord(stream: Stream, item: object, zone: string, fields?: readonly string[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (fields !== undefined && !fields.includes(key)) continue;
    if ((key === 'created_at' || key === 'updated_at') && typeof value === 'string') record[key] = utc(value, zone);
    else if (isTextField(stream, key) || !schemaFields(stream).includes(key)) record[key] = asText(value);
    else record[key] = value;
  }
  return record;
}

/** Every record of `stream` created in [startIso, endIso), in the order given by `byId`. */
export function expectedRecords(
  dataset: Dataset,
  stream: Stream,
  startIso: string,
  endIso: string,
  options: { types?: readonly string[]; fields?: readonly string[] } = {},
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
