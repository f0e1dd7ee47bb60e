// Power loss while an index file is written or merged (format-spec/index.md §2.3): a crash before
// each call that can make something durable, with sampled fates for the writes still pending and
// every prefix of the pending directory operations. After recovery (leftover .tmp files deleted)
// the directory holds either no file of the final name or the complete file, byte for byte; once
// the write has resolved, the file is always there.

import { describe, expect, test } from 'vitest';
import { BlockCache } from '../../src/index/block-cache.js';
import type { IndexEntry } from '../../src/index/index-entry.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import { INDEX_TEMP_SUFFIX, writeIndexFile } from '../../src/index/index-file-writer.js';
import { mergeIndexFiles } from '../../src/index/index-merge.js';
import { PERSISTENCE_CALLS, SimDisk, SimulatedCrash, sweepOutcomes, type WriteOutcome } from '../harness/sim-disk.js';
import { seededRandom, withSeed } from '../support/random.js';
import { crc, DIR, simDisk, SortedModel } from './index-fixtures.js';

/** Outcome combinations tried per crash point at most (sampled, seeded, beyond that). */
const COMBINATIONS_MAX = 32;
const FINAL = 'final.idx';

const run = (n: number, key = 7n): IndexEntry[] => Array.from({ length: n }, (_, i) => ({ key: key + BigInt(i >> 5), seq: BigInt(i), value: BigInt(i * 3) }));

interface Workload {
  readonly name: string;
  /** The files the workload's output holds, in order (compared entry by entry when short). */
  readonly expected: IndexEntry[];
  /** Files that exist before the workload (made durable in prepare). */
  readonly inputs: string[];
  prepare(disk: SimDisk): Promise<IndexFileReader[]>;
  run(disk: SimDisk, inputs: IndexFileReader[]): Promise<unknown>;
}

const write = (name: string, entries: IndexEntry[], blockSizeBytes: number): Workload => ({
  name,
  expected: entries,
  inputs: [],
  prepare: async () => [],
  run: (disk) => writeIndexFile(entries, { fs: disk.fs, dir: DIR, fileName: FINAL, crc, level: 0, fromPosition: 0n, toPosition: 10n, blockSizeBytes }),
});

const older = run(70);
const newer = run(40).map((e) => ({ ...e, seq: e.seq * 2n, value: e.value + 1n }));

const WORKLOADS: Workload[] = [
  write('a small file', run(50), 512),
  write('an empty file', [], 4096),
  // 12,000 entries in 512-byte blocks fill the 256 KiB write buffer once and then some: two block writes.
  write('a file written in several calls', run(12_000), 512),
  {
    name: 'a merge',
    expected: SortedModel.merge([older, newer]),
    inputs: ['in-0.idx', 'in-1.idx'],
    async prepare(disk) {
      const readers: IndexFileReader[] = [];
      for (const [i, entries] of [older, newer].entries()) {
        await writeIndexFile(entries, { fs: disk.fs, dir: DIR, fileName: `in-${i}.idx`, crc, level: 0, fromPosition: BigInt(i), toPosition: BigInt(i + 1), blockSizeBytes: 512 });
        readers.push(await IndexFileReader.open({ fs: disk.fs, dir: DIR, fileName: `in-${i}.idx`, crc, cache: new BlockCache(0) }));
      }
      return readers;
    },
    run: (disk, inputs) => mergeIndexFiles(inputs, { fs: disk.fs, dir: DIR, fileName: FINAL, crc, blockSizeBytes: 512 }),
  },
];

/** Every combination of fates for the pending writes, or a seeded sample when there are too many. */
function combinations(choices: WriteOutcome[][], random: () => number): WriteOutcome[][] {
  const total = choices.reduce((n, c) => n * c.length, 1);
  if (total <= COMBINATIONS_MAX) {
    let all: WriteOutcome[][] = [[]];
    for (const options of choices) all = all.flatMap((prefix) => options.map((o) => [...prefix, o]));
    return all;
  }
  return Array.from({ length: COMBINATIONS_MAX }, () => choices.map((options) => options[Math.floor(random() * options.length)]));
}

/** Runs the workload on a fresh prepared disk that loses power at call `crashAtCall` (null: never). */
async function attempt(workload: Workload, crashAtCall: number | null): Promise<{ disk: SimDisk; completed: boolean }> {
  const disk = await simDisk();
  const inputs = await workload.prepare(disk);
  disk.crashAtCall = crashAtCall;
  try {
    await workload.run(disk, inputs);
    return { disk, completed: true };
  } catch (error) {
    if (!(error instanceof SimulatedCrash)) throw error;
    return { disk, completed: false };
  }
}

/** Recovery, then the check: no final file, or exactly the complete one. Returns whether it was there. */
async function checkImage(image: SimDisk, workload: Workload, expectedBytes: Uint8Array, where: string): Promise<boolean> {
  for (const name of await image.fs.readdir(DIR)) if (name.endsWith(INDEX_TEMP_SUFFIX)) await image.fs.unlink(`${DIR}/${name}`);
  const names = image.fileNames(DIR);
  expect(names, where).toEqual([...workload.inputs, ...(names.includes(FINAL) ? [FINAL] : [])].sort());
  if (!names.includes(FINAL)) return false;
  expect(Buffer.from(image.durableBytes(`${DIR}/${FINAL}`)).equals(Buffer.from(expectedBytes)), `${where}: final file differs from the complete one`).toBe(true);
  const reader = await IndexFileReader.open({ fs: image.fs, dir: DIR, fileName: FINAL, crc, cache: new BlockCache(0) });
  expect(reader.entryCount, where).toBe(workload.expected.length);
  if (workload.expected.length <= 200) expect([...reader.entries()], where).toEqual(workload.expected);
  return true;
}

describe('index file crash', () => {
  test('index file crash - power loss at every persistence point leaves no file or the complete one', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      let images = 0;
      let crashPoints = 0;
      for (const workload of WORKLOADS) {
        const dry = await attempt(workload, null);
        expect(dry.completed).toBe(true);
        const expectedBytes = dry.disk.durableBytes(`${DIR}/${FINAL}`).slice();
        const start = (await attempt({ ...workload, run: async () => undefined }, null)).disk.callCount;
        const points = dry.disk.trace.filter((t) => t.index > start && PERSISTENCE_CALLS.has(t.kind)).map((t) => t.index);
        points.push(dry.disk.callCount + 1); // after the workload resolved
        let sawNone = false;
        let sawFile = false;
        for (const crashAtCall of points) {
          crashPoints++;
          const { disk, completed } = await attempt(workload, crashAtCall);
          disk.crashed = true;
          const pending = disk.pending();
          for (const outcomes of combinations(pending.ops.map(({ op }) => sweepOutcomes(op)), random)) {
            for (let dirOpsKept = 0; dirOpsKept <= pending.dirOps; dirOpsKept++) {
              const image = disk.image(outcomes, dirOpsKept, (n) => new Uint8Array(n).fill(0x5a));
              const where = `${workload.name}, crash at call ${crashAtCall} (${disk.trace[crashAtCall - 1]?.kind ?? 'after the end'}), ${dirOpsKept} of ${pending.dirOps} directory operations kept`;
              const present = await checkImage(image, workload, expectedBytes, where);
              if (completed) expect(present, `${where}: the write resolved, so its file is durable`).toBe(true);
              if (present) sawFile = true;
              else sawNone = true;
              images++;
            }
          }
        }
        expect([sawNone, sawFile], workload.name).toEqual([true, true]);
      }
      console.log(`index file crash: ${crashPoints} crash points, ${images} disk images checked`);
    });
  });
});
