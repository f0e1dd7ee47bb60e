// The CRC32C kernel (assembly/crc32c.ts, slicing-by-16) equals the bytewise reference in
// test/reference/crc32c.ts: known vectors, random bytes through the wrapper and the raw kernel at
// unaligned pointers, and continuation.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Wasm } from '../../src/wasm/kernels.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { WasmRegion } from '../../src/wasm/region.js';
import { crc32c } from '../reference/crc32c.js';
import { propertyParams } from '../support/random.js';

const RAW_LENGTH_MAX = 4096;
const ALIGNMENT_SHIFT_MAX = 15;

const wasm = new Wasm();
const crc = new Crc32c(wasm);
const scratch = new WasmRegion(wasm, RAW_LENGTH_MAX + ALIGNMENT_SHIFT_MAX + 1);
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The raw kernel over `bytes` copied to scratch + shift, continuing from `from`. */
function rawCrc(bytes: Uint8Array, shift: number, from = 0): number {
  const ptr = scratch.ptr + shift;
  wasm.u8.set(bytes, ptr);
  return wasm.k.crc32cUpdate(from, ptr, bytes.length) >>> 0;
}

// Lengths cluster around the 16-byte block boundaries of the kernel, then spread to 4096.
const lengths = fc.oneof(
  fc.integer({ min: 0, max: 48 }),
  fc.integer({ min: 0, max: 255 }).map((n) => n * 16 + (n % 3) - 1).filter((n) => n >= 0 && n <= RAW_LENGTH_MAX),
  fc.integer({ min: 0, max: RAW_LENGTH_MAX }),
);
const randomBytes = lengths.chain((length) => fc.uint8Array({ minLength: length, maxLength: length }));

describe('crc32c', () => {
  test('crc32c - known vectors, wasm and reference', () => {
    const vectors: [Uint8Array, number][] = [
      [new Uint8Array(0), 0],
      [ascii('123456789'), 0xe3069283],
      [new Uint8Array(32), 0x8a9136aa],
      [new Uint8Array(32).fill(0xff), 0x62a8ab43],
      [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
      [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
      [ascii('a'), 0xc1d04330],
      [ascii('The quick brown fox jumps over the lazy dog'), 0x22620404],
    ];
    for (const [bytes, expected] of vectors) {
      expect(crc32c(bytes) >>> 0, `reference, ${bytes.length} bytes`).toBe(expected);
      expect(crc.of(bytes), `wrapper, ${bytes.length} bytes`).toBe(expected);
      for (let shift = 0; shift <= ALIGNMENT_SHIFT_MAX; shift++) expect(rawCrc(bytes, shift), `raw, shift ${shift}`).toBe(expected);
    }
  });

  test('crc32c - wasm equals the reference on random bytes', () => {
    fc.assert(
      fc.property(randomBytes, (bytes) => {
        expect(crc.of(bytes)).toBe(crc32c(bytes));
      }),
      propertyParams(400),
    );
  });

  test('crc32c - the raw kernel equals the reference at unaligned pointers and lengths 0..4096', () => {
    fc.assert(
      fc.property(randomBytes, fc.integer({ min: 0, max: ALIGNMENT_SHIFT_MAX }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, shift, from) => {
        expect(rawCrc(bytes, shift)).toBe(crc32c(bytes));
        expect(rawCrc(bytes, shift, from), 'continuing from an arbitrary crc').toBe(crc32c(bytes, from));
      }),
      propertyParams(400),
    );
  });

  test('crc32c - continuation: crc(a ‖ b) equals crc(b, crc(a))', () => {
    fc.assert(
      fc.property(randomBytes, randomBytes, (a, b) => {
        const whole = new Uint8Array(a.length + b.length);
        whole.set(a);
        whole.set(b, a.length);
        const expected = crc32c(whole);
        expect(crc32c(b, crc32c(a)), 'reference').toBe(expected);
        expect(crc.of(b, crc.of(a)), 'wrapper').toBe(expected);
        expect(rawCrc(b, 3, rawCrc(a, 1)), 'raw kernel').toBe(expected);
      }),
      propertyParams(200),
    );
  });

  test('crc32c - inputs longer than the staging region equal the reference', () => {
    // Crc32c.of streams through a 256 KiB staging region: cross its boundary at an odd length.
    fc.assert(
      fc.property(fc.integer({ min: 256 * 1024 - 17, max: 600 * 1024 + 13 }), fc.integer(), (length, salt) => {
        const bytes = Uint8Array.from({ length }, (_, i) => (Math.imul(i ^ salt, 0x9e3779b1) >>> 24) & 0xff);
        expect(crc.of(bytes)).toBe(crc32c(bytes));
      }),
      propertyParams(4),
    );
  });

  test('crc32c - ofMemory equals of for bytes already in wasm memory', () => {
    fc.assert(
      fc.property(randomBytes, fc.integer({ min: 0, max: ALIGNMENT_SHIFT_MAX }), (bytes, shift) => {
        wasm.u8.set(bytes, scratch.ptr + shift);
        expect(crc.ofMemory(scratch.ptr + shift, bytes.length)).toBe(crc32c(bytes));
      }),
      propertyParams(100),
    );
  });
});
