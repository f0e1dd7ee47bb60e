// Merging index files (format-spec/index.md §8): the merged file equals the model's merge (newest
// input wins on equal (key, seq); dropped winners stay dropped), at the next level, covering the
// union of the inputs' positions; misuse is an assertion failure.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { AssertionError } from '../../src/util/assert.js';
import { BlockCache } from '../../src/index/block-cache.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import { mergeIndexFiles } from '../../src/index/index-merge.js';
import type { IndexEntry } from '../../src/index/index-entry.js';
import { propertyParams } from '../support/random.js';
import { BLOCK_SIZES_BYTES, crc, DIR, disagreements, entriesArb, simDisk, SortedModel, writeAndOpen } from './index-fixtures.js';

describe('index merge', () => {
  test('index merge - the merged file answers like the model merge of its inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(entriesArb(120), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...BLOCK_SIZES_BYTES),
        fc.constantFrom(...BLOCK_SIZES_BYTES),
        // Drop nothing, or entries whose value is ≡ r (mod m): a predicate that hits winners of duplicates too.
        fc.option(fc.tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 4 }))),
        async (inputs, inputBlockBytes, mergedBlockBytes, dropRule) => {
          const disk = await simDisk();
          const cache = new BlockCache(16 * 4096);
          const readers: IndexFileReader[] = [];
          for (const [i, [entries, level]] of inputs.entries()) {
            const from = BigInt(i * 100);
            readers.push((await writeAndOpen(disk.fs, `in-${i}.idx`, entries, cache, { blockSizeBytes: inputBlockBytes, level, fromPosition: from, toPosition: from + 100n })).reader);
          }
          const drop = dropRule === null ? undefined : (e: IndexEntry): boolean => e.value % BigInt(dropRule[0]) === BigInt(dropRule[1]);
          const summary = await mergeIndexFiles(readers, { fs: disk.fs, dir: DIR, fileName: 'merged.idx', crc, blockSizeBytes: mergedBlockBytes, drop });
          const merged = await IndexFileReader.open({ fs: disk.fs, dir: DIR, fileName: 'merged.idx', crc, cache });
          const expected = SortedModel.merge(inputs.map(([entries]) => entries), drop);
          expect(summary.entryCount).toBe(expected.length);
          expect(merged.level).toBe(Math.max(...inputs.map(([, level]) => level)) + 1);
          expect([merged.fromPosition, merged.toPosition]).toEqual([0n, BigInt(inputs.length * 100)]);
          expect(disagreements(merged, new SortedModel(expected))).toEqual([]);
          // The inputs are untouched and still readable.
          for (const [i, reader] of readers.entries()) expect([...reader.entries()]).toEqual(inputs[i][0]);
        },
      ),
      propertyParams(40, { interruptAfterTimeLimit: 15_000 }),
    );
  });

  test('index merge - the newest input wins, and a dropped winner does not bring back an older entry', async () => {
    const disk = await simDisk();
    const cache = new BlockCache(1 << 20);
    const old = await writeAndOpen(disk.fs, 'old.idx', [{ key: 1n, seq: 0n, value: 10n }, { key: 1n, seq: 1n, value: 11n }, { key: 2n, seq: 0n, value: 20n }], cache, { toPosition: 10n });
    const mid = await writeAndOpen(disk.fs, 'mid.idx', [{ key: 1n, seq: 1n, value: 111n }, { key: 2n, seq: 0n, value: 666n }], cache, { fromPosition: 10n, toPosition: 20n });
    const neu = await writeAndOpen(disk.fs, 'new.idx', [{ key: 1n, seq: 1n, value: 1111n }, { key: 3n, seq: 5n, value: 35n }], cache, { fromPosition: 20n, toPosition: 30n });
    const summary = await mergeIndexFiles([old.reader, mid.reader, neu.reader], {
      fs: disk.fs, dir: DIR, fileName: 'm.idx', crc, drop: (e) => e.value === 666n,
    });
    expect(summary).toMatchObject({ level: 1, entryCount: 3, fromPosition: 0n, toPosition: 30n });
    const merged = await IndexFileReader.open({ fs: disk.fs, dir: DIR, fileName: 'm.idx', crc, cache });
    expect([...merged.entries()]).toEqual([{ key: 1n, seq: 0n, value: 10n }, { key: 1n, seq: 1n, value: 1111n }, { key: 3n, seq: 5n, value: 35n }]);
    expect(merged.get(2n, 0n)).toBeUndefined();
  });

  test('index merge - inputs listed newest first are an assertion failure', async () => {
    const disk = await simDisk();
    const cache = new BlockCache(1 << 16);
    const a = await writeAndOpen(disk.fs, 'a.idx', [{ key: 1n, seq: 0n, value: 0n }], cache, { fromPosition: 0n, toPosition: 10n });
    const b = await writeAndOpen(disk.fs, 'b.idx', [{ key: 1n, seq: 0n, value: 1n }], cache, { fromPosition: 10n, toPosition: 20n });
    await expect(mergeIndexFiles([b.reader, a.reader], { fs: disk.fs, dir: DIR, fileName: 'm.idx', crc })).rejects.toThrow(AssertionError);
    expect(disk.fileNames(DIR)).toEqual(['a.idx', 'b.idx']);
  });
});
