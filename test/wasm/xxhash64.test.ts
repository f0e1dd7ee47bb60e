// The XXH64 kernel (assembly/xxhash64.ts, the stream-table hash) equals the xxhash-wasm package's
// h64Raw on every length path: < 4, < 8, < 32 and ≥ 32 bytes (with 8-, 4- and 1-byte tails).

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { Wasm } from '../../src/wasm/kernels.js';
import { WasmRegion } from '../../src/wasm/region.js';
import { propertyParams } from '../support/random.js';

const LENGTH_MAX = 200;
const ALIGNMENT_SHIFT_MAX = 7;
const U64_MAX = (1n << 64n) - 1n;

const wasm = new Wasm();
const scratch = new WasmRegion(wasm, LENGTH_MAX + ALIGNMENT_SHIFT_MAX + 1);
const { h64Raw } = await xxhash();

/** The kernel's hash of `bytes` at scratch + shift, as an unsigned u64 (the export returns i64). */
function kernelHash(bytes: Uint8Array, seed: bigint, shift = 0): bigint {
  const ptr = scratch.ptr + shift;
  wasm.u8.set(bytes, ptr);
  return BigInt.asUintN(64, wasm.k.xxhash64(ptr, bytes.length, seed));
}

const seeds = fc.oneof(fc.constantFrom(0n, 1n, U64_MAX, 1n << 63n, 0x9e3779b185ebca87n), fc.bigInt({ min: 0n, max: U64_MAX }));
// Every length up to 40 covers each tail combination on both sides of 32; the rest spread to 200.
const lengths = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: LENGTH_MAX }));
const randomBytes = lengths.chain((length) => fc.uint8Array({ minLength: length, maxLength: length }));

describe('xxhash64', () => {
  test('xxhash64 - known vectors', () => {
    const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
    expect(kernelHash(new Uint8Array(0), 0n)).toBe(0xef46db3751d8e999n);
    expect(kernelHash(ascii('a'), 0n)).toBe(0xd24ec4f1a98c6e5bn);
    expect(kernelHash(ascii('abc'), 0n)).toBe(0x44bc2cf5ad770999n);
    for (const text of ['', 'a', 'abc', 'stream-1', 'a 32-byte input crosses stripes!', 'x'.repeat(200)]) {
      expect(kernelHash(ascii(text), 0n), text).toBe(h64Raw(ascii(text), 0n));
    }
  });

  test('xxhash64 - every length 0..200 at every alignment equals xxhash-wasm', () => {
    const bytes = Uint8Array.from({ length: LENGTH_MAX }, (_, i) => (i * 131 + 7) & 0xff);
    for (let length = 0; length <= LENGTH_MAX; length++) {
      const input = bytes.subarray(0, length);
      const expected = h64Raw(input, 0x0123456789abcdefn);
      for (let shift = 0; shift <= ALIGNMENT_SHIFT_MAX; shift++) {
        expect(kernelHash(input, 0x0123456789abcdefn, shift), `length ${length}, shift ${shift}`).toBe(expected);
      }
    }
  });

  test('xxhash64 - wasm equals xxhash-wasm h64Raw on random bytes and u64 seeds', () => {
    fc.assert(
      fc.property(randomBytes, seeds, fc.integer({ min: 0, max: ALIGNMENT_SHIFT_MAX }), (bytes, seed, shift) => {
        expect(kernelHash(bytes, seed, shift)).toBe(h64Raw(bytes, seed));
      }),
      propertyParams(1000),
    );
  });
});
