// Merged chunk files on real files (format-spec/log.md §6 step 2, §9): which files make up the log
// when a merged file lies beside files it covers (a crash between the merge's rename and the
// removal of the files it replaced), and what recovery and verify make of every such state.

import { cpSync, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore, verifyStore, type RecordedEvent } from '../../src/annal.js';
import { CHUNK_HEADER_BYTES, chunkFileName, decodeChunkHeader, encodeChunkHeader } from '../../src/format/chunk-layout.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { resolveChunkFiles } from '../../src/log/chunk-directory.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';

const OPTIONS = { chunkSizeBytes: 16 * 1024, logger: silentLogger };

const brief = (e: RecordedEvent): string => `${e.position}:${e.streamId}@${e.revision}:${JSON.stringify(e.data)}`;

async function reads(store: EventStore): Promise<string[][]> {
  return [
    (await store.readAll()).map(brief),
    (await store.readAll({ direction: 'backwards', maxCount: 40 })).map(brief),
    (await store.readStream('keep-1')).map(brief),
    (await store.readStream('keep-2', { direction: 'backwards' })).map(brief),
  ];
}

const chunkNames = (dir: string): string[] => readdirSync(dir).filter((n) => /^chunk-\d+\.annal$/.test(n)).sort();

/**
 * A closed store whose scavenge merged chunks, and a copy of its chunk files from before the
 * scavenge (the files a merge replaced, as a crash could leave them behind).
 */
async function mergedStore(): Promise<{ dir: string; old: string; merged: { first: number; last: number }[]; before: string[][]; expected: string[][] }> {
  const dir = tempDir('annal-merged-');
  let store = await EventStore.open(dir, OPTIONS);
  for (let i = 0; i < 300; i++) {
    await store.appendToStream(i % 5 === 0 ? `keep-${1 + (i % 2)}` : 'gone', [{ type: 'T', data: { i, pad: 'x'.repeat(300) } }]);
  }
  await store.deleteStream('gone', { hard: true });
  const before = await reads(store);
  await store.close();
  const old = tempDir('annal-merged-old-');
  for (const name of chunkNames(dir)) cpSync(join(dir, name), join(old, name));
  store = await EventStore.open(dir, OPTIONS);
  const result = await store.scavenge();
  expect(result.chunksMerged).toBeGreaterThanOrEqual(2);
  const expected = await reads(store);
  await store.close();
  // A file numbered n followed by one numbered m > n + 1 covers n..m-1.
  const numbers = chunkNames(dir).map((n) => Number(/\d+/.exec(n)![0]));
  const merged = numbers.slice(0, -1).map((n, i) => ({ first: n, last: numbers[i + 1] - 1 })).filter((r) => r.last > r.first);
  expect(merged).toHaveLength(result.chunksMerged);
  return { dir, old, merged, before, expected };
}

describe('merged chunks', () => {
  test('merged chunks - recovery deletes the files a merged file covers, left behind by a crash; reads stay the same, with or without index files', async () => {
    const { dir, old, merged, expected } = await mergedStore();
    // Every file the first merge covered comes back, and one of the second's.
    const leftovers = [
      ...Array.from({ length: merged[0].last - merged[0].first }, (_, i) => merged[0].first + 1 + i),
      merged[1].last,
    ];
    for (const n of leftovers) cpSync(join(old, chunkFileName(n)), join(dir, chunkFileName(n)));
    const report = await verifyStore(dir);
    expect(report.errors).toEqual([]);
    expect(report.warnings.filter((w) => w.reason.startsWith('left over from a merging scavenge')).map((w) => w.file).sort()).toEqual(leftovers.map(chunkFileName).sort());
    const image = tempDir('annal-merged-image-');
    cpSync(dir, image, { recursive: true });

    for (const [where, rebuildIndexes] of [[dir, false], [image, true]] as const) {
      const store = await EventStore.open(where, { ...OPTIONS, rebuildIndexes });
      expect(await reads(store), `rebuildIndexes ${rebuildIndexes}`).toEqual(expected);
      for (const n of leftovers) expect(existsSync(join(where, chunkFileName(n))), `${chunkFileName(n)} deleted`).toBe(false);
      await store.appendToStream('keep-1', [{ type: 'T', data: { after: true } }]);
      await store.close();
      const clean = await verifyStore(where);
      expect(clean.errors).toEqual([]);
      expect(clean.warnings).toEqual([]);
    }
  });

  test('merged chunks - the files a merge replaced, all back with the old first one (the rename lost), are the log before the merge', async () => {
    const { dir, old, before, expected } = await mergedStore();
    // The state before the merged files' renames: every old file, the merged ones gone.
    for (const name of chunkNames(old)) cpSync(join(old, name), join(dir, name));
    expect((await verifyStore(dir)).errors).toEqual([]);
    const store = await EventStore.open(dir, { ...OPTIONS, rebuildIndexes: true });
    expect(await reads(store)).toEqual(before);
    expect((await store.scavenge()).chunksMerged).toBeGreaterThanOrEqual(2);
    expect(await reads(store)).toEqual(expected);
    await store.close();
  });

  test('merged chunks - a file inside a merged file\'s range that is not one of its inputs is refused, and nothing is deleted', async () => {
    const { dir, merged } = await mergedStore();
    const names = chunkNames(dir);
    // The active chunk's file under a name the first merged file covers: its header names another chunk.
    const stray = chunkFileName(merged[0].first + 1);
    cpSync(join(dir, names[names.length - 1]), join(dir, stray));
    const report = await verifyStore(dir);
    expect(report.errors.map((e) => e.file)).toContain(stray);
    const error = await EventStore.open(dir, OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).file).toBe(stray);
    expect(existsSync(join(dir, stray))).toBe(true);
    expect(chunkNames(dir)).toEqual([...names, stray].sort());
  });

  test('merged chunks - a merged header (valid CRC) claiming chunks up to or past the last file is refused, and nothing is deleted', async () => {
    const { dir, merged } = await mergedStore();
    const names = chunkNames(dir);
    const highest = Number(/\d+/.exec(names[names.length - 1])![0]);
    const crc = new Crc32c(new Wasm());
    const path = join(dir, chunkFileName(merged[0].first));
    const bytes = readFileSync(path);
    const header = decodeChunkHeader(bytes.subarray(0, CHUNK_HEADER_BYTES), 'x', crc);
    for (const lastChunkNumber of [highest, 1_000_000_000]) {
      writeFileSync(path, Buffer.concat([encodeChunkHeader({ ...header, lastChunkNumber }, crc), bytes.subarray(CHUNK_HEADER_BYTES)]));
      const error = await EventStore.open(dir, OPTIONS).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptionError);
      expect((error as CorruptionError).reason).toMatch(/is the last file of the log/);
      expect(chunkNames(dir)).toEqual(names);
    }
  });

  test('merged chunks - a merged file missing its first number is a missing chunk', async () => {
    const { dir, merged } = await mergedStore();
    renameSync(join(dir, chunkFileName(merged[1].first)), join(dir, `${chunkFileName(merged[1].first)}.moved`));
    const error = await EventStore.open(dir, OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).reason).toMatch(/missing chunk file/);
  });

  test('merged chunks - two files named for the same chunk number are refused, and neither is deleted', async () => {
    const dir = tempDir('annal-duplicate-');
    const store = await EventStore.open(dir, OPTIONS);
    for (let i = 0; i < 120; i++) await store.appendToStream('keep-1', [{ type: 'T', data: { i, pad: 'x'.repeat(300) } }]);
    const expected = (await store.readAll()).map(brief);
    await store.close();
    const names = chunkNames(dir);
    expect(names.length).toBeGreaterThanOrEqual(3);
    // A second name the file-name pattern reads as chunk 1 (7 digits): a copy of that chunk.
    const stray = 'chunk-0000001.annal';
    cpSync(join(dir, chunkFileName(1)), join(dir, stray));
    expect((await verifyStore(dir)).errors.length).toBeGreaterThan(0);
    const error = await EventStore.open(dir, OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect(existsSync(join(dir, chunkFileName(1))), `${chunkFileName(1)} kept`).toBe(true);
    expect(existsSync(join(dir, stray))).toBe(true);
    // Without the stray name the log is whole.
    renameSync(join(dir, stray), join(dir, `${stray}.moved`));
    const reopened = await EventStore.open(dir, OPTIONS);
    expect((await reopened.readAll()).map(brief)).toEqual(expected);
    await reopened.close();
  });

  test('chunk directory - files, leftovers of merges, overlaps and gaps', () => {
    const ranges = new Map<number, number | null>([[0, 3], [1, 1], [2, 3], [4, 4], [5, 9], [6, 10], [7, null], [12, 12]]);
    const resolved = resolveChunkFiles([...ranges.keys()], (n) => ranges.get(n)!);
    expect(resolved.files.map((f) => [f.chunkNumber, f.lastChunkNumber])).toEqual([[0, 3], [4, 4], [5, 9], [12, 12]]);
    expect(resolved.superseded.map(({ file, coveredBy }) => [file.chunkNumber, coveredBy.chunkNumber])).toEqual([[1, 0], [2, 0]]);
    expect(resolved.overlapping.map(({ file, coveredBy }) => [file.chunkNumber, coveredBy.chunkNumber])).toEqual([[6, 5], [7, 5]]);
    expect(resolved.missing).toEqual([10, 11]);
    expect(resolved.chunkCount).toBe(13);
    expect(resolveChunkFiles([], () => 0)).toEqual({ files: [], superseded: [], overlapping: [], missing: [], chunkCount: 0 });
  });
});
