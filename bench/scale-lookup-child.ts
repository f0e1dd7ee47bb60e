// Child process of the scale benchmark (S6): the WASM stream table (src/wasm/stream-table.ts)
// against a JS Map<string, number> on the same stream ids, lookups/s and bytes per entry, in a
// fresh process started with --expose-gc. Prints one JSON line (LookupReport). Run by scale.ts.

import { StreamTable } from '../src/wasm/stream-table.js';
import { Wasm } from '../src/wasm/kernels.js';
import { WasmRegion } from '../src/wasm/region.js';
import { childArgument, collectGarbage, report } from './scale-child.js';
import { SCALE_STREAM_ID_BYTES, scaleStreamId } from './scale-stores.js';
import { seededPermutation } from './seeded-random.js';

export interface LookupArgument {
  readonly entries: number;
  /** Measured passes per structure (each looks every entry up once), after one warm-up pass. */
  readonly passes: number;
  readonly seed: number;
}

export interface StructureReport {
  readonly insertMs: number;
  /** Growth of the memory that holds the structure: WASM linear memory, or V8 heapUsed after a full GC. */
  readonly memoryBytes: number;
  readonly bytesPerEntry: number;
  /** RSS growth while it was built (noisy: freed pages and allocator slack count too). */
  readonly rssBytes: number;
  readonly lookups: number;
  readonly lookupMs: number;
  readonly lookupsPerSecond: number;
  readonly passLookupsPerSecond: number[];
}

export interface LookupReport {
  readonly entries: number;
  readonly streamIdBytes: number;
  readonly streamTable: StructureReport & { readonly slotCapacity: number };
  readonly map: StructureReport;
}

/** The stream table's handle in WASM memory (see fillTable for why the bench needs it). */
interface TableHandle {
  readonly table: number;
}

/**
 * Inserts ids 0..entries-1 into the table. StreamTable inserts only from decoded log records
 * (indexRecords); the bench stages each id's bytes and calls the kernel's tableFindOrInsert on the
 * table's handle, the insert indexRecords itself makes, so find() runs on a table laid out as
 * recovery lays it out: each stream with its record, its id bytes and an empty 4-position list.
 */
function fillTable(wasm: Wasm, table: StreamTable, ids: Buffer, entries: number): void {
  const handle = (table as unknown as TableHandle).table;
  if (!Number.isInteger(handle) || handle <= 0) throw new Error('StreamTable no longer keeps its kernel handle in `table`: update scale-lookup-child.ts');
  const key = new WasmRegion(wasm, SCALE_STREAM_ID_BYTES);
  for (let i = 0; i < entries; i++) {
    wasm.u8.set(ids.subarray(i * SCALE_STREAM_ID_BYTES, (i + 1) * SCALE_STREAM_ID_BYTES), key.ptr);
    const streamNo = wasm.k.tableFindOrInsert(handle, key.ptr, SCALE_STREAM_ID_BYTES);
    if (streamNo !== i) throw new Error(`stream id ${i} got stream number ${streamNo}`);
  }
  key.free();
}

/**
 * Fresh, flat strings for every id in `order` (as a stream id decoded from a request would be):
 * no string's hash is cached before the timed loop sees it.
 */
function queries(ids: Buffer, order: Uint32Array): string[] {
  const out = new Array<string>(order.length);
  for (let i = 0; i < order.length; i++) out[i] = ids.toString('latin1', order[i] * SCALE_STREAM_ID_BYTES, (order[i] + 1) * SCALE_STREAM_ID_BYTES);
  return out;
}

// Two loops rather than one taking a callback: a shared call site would see both lookups and make
// the comparison depend on how V8 handles a polymorphic call.

/** Times one pass of table.find over `keys`; the sum of the stream numbers proves every key was found. */
function tablePass(table: StreamTable, keys: readonly string[]): number {
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < keys.length; i++) sum += table.find(keys[i]);
  const elapsedMs = performance.now() - started;
  checkSum(sum, keys.length);
  return elapsedMs;
}

/** Times one pass of map.get over `keys`, checked as tablePass is. */
function mapPass(map: Map<string, number>, keys: readonly string[]): number {
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < keys.length; i++) sum += map.get(keys[i]) ?? Number.NaN;
  const elapsedMs = performance.now() - started;
  checkSum(sum, keys.length);
  return elapsedMs;
}

function checkSum(sum: number, count: number): void {
  const expected = (count * (count - 1)) / 2;
  if (sum !== expected) throw new Error(`a lookup pass summed ${sum}, expected ${expected}: a key was not found`);
}

function main(): void {
  const arg = childArgument<LookupArgument>();
  const ids = Buffer.from(Array.from({ length: arg.entries }, (_, i) => scaleStreamId(i)).join(''), 'latin1');
  const order = seededPermutation(arg.entries, arg.seed);

  collectGarbage();
  let rss = process.memoryUsage().rss;
  const wasm = new Wasm();
  const table = new StreamTable(wasm);
  const wasmBefore = wasm.memoryBytes;
  let started = performance.now();
  fillTable(wasm, table, ids, arg.entries);
  const tableInsertMs = performance.now() - started;
  const tableBytes = wasm.memoryBytes - wasmBefore;
  const tableRss = process.memoryUsage().rss - rss;

  collectGarbage();
  rss = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const map = new Map<string, number>();
  started = performance.now();
  for (let i = 0; i < arg.entries; i++) map.set(ids.toString('latin1', i * SCALE_STREAM_ID_BYTES, (i + 1) * SCALE_STREAM_ID_BYTES), i);
  const mapInsertMs = performance.now() - started;
  collectGarbage();
  const mapBytes = process.memoryUsage().heapUsed - heapBefore;
  const mapRss = process.memoryUsage().rss - rss;

  const tablePassMs: number[] = [];
  const mapPassMs: number[] = [];
  // Pass 0 warms both up and is not counted; which goes first alternates between passes, so
  // neither always runs right after its query strings were built (and the GC that follows).
  for (let pass = 0; pass <= arg.passes; pass++) {
    const runs = [() => tablePass(table, queries(ids, order)), () => mapPass(map, queries(ids, order))];
    const into = [tablePassMs, mapPassMs];
    for (const k of pass % 2 === 1 ? [1, 0] : [0, 1]) {
      const ms = runs[k]();
      if (pass > 0) into[k].push(ms);
    }
  }

  const structure = (insertMs: number, memoryBytes: number, rssBytes: number, passMs: number[]): StructureReport => {
    const lookupMs = passMs.reduce((sum, ms) => sum + ms, 0);
    const lookups = passMs.length * arg.entries;
    return {
      insertMs, memoryBytes, bytesPerEntry: memoryBytes / arg.entries, rssBytes, lookups, lookupMs,
      lookupsPerSecond: lookups / (lookupMs / 1000), passLookupsPerSecond: passMs.map((ms) => arg.entries / (ms / 1000)),
    };
  };
  const result: LookupReport = {
    entries: arg.entries,
    streamIdBytes: SCALE_STREAM_ID_BYTES,
    streamTable: { ...structure(tableInsertMs, tableBytes, tableRss, tablePassMs), slotCapacity: table.slotCapacity },
    map: structure(mapInsertMs, mapBytes, mapRss, mapPassMs),
  };
  report(result);
  table.destroy();
}

main();
