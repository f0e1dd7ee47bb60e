// Child process of index-lookup-rate.int.test.ts: writes a 1,000,000-entry index file (4 KiB blocks,
// real file system), warms a block cache that holds all of it, and times random get() lookups. It
// runs as plain Node (tsx) because vitest's module runner turns every imported call into a
// property lookup, which slows a loop like this one several times over. Prints one JSON line.
// Usage: node --import tsx test/index/lookup-rate-child.ts <dir> <seed>

import { BlockCache } from '../../src/index/block-cache.js';
import type { IndexEntry } from '../../src/index/index-entry.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import { writeIndexFile } from '../../src/index/index-file-writer.js';
import { nodeFileSystem } from '../../src/log/node-file-system.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { seededRandom } from '../support/random.js';

const STREAMS = 100_000;
const REVISIONS_PER_STREAM = 10;
const LOOKUPS = 1_000_000;
const ROUNDS = 3;
const CACHE_BYTES = 64 * 1024 * 1024;

const [dir, seedText] = process.argv.slice(2);
const random = seededRandom(Number(seedText));
const crc = new Crc32c(new Wasm());
const word = (): bigint => BigInt(Math.floor(random() * 2 ** 32));

// Stream-index shaped: 100,000 random 64-bit stream hashes × revisions 0..9 → positions.
const keys = new BigUint64Array(STREAMS);
for (let i = 0; i < STREAMS; i++) keys[i] = (word() << 32n) | word();
keys.sort();
function* entries(): Generator<IndexEntry> {
  for (let i = 0; i < STREAMS; i++) {
    if (i > 0 && keys[i] === keys[i - 1]) continue;
    for (let r = 0; r < REVISIONS_PER_STREAM; r++) yield { key: keys[i], seq: BigInt(r), value: BigInt(i * REVISIONS_PER_STREAM + r) };
  }
}

const writeStart = performance.now();
const summary = await writeIndexFile(entries(), { fs: nodeFileSystem, dir, fileName: 'big.idx', crc, level: 0, fromPosition: 0n, toPosition: BigInt(STREAMS * REVISIONS_PER_STREAM) });
const writeMs = performance.now() - writeStart;
const reader = await IndexFileReader.open({ fs: nodeFileSystem, dir, fileName: 'big.idx', crc, cache: new BlockCache(CACHE_BYTES) });
// Probes are chosen before timing, so the loop measures lookups only.
const probeKeys = new BigUint64Array(LOOKUPS);
const probeSeqs = new BigUint64Array(LOOKUPS);
for (let i = 0; i < LOOKUPS; i++) {
  probeKeys[i] = keys[Math.floor(random() * STREAMS)];
  probeSeqs[i] = BigInt(Math.floor(random() * REVISIONS_PER_STREAM));
}
for (let b = 0; b < reader.blockCount; b++) reader.blockWords(b); // warm: every block cached
const rates: number[] = [];
let found = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = performance.now();
  for (let i = 0; i < LOOKUPS; i++) if (reader.get(probeKeys[i], probeSeqs[i]) !== undefined) found++;
  rates.push(Math.round(LOOKUPS / ((performance.now() - start) / 1000)));
}
await reader.close();
console.log(JSON.stringify({ entryCount: summary.entryCount, blockCount: summary.blockCount, fileBytes: summary.fileBytes, writeMs: Math.round(writeMs), lookups: LOOKUPS * ROUNDS, found, rates }));
