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
 * Files: json-items-scanner.ts (the state machine), json-scan.ts (the byte loop),
 * json-stream-error.ts (what a rejected body reports).
 *
 * Memory is the buffer (one network chunk plus the item in progress) and the batch being handed
 * out, whatever the size of the body (only a single huge item or field is held whole).
 */

import { ItemsScanner } from './json-items-scanner.js';
import type { ItemsEnvelope } from './json-stream-error.js';

export { JsonStreamError, type ItemsEnvelope, type JsonStreamErrorCode } from './json-stream-error.js';

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
