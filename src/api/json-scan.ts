/**
 * The byte-level part of the streaming item scanner (json-items.ts): JSON's structural bytes and
 * the hot loop that finds where one value ends. Structural bytes are ASCII and never occur inside
 * a multi-byte UTF-8 sequence, so scanning bytes is safe.
 */

// Bytes of JSON's structure (all ASCII).
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;

/** JSON whitespace: space, tab, LF, CR. */
const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
/** Bytes a number, true, false or null may hold; JSON.parse checks the token itself. */
const SCALAR = new Uint8Array(256);
for (const c of '0123456789+-.eEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') SCALAR[c.charCodeAt(0)] = 1;

export function isWhitespace(c: number): boolean {
  return WS[c] === 1;
}

/** The first index from `i` that is not JSON whitespace, or `n`. */
export function skipWhitespace(b: Uint8Array, i: number, n: number): number {
  while (i < n && WS[b[i]!] === 1) i += 1;
  return i;
}

/** How far the end of one value is known; kept between chunks. */
export interface ValueScan {
  /** Bracket depth; 0 for a lone string. */
  depth: number;
  inString: boolean;
  /** The previous chunk ended with a backslash inside a string. */
  escape: boolean;
  /** A number, true, false or null: ends at the first byte that cannot be part of one. */
  scalar: boolean;
}

export function newValueScan(): ValueScan {
  return { depth: 0, inString: false, escape: false, scalar: false };
}

/** Starts scanning the value whose first byte is `first`; false when no JSON value starts so. */
export function startValue(scan: ValueScan, first: number): boolean {
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
export function scanValue(b: Uint8Array, i: number, n: number, scan: ValueScan): number {
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

/**
 * The fast path's cut (json-items.ts): among the last `candidates` `}` in b[from, n), the last
 * one followed (after whitespace) by `,`; the index of that comma, or -1.
 */
export function lastObjectSeparator(b: Uint8Array, from: number, n: number, candidates: number): number {
  const fresh = b.subarray(from, n);
  let brace = fresh.length;
  for (let tries = 0; tries < candidates; tries += 1) {
    brace = brace > 0 ? fresh.lastIndexOf(CLOSE_BRACE, brace - 1) : -1;
    if (brace < 0) return -1;
    const j = skipWhitespace(b, from + brace + 1, n);
    if (j < n && b[j] === COMMA) return j;
  }
  return -1;
}

/** A byte for a message: the character in quotes when printable ASCII, else its hex. */
export function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
