import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { prng as rng } from '../helpers/prng.js';
import { isLosslessNumber, sameDecimal } from '../../src/exact-json.js';
import { JsonStreamError, parseItemsStream, parseItemsText, type JsonStreamErrorCode } from '../../src/api/json-items.js';

// ---------------------------------------------------------------------------------------------
// Helpers

const encoder = new TextEncoder();


// eslint-disable-next-line @typescript-eslint/require-await -- an async generator without await is the plain way to make an AsyncIterable source
async function* chunksOf(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  for (let i = 0, k = 0; i < bytes.length; k += 1) {
    const size = Math.max(1, sizes[k % sizes.length]!);
    yield bytes.subarray(i, i + size);
    i += size;
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? String(error) : JSON.stringify(error));

interface Outcome {
  readonly items: unknown[];
  readonly batches: number[];
  readonly fields?: Record<string, unknown>;
  readonly error?: unknown;
}

/** Runs parseItemsStream over `bytes` cut into `sizes` (cycled); collects items and any error. */
async function parseChunks(bytes: Uint8Array, sizes: readonly number[], batchSize?: number): Promise<Outcome> {
  const stream = parseItemsStream(chunksOf(bytes, sizes), batchSize === undefined ? {} : { batchSize });
  const items: unknown[] = [];
  const batches: number[] = [];
  try {
    for await (const batch of stream.items) {
      batches.push(batch.length);
      items.push(...batch);
    }
  } catch (error) {
    return { items, batches, error };
  }
  return { items, batches, fields: stream.envelope().fields };
}

function withoutData(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'data') Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

/**
 * The items as JSON.parse gives them: parseItemsStream keeps a number a double cannot hold
 * exactly as a LosslessNumber of its served text (api/exact-json.ts), which JSON.parse rounds.
 */
function asJsonParse(value: unknown): unknown {
  if (isLosslessNumber(value)) {
    expect(sameDecimal(value.value, String(Number(value.value))), value.value).toBe(false);
    return Number(value.value);
  }
  if (Array.isArray(value)) return value.map(asJsonParse);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: asJsonParse(item), enumerable: true, writable: true, configurable: true });
  return out;
}

function codeOf(error: unknown): JsonStreamErrorCode | 'not a JsonStreamError' {
  return error instanceof JsonStreamError ? error.code : 'not a JsonStreamError';
}

/** What parseItemsStream must do with `text`, decided by JSON.parse. */
function oracle(text: string): { items: unknown[]; fields: Record<string, unknown> } | { code: JsonStreamErrorCode } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: 'invalid' }; // or 'truncated' / 'not-an-object': any JsonStreamError will do
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { code: 'not-an-object' };
  const object = body as Record<string, unknown>;
  if (!Object.hasOwn(object, 'data')) return { code: 'data-missing' };
  if (!Array.isArray(object.data)) return { code: 'data-not-list' };
  return { items: object.data, fields: withoutData(object) };
}

function check(outcome: Outcome, text: string, context: string): void {
  const expected = oracle(text);
  if ('code' in expected) {
    expect(outcome.error, context).toBeInstanceOf(JsonStreamError);
    if (expected.code !== 'invalid') expect(codeOf(outcome.error), context).toBe(expected.code);
  } else {
    if (outcome.error !== undefined) throw new Error(`${context}: unexpected ${errorText(outcome.error)}`);
    expect(asJsonParse(outcome.items), context).toStrictEqual(expected.items);
    expect(outcome.fields, context).toStrictEqual(expected.fields);
  }
}

// ---------------------------------------------------------------------------------------------
// A generator of random JSON text (not values: the text itself varies whitespace, escapes and
// number forms), in the shape of the API's envelope.

const STRING_PIECES = [
  'a', 'visit', ' ', 'Z', '0', '\\"', '\\\\', '\\/', '\\n', '\\t', '\\r', '\\b', '\\f', '\\u00e9', '\\u20AC',
  '\\ud83d\\ude00', '\\u0000', 'é', '€', '中', '😀', 'ü', '{', '}', '[', ']', ',', ':', '},{', '\\"},{\\"', ']}',
  '}, {', '\\\\\\"', "'", '\u2028',
];
const WHITESPACE = [' ', '\n', '\t', '\r\n', '  '];

class JsonTextGenerator {
  constructor(private readonly random: () => number) {}

  int(max: number): number {
    return Math.floor(this.random() * max);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  ws(): string {
    return this.random() < 0.75 ? '' : this.pick(WHITESPACE) + (this.random() < 0.2 ? this.pick(WHITESPACE) : '');
  }

  string(): string {
    let out = '"';
    const pieces = this.int(8);
    for (let k = 0; k < pieces; k += 1) out += this.pick(STRING_PIECES);
    return `${out}"`;
  }

  number(): string {
    const sign = this.random() < 0.3 ? '-' : '';
    const int = this.random() < 0.2 ? '0' : String(1 + this.int(10 ** (1 + this.int(12))));
    const frac = this.random() < 0.3 ? `.${this.int(100000)}` : '';
    const exp = this.random() < 0.2 ? `${this.pick(['e', 'E'])}${this.pick(['', '+', '-'])}${this.int(300)}` : '';
    return sign + int + frac + exp;
  }

  value(depth: number): string {
    const roll = this.random();
    if (depth > 3 || roll < 0.45) return this.scalar();
    return roll < 0.75 ? this.object(depth + 1, this.int(5)) : this.array(depth + 1);
  }

  scalar(): string {
    return this.pick([() => this.string(), () => this.number(), () => 'null', () => 'true', () => 'false'])();
  }

  array(depth: number): string {
    const n = this.int(4);
    const values = Array.from({ length: n }, () => this.ws() + this.value(depth) + this.ws());
    return `[${values.join(',') || this.ws()}]`;
  }

  object(depth: number, n: number): string {
    const members = Array.from({ length: n }, () => `${this.ws()}${this.string()}${this.ws()}:${this.ws()}${this.value(depth)}${this.ws()}`);
    return `{${members.join(',') || this.ws()}}`;
  }

  /** Mostly visit-like objects; sometimes any value. */
  item(): string {
    if (this.random() < 0.2) return this.value(1);
    const title = this.random() < 0.5 ? this.string() : '"Product page – Shop"';
    const extra = this.random() < 0.3 ? `,"extra":${this.value(1)}` : '';
    return (
      `{"id":${this.number()},${this.ws()}"session_id":${this.int(1e6)},"created_at":"2026-03-29 02:30:00",` +
      `"url":"https://example.com/p?q=1&x=%7B",${this.ws()}"title":${this.ws()}${title},"referrer":${this.random() < 0.5 ? 'null' : this.string()},` +
      `"time_spend":${this.int(600)}${extra},"updated_at":"2026-03-29 03:00:00"}`
    );
  }

  /** `{"error": ..., "data": [...], ...}` with the keys in random order; other keys never near "data". */
  envelope(maxItems: number): string {
    const items = Array.from({ length: this.int(maxItems + 1) }, () => this.ws() + this.item() + this.ws());
    const members = [`"data"${this.ws()}:${this.ws()}[${items.join(',') || this.ws()}]`];
    if (this.random() < 0.9) members.push(`"error":${this.ws()}${this.pick(['false', 'true'])}`);
    if (this.random() < 0.4) members.push(`"message":${this.string()}`);
    if (this.random() < 0.3) members.push(`"k_${this.int(3)}":${this.value(1)}`);
    if (this.random() < 0.1) members.push(`"k_${this.int(3)}":${this.value(1)}`); // sometimes a duplicate key
    if (this.random() < 0.05) members.push(`"__proto__":${this.object(2, 1)}`);
    for (let k = members.length - 1; k > 0; k -= 1) {
      const j = this.int(k + 1);
      [members[k], members[j]] = [members[j]!, members[k]!];
    }
    return `${this.ws()}{${this.ws()}${members.map((m) => m + this.ws()).join(`,${this.ws()}`)}}${this.ws()}`;
  }
}

/** Chunk sizes for one run: 1 byte, a fixed size, random sizes, or the whole body. */
function chunking(random: () => number, length: number, which: number): number[] {
  const big = length > 4000; // keep single bytes to the smaller bodies: they cost a push each
  switch (which % 5) {
    case 0:
      return big ? Array.from({ length: 64 }, () => 1 + Math.floor(random() * 8)) : [1];
    case 1:
      return [2 + Math.floor(random() * 16)];
    case 2:
      return Array.from({ length: 64 }, () => 1 + Math.floor(random() * Math.max(1, length / 4)));
    case 3:
      return Array.from({ length: 64 }, () => 1 + Math.floor(random() * 3 * (random() < 0.5 ? 1 : 40)));
    default:
      return [length];
  }
}

// ---------------------------------------------------------------------------------------------

describe('parseItemsStream fuzzed against JSON.parse', () => {
  const DOCS = 500;
  const CHUNKINGS = 5;

  it.each([20260329, 1, 424242])(`agrees with JSON.parse on ${DOCS} random envelopes × ${CHUNKINGS} chunkings (seed %i)`, async (seed) => {
    const random = rng(seed);
    const gen = new JsonTextGenerator(random);
    let items = 0;
    let runs = 0;
    for (let doc = 0; doc < DOCS; doc += 1) {
      const text = gen.envelope(doc % 10 === 0 ? 200 : 12);
      const bytes = encoder.encode(text);
      const expected = JSON.parse(text) as Record<string, unknown>;
      for (let c = 0; c < CHUNKINGS; c += 1) {
        const sizes = chunking(random, bytes.length, c);
        const batchSize = [1, 3, 1000][(doc + c) % 3]!;
        const outcome = await parseChunks(bytes, sizes, batchSize);
        const context = `doc ${doc}, chunking ${c}: ${text.slice(0, 300)}`;
        if (outcome.error !== undefined) throw new Error(`${context}: ${errorText(outcome.error)}`);
        expect(asJsonParse(outcome.items), context).toStrictEqual(expected.data);
        expect(outcome.fields, context).toStrictEqual(withoutData(expected));
        expect(Math.max(0, ...outcome.batches), context).toBeLessThanOrEqual(batchSize);
        items += outcome.items.length;
        runs += 1;
      }
      const whole = parseItemsText(text);
      expect({ ...whole, items: asJsonParse(whole.items) }).toStrictEqual({ items: expected.data, fields: withoutData(expected) });
    }
    expect(runs).toBe(DOCS * CHUNKINGS);
    expect(items).toBeGreaterThan(DOCS * CHUNKINGS * 5);
  });

  it('throws "truncated" at every cut of a body, having handed out only a prefix of its items', async () => {
    const random = rng(7);
    const gen = new JsonTextGenerator(random);
    let cuts = 0;
    for (let doc = 0; cuts < 8000; doc += 1) {
      const text = gen.envelope(3).trimEnd();
      if (text.length > 900) continue;
      const bytes = encoder.encode(text);
      const all = (JSON.parse(text) as { data: unknown[] }).data;
      for (let cut = 0; cut < bytes.length; cut += 1) {
        const prefix = bytes.subarray(0, cut);
        const outcome = await parseChunks(prefix, chunking(random, cut, cut));
        const context = `doc ${doc} cut at byte ${cut} of ${bytes.length}: ${text}`;
        expect(codeOf(outcome.error), context).toBe('truncated');
        expect(asJsonParse(outcome.items), context).toStrictEqual(all.slice(0, outcome.items.length));
        cuts += 1;
      }
      expect(asJsonParse((await parseChunks(bytes, [3])).items)).toStrictEqual(all);
    }
    expect(cuts).toBeGreaterThanOrEqual(8000);
  });

  it('either throws JsonStreamError or agrees with JSON.parse on corrupted bodies', async () => {
    const random = rng(99);
    const gen = new JsonTextGenerator(random);
    const replacements = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '0', '-', 'e', '.', 'x', 'n', 't', 'é', '😀', '\u0001'];
    let stillValid = 0;
    let rejected = 0;
    for (let doc = 0; doc < 2500; doc += 1) {
      const text = gen.envelope(5);
      const chars = Array.from(text);
      const at = Math.floor(random() * chars.length);
      const roll = random();
      if (roll < 0.4) chars[at] = gen.pick(replacements);
      else if (roll < 0.8) chars.splice(at, 0, gen.pick(replacements));
      else chars.splice(at, 1);
      const corrupted = chars.join('');
      const bytes = encoder.encode(corrupted);
      const outcome = await parseChunks(bytes, chunking(random, bytes.length, doc));
      check(outcome, corrupted, `doc ${doc}: ${corrupted}`);
      if (outcome.error === undefined) stillValid += 1;
      else rejected += 1;
    }
    expect(rejected).toBeGreaterThan(1000);
    expect(stillValid).toBeGreaterThan(100);
  });
});

describe('parseItemsStream envelopes', () => {
  const run = (text: string, sizes: readonly number[] = [1]) => parseChunks(encoder.encode(text), sizes);

  it('reads "error" and other fields that come after "data"', async () => {
    const text = '{"data":[{"id":1},{"id":2}],"error":true,"message":"oops"}';
    for (const sizes of [[1], [5], [text.length]]) {
      const outcome = await run(text, sizes);
      expect(outcome.items).toEqual([{ id: 1 }, { id: 2 }]);
      expect(outcome.fields).toEqual({ error: true, message: 'oops' });
    }
  });

  it('knows the fields before "data" from the first batch on, and the rest only at the end', async () => {
    const stream = parseItemsStream(chunksOf(encoder.encode('{"error":false,"data":[1,2,3],"message":"done"}'), [26]));
    const seen: unknown[] = [];
    for await (const batch of stream.items) seen.push({ batch, envelope: structuredClone(stream.envelope()) });
    expect(seen[0]).toEqual({ batch: [1], envelope: { fields: { error: false }, itemCount: 1, complete: false } });
    expect(stream.envelope()).toEqual({ fields: { error: false, message: 'done' }, itemCount: 3, complete: true });
  });

  it('hands out an empty "data" as no batches', async () => {
    for (const text of ['{"error":false,"data":[]}', '{ "data" : [ \n ] , "error" : false }']) {
      const outcome = await run(text);
      expect(outcome).toEqual({ items: [], batches: [], fields: { error: false } });
    }
  });

  it('reports a missing "data" with the fields it read', async () => {
    const outcome = await run('{"error":true,"message":"Session not found"}');
    expect(codeOf(outcome.error)).toBe('data-missing');
    const error = outcome.error as JsonStreamError;
    expect(error.message).toBe('"data" is missing from the body');
    expect(error.envelope?.fields).toEqual({ error: true, message: 'Session not found' });
    expect(codeOf((await run('{}')).error)).toBe('data-missing');
  });

  it('reports a "data" that is not a list, with its value and the fields after it', async () => {
    const cases: ReadonlyArray<[string, unknown, string]> = [
      ['5', 5, 'a number'],
      ['{"count": 12}', { count: 12 }, 'an object'],
      ['null', null, 'null'],
      ['"x"', 'x', 'a string'],
      ['false', false, 'a boolean'],
    ];
    for (const [json, value, what] of cases) {
      const outcome = await run(`{"data": ${json}, "error": false, "message": "m"}`);
      const error = outcome.error as JsonStreamError;
      expect(error).toBeInstanceOf(JsonStreamError);
      expect(error.code).toBe('data-not-list');
      expect(error.message).toBe(`"data" is not a list (it is ${what})`);
      expect(error.data).toEqual(value);
      expect(error.envelope?.fields).toEqual({ error: false, message: 'm' });
    }
  });

  it('accepts a leading byte order mark, also split over chunks', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{"data":[1,"é"]}')]);
    for (const sizes of [[1], [2], [4], [bytes.length]]) {
      expect(await parseChunks(bytes, sizes)).toMatchObject({ items: [1, 'é'], fields: {} });
    }
    expect(parseItemsText('\ufeff{"data":[{}]}').items).toEqual([{}]);
    const broken = await parseChunks(new Uint8Array([0xef, 0xbb, 0x7b, 0x7d]), [1]);
    expect(codeOf(broken.error)).toBe('not-an-object');
  });

  it('rejects a body that is not a JSON object', async () => {
    for (const text of ['[1,2]', '"data"', '12', 'null', '<html><body>Bad gateway</body></html>']) {
      const outcome = await run(text, [3]);
      expect(codeOf(outcome.error), text).toBe('not-an-object');
      expect((outcome.error as Error).message).toMatch(/^not a JSON object: the body starts with .* at byte 0$/);
    }
  });

  it('calls an empty or cut-short body truncated', async () => {
    for (const text of ['', '  \n', '{', '{"data"', '{"data":[{"id":1}', '{"data":[1,2', '{"data":[1]', '{"data":[],"error":tru']) {
      const outcome = await run(text, [2]);
      expect(codeOf(outcome.error), text).toBe('truncated');
      expect((outcome.error as Error).message).toMatch(/^unexpected end of body after \d+ bytes/);
    }
  });

  it('reports invalid JSON with the byte where the bad item or token starts', async () => {
    const cases: ReadonlyArray<[string, number, RegExp]> = [
      ['{"data":[{"id":1},{"id":tru},{"id":3}]}', 18, /^invalid JSON at byte 18: item 1 of "data": /],
      ['{"data":[1,,2]}', 11, /^invalid JSON at byte 11: expected an item \(found ","\)$/],
      ['{"data":[1 2]}', 11, /^invalid JSON at byte 11: expected "," or "]" after an item \(found "2"\)$/],
      ['{"data":[1],"error":false}x', 26, /^invalid JSON at byte 26: more data after the end of the object$/],
      ['{"data":[1] "error":false}', 12, /expected "," or "}" after a field/],
      ['{"data" [1]}', 8, /expected ":" after a key/],
      ['{data:[1]}', 1, /expected a key in quotes/],
      ['{"error":fals,"data":[]}', 9, /^invalid JSON at byte 9: /],
      ['{"data":[{"a":1}],"data":[2]}', 25, /"data" appears twice/],
      ['{"data":[{"a":[1}]}]}', 9, /item 0 of "data"/],
      ['{"data":["é\u0001"]}', 9, /item 0 of "data"/],
    ];
    for (const [text, offset, message] of cases) {
      for (const sizes of [[1], [7], [text.length]]) {
        const outcome = await run(text, sizes);
        const error = outcome.error as JsonStreamError;
        expect(error, text).toBeInstanceOf(JsonStreamError);
        expect(error.code, text).toBe('invalid');
        expect(error.message, text).toMatch(message);
        expect(error.byteOffset, text).toBe(offset + (text.includes('é') && offset > 11 ? 1 : 0));
        if (!text.includes('"data":[2]')) expect(() => JSON.parse(text) as unknown).toThrow();
      }
    }
  });

  it('hands out the items before a bad one, then throws', async () => {
    const text = `{"data":[${Array.from({ length: 50 }, (_, i) => `{"id":${i}}`).join(',')},{"id":}]}`;
    const outcome = await parseChunks(encoder.encode(text), [40], 10);
    expect(codeOf(outcome.error)).toBe('invalid');
    expect(outcome.items).toEqual(Array.from({ length: outcome.items.length }, (_, i) => ({ id: i })));
    expect(outcome.items.length).toBeGreaterThan(40);
  });

  it('finds item boundaries whatever the strings and nesting hold (fast path and byte scan)', async () => {
    const tricky = [
      { id: 1, title: '},{"id":2}', nested: { a: { b: [1, { c: '}]' }] } } },
      { id: 2, title: 'back\\slash\\', q: '"},{', list: [{}, [], [[]]] },
      { id: 3, title: 'é😀中\\"}', empty: '' },
      { id: 4, arr: [{ x: '},' }, { y: ']},{' }] },
    ];
    const items = Array.from({ length: 300 }, (_, i) => ({ ...tricky[i % tricky.length]!, n: i }));
    const text = JSON.stringify({ error: false, data: items, message: 'ok' });
    for (const sizes of [[1], [13], [512], [4096], [text.length]]) {
      const outcome = await parseChunks(encoder.encode(text), sizes, 64);
      expect(outcome.items).toStrictEqual(items);
      expect(outcome.fields).toEqual({ error: false, message: 'ok' });
    }
  });

  it('reads lists of ids and of other values, not only objects', async () => {
    for (const data of [[1, 2, 3], ['a', 'b,c', '"]'], [[1], [2, [3]]], [true, null, -1.5e-7]]) {
      const text = JSON.stringify({ data });
      for (const sizes of [[1], [4], [text.length]]) expect((await parseChunks(encoder.encode(text), sizes)).items).toEqual(data);
    }
  });

  it('keeps "__proto__" and duplicate keys as JSON.parse does', () => {
    const text = '{"__proto__":{"polluted":true},"k":1,"data":[{"__proto__":1}],"k":2}';
    const { items, fields } = parseItemsText(text);
    expect(fields).toStrictEqual(withoutData(JSON.parse(text) as Record<string, unknown>));
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(items).toStrictEqual((JSON.parse(text) as { data: unknown }).data);
  });

  it('keys may be escaped', () => {
    expect(parseItemsText('{"d\\u0061ta":[1],"\\u0065rror":false}')).toEqual({ items: [1], fields: { error: false } });
  });
});

describe('parseItemsStream sources and lifecycle', () => {
  const body = `{"error":false,"data":[${Array.from({ length: 1000 }, (_, i) => `{"id":${i},"t":"é"}`).join(',')}]}`;
  const bytes = encoder.encode(body);

  it('reads a web ReadableStream and a Node Readable', async () => {
    const web = new Blob([bytes]).stream();
    let count = 0;
    for await (const batch of parseItemsStream(web).items) count += batch.length;
    expect(count).toBe(1000);
    const node = Readable.from(chunksOf(bytes, [100]));
    count = 0;
    for await (const batch of parseItemsStream(node).items) count += batch.length;
    expect(count).toBe(1000);
  });

  it('stops reading and closes the source when the consumer stops early', async () => {
    let pulled = 0;
    let closed = false;
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator without await is the plain way to make an AsyncIterable source
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < bytes.length; i += 100) {
          pulled += 1;
          yield bytes.subarray(i, i + 100);
        }
      } finally {
        closed = true;
      }
    }
    for await (const batch of parseItemsStream(source()).items) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(5);
  });

  it('cancels a web ReadableStream when the consumer stops early', async () => {
    let cancelled = false;
    let offset = 0;
    const web = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes.slice(offset, offset + 100));
        offset += 100;
      },
      cancel() {
        cancelled = true;
      },
    });
    const { items } = parseItemsStream(web);
    const first = await items.next();
    expect(first.done).toBe(false);
    await items.return(undefined);
    expect(cancelled).toBe(true);
    expect(offset).toBeLessThan(1000);
  });

  it('keeps batches within batchSize and refuses a bad one', async () => {
    const outcome = await parseChunks(bytes, [bytes.length], 7);
    expect(outcome.items).toHaveLength(1000);
    expect(Math.max(...outcome.batches)).toBe(7);
    expect(() => parseItemsStream(chunksOf(bytes, [1]), { batchSize: 0 })).toThrow(RangeError);
  });

  it('refuses text chunks', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator without await is the plain way to make an AsyncIterable source
    const strings = (async function* () {
      yield '{"data":[]}';
    })() as unknown as AsyncIterable<Uint8Array>;
    await expect(parseItemsStream(strings).items.next()).rejects.toThrow(TypeError);
  });
});
