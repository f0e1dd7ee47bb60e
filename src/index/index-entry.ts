// Index entries (key, seq, value: three u64s) and their in-memory form: six u32 words, low word
// first, exactly as an entry's bytes lie in a block on a little-endian host. format-spec/index.md §4.
// Lookups compare words, never bigints, so the hot path allocates only the value it returns.

import { assert } from '../util/assert.js';

export interface IndexEntry {
  readonly key: bigint;
  readonly seq: bigint;
  readonly value: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
/** Words per entry: key, seq and value, each as (low, high). */
export const ENTRY_WORDS = 6;
export const W_KEY_LO = 0;
export const W_KEY_HI = 1;
export const W_SEQ_LO = 2;
export const W_SEQ_HI = 3;
export const W_VALUE_LO = 4;
export const W_VALUE_HI = 5;

// Blocks are read into memory and viewed as Uint32Array, which uses the host's byte order; the
// format is little-endian, so a big-endian host would see every word swapped.
assert(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, 'index files are read through u32 views: the host must be little-endian');

const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);

export function isU64(value: bigint): boolean {
  return value >= 0n && value <= U64_MAX;
}

/** Writes `value` (a u64) as two words, low first, at out[at], out[at + 1]. Allocates nothing. */
export function splitU64(value: bigint, out: Uint32Array, at: number): void {
  // The message is built only on failure: a closure per call would allocate on the lookup path.
  if (!(value >= 0n && value <= U64_MAX)) assert(false, `${value} is not a u64`);
  scratch64[0] = value;
  out[at] = scratch32[0];
  out[at + 1] = scratch32[1];
}

/** The u64 whose words are (lo, hi). Allocates the one bigint it returns. */
export function joinU64(lo: number, hi: number): bigint {
  scratch32[0] = lo;
  scratch32[1] = hi;
  return scratch64[0];
}

/** The entry whose six words start at words[at]. */
export function entryAt(words: Uint32Array, at: number): IndexEntry {
  return {
    key: joinU64(words[at + W_KEY_LO], words[at + W_KEY_HI]),
    seq: joinU64(words[at + W_SEQ_LO], words[at + W_SEQ_HI]),
    value: joinU64(words[at + W_VALUE_LO], words[at + W_VALUE_HI]),
  };
}

/**
 * Compares the (key, seq) whose four words start at a[at] with the probe (keyLo, keyHi, seqLo,
 * seqHi): negative, zero or positive as the stored pair is less, equal or greater.
 */
export function compareKeySeq(a: Uint32Array, at: number, keyLo: number, keyHi: number, seqLo: number, seqHi: number): number {
  if (a[at + W_KEY_HI] !== keyHi) return a[at + W_KEY_HI] < keyHi ? -1 : 1;
  if (a[at + W_KEY_LO] !== keyLo) return a[at + W_KEY_LO] < keyLo ? -1 : 1;
  if (a[at + W_SEQ_HI] !== seqHi) return a[at + W_SEQ_HI] < seqHi ? -1 : 1;
  if (a[at + W_SEQ_LO] !== seqLo) return a[at + W_SEQ_LO] < seqLo ? -1 : 1;
  return 0;
}

/** Compares the (key, seq) pairs starting at a[i] and b[j] (both in the word layout above). */
export function compareKeySeqAt(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  return compareKeySeq(a, i, b[j + W_KEY_LO], b[j + W_KEY_HI], b[j + W_SEQ_LO], b[j + W_SEQ_HI]);
}

/** Whether the entry at a[at] has the key (keyLo, keyHi). */
export function hasKey(a: Uint32Array, at: number, keyLo: number, keyHi: number): boolean {
  return a[at + W_KEY_LO] === keyLo && a[at + W_KEY_HI] === keyHi;
}
