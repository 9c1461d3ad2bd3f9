/**
 * The fake dataset's only source of "randomness": a pure 32-bit hash of an integer and a salt.
 * Exported so that tests can recompute any generated value by hand.
 */

const TWO_POW_32 = 4294967296;

/**
 * An unsigned 32-bit hash of `k` (any safe integer) under `salt` (a small integer).
 * `(salt + 1) * 0x9e3779b1` is xor-ed into the low 32 bits of `k`, the high bits are folded in,
 * and murmur3's fmix32 finaliser spreads the result.
 */
export function hash32(k: number, salt: number): number {
  const low = k >>> 0;
  const high = Math.floor(k / TWO_POW_32) >>> 0;
  let h = (Math.imul(salt + 1, 0x9e3779b1) ^ low ^ Math.imul(high, 0x27d4eb2d)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `list[hash32(k, salt) % list.length]`. */
export function pick<T>(list: readonly T[], k: number, salt: number): T {
  const value = list[hash32(k, salt) % list.length];
  if (value === undefined) throw new RangeError('pick() from an empty list');
  return value;
}
