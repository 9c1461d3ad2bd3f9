/**
 * Incremental parser for the API's list bodies, `{"error": false, "data": [item, item, ...]}`.
 *
 * WHY THIS EXISTS. get-visits has no pagination: one body can hold 500,000 visits (100+ MB).
 * Reading it whole and calling JSON.parse holds the text and every parsed item at once (a 153 MB
 * body took 890 MB of RSS). The npm streaming parsers fix the memory but tokenize character by
 * character in JavaScript and build every value through callbacks; on 200,000 visits (Node 20)
 * they reached 0.1–0.7× the item throughput of fetch + JSON.parse (stream-json 0.13×, oboe
 * ≤0.4×, @streamparser/json 0.4×, jsonparse ≤0.65×, clarinet ≤0.7×). V8's native JSON.parse is
 * far faster than any JavaScript tokenizer, so this module does only what JSON.parse cannot: it
 * finds where the items of `data` begin and end, and hands their text to JSON.parse. That gives
 * 1.1–1.7× the throughput of parsing the whole body (short-lived items are cheap to collect; the
 * byte scan alone, without the fast path below, measured 1.15×), and a heap that stays ~16 MB
 * whatever the body size (bench/json-items.bench.ts).
 *
 * HOW. Bytes are appended to one growable buffer. A small state machine walks the top-level object
 * (keys in any order; other fields may come before or after `data`). Inside `data`, the end of an
 * item is found by tracking string state (quotes, backslash escapes) and bracket depth; structural
 * bytes are ASCII and never occur inside a multi-byte UTF-8 sequence, so scanning bytes is safe
 * and every span handed to the decoder begins and ends on a character boundary. The complete items
 * of a chunk are decoded and parsed with ONE `JSON.parse('[' + span + ']')`, which also validates
 * them; the scanner validates only the separators between them.
 *
 * FAST PATH. For object items the byte scan can mostly be skipped: take the last `}` of the new
 * bytes that is followed by `,` and try `JSON.parse('[' + items-so-far-up-to-that-comma + ']')`.
 * If it succeeds, the comma was a top-level separator of `data`: tokenizing JSON is deterministic
 * from left to right, so a cut inside a string or a nested value leaves an unterminated string or
 * unbalanced brackets, and text past the end of `data` cannot sit inside one array. If it fails
 * (a nested `},` in an item, a malformed body), the byte scan takes over and reports the error;
 * after a few failures the fast path is switched off for the body.
 *
 * Memory is the buffer (one network chunk plus the item in progress) and the batch being handed
 * out, whatever the size of the body (only a single huge item or field is held whole).
 */

import { parseJsonExact } from '../exact-json.js';

/** Why a body was rejected; every kind is a malformed (or, for `data-*`, unexpected) body. */
export type JsonStreamErrorCode =
  /** The body ended before the top-level object did (an empty or cut-short body). */
  | 'truncated'
  /** Invalid JSON, or a second `"data"` key. */
  | 'invalid'
  /** Well-formed or not, the body does not start with `{`. */
  | 'not-an-object'
  /** The body is a JSON object without a `"data"` key (see `envelope` for its fields). */
  | 'data-missing'
  /** `"data"` holds something other than a list (see `data` and `envelope`). */
  | 'data-not-list';

export interface ItemsEnvelope {
  /** Top-level fields other than `data` (e.g. `error`, `message`) seen so far, as JSON.parse makes them. */
  readonly fields: Record<string, unknown>;
  /** Items of `data` parsed so far. */
  readonly itemCount: number;
  /** True once the whole body was read and found to be one well-formed JSON object. */
  readonly complete: boolean;
}

export class JsonStreamError extends SyntaxError {
  override readonly name = 'JsonStreamError';

  constructor(
    readonly code: JsonStreamErrorCode,
    message: string,
    /** Offset in the body (bytes, after a BOM) where the problem is, when there is one. */
    readonly byteOffset?: number,
    /** For 'data-missing' and 'data-not-list': the whole body was read; these are its other fields. */
    readonly envelope?: ItemsEnvelope,
    /** For 'data-not-list': the value of `data`. */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface ParseItemsOptions {
  /** Most items per batch (default 1000); a batch also ends with each chunk's complete items. */
  readonly batchSize?: number;
}

export interface ItemsStream {
  /**
   * Batches of parsed items in body order, each yielded as soon as a chunk completes them. Throws
   * JsonStreamError on a malformed body, also after some batches (a body cut short always
   * throws). Stopping early (`break`, `return()`) stops reading and cancels `chunks`.
   */
  readonly items: AsyncGenerator<unknown[], void, undefined>;
  /**
   * The fields around `data`, as far as they were read: fields before `data` are known from the
   * first batch on; all of them once `items` is done (`complete`).
   */
  envelope(): ItemsEnvelope;
}

/** Parses `{"...": ..., "data": [items...], ...}` as its bytes arrive; see {@link ItemsStream}. */
export function parseItemsStream(chunks: AsyncIterable<Uint8Array>, options: ParseItemsOptions = {}): ItemsStream {
  const scanner = new ItemsScanner(options.batchSize ?? 1000);
  async function* items(): AsyncGenerator<unknown[], void, undefined> {
    for await (const chunk of chunks) {
      for (const batch of scanner.push(chunk)) yield batch;
    }
    for (const batch of scanner.end()) yield batch;
  }
  return { items: items(), envelope: () => scanner.envelope() };
}

/** The same parser on a whole text (tests, small bodies): every item, and the other fields. */
export function parseItemsText(text: string): { items: unknown[]; fields: Record<string, unknown> } {
  const scanner = new ItemsScanner(Number.MAX_SAFE_INTEGER);
  const batches = [...scanner.push(new TextEncoder().encode(text)), ...scanner.end()];
  return { items: batches.flat(1), fields: scanner.envelope().fields };
}

// Bytes of JSON's structure (all ASCII).
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON whitespace: space, tab, LF, CR. */
const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
/** Bytes a number, true, false or null may hold; JSON.parse checks the token itself. */
const SCALAR = new Uint8Array(256);
for (const c of '0123456789+-.eEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') SCALAR[c.charCodeAt(0)] = 1;

// Where the scanner is in the body.
const START = 0; // before the top-level `{` (and a BOM)
const FIRST_KEY = 1; // after `{`: a key or `}`
const NEXT_KEY = 2; // after `,`: a key
const IN_KEY = 3; // inside a key's string
const COLON_NEXT = 4; // after a key: `:`
const VALUE_NEXT = 5; // after `:`: a value
const IN_VALUE = 6; // inside a field's value (not a `data` list)
const AFTER_VALUE = 7; // after a field: `,` or `}`
const FIRST_ITEM = 8; // after `data: [`: an item or `]`
const NEXT_ITEM = 9; // after `,` in data: an item
const IN_ITEM = 10; // inside an item
const AFTER_ITEM = 11; // after an item: `,` or `]`
const DONE = 12; // after the top-level `}`: whitespace only

/** How far the end of one value is known; kept between chunks. */
interface ValueScan {
  /** Bracket depth; 0 for a lone string. */
  depth: number;
  inString: boolean;
  /** The previous chunk ended with a backslash inside a string. */
  escape: boolean;
  /** A number, true, false or null: ends at the first byte that cannot be part of one. */
  scalar: boolean;
}

/** Starts scanning the value whose first byte is `first`; false when no JSON value starts so. */
function startValue(scan: ValueScan, first: number): boolean {
  scan.escape = false;
  scan.scalar = false;
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    scan.depth = 1;
    scan.inString = false;
  } else if (first === QUOTE) {
    scan.depth = 0;
    scan.inString = true;
  } else if (SCALAR[first] === 1) {
    scan.scalar = true;
  } else {
    return false;
  }
  return true;
}

/**
 * Scans on from `i` (just after the value's first byte) to `n`: the index just past the value's
 * end, or -1 when the value goes on past `n` (the state is then saved in `scan`). The hot loop.
 */
function scanValue(b: Uint8Array, i: number, n: number, scan: ValueScan): number {
  if (scan.scalar) {
    while (i < n && SCALAR[b[i]!] === 1) i += 1;
    return i < n ? i : -1;
  }
  let depth = scan.depth;
  let inString = scan.inString;
  if (scan.escape) {
    scan.escape = false;
    i += 1; // the escaped byte that began this chunk
  }
  while (i < n) {
    const c = b[i++]!;
    if (inString) {
      if (c === QUOTE) {
        inString = false;
        if (depth === 0) return i;
      } else if (c === BACKSLASH) {
        if (i === n) {
          scan.escape = true;
          break;
        }
        i += 1;
      }
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth += 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  scan.depth = depth;
  scan.inString = inString;
  return -1;
}

const MAX_FAST_FAILURES = 3;
const FAST_CANDIDATES = 8;
const FAST_MIN_BYTES = 256;

/** The push parser behind both entry points: push() chunks, then end(); each returns batches. */
class ItemsScanner {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly batchSize: number;
  /** Unconsumed bytes are buf[0, len); buf[0] is byte `base` of the body. */
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  private base = 0;
  /** Scan position in buf. */
  private pos = 0;
  private state = START;
  private readonly scan: ValueScan = { depth: 0, inString: false, escape: false, scalar: false };
  /** Start (in buf) of the key or value being scanned. */
  private valueStart = 0;
  private key = '';
  private readonly fields: Record<string, unknown> = {};
  private dataSeen = false;
  private dataIsList = false;
  private dataValue: unknown = undefined;
  /** Complete items not yet parsed: buf[itemsStart, itemsEnd), itemsPending of them. */
  private itemsStart = -1;
  private itemsEnd = -1;
  private itemsPending = 0;
  private itemCount = 0;
  private out: unknown[][] = [];
  private complete = false;
  private fastFailures = 0;
  /** Body offset up to which the fast path has looked for a cut. */
  private fastMark = 0;

  constructor(batchSize: number) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
    this.batchSize = batchSize;
  }

  envelope(): ItemsEnvelope {
    return { fields: this.fields, itemCount: this.itemCount, complete: this.complete };
  }

  push(chunk: Uint8Array): unknown[][] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('parseItemsStream reads Uint8Array chunks (a byte stream)');
    this.append(chunk);
    this.run();
    this.flushItems();
    this.compact();
    return this.takeBatches();
  }

  end(): unknown[][] {
    if (this.state !== DONE) throw this.truncated();
    this.complete = true;
    if (!this.dataSeen) throw new JsonStreamError('data-missing', '"data" is missing from the body', undefined, this.envelope());
    if (!this.dataIsList) {
      const value = this.dataValue;
      const what = value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
      throw new JsonStreamError('data-not-list', `"data" is not a list (it is ${what})`, undefined, this.envelope(), value);
    }
    return this.takeBatches();
  }

  private takeBatches(): unknown[][] {
    const out = this.out;
    if (out.length > 0) this.out = [];
    return out;
  }

  private append(chunk: Uint8Array): void {
    const needed = this.len + chunk.length;
    if (needed > this.buf.length) {
      const bigger = new Uint8Array(Math.max(needed, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(chunk, this.len);
    this.len = needed;
  }

  /** Drops the bytes no longer needed: everything before the pending items, key or value. */
  private compact(): void {
    let keep = this.pos;
    if (this.state === IN_KEY || this.state === IN_VALUE || this.state === IN_ITEM) keep = this.valueStart;
    if (this.itemsStart >= 0) keep = Math.min(keep, this.itemsStart);
    if (keep === 0) return;
    this.buf.copyWithin(0, keep, this.len);
    this.len -= keep;
    this.pos -= keep;
    this.valueStart -= keep;
    this.base += keep;
  }

  /** Walks buf from pos to len, as far as the bytes go. */
  private run(): void {
    const b = this.buf;
    const n = this.len;
    let i = this.pos;
    if (this.state === IN_ITEM && this.fastCut(this.valueStart)) i = this.pos;
    while (i < n) {
      switch (this.state) {
        case START: {
          if (this.base + i === 0 && b[i] === 0xef) {
            // A UTF-8 byte order mark, as response.text() would drop it.
            if (n - i < 3) return this.stop(i);
            if (b[i + 1] !== 0xbb || b[i + 2] !== 0xbf) throw this.notAnObject(i);
            i += 3;
            continue;
          }
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          if (b[i] !== OPEN_BRACE) throw this.notAnObject(i);
          i += 1;
          this.state = FIRST_KEY;
          break;
        }
        case FIRST_KEY:
        case NEXT_KEY: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          const c = b[i]!;
          if (c === CLOSE_BRACE && this.state === FIRST_KEY) {
            this.state = DONE;
          } else if (c === QUOTE) {
            startValue(this.scan, c);
            this.valueStart = i;
            this.state = IN_KEY;
          } else {
            throw this.invalid(i, 'expected a key in quotes');
          }
          i += 1;
          break;
        }
        case IN_KEY: {
          const end = scanValue(b, i, n, this.scan);
          if (end < 0) return this.stop(n);
          this.key = this.parseSpan(this.valueStart, end) as string;
          this.state = COLON_NEXT;
          i = end;
          break;
        }
        case COLON_NEXT: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          if (b[i] !== COLON) throw this.invalid(i, 'expected ":" after a key');
          i += 1;
          this.state = VALUE_NEXT;
          break;
        }
        case VALUE_NEXT: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          const c = b[i]!;
          if (this.key === 'data') {
            if (this.dataSeen) throw this.invalid(i, '"data" appears twice');
            this.dataSeen = true;
            if (c === OPEN_BRACKET) {
              this.dataIsList = true;
              this.state = FIRST_ITEM;
              i += 1;
              break;
            }
          }
          if (!startValue(this.scan, c)) throw this.invalid(i, 'expected a value');
          this.valueStart = i;
          this.state = IN_VALUE;
          i += 1;
          break;
        }
        case IN_VALUE: {
          const end = scanValue(b, i, n, this.scan);
          if (end < 0) return this.stop(n);
          const value = this.parseSpan(this.valueStart, end);
          if (this.key === 'data') this.dataValue = value;
          else Object.defineProperty(this.fields, this.key, { value, enumerable: true, writable: true, configurable: true });
          this.state = AFTER_VALUE;
          i = end;
          break;
        }
        case AFTER_VALUE: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          const c = b[i]!;
          if (c === COMMA) this.state = NEXT_KEY;
          else if (c === CLOSE_BRACE) this.state = DONE;
          else throw this.invalid(i, 'expected "," or "}" after a field');
          i += 1;
          break;
        }
        case FIRST_ITEM:
        case NEXT_ITEM: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          const c = b[i]!;
          if (c === CLOSE_BRACKET && this.state === FIRST_ITEM) {
            this.state = AFTER_VALUE;
            i += 1;
            break;
          }
          if (!startValue(this.scan, c)) throw this.invalid(i, 'expected an item');
          this.valueStart = i;
          this.state = IN_ITEM;
          if (this.fastCut(i)) i = this.pos;
          else i += 1;
          break;
        }
        case IN_ITEM: {
          const end = scanValue(b, i, n, this.scan);
          if (end < 0) return this.stop(n);
          if (this.itemsStart < 0) this.itemsStart = this.valueStart;
          this.itemsEnd = end;
          this.itemsPending += 1;
          if (this.itemsPending >= this.batchSize) this.flushItems();
          this.state = AFTER_ITEM;
          i = end;
          break;
        }
        case AFTER_ITEM: {
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i === n) break;
          const c = b[i]!;
          if (c === COMMA) {
            this.state = NEXT_ITEM;
          } else if (c === CLOSE_BRACKET) {
            this.flushItems();
            this.state = AFTER_VALUE;
          } else {
            this.flushItems(); // a bad item (e.g. `{"a":[1}]`) is the better error to report
            throw this.invalid(i, 'expected "," or "]" after an item');
          }
          i += 1;
          break;
        }
        default: {
          // DONE: only whitespace may follow the object.
          while (i < n && WS[b[i]!] === 1) i += 1;
          if (i < n) throw this.invalid(i, 'more data after the end of the object');
        }
      }
    }
    this.pos = i;
  }

  private stop(i: number): void {
    this.pos = i;
  }

  /**
   * The fast path (see the header): an item starts at buf[start]; try to parse all complete items
   * up to the last `},` of the new bytes in one go. On success, pos is just past that comma.
   */
  private fastCut(start: number): boolean {
    const b = this.buf;
    const n = this.len;
    if (this.fastFailures >= MAX_FAST_FAILURES || b[start] !== OPEN_BRACE) return false;
    // Look only at bytes no earlier attempt has seen, and only when there are enough of them.
    const low = Math.max(start, this.fastMark - this.base);
    if (n - low < FAST_MIN_BYTES) return false;
    this.fastMark = this.base + n;
    const fresh = b.subarray(low + 1, n);
    let cut = -1;
    let brace = fresh.length;
    for (let tries = 0; tries < FAST_CANDIDATES && cut < 0; tries += 1) {
      brace = brace > 0 ? fresh.lastIndexOf(CLOSE_BRACE, brace - 1) : -1;
      if (brace < 0) return false;
      let j = low + 1 + brace + 1;
      while (j < n && WS[b[j]!] === 1) j += 1;
      if (j < n && b[j] === COMMA) cut = j;
    }
    if (cut < 0) return false;
    const from = this.itemsStart >= 0 ? this.itemsStart : start; // with the items found before
    let items: unknown;
    try {
      items = parseJsonExact(`[${this.decoder.decode(b.subarray(from, cut))}]`);
    } catch {
      this.fastFailures += 1;
      return false;
    }
    this.itemsStart = -1;
    this.itemsPending = 0;
    this.emit(items as unknown[]);
    this.state = NEXT_ITEM;
    this.pos = cut + 1;
    return true;
  }

  /** Parses the complete items found by the byte scan; on failure, finds the bad item. */
  private flushItems(): void {
    if (this.itemsPending === 0) return;
    const start = this.itemsStart;
    const end = this.itemsEnd;
    let items: unknown;
    try {
      items = parseJsonExact(`[${this.decoder.decode(this.buf.subarray(start, end))}]`);
    } catch (error) {
      throw this.badItem(start, end, error);
    }
    this.itemsStart = -1;
    this.itemsPending = 0;
    this.emit(items as unknown[]);
  }

  private emit(items: unknown[]): void {
    this.itemCount += items.length;
    if (items.length <= this.batchSize) {
      if (items.length > 0) this.out.push(items);
      return;
    }
    for (let k = 0; k < items.length; k += this.batchSize) this.out.push(items.slice(k, k + this.batchSize));
  }

  /** JSON.parse of one key or value, buf[start, end). */
  private parseSpan(start: number, end: number): unknown {
    try {
      return JSON.parse(this.decoder.decode(this.buf.subarray(start, end)));
    } catch (error) {
      return this.fail(start, error);
    }
  }

  /** The error for a batch of items that JSON.parse refused: the first bad item and its offset. */
  private badItem(start: number, end: number, error: unknown): JsonStreamError {
    const b = this.buf;
    const scan: ValueScan = { depth: 0, inString: false, escape: false, scalar: false };
    for (let i = start, k = 0; i < end; k += 1) {
      while (i < end && (WS[b[i]!] === 1 || b[i] === COMMA)) i += 1;
      startValue(scan, b[i]!);
      const itemEnd = scanValue(b, i + 1, end, scan);
      const stop = itemEnd < 0 ? end : itemEnd;
      try {
        JSON.parse(this.decoder.decode(b.subarray(i, stop)));
      } catch (itemError) {
        return this.invalid(i, `item ${this.itemCount + k} of "data": ${messageOf(itemError)}`);
      }
      i = stop;
    }
    return this.invalid(start, messageOf(error));
  }

  private fail(at: number, error: unknown): never {
    throw this.invalid(at, messageOf(error));
  }

  private invalid(at: number, problem: string): JsonStreamError {
    const offset = this.base + at;
    const found = at < this.len ? ` (found ${describeByte(this.buf[at]!)})` : '';
    return new JsonStreamError('invalid', `invalid JSON at byte ${offset}: ${problem}${problem.startsWith('expected') ? found : ''}`, offset);
  }

  private notAnObject(at: number): JsonStreamError {
    const offset = this.base + at;
    return new JsonStreamError('not-an-object', `not a JSON object: the body starts with ${describeByte(this.buf[at]!)} at byte ${offset}`, offset);
  }

  private truncated(): JsonStreamError {
    const offset = this.base + this.len;
    const where =
      this.state === START
        ? 'before any JSON'
        : this.state >= FIRST_ITEM && this.state <= AFTER_ITEM
          ? `inside "data", after ${this.itemCount + this.itemsPending} items`
          : 'inside the top-level object';
    return new JsonStreamError('truncated', `unexpected end of body after ${offset} bytes, ${where}`, offset);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
