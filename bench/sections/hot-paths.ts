/**
 * Section 8: does each piece of hand-written hot-path code still pay (issue 10 item 6)? In this
 * process, in the same run, alternating, best of a few runs each:
 *
 * - the streaming item scanner (src/api/json-items.ts) against stream-json, the best-kept npm
 *   streaming JSON parser (parser + pick "data" + an assembler made to keep exact numbers, as the
 *   tap must), and against JSON.parse of the whole body (which holds the whole body in memory);
 * - the date-time converter (src/time/api-time-converter.ts) against plain luxon doing the same
 *   conversion (fromSQL in the zone, the earlier of getPossibleOffsets, toISO), and against luxon
 *   behind the converter's own per-minute cache, on dense values (many records a minute) and
 *   sparse ones (every value another minute, as over a long backfill).
 */
import { Readable } from 'node:stream';
import { DateTime } from 'luxon';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
import pick from 'stream-json/filters/pick.js';
import { LosslessNumber, sameDecimal } from '../../src/exact-json.js';
import { parseItemsStream } from '../../src/api/json-items.js';
import { createApiTimeConverter } from '../../src/time/api-time.js';
import { makeBody } from '../lib/bodies.js';
import { bench, crashes, goal, print, progress } from '../lib/context.js';
import { formatNumber, ratio, table, type Cell } from '../lib/table.js';

export async function hotPaths(): Promise<void> {
  await itemParsers();
  dateConverters();
}

// ---------------------------------------------------------------------------------------------
// The item scanner

type Parse = (chunks: readonly Uint8Array[]) => Promise<unknown[]>;

/** The tap's scanner, as api/wemasy.ts uses it. */
const scanner: Parse = async (chunks) => {
  const items: unknown[] = [];
  for await (const batch of parseItemsStream(Readable.from(chunks)).items) for (const item of batch) items.push(item);
  return items;
};

/** A number token as the tap keeps it: a plain number when a double holds it exactly. */
function exactNumber(text: string): number | LosslessNumber {
  const n = Number(text);
  return Number.isFinite(n) && sameDecimal(text, String(n)) ? n : new LosslessNumber(text);
}

/** stream-json's assembler, made to keep numbers exact. */
class ExactAssembler extends Assembler {
  override numberValue(text: string): void {
    (this as unknown as { _saveValue(value: unknown): void })._saveValue(exactNumber(text));
  }
}

/** stream-json: parser, pick `data`, items assembled one by one (what its streamArray does). */
const streamJson: Parse = (chunks) =>
  new Promise((resolve, reject) => {
    const items: unknown[] = [];
    const asm = new ExactAssembler();
    const tokens = Readable.from(chunks).pipe(parser.asStream()).pipe(pick.asStream({ filter: 'data' }));
    tokens.on('data', (token: Parameters<Assembler['consume']>[0]) => {
      asm.consume(token);
      const current = asm.current as unknown[] | null;
      if (asm.depth === 1 && current !== null && current.length > 0) items.push(current.pop());
    });
    tokens.once('error', reject);
    tokens.once('end', () => resolve(items));
  });

/** JSON.parse of the whole body (the memory the scanner exists to avoid). */
const wholeBody: Parse = (chunks) => Promise.resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: unknown[] }).data);

async function bestOf(runs: number, cases: readonly [string, () => Promise<number>][]): Promise<Map<string, number>> {
  const best = new Map<string, number>();
  for (let run = 0; run < runs; run += 1) {
    for (const [name, measure] of cases) best.set(name, Math.min(best.get(name) ?? Infinity, await measure()));
  }
  return best;
}

async function itemParsers(): Promise<void> {
  const count = bench.quick ? 20_000 : 100_000;
  const runs = bench.quick ? 2 : 3;
  progress(`hot paths: ${formatNumber(count)} items, scanner / stream-json / JSON.parse, best of ${runs}`);
  const body = makeBody(count);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += 1 << 16) chunks.push(body.subarray(i, i + (1 << 16)));
  const reference = await scanner(chunks);
  const other = await streamJson(chunks);
  if (reference.length !== count || JSON.stringify(other) !== JSON.stringify(reference)) crashes.push('hot paths: stream-json and the scanner disagree');
  const timed = (parse: Parse) => async (): Promise<number> => {
    const started = performance.now();
    const items = await parse(chunks);
    if (items.length !== count) crashes.push(`hot paths: ${items.length} items, expected ${count}`);
    return performance.now() - started;
  };
  const best = await bestOf(runs, [
    ['scanner', timed(scanner)],
    ['stream-json', timed(streamJson)],
    ['JSON.parse', timed(wholeBody)],
  ]);
  const ms = (name: string): number => best.get(name) ?? NaN;
  const rows: Cell[][] = ['scanner', 'stream-json', 'JSON.parse'].map((name) => [
    name === 'scanner' ? 'parseItemsStream (hand-written)' : name === 'stream-json' ? 'stream-json 3 (exact numbers)' : 'JSON.parse of the whole body',
    ms(name).toFixed(0),
    Math.round((count / ms(name)) * 1000),
    ratio(ms(name) / ms('scanner')),
  ]);
  const pays = ms('stream-json') / ms('scanner');
  print();
  print(`## 8. Hot paths: does hand-written code pay? (${formatNumber(count)} get-visits items, ${(body.length / 2 ** 20).toFixed(1)} MB, in 64 KiB chunks, best of ${runs})`);
  print();
  print(table(['item parser', 'ms', 'items/s', 'time / scanner'], rows));
  goal('8 hot paths', 'item scanner faster than stream-json (keep it only if ≥ 2×)', `${ratio(pays)}`, pays >= 2);
}

// ---------------------------------------------------------------------------------------------
// The date-time converter

const ZONE = 'Europe/Amsterdam';
const API_FORMAT = 'yyyy-MM-dd HH:mm:ss';

/** Plain luxon, by the tap's rules (an ambiguous local time: the earlier instant). */
function luxonConvert(text: string): string | undefined {
  const read = DateTime.fromSQL(text, { zone: ZONE });
  if (!read.isValid) return undefined;
  let earliest = read;
  for (const dt of read.getPossibleOffsets()) if (dt.toMillis() < earliest.toMillis()) earliest = dt;
  return earliest.toUTC().toISO({ suppressMilliseconds: true }) ?? undefined;
}

/** luxon behind the converter's per-minute cache (offsets are whole minutes: the seconds carry over). */
function luxonWithMinuteCache(): (text: string) => string | undefined {
  const minutes = new Map<string, string | null>();
  return (text) => {
    const minute = text.slice(0, 16);
    let prefix = minutes.get(minute);
    if (prefix === undefined) {
      const first = luxonConvert(`${minute}:00`);
      const last = luxonConvert(`${minute}:59`);
      prefix = first !== undefined && first.slice(0, 17) === last?.slice(0, 17) ? first.slice(0, 17) : null;
      if (minutes.size >= 8192) minutes.clear();
      minutes.set(minute, prefix);
    }
    return prefix === null ? luxonConvert(text) : `${prefix}${text.slice(17)}Z`;
  };
}

/** `count` local times from 2026-10-24 on, `step` seconds apart (2026-10-25 repeats 02:00-03:00). */
function localTimes(count: number, stepSeconds: number): string[] {
  const start = DateTime.fromISO('2026-10-24T00:00:00', { zone: ZONE });
  return Array.from({ length: count }, (_, i) => start.plus({ seconds: i * stepSeconds }).toFormat(API_FORMAT));
}

function timeConversions(convert: (text: string) => string | undefined, texts: readonly string[]): number {
  const started = performance.now();
  let converted = 0;
  for (const text of texts) if (convert(text) !== undefined) converted += 1;
  if (converted !== texts.length) crashes.push(`hot paths: ${texts.length - converted} dates did not convert`);
  return performance.now() - started;
}

function dateConverters(): void {
  const count = bench.quick ? 5_000 : 30_000; // plain luxon takes ~80 µs a value
  const rows: Cell[][] = [];
  for (const [label, step] of [['dense: 1 s apart', 1], ['sparse: 67 s apart', 67]] as const) {
    const texts = localTimes(count, step);
    const tap = createApiTimeConverter(ZONE);
    const wrong = texts.filter((text) => tap(text) !== luxonConvert(text)).length;
    if (wrong > 0) crashes.push(`hot paths: the converter and luxon disagree on ${wrong} of ${label}`);
    progress(`hot paths: ${formatNumber(count)} date-times, ${label}`);
    const best = new Map<string, number>();
    for (let run = 0; run < 3; run += 1) {
      const cases: [string, () => number][] = [
        ['tap', () => timeConversions(createApiTimeConverter(ZONE), texts)],
        ['luxon', () => timeConversions(luxonConvert, texts)],
        ['cached', () => timeConversions(luxonWithMinuteCache(), texts)],
      ];
      for (const [name, measure] of cases) best.set(name, Math.min(best.get(name) ?? Infinity, measure()));
    }
    const ms = (name: string): number => best.get(name) ?? NaN;
    const perValue = (name: string): string => ((ms(name) * 1000) / count).toFixed(2);
    rows.push([label, perValue('tap'), perValue('luxon'), ratio(ms('luxon') / ms('tap')), perValue('cached'), ratio(ms('cached') / ms('tap'))]);
    goal('8 hot paths', `date converter vs plain luxon, ${label} (keep it only if ≥ 2×)`, ratio(ms('luxon') / ms('tap')), ms('luxon') / ms('tap') >= 2);
  }
  print();
  print(`${formatNumber(count)} API date-times in ${ZONE} (across the repeated autumn hour) to UTC ISO, µs per value, best of 3; outputs checked equal:`);
  print();
  print(table(['values', 'tap converter µs', 'plain luxon µs', 'luxon / tap', 'luxon + minute cache µs', '(luxon + cache) / tap'], rows));
}
