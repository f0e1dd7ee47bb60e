import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Wasm } from '../../src/wasm/kernels.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { CorruptionError } from '../../src/util/errors.js';
import {
  CHUNK_HEADER_BYTES, FOOTER_TRAILER_BYTES, FORMAT_VERSION, MERGED_FORMAT_VERSION, chunkFileName, decodeChunkFooter, decodeChunkHeader, decodeFooterTrailer,
  encodeChunkFooter, encodeChunkHeader, footerBytes, parseChunkFileName,
} from '../../src/format/chunk-layout.js';
import { propertyParams } from '../support/random.js';

const crc = new Crc32c(new Wasm());

describe('chunk layout', () => {
  test('chunk header - round trips and is exactly 128 bytes', () => {
    const header = { chunkNumber: 7, lastChunkNumber: 7, firstPosition: 123_456_789, chunkSizeBytes: 256 * 1024 * 1024, createdMs: 1_764_000_000_000 };
    const bytes = encodeChunkHeader(header, crc);
    expect(bytes.length).toBe(CHUNK_HEADER_BYTES);
    expect(Buffer.from(bytes.subarray(0, 8)).toString('latin1')).toBe('ANNALCHK');
    expect(decodeChunkHeader(bytes, 'c', crc)).toEqual(header);
  });

  test('chunk header - a file of one chunk is version 1 with zeros after createdMs; a merged file is version 2 with its last chunk number', () => {
    const single = encodeChunkHeader({ chunkNumber: 7, lastChunkNumber: 7, firstPosition: 9, chunkSizeBytes: 65536, createdMs: 5 }, crc);
    expect(new DataView(single.buffer).getUint32(8, true)).toBe(FORMAT_VERSION);
    expect(single.subarray(48, 124).every((b) => b === 0)).toBe(true);
    const header = { chunkNumber: 7, lastChunkNumber: 12, firstPosition: 9, chunkSizeBytes: 65536, createdMs: 5 };
    const merged = encodeChunkHeader(header, crc);
    const dv = new DataView(merged.buffer);
    expect(dv.getUint32(8, true)).toBe(MERGED_FORMAT_VERSION);
    expect(dv.getBigUint64(48, true)).toBe(12n);
    expect(merged.subarray(56, 124).every((b) => b === 0)).toBe(true);
    expect(decodeChunkHeader(merged, 'c', crc)).toEqual(header);
  });

  test('chunk header - a version-2 header must name a last chunk after its first; other versions are refused', () => {
    const withFields = (version: number, last: bigint): Uint8Array => {
      const bytes = encodeChunkHeader({ chunkNumber: 7, lastChunkNumber: 8, firstPosition: 9, chunkSizeBytes: 65536, createdMs: 5 }, crc);
      const dv = new DataView(bytes.buffer);
      dv.setUint32(8, version, true);
      dv.setBigUint64(48, last, true);
      dv.setUint32(124, crc.of(bytes.subarray(0, 124)), true);
      return bytes;
    };
    expect(decodeChunkHeader(withFields(2, 8n), 'c', crc).lastChunkNumber).toBe(8);
    expect(() => decodeChunkHeader(withFields(2, 7n), 'c', crc)).toThrow(/merged chunk file must cover chunks after 7/);
    expect(() => decodeChunkHeader(withFields(2, 3n), 'c', crc)).toThrow(CorruptionError);
    expect(() => decodeChunkHeader(withFields(3, 8n), 'c', crc)).toThrow(/unsupported format version 3/);
    // Version 1 ignores what lies after createdMs: the file covers its own number.
    expect(decodeChunkHeader(withFields(1, 8n), 'c', crc).lastChunkNumber).toBe(7);
  });

  test('chunk header - any flipped bit is a CorruptionError (single and merged files)', () => {
    for (const lastChunkNumber of [1, 4]) {
      const bytes = encodeChunkHeader({ chunkNumber: 1, lastChunkNumber, firstPosition: 10, chunkSizeBytes: 65536, createdMs: 5 }, crc);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: CHUNK_HEADER_BYTES * 8 - 1 }), (bit) => {
          const copy = bytes.slice();
          copy[bit >> 3] ^= 1 << (bit & 7);
          expect(() => decodeChunkHeader(copy, 'chunk-000001.annal', crc)).toThrow(CorruptionError);
        }),
        propertyParams(300),
      );
    }
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
