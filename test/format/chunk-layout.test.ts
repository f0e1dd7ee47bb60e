import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Wasm } from '../../src/wasm/kernels.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { CorruptionError } from '../../src/util/errors.js';
import {
  CHUNK_HEADER_BYTES, FOOTER_TRAILER_BYTES, chunkFileName, decodeChunkFooter, decodeChunkHeader, decodeFooterTrailer,
  encodeChunkFooter, encodeChunkHeader, footerBytes, parseChunkFileName,
} from '../../src/format/chunk-layout.js';
import { propertyParams } from '../support/random.js';

const crc = new Crc32c(new Wasm());

describe('chunk layout', () => {
  test('chunk header - round trips and is exactly 128 bytes', () => {
    const header = { chunkNumber: 7, firstPosition: 123_456_789, chunkSizeBytes: 256 * 1024 * 1024, createdMs: 1_764_000_000_000 };
    const bytes = encodeChunkHeader(header, crc);
    expect(bytes.length).toBe(CHUNK_HEADER_BYTES);
    expect(Buffer.from(bytes.subarray(0, 8)).toString('latin1')).toBe('ANNALCHK');
    expect(decodeChunkHeader(bytes, 'c', crc)).toEqual(header);
  });

  test('chunk header - any flipped bit is a CorruptionError', () => {
    const bytes = encodeChunkHeader({ chunkNumber: 1, firstPosition: 10, chunkSizeBytes: 65536, createdMs: 5 }, crc);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CHUNK_HEADER_BYTES * 8 - 1 }), (bit) => {
        const copy = bytes.slice();
        copy[bit >> 3] ^= 1 << (bit & 7);
        expect(() => decodeChunkHeader(copy, 'chunk-000001.annal', crc)).toThrow(CorruptionError);
      }),
      propertyParams(300),
    );
  });

  test('chunk footer - round trips with its trailer at the very end', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 128, max: 0xffffffff }), { maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (offsets, nextPosition, bodyChecksum) => {
        const footer = { recordCount: offsets.length, nextPosition, bodyBytes: 1000, bodyChecksum, recordOffsets: Uint32Array.from(offsets) };
        const bytes = encodeChunkFooter(footer, crc);
        expect(bytes.length).toBe(footerBytes(offsets.length));
        expect(decodeFooterTrailer(bytes.subarray(bytes.length - FOOTER_TRAILER_BYTES))).toBe(bytes.length);
        expect(decodeChunkFooter(bytes, 'c', 0, crc)).toEqual(footer);
      }),
      propertyParams(100),
    );
  });

  test('chunk footer - a flipped bit fails the footer CRC or the trailer', () => {
    const bytes = encodeChunkFooter({ recordCount: 3, nextPosition: 9, bodyBytes: 300, bodyChecksum: 77, recordOffsets: Uint32Array.of(128, 228, 328) }, crc);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const copy = bytes.slice();
        copy[bit >> 3] ^= 1 << (bit & 7);
        const total = decodeFooterTrailer(copy.subarray(copy.length - FOOTER_TRAILER_BYTES));
        if (total === bytes.length) expect(() => decodeChunkFooter(copy, 'c', 0, crc)).toThrow(CorruptionError);
      }),
      propertyParams(500),
    );
  });

  test('chunk file names - number round trips, other names are ignored', () => {
    expect(chunkFileName(42)).toBe('chunk-000042.annal');
    expect(parseChunkFileName('chunk-000042.annal')).toBe(42);
    expect(parseChunkFileName('chunk-1234567.annal')).toBe(1234567);
    expect(parseChunkFileName('chunk-000042.annal.tmp')).toBeNull();
    expect(parseChunkFileName('checkpoint.annal')).toBeNull();
  });
});
