// Index files written and read back (format-spec/index.md): every answer of the reader equals the
// sorted-array model, through caches large and tiny; the worked example of the spec byte for byte;
// empty files; writer misuse; files that end early or late.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AssertionError } from '../../src/util/assert.js';
import { CorruptionError } from '../../src/util/errors.js';
import { BlockCache } from '../../src/index/block-cache.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import { writeIndexFile } from '../../src/index/index-file-writer.js';
import { nodeFileSystem } from '../../src/log/node-file-system.js';
import { INDEX_CHECK_SPAN_BYTES } from '../../src/index/index-limits.js';
import { IndexBlockChecker } from '../../src/wasm/index-blocks.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { crc32c } from '../reference/crc32c.js';
import { propertyParams } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import { BLOCK_SIZES_BYTES, crc, DIR, disagreements, entriesArb, simDisk, SortedModel, writeAndOpen } from './index-fixtures.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('index file', () => {
  test('index file - get, range, rangeBackward, lastSeq and a scan answer like a sorted array', async () => {
    let multiBlockFiles = 0;
    await fc.assert(
      fc.asyncProperty(
        entriesArb(400),
        fc.constantFrom(...BLOCK_SIZES_BYTES),
        // No cache, room for two blocks (constant eviction), room for everything.
        fc.constantFrom(0, 2, 1000),
        async (entries, blockSizeBytes, cacheBlocks) => {
          const disk = await simDisk();
          const cache = new BlockCache(cacheBlocks * blockSizeBytes);
          const { reader, summary } = await writeAndOpen(disk.fs, 'a.idx', entries, cache, { blockSizeBytes });
          expect(summary.entryCount).toBe(entries.length);
          if (summary.blockCount > 1) multiBlockFiles++;
          expect(reader.entryCount).toBe(entries.length);
          expect(disagreements(reader, new SortedModel(entries))).toEqual([]);
          expect(cache.stats().sizeBytes).toBeLessThanOrEqual(cache.capacityBytes);
          await reader.close();
          expect(cache.stats().blocks).toBe(0);
        },
      ),
      propertyParams(50, { interruptAfterTimeLimit: 15_000 }),
    );
    expect(multiBlockFiles).toBeGreaterThan(5);
  });

  test('index file - header fields and geometry round-trip', async () => {
    const disk = await simDisk();
    const entries = Array.from({ length: 45 }, (_, i) => ({ key: BigInt(i >> 2), seq: BigInt(i), value: BigInt(i * 3) }));
    const { reader, summary } = await writeAndOpen(disk.fs, 'h.idx', entries, new BlockCache(1 << 20), { blockSizeBytes: 1024, level: 3, fromPosition: 17n, toPosition: 99n });
    expect(summary).toEqual({ fileName: 'h.idx', level: 3, entryCount: 45, blockCount: 2, fileBytes: 3 * 1024 + 2 * 16 + 8 + 64, fromPosition: 17n, toPosition: 99n });
    expect([reader.level, reader.entryCount, reader.blockCount, reader.fromPosition, reader.toPosition]).toEqual([3, 45, 2, 17n, 99n]);
    expect(disk.durableBytes(`${DIR}/h.idx`).length).toBe(summary.fileBytes);
    expect(disk.fileNames(DIR)).toEqual(['h.idx']);
  });

  test('index file - an empty file is valid and answers nothing', async () => {
    const disk = await simDisk();
    const { reader, summary } = await writeAndOpen(disk.fs, 'e.idx', [], new BlockCache(4096));
    expect(summary.blockCount).toBe(0);
    expect(summary.fileBytes).toBe(4096 + 8 + 64);
    expect(reader.get(0n, 0n)).toBeUndefined();
    expect(reader.lastSeq(0n)).toBeUndefined();
    expect(reader.range(0n, 0n, 10)).toEqual([]);
    expect(reader.rangeBackward((1n << 64n) - 1n, (1n << 64n) - 1n, 10)).toEqual([]);
    expect([...reader.entries()]).toEqual([]);
  });

  test('index file - the worked example of format-spec/index.md §9, byte for byte', async () => {
    const disk = await simDisk();
    const entries = [
      { key: 0x1122334455667788n, seq: 0n, value: 100n },
      { key: 0x1122334455667788n, seq: 1n, value: 205n },
      { key: 0xa0b0c0d0e0f00010n, seq: 7n, value: 300n },
    ];
    await writeIndexFile(entries, { fs: disk.fs, dir: DIR, fileName: 'x.idx', crc, level: 0, fromPosition: 100n, toPosition: 301n, blockSizeBytes: 512 });
    const bytes = disk.durableBytes(`${DIR}/x.idx`);
    expect(bytes.length).toBe(1112);
    const zeros = (n: number): string => '00'.repeat(n);
    expect(hex(bytes.subarray(0, 64))).toBe(
      '414e4e414c494458' + '01000000' + '40000000' + '00020000' + '00000000' + '0300000000000000' +
      '6400000000000000' + '2d01000000000000' + zeros(12) + 'cf8e62e0',
    );
    expect(hex(bytes.subarray(64, 512))).toBe(zeros(448));
    expect(hex(bytes.subarray(512, 600))).toBe(
      '0aa4bbc8' + '03000000' + '0000000000000000' +
      '8877665544332211' + '0000000000000000' + '6400000000000000' +
      '8877665544332211' + '0100000000000000' + 'cd00000000000000' +
      '1000f0e0d0c0b0a0' + '0700000000000000' + '2c01000000000000',
    );
    expect(hex(bytes.subarray(600, 1024))).toBe(zeros(424));
    expect(hex(bytes.subarray(1024, 1112))).toBe(
      '8877665544332211' + '0000000000000000' + '046ff16c' + '00000000' +
      '414e4e414c495846' + '0300000000000000' + '0100000000000000' + '0004000000000000' +
      '1000f0e0d0c0b0a0' + '0700000000000000' + zeros(8) + 'cf8e62e0' + 'ba374d57',
    );
    // The CRCs in the spec are plain CRC32C (the bytewise reference, not the kernel that wrote them).
    const u32 = (at: number): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
    expect(u32(60)).toBe(crc32c(bytes.subarray(0, 60)));
    expect(u32(512)).toBe(crc32c(bytes.subarray(516, 1024)));
    expect(u32(1040)).toBe(crc32c(bytes.subarray(1024, 1040)));
    expect(u32(1108)).toBe(crc32c(bytes.subarray(1048, 1108)));
  });

  test('index file writer - entries out of order or repeated are an assertion failure, and leave no file', async () => {
    const disk = await simDisk();
    const options = { fs: disk.fs, dir: DIR, crc, level: 0, fromPosition: 0n, toPosition: 1n };
    const repeated = [{ key: 1n, seq: 1n, value: 0n }, { key: 1n, seq: 1n, value: 1n }];
    const backwards = [{ key: 2n, seq: 0n, value: 0n }, { key: 1n, seq: 9n, value: 0n }];
    await expect(writeIndexFile(repeated, { ...options, fileName: 'r.idx' })).rejects.toThrow(AssertionError);
    await expect(writeIndexFile(backwards, { ...options, fileName: 'b.idx' })).rejects.toThrow(AssertionError);
    await expect(writeIndexFile([{ key: -1n, seq: 0n, value: 0n }], { ...options, fileName: 'n.idx' })).rejects.toThrow(AssertionError);
    expect(disk.fileNames(DIR)).toEqual([]);
  });

  test('index file writer - a stale .tmp left by a crash is replaced', async () => {
    const disk = await simDisk();
    const stale = await disk.fs.open(`${DIR}/s.idx.tmp`, 'create');
    await stale.write(new Uint8Array(100).fill(7), 0);
    await stale.close();
    const { reader } = await writeAndOpen(disk.fs, 's.idx', [{ key: 5n, seq: 6n, value: 7n }], new BlockCache(1 << 16));
    expect(reader.get(5n, 6n)).toBe(7n);
    expect(disk.fileNames(DIR)).toEqual(['s.idx']);
  });

  test('index file reader - a file cut short or with bytes after its footer is corrupt', async () => {
    const disk = await simDisk();
    const entries = Array.from({ length: 100 }, (_, i) => ({ key: 9n, seq: BigInt(i), value: BigInt(i) }));
    const { summary } = await writeAndOpen(disk.fs, 'c.idx', entries, new BlockCache(0), { blockSizeBytes: 512 });
    const handle = await disk.fs.open(`${DIR}/c.idx`, 'readwrite');
    await handle.write(new Uint8Array([0]), summary.fileBytes);
    const open = (): Promise<IndexFileReader> => IndexFileReader.open({ fs: disk.fs, dir: DIR, fileName: 'c.idx', crc, cache: new BlockCache(0) });
    await expect(open()).rejects.toMatchObject({ name: 'CorruptionError', file: 'c.idx', offset: summary.fileBytes });
    for (const size of [summary.fileBytes - 1, summary.fileBytes - 64, 600, 63, 0]) {
      await handle.truncate(size);
      await expect(open()).rejects.toThrow(CorruptionError);
    }
  });

  test('index file - written and read on the real file system', async () => {
    const dir = tempDir('annal-index-');
    const entries = Array.from({ length: 5000 }, (_, i) => ({ key: BigInt(i % 7) << 40n, seq: BigInt(i), value: BigInt(i * 11) }))
      .sort((a, b) => (a.key === b.key ? Number(a.seq - b.seq) : a.key < b.key ? -1 : 1));
    await writeIndexFile(entries, { fs: nodeFileSystem, dir, fileName: 'real.idx', crc, level: 0, fromPosition: 0n, toPosition: 5000n });
    const reader = await IndexFileReader.open({ fs: nodeFileSystem, dir, fileName: 'real.idx', crc, cache: new BlockCache(1 << 20) });
    expect(reader.get(3n << 40n, 3n)).toBe(33n);
    expect(reader.lastSeq(6n << 40n)).toBe(4999n - ((4999n - 6n) % 7n));
    expect(reader.range(1n << 40n, 0n, 3).map((e) => e.seq)).toEqual([1n, 8n, 15n]);
    expect(reader.rangeBackward(1n << 40n, 20n, 2).map((e) => e.seq)).toEqual([15n, 8n]);
    expect([...reader.entries()]).toEqual(entries);
    await reader.close();
  });

  test('index file - checkAllBlocks passes a file of several spans and names the first damaged block as readBlock does', async () => {
    const blockSizeBytes = 512;
    // 20 entries per 512-byte block: a little over two spans of blocks, the last block part full.
    const blockCount = 2 * (INDEX_CHECK_SPAN_BYTES / blockSizeBytes) + 3;
    const entries = Array.from({ length: 20 * (blockCount - 1) + 7 }, (_, i) => ({ key: BigInt(i >> 4), seq: BigInt(i & 15), value: BigInt(i) }));
    const disk = await simDisk();
    const { reader, summary } = await writeAndOpen(disk.fs, 'spans.idx', entries, new BlockCache(0), { blockSizeBytes });
    expect(summary.blockCount).toBe(blockCount);
    const checker = new IndexBlockChecker(new Wasm());
    reader.checkAllBlocks(checker);
    await reader.close();
    // A flipped bit in the second span, and one in the first: the first is reported.
    for (const damaged of [[blockCount - 2], [blockCount - 5, 3]]) {
      const copy = await simDisk();
      const { reader: intact } = await writeAndOpen(copy.fs, 'spans.idx', entries, new BlockCache(0), { blockSizeBytes });
      for (const b of damaged) copy.flipBit(`${DIR}/spans.idx`, (1 + b) * blockSizeBytes + 100, 2);
      const first = Math.min(...damaged);
      const expected = (() => {
        try {
          intact.readBlock(first, new Uint8Array(blockSizeBytes));
        } catch (error) {
          return error;
        }
        return null;
      })();
      expect(expected).toBeInstanceOf(CorruptionError);
      expect(() => intact.checkAllBlocks(checker)).toThrow(expect.objectContaining({ offset: (expected as CorruptionError).offset, reason: (expected as CorruptionError).reason }));
      await intact.close();
    }
  });
});
