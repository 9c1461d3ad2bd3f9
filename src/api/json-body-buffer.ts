/**
 * The bytes of a body that the item scanner (json-items-scanner.ts) has not consumed yet, and the
 * errors that point into them: one growable buffer, compacted after each chunk, so memory is one
 * network chunk plus the item in progress whatever the size of the body. ItemBatches adds the
 * complete items found in it, parsed in batches with one JSON.parse each.
 */
import { parseJsonExact } from '../exact-json.js';
import { JsonStreamError } from './json-stream-error.js';
import { COMMA, describeByte, isWhitespace, newValueScan, scanValue, startValue } from './json-scan.js';

export class BodyBuffer {
  protected readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Unconsumed bytes are buf[0, len); buf[0] is byte `base` of the body. */
  protected buf = new Uint8Array(1 << 16);
  protected len = 0;
  protected base = 0;

  protected append(chunk: Uint8Array): void {
    const needed = this.len + chunk.length;
    if (needed > this.buf.length) {
      const bigger = new Uint8Array(Math.max(needed, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(chunk, this.len);
    this.len = needed;
  }

  /** Forgets buf[0, keep): the caller moves its own indexes back by `keep`. */
  protected dropBefore(keep: number): void {
    this.buf.copyWithin(0, keep, this.len);
    this.len -= keep;
    this.base += keep;
  }

  /** JSON.parse of one key or value, buf[start, end). */
  protected parseSpan(start: number, end: number): unknown {
    try {
      return JSON.parse(this.decoder.decode(this.buf.subarray(start, end)));
    } catch (error) {
      throw this.invalid(start, messageOf(error));
    }
  }

  /**
   * The error for a batch of items, buf[start, end), that JSON.parse refused: the first bad item
   * and its offset (`itemCount` items came before the batch).
   */
  protected badItem(start: number, end: number, error: unknown, itemCount: number): JsonStreamError {
    const b = this.buf;
    const scan = newValueScan();
    for (let i = start, k = 0; i < end; k += 1) {
      while (i < end && (isWhitespace(b[i]!) || b[i] === COMMA)) i += 1;
      startValue(scan, b[i]!);
      const itemEnd = scanValue(b, i + 1, end, scan);
      const stop = itemEnd < 0 ? end : itemEnd;
      try {
        JSON.parse(this.decoder.decode(b.subarray(i, stop)));
      } catch (itemError) {
        return this.invalid(i, `item ${itemCount + k} of "data": ${messageOf(itemError)}`);
      }
      i = stop;
    }
    return this.invalid(start, messageOf(error));
  }

  protected invalid(at: number, problem: string): JsonStreamError {
    const offset = this.base + at;
    const found = at < this.len ? ` (found ${describeByte(this.buf[at]!)})` : '';
    return new JsonStreamError('invalid', `invalid JSON at byte ${offset}: ${problem}${problem.startsWith('expected') ? found : ''}`, offset);
  }

  protected notAnObject(at: number): JsonStreamError {
    const offset = this.base + at;
    return new JsonStreamError('not-an-object', `not a JSON object: the body starts with ${describeByte(this.buf[at]!)} at byte ${offset}`, offset);
  }
}

/** Complete items found in the buffer, parsed with one JSON.parse per batch and handed out. */
export class ItemBatches extends BodyBuffer {
  protected readonly batchSize: number;
  /** Complete items not yet parsed: buf[itemsStart, itemsEnd), itemsPending of them. */
  protected itemsStart = -1;
  private itemsEnd = -1;
  protected itemsPending = 0;
  protected itemCount = 0;
  private out: unknown[][] = [];

  constructor(batchSize: number) {
    super();
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
    this.batchSize = batchSize;
  }

  /** One more complete item, buf[start, end), right after the pending ones. */
  protected addItem(start: number, end: number): void {
    if (this.itemsStart < 0) this.itemsStart = start;
    this.itemsEnd = end;
    this.itemsPending += 1;
    if (this.itemsPending >= this.batchSize) this.flushItems();
  }

  /** Parses the pending items; on failure, finds the bad item. */
  protected flushItems(): void {
    if (this.itemsPending === 0) return;
    const start = this.itemsStart;
    const end = this.itemsEnd;
    let items: unknown;
    try {
      items = parseJsonExact(`[${this.decoder.decode(this.buf.subarray(start, end))}]`);
    } catch (error) {
      throw this.badItem(start, end, error, this.itemCount);
    }
    this.emitFrom(items as unknown[]);
  }

  /** Hands out items parsed from the pending ones on (the fast path parses them with more). */
  protected emitFrom(items: unknown[]): void {
    this.itemsStart = -1;
    this.itemsPending = 0;
    this.itemCount += items.length;
    if (items.length <= this.batchSize) {
      if (items.length > 0) this.out.push(items);
      return;
    }
    for (let k = 0; k < items.length; k += this.batchSize) this.out.push(items.slice(k, k + this.batchSize));
  }

  protected takeBatches(): unknown[][] {
    const out = this.out;
    if (out.length > 0) this.out = [];
    return out;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
