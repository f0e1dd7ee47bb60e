// The only loader of build/annal.wasm. The module is compiled once per process; every store gets
// its own instance (its own linear memory). Views over that memory are rebuilt after it grows.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../util/assert.js';

/** The raw exports of assembly/index.ts. Only numbers cross; bigint for u64 results. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  crc32cUpdate(crc: number, ptr: number, length: number): number;
  xxhash64(ptr: number, length: number, seed: bigint): bigint;
  encodeRecords(descPtr: number, count: number, outPtr: number, outCapacity: number, decPtr: number): number;
  scanRecords(base: number, regionBytes: number, firstPosition: number, maxRecordBytes: number, maxRecords: number, outPtr: number, statusPtr: number, checkCrc: number): number;
  bodyChecksumUpdate(crc: number, base: number, descPtr: number, count: number): number;
  validateRecordsAt(base: number, regionBytes: number, maxRecordBytes: number, descPtr: number, count: number, statusPtr: number): number;
  tableCreate(hashBits: number, initialSlots: number): number;
  tableDestroy(t: number): void;
  tableStreamCount(t: number): number;
  tableSlotCapacity(t: number): number;
  tableFind(t: number, keyPtr: number, keyLen: number): number;
  tableLocate(t: number, keyPtr: number, keyLen: number): number;
  tableFindOrInsert(t: number, keyPtr: number, keyLen: number): number;
  hashStreamId(t: number, keyPtr: number, keyLen: number): bigint;
  streamIdPtr(t: number, streamNo: number): number;
  streamIdLen(t: number, streamNo: number): number;
  streamRevisionCount(t: number, streamNo: number): number;
  streamPush(t: number, streamNo: number, position: number): void;
  streamPositions(t: number, streamNo: number, fromRevision: number, count: number, outPtr: number): number;
  indexRecords(t: number, base: number, descPtr: number, count: number): number;
  tableInsert(t: number, keyPtr: number, keyLen: number, base: number): number;
  tableCompact(t: number, keepPtr: number): number;
  tableSetComplete(t: number, complete: number): void;
  tableFilterInstall(t: number, bits: number, log2Bits: number): void;
  tableFilterPtr(t: number): number;
  tableFilterLog2Bits(t: number): number;
  tableFilterMayContain(t: number, keyPtr: number, keyLen: number): number;
  tableFilterAddStreams(t: number, bits: number, log2Bits: number): void;
  filterAddIds(bits: number, log2Bits: number, listPtr: number, count: number): void;
  streamBaseRevision(t: number, streamNo: number): number;
  tableTailEntries(t: number): number;
  tableDrainTails(t: number, outPtr: number, keysPtr: number): number;
  tableExportIds(t: number, selectPtr: number, outPtr: number): number;
  tableSelectedIdBytes(t: number, selectPtr: number): number;
  sortEntryOffsets(basePtr: number, offsetsPtr: number, tmpPtr: number, count: number): void;
  indexBlocksCheck(ptr: number, blockBytes: number, count: number, firstBlock: number, fileBlocks: number, entriesPerBlock: number, lastBlockEntries: number, fencePtr: number): number;
  alloc(size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

const WASM_FILE = join('build', 'annal.wasm');
const SEARCH_LEVELS_MAX = 5;
let compiled: WebAssembly.Module | undefined;

// The loader runs from src/wasm (tests) and from dist/src/wasm (the built package), so it looks
// upward for the package root rather than assuming one layout.
function locateWasm(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < SEARCH_LEVELS_MAX; i++) {
    const candidate = join(dir, WASM_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find ${WASM_FILE}: run 'npm run build' first`);
}

function module(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(locateWasm()));
  return compiled;
}

interface MemoryViews {
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  readonly buf: Buffer;
}

function viewsOf(buffer: ArrayBuffer): MemoryViews {
  return { buffer, u8: new Uint8Array(buffer), u32: new Uint32Array(buffer), f64: new Float64Array(buffer), dv: new DataView(buffer), buf: Buffer.from(buffer) };
}

/** One instance of the kernels with typed views of its memory. */
export class Wasm {
  readonly k: KernelExports;
  private views: MemoryViews;

  constructor() {
    const instance = new WebAssembly.Instance(module(), {
      env: {
        abort(_message: number, _file: number, line: number, column: number): never {
          throw new Error(`annal.wasm aborted at line ${line}:${column}`);
        },
      },
    });
    this.k = instance.exports as unknown as KernelExports;
    this.views = viewsOf(this.k.memory.buffer);
  }

  /** The views of the current memory: growing the memory replaces its buffer, so they are rebuilt. */
  private current(): MemoryViews {
    if (this.k.memory.buffer !== this.views.buffer) this.views = viewsOf(this.k.memory.buffer);
    return this.views;
  }

  /** A byte view of the whole memory; call again after anything that may allocate. */
  get u8(): Uint8Array {
    return this.current().u8;
  }

  /** A u32 view of the whole memory (index = byte pointer / 4). */
  get u32(): Uint32Array {
    return this.current().u32;
  }

  /** An f64 view of the whole memory (index = byte pointer / 8). */
  get f64(): Float64Array {
    return this.current().f64;
  }

  get dv(): DataView {
    return this.current().dv;
  }

  /** A Buffer over the whole memory (no copy), for fast string decoding. */
  get buf(): Buffer {
    return this.current().buf;
  }

  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  /** Asserts that [ptr, ptr+length) lies inside the memory: checked before every kernel call. */
  checkRange(ptr: number, length: number): void {
    assert(Number.isInteger(ptr) && Number.isInteger(length) && ptr >= 0 && length >= 0, 'wasm range must be non-negative integers');
    assert(ptr + length <= this.memoryBytes, () => `wasm range [${ptr}, ${ptr + length}) outside memory of ${this.memoryBytes} bytes`);
  }
}
