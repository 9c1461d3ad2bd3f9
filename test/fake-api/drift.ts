import { hash32 } from './hash.js';

/**
 * Field drift: what an independent API implementation may do to the item fields no document
 * types (the contract's "What the reference does not promise"). With a drift seed, each
 * undocumented field of an item gets a value of a kind chosen by hash32(item id, seed, field),
 * from every JSON type: numbers (whole, fractional, beyond 2^53, more digits than a double
 * holds, spelled with a trailing zero or an exponent), numeric and other strings, booleans,
 * null, objects and arrays. Items created at or after `newFieldsFrom` also carry fields no
 * earlier item had, drifting the same way. Everything is a function of the seed and the item.
 *
 * Numbers a double cannot hold are RawNumbers: the server writes their text into the body as
 * is (JSON.stringify cannot), and `asText` is the text the tap must deliver for them in a
 * string field (its decimal value, spelled as JavaScript spells it when a double holds it).
 */
export class RawNumber {
  constructor(
    readonly text: string,
    readonly asText: string,
  ) {}

  toJSON(): string {
    return `${RAW_MARK}${this.text}${RAW_MARK}`;
  }
}

const RAW_MARK = '\u0001RAW';
const RAW_WIRE = /"\\u0001RAW([-+.eE0-9]+)\\u0001RAW"/g;

/** JSON.stringify, with RawNumbers written as their text (what the server sends). */
export function wireJson(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0001RAW') ? text.replace(RAW_WIRE, '$1') : text;
}

/** The fields each stream's items carry that no document types (ids and date-times excluded). */
export const UNDOCUMENTED_FIELDS = {
  sessions: ['browser', 'device', 'platform_os', 'country', 'time_spend'],
  visits: ['url', 'title', 'referrer', 'time_spend'],
  conversions: ['type', 'name', 'value', 'url'],
} as const;

/** Fields that appear only on items created at or after `newFieldsFrom`. */
export const NEW_FIELDS = {
  sessions: ['drift_score', 'drift_meta'],
  visits: ['drift_score', 'drift_meta'],
  conversions: ['drift_score', 'drift_meta'],
} as const;

export type DriftStream = keyof typeof UNDOCUMENTED_FIELDS;

/** The kinds of value a drifting field takes, by name (the fuzz test checks each was served). */
export const DRIFT_KINDS = [
  'as-served',
  'integer',
  'fraction',
  'big-integer',
  'precise-decimal',
  'trailing-zero',
  'exponent',
  'overflow',
  'numeric-string',
  'string',
  'boolean',
  'null',
  'object',
  'array',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** The kind of value `field` of item `id` gets under `seed`. */
export function driftKind(seed: number, id: number, field: string): DriftKind {
  let salt = seed;
  for (let i = 0; i < field.length; i += 1) salt = (Math.imul(salt, 31) + field.charCodeAt(i)) >>> 0;
  return DRIFT_KINDS[hash32(id, salt % 1_000_003) % DRIFT_KINDS.length] as DriftKind;
}

/** A value of `kind`, derived from `h`; `original` for 'as-served'. */
export function driftValue(kind: DriftKind, h: number, original: unknown): unknown {
  const big = `${1 + (h % 9)}${String(h).padStart(10, '0')}${String(h % 99_991).padStart(10, '0')}`;
  switch (kind) {
    case 'as-served':
      return original;
    case 'integer':
      return h % 100_000;
    case 'fraction':
      return (h % 100_000) / 7;
    case 'big-integer':
      return new RawNumber(big, big);
    case 'precise-decimal': {
      const text = `0.${String(h).padStart(10, '0')}${String(h % 99_991).padStart(10, '0')}1`;
      return new RawNumber(text, text);
    }
    case 'trailing-zero':
      return new RawNumber(`${h % 1000}.50`, `${h % 1000}.5`);
    case 'exponent':
      return new RawNumber(`${1 + (h % 9)}E3`, String((1 + (h % 9)) * 1000));
    case 'overflow':
      return new RawNumber(`${1 + (h % 9)}e400`, `${1 + (h % 9)}e400`);
    case 'numeric-string':
      return String(h % 1000);
    case 'string':
      return `drift-${h % 97} "quoted" ünïcode`;
    case 'boolean':
      return h % 2 === 0;
    case 'null':
      return null;
    case 'object':
      return { k: h % 10, nested: [1, 'a', null], flag: h % 3 === 0, big: new RawNumber(big, big) };
    case 'array':
      return [h % 10, 'x', null, { a: true }, [2.5]];
  }
}

/**
 * `item` (fresh, not yet frozen) with its undocumented fields drifted and, when `withNew`, the
 * new fields added.
 */
export function applyDrift(item: Record<string, unknown>, stream: DriftStream, id: number, seed: number, withNew: boolean): void {
  for (const field of UNDOCUMENTED_FIELDS[stream]) {
    if (!(field in item)) continue;
    item[field] = driftValue(driftKind(seed, id, field), hash32(id, seed + field.length), item[field]);
  }
  if (!withNew) return;
  for (const field of NEW_FIELDS[stream]) {
    item[field] = driftValue(driftKind(seed, id, field), hash32(id, seed + 7 * field.length), `${field}-${id}`);
  }
}
