/**
 * The push parser behind json-items.ts (see its header for why and how): push() chunks, then
 * end(); each returns the batches of items completed. A state machine walks the top-level object,
 * one method per state; json-scan.ts finds where each value ends.
 */
import { parseJsonExact } from '../exact-json.js';
import { JsonStreamError, type ItemsEnvelope } from './json-stream-error.js';
import { ItemBatches } from './json-body-buffer.js';
import {
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  lastObjectSeparator,
  newValueScan,
  scanValue,
  skipWhitespace,
  startValue,
  type ValueScan,
} from './json-scan.js';

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

const MAX_FAST_FAILURES = 3;
const FAST_CANDIDATES = 8;
const FAST_MIN_BYTES = 256;

/** The push parser behind both entry points: push() chunks, then end(); each returns batches. */
export class ItemsScanner extends ItemBatches {
  /** Scan position in buf. */
  private pos = 0;
  private state = START;
  private readonly scan: ValueScan = newValueScan();
  /** Start (in buf) of the key or value being scanned. */
  private valueStart = 0;
  private key = '';
  private readonly fields: Record<string, unknown> = {};
  private dataSeen = false;
  private dataIsList = false;
  private dataValue: unknown = undefined;
  private complete = false;
  private fastFailures = 0;
  /** Body offset up to which the fast path has looked for a cut. */
  private fastMark = 0;

  constructor(batchSize: number) {
    super(batchSize);
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

  /** Drops the bytes no longer needed: everything before the pending items, key or value. */
  private compact(): void {
    let keep = this.pos;
    if (this.state === IN_KEY || this.state === IN_VALUE || this.state === IN_ITEM) keep = this.valueStart;
    if (this.itemsStart >= 0) keep = Math.min(keep, this.itemsStart);
    if (keep === 0) return;
    this.dropBefore(keep);
    this.pos -= keep;
    this.valueStart -= keep;
  }

  /** Walks buf from pos to len, as far as the bytes go. */
  private run(): void {
    const n = this.len;
    let i = this.pos;
    if (this.state === IN_ITEM && this.fastCut(this.valueStart)) i = this.pos;
    while (i < n) {
      i = this.step(i, n);
      if (i < 0) return; // stopped inside a value: pos is set
    }
    this.pos = i;
  }

  /** One step of the state machine from buf[i]: the next index, or -1 after setting pos. */
  private step(i: number, n: number): number {
    switch (this.state) {
      case START:
        return this.atStart(i, n);
      case FIRST_KEY:
      case NEXT_KEY:
        return this.atKey(skipWhitespace(this.buf, i, n), n);
      case IN_KEY:
        return this.inKey(i, n);
      case COLON_NEXT:
        return this.atColon(skipWhitespace(this.buf, i, n), n);
      case VALUE_NEXT:
        return this.atValue(skipWhitespace(this.buf, i, n), n);
      case IN_VALUE:
        return this.inValue(i, n);
      case AFTER_VALUE:
        return this.afterValue(skipWhitespace(this.buf, i, n), n);
      case FIRST_ITEM:
      case NEXT_ITEM:
        return this.atItem(skipWhitespace(this.buf, i, n), n);
      case IN_ITEM:
        return this.inItem(i, n);
      case AFTER_ITEM:
        return this.afterItem(skipWhitespace(this.buf, i, n), n);
      default: {
        // DONE: only whitespace may follow the object.
        const j = skipWhitespace(this.buf, i, n);
        if (j < n) throw this.invalid(j, 'more data after the end of the object');
        return j;
      }
    }
  }

  private stop(i: number): number {
    this.pos = i;
    return -1;
  }

  private atStart(i: number, n: number): number {
    const b = this.buf;
    if (this.base + i === 0 && b[i] === 0xef) {
      // A UTF-8 byte order mark, as response.text() would drop it.
      if (n - i < 3) return this.stop(i);
      if (b[i + 1] !== 0xbb || b[i + 2] !== 0xbf) throw this.notAnObject(i);
      return i + 3;
    }
    i = skipWhitespace(b, i, n);
    if (i === n) return i;
    if (b[i] !== OPEN_BRACE) throw this.notAnObject(i);
    this.state = FIRST_KEY;
    return i + 1;
  }

  private atKey(i: number, n: number): number {
    if (i === n) return i;
    const c = this.buf[i]!;
    if (c === CLOSE_BRACE && this.state === FIRST_KEY) {
      this.state = DONE;
    } else if (c === QUOTE) {
      startValue(this.scan, c);
      this.valueStart = i;
      this.state = IN_KEY;
    } else {
      throw this.invalid(i, 'expected a key in quotes');
    }
    return i + 1;
  }

  private inKey(i: number, n: number): number {
    const end = scanValue(this.buf, i, n, this.scan);
    if (end < 0) return this.stop(n);
    this.key = this.parseSpan(this.valueStart, end) as string;
    this.state = COLON_NEXT;
    return end;
  }

  private atColon(i: number, n: number): number {
    if (i === n) return i;
    if (this.buf[i] !== COLON) throw this.invalid(i, 'expected ":" after a key');
    this.state = VALUE_NEXT;
    return i + 1;
  }

  private atValue(i: number, n: number): number {
    if (i === n) return i;
    const c = this.buf[i]!;
    if (this.key === 'data') {
      if (this.dataSeen) throw this.invalid(i, '"data" appears twice');
      this.dataSeen = true;
      if (c === OPEN_BRACKET) {
        this.dataIsList = true;
        this.state = FIRST_ITEM;
        return i + 1;
      }
    }
    if (!startValue(this.scan, c)) throw this.invalid(i, 'expected a value');
    this.valueStart = i;
    this.state = IN_VALUE;
    return i + 1;
  }

  private inValue(i: number, n: number): number {
    const end = scanValue(this.buf, i, n, this.scan);
    if (end < 0) return this.stop(n);
    const value = this.parseSpan(this.valueStart, end);
    if (this.key === 'data') this.dataValue = value;
    else Object.defineProperty(this.fields, this.key, { value, enumerable: true, writable: true, configurable: true });
    this.state = AFTER_VALUE;
    return end;
  }

  private afterValue(i: number, n: number): number {
    if (i === n) return i;
    const c = this.buf[i]!;
    if (c === COMMA) this.state = NEXT_KEY;
    else if (c === CLOSE_BRACE) this.state = DONE;
    else throw this.invalid(i, 'expected "," or "}" after a field');
    return i + 1;
  }

  private atItem(i: number, n: number): number {
    if (i === n) return i;
    const c = this.buf[i]!;
    if (c === CLOSE_BRACKET && this.state === FIRST_ITEM) {
      this.state = AFTER_VALUE;
      return i + 1;
    }
    if (!startValue(this.scan, c)) throw this.invalid(i, 'expected an item');
    this.valueStart = i;
    this.state = IN_ITEM;
    return this.fastCut(i) ? this.pos : i + 1;
  }

  private inItem(i: number, n: number): number {
    const end = scanValue(this.buf, i, n, this.scan);
    if (end < 0) return this.stop(n);
    this.addItem(this.valueStart, end);
    this.state = AFTER_ITEM;
    return end;
  }

  private afterItem(i: number, n: number): number {
    if (i === n) return i;
    const c = this.buf[i]!;
    if (c === COMMA) {
      this.state = NEXT_ITEM;
    } else if (c === CLOSE_BRACKET) {
      this.flushItems();
      this.state = AFTER_VALUE;
    } else {
      this.flushItems(); // a bad item (e.g. `{"a":[1}]`) is the better error to report
      throw this.invalid(i, 'expected "," or "]" after an item');
    }
    return i + 1;
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
    const cut = lastObjectSeparator(b, low + 1, n, FAST_CANDIDATES);
    if (cut < 0) return false;
    const from = this.itemsStart >= 0 ? this.itemsStart : start; // with the items found before
    let items: unknown;
    try {
      items = parseJsonExact(`[${this.decoder.decode(b.subarray(from, cut))}]`);
    } catch {
      this.fastFailures += 1;
      return false;
    }
    this.emitFrom(items as unknown[]);
    this.state = NEXT_ITEM;
    this.pos = cut + 1;
    return true;
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
