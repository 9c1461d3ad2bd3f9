/**
 * The records the README promises for the items an independent server served,
 * computed from the README alone (Field types: the conversion table; How a sync
 * works: records, bookmarks). No import from src/ or test/fake-api/.
 */
import { DateTime } from 'luxon';
import { FMT, RAW, type Item, type Json, type StreamName } from './server.js';

/** fields the README types (everything else is ["null","string"]) */
const INTEGER_FIELDS = new Set(['id', 'session_id']);
const DATE_TIME_FIELDS = new Set(['created_at', 'updated_at']);

/**
 * The UTC instant of a zone-less project time: the earliest instant whose wall
 * clock in `zone` reads `local` (the first occurrence of a repeated autumn hour).
 */
export function utcOf(local: string, zone: string): string {
  const naive = DateTime.fromFormat(local, FMT, { zone: 'UTC' }).toMillis();
  const offsets = new Set<number>();
  for (const d of [-2, -1, 0, 1, 2]) offsets.add(DateTime.fromMillis(naive + d * 86_400_000, { zone }).offset);
  const candidates = [...offsets]
    .map((off) => naive - off * 60_000)
    .filter((ms) => DateTime.fromMillis(ms, { zone }).toFormat(FMT) === local)
    .sort((a, b) => a - b);
  if (candidates.length === 0) throw new Error(`${local} does not exist in ${zone}`);
  return new Date(candidates[0]!).toISOString().replace('.000Z', 'Z');
}

/** a date-time field: a zone-less project time, or an instant with its zone (Laravel's ISO form) */
function dateTime(v: string, zone: string): string {
  if (/[zZ]$|[+-]\d\d:\d\d$/.test(v)) return new Date(v).toISOString().replace('.000Z', 'Z');
  return utcOf(v, zone);
}

/** a decimal as [sign, digits without leading/trailing zeros, exponent of the last digit] */
function decimal(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`not a JSON number: ${text}`);
  let digits = (m[2]! + (m[3] ?? '')).replace(/^0+/, '');
  let exp = Number(m[4] ?? 0) - (m[3] ?? '').length;
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exp++;
  }
  return digits === '' ? '0' : `${m[1]}${digits}e${exp}`;
}

/**
 * A raw number as text (README: "its exact decimal text ... more digits than a double holds are
 * kept as served; a double-exact value in JavaScript's spelling").
 */
export function rawNumberText(raw: string): string {
  const n = Number(raw);
  const js = String(n);
  return Number.isFinite(n) && decimal(js) === decimal(raw) ? js : raw;
}

/** a served value conformed to ["null","string"] (README conversion table) */
export function asText(v: Json): string | null {
  if (v === null) return null;
  if (typeof v === 'string' && v.startsWith(RAW)) return rawNumberText(v.slice(RAW.length));
  if (typeof v === 'string') return v.replaceAll('\u0000', '');
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v); // served compactly, so this is the text as served
}

function asInteger(v: Json): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  throw new Error(`the server never serves ${JSON.stringify(v)} as an id`);
}

export function expectedRecord(item: Item, zone: string): Record<string, unknown> {
  const served = item.served;
  if (served === null || typeof served !== 'object' || Array.isArray(served)) {
    // a bare id
    return { id: asInteger(served) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(served)) {
    if (INTEGER_FIELDS.has(k)) out[k] = asInteger(v);
    else if (DATE_TIME_FIELDS.has(k)) out[k] = v === null ? null : dateTime(v as string, zone);
    else out[k] = asText(v);
  }
  return out;
}

export function expectedRecords(items: Item[], stream: StreamName, zone: string): Map<number, Record<string, unknown>> {
  const m = new Map<number, Record<string, unknown>>();
  for (const i of items) if (i.stream === stream) m.set(i.id, expectedRecord(i, zone));
  return m;
}
