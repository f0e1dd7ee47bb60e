// Wrapper of the stream-table kernel (assembly/stream-table.ts): stream id → stream number →
// revision count and the positions of the newest revisions (the tail, from the base revision on;
// older ones are in index files). Keys are staged as UTF-8 in a scratch region.

import { assert } from '../util/assert.js';
import { utf8Decoder, utf8Encoder } from '../util/bytes.js';
import { STREAM_ID_BYTES_MAX } from '../util/limits.js';
import type { Wasm } from './kernels.js';
import { WasmRegion } from './region.js';

const INITIAL_SLOTS = 1024;
const POSITIONS_BATCH = 4096;

/** A stream filter being built in WASM memory (StreamTable.newFilter). */
export interface FilterBuilder {
  readonly ptr: number;
  /** Adds `count` ids given as u16 length + bytes, back to back. */
  addIds(list: Uint8Array, count: number): void;
  /** Adds the id of every stream the table holds now. */
  addTableStreams(): void;
  /** Makes it the table's filter (the table frees the old one, and this one at destroy). */
  install(): void;
  /** Frees it unless installed. */
  free(): void;
}

export class StreamTable {
  private table: number;
  private readonly key: WasmRegion;
  private readonly positionsOut: WasmRegion;
  private stagedLength = 0;

  /** `hashBits` < 64 truncates the hash so tests can force collisions. */
  constructor(private readonly wasm: Wasm, hashBits = 64) {
    assert(Number.isInteger(hashBits) && hashBits >= 1 && hashBits <= 64, 'hashBits in 1..64');
    this.table = wasm.k.tableCreate(hashBits, INITIAL_SLOTS);
    this.key = new WasmRegion(wasm, STREAM_ID_BYTES_MAX * 3);
    this.positionsOut = new WasmRegion(wasm, POSITIONS_BATCH * 8);
  }

  /** Stages the key's UTF-8; -1 when it is longer than any stored stream id (a `$$` metadata stream's) can be. */
  private stageKey(streamId: string): number {
    const { read, written } = utf8Encoder.encodeInto(streamId, this.wasm.u8.subarray(this.key.ptr, this.key.ptr + this.key.capacity));
    assert(written > 0, 'stream ids are not empty');
    return read < streamId.length || written > STREAM_ID_BYTES_MAX + 2 ? -1 : written;
  }

  /**
   * The stream's number, or -1 when no event was ever indexed for it. Ids longer than
   * STREAM_ID_BYTES_MAX (a metastream `$$S` of a longest S) cannot be stored, so they are absent.
   */
  find(streamId: string): number {
    const length = this.stageKey(streamId);
    return length < 0 ? -1 : this.wasm.k.tableFind(this.table, this.key.ptr, length);
  }

  /**
   * The stream's number when the table holds it; else -1 when no stream has the id (the table is
   * complete, or its filter rules the id out), -2 when one may exist outside the table — then
   * `stagedKey()` is the id's UTF-8, valid until the next call on this table.
   */
  locate(streamId: string): number {
    const length = this.stageKey(streamId);
    if (length < 0) return -1;
    this.stagedLength = length;
    return this.wasm.k.tableLocate(this.table, this.key.ptr, length);
  }

  /** A view of the key staged by the last locate() (WASM memory: use it before anything else runs). */
  stagedKey(): Uint8Array {
    return this.wasm.u8.subarray(this.key.ptr, this.key.ptr + this.stagedLength);
  }

  /** How many revisions the stream holds: its last revision + 1. */
  revisionCount(streamNo: number): number {
    this.checkStream(streamNo);
    return this.wasm.k.streamRevisionCount(this.table, streamNo);
  }

  /** The first revision whose position the table holds; older ones were flushed to index files. */
  baseRevision(streamNo: number): number {
    this.checkStream(streamNo);
    return this.wasm.k.streamBaseRevision(this.table, streamNo);
  }

  /** Positions held in all tails (the memtable's entries). */
  get tailEntries(): number {
    return this.wasm.k.tableTailEntries(this.table);
  }

  /**
   * Moves every tail out as index entries (six u32 words each: key, seq = revision, value =
   * position, each u64 low word first), in table-number then revision order, and resets the
   * tails. The key is the table number, or `keys[table number]` when given. One crossing for the
   * whole memtable.
   */
  drainTails(keys?: Uint32Array): Uint32Array {
    const entries = this.wasm.k.tableTailEntries(this.table);
    if (entries === 0) return new Uint32Array(0);
    const region = new WasmRegion(this.wasm, entries * 24 + (keys === undefined ? 0 : keys.byteLength));
    try {
      const keysPtr = keys === undefined ? 0 : region.ptr + entries * 24;
      if (keys !== undefined) {
        assert(keys.length >= this.streamCount, 'a key for every stream');
        this.wasm.u32.set(keys, keysPtr / 4);
      }
      const written = this.wasm.k.tableDrainTails(this.table, region.ptr, keysPtr);
      assert(written === entries, () => `drained ${written} tail entries of ${entries}`);
      return new Uint32Array(this.wasm.u8.slice(region.ptr, region.ptr + entries * 24).buffer);
    } finally {
      region.free();
    }
  }

  /**
   * Ids of the streams whose byte in `select` (one per table number) is non-zero, sorted bytewise
   * (the stream directory's order): `entries` holds, per stream, u32 table number, u16 id length
   * and the id's bytes; `offsets` lists the entries' byte offsets in id order. One export and one
   * sort in WASM, whatever the count.
   */
  sortedIds(select: Uint8Array): { entries: Uint8Array; offsets: Uint32Array } {
    assert(select.length === this.streamCount, 'one selection byte per stream');
    const selection = new WasmRegion(this.wasm, Math.max(1, select.length));
    try {
      this.wasm.u8.set(select, selection.ptr);
      const bytes = this.wasm.k.tableSelectedIdBytes(this.table, selection.ptr);
      if (bytes === 0) return { entries: new Uint8Array(0), offsets: new Uint32Array(0) };
      const out = new WasmRegion(this.wasm, bytes);
      try {
        const written = this.wasm.k.tableExportIds(this.table, selection.ptr, out.ptr);
        assert(written === bytes, 'ids exported at their computed size');
        const entries = this.wasm.u8.slice(out.ptr, out.ptr + bytes);
        const starts: number[] = [];
        for (let at = 0; at < bytes; at += 6 + (entries[at + 4] | (entries[at + 5] << 8))) starts.push(at);
        const order = new WasmRegion(this.wasm, starts.length * 8);
        try {
          this.wasm.u32.set(starts, order.ptr / 4);
          this.wasm.k.sortEntryOffsets(out.ptr, order.ptr, order.ptr + starts.length * 4, starts.length);
          return { entries, offsets: this.wasm.u32.slice(order.ptr / 4, order.ptr / 4 + starts.length) };
        } finally {
          order.free();
        }
      } finally {
        out.free();
      }
    } finally {
      selection.free();
    }
  }

  /**
   * Keeps only the streams whose byte in `keep` is non-zero (their tails must be empty otherwise),
   * renumbered 0, 1, … in their old order. Returns the new stream count.
   */
  compact(keep: Uint8Array): number {
    assert(keep.length === this.streamCount, 'one keep byte per stream');
    const region = new WasmRegion(this.wasm, Math.max(1, keep.length));
    try {
      this.wasm.u8.set(keep, region.ptr);
      return this.wasm.k.tableCompact(this.table, region.ptr);
    } finally {
      region.free();
    }
  }

  /**
   * Whether the table holds every stream of the store. While it does, indexRecords inserts an id
   * it lacks as a new stream; once it does not, it stops there so the caller can look elsewhere.
   */
  setComplete(complete: boolean): void {
    this.wasm.k.tableSetComplete(this.table, complete ? 1 : 0);
  }

  /**
   * Inserts a stream the table lacks, with `base` revisions held elsewhere (its tail starts
   * empty at that revision). Returns its table number, or -1 for an id longer than any stream id.
   */
  insert(streamId: string, base: number): number {
    const length = this.stageKey(streamId);
    if (length < 0) return -1;
    return this.wasm.k.tableInsert(this.table, this.key.ptr, length, base);
  }

  /** log2 of the stream filter's bit count (0: the table has no filter). */
  get filterLog2Bits(): number {
    return this.wasm.k.tableFilterLog2Bits(this.table);
  }

  /** A copy of the stream filter's bits (empty without one). */
  filterBytes(): Uint8Array {
    const log2Bits = this.filterLog2Bits;
    if (log2Bits === 0) return new Uint8Array(0);
    const ptr = this.wasm.k.tableFilterPtr(this.table);
    return this.wasm.u8.slice(ptr, ptr + 2 ** (log2Bits - 3));
  }

  /**
   * Whether a stream with this id may exist outside the table, by the stream filter (a Bloom
   * filter of every id the store has; true without one). False is certain.
   */
  mayHold(streamId: string): boolean {
    const length = this.stageKey(streamId);
    return length >= 0 && this.wasm.k.tableFilterMayContain(this.table, this.key.ptr, length) !== 0;
  }

  /** Drops the stream filter: the table then cannot rule any id out. */
  clearFilter(): void {
    this.wasm.k.tableFilterInstall(this.table, 0, 0);
  }

  /** Installs persisted filter bits (a power of two of at least 32 bytes, one block) as the table's filter. */
  installFilter(bits: Uint8Array): void {
    const builder = this.newFilter(Math.log2(bits.length * 8));
    this.wasm.u8.set(bits, builder.ptr);
    builder.install();
  }

  /**
   * An empty filter of 2^log2Bits bits in WASM memory to fill (from persisted ids and the table's
   * streams) and then install in place of the table's filter.
   */
  newFilter(log2Bits: number): FilterBuilder {
    assert(Number.isInteger(log2Bits) && log2Bits >= 8 && log2Bits <= 32, () => `a filter of 2^${log2Bits} bits`);
    const bytes = 2 ** (log2Bits - 3);
    const ptr = this.wasm.k.alloc(bytes);
    assert(ptr !== 0, 'wasm allocation must succeed');
    this.wasm.u8.fill(0, ptr, ptr + bytes);
    let owned = true;
    return {
      ptr,
      addIds: (list: Uint8Array, count: number) => {
        const region = new WasmRegion(this.wasm, Math.max(1, list.length));
        try {
          this.wasm.u8.set(list, region.ptr);
          this.wasm.k.filterAddIds(ptr, log2Bits, region.ptr, count);
        } finally {
          region.free();
        }
      },
      addTableStreams: () => this.wasm.k.tableFilterAddStreams(this.table, ptr, log2Bits),
      install: () => {
        assert(owned, 'a filter is installed or freed once');
        owned = false;
        this.wasm.k.tableFilterInstall(this.table, ptr, log2Bits);
      },
      free: () => {
        if (!owned) return;
        owned = false;
        this.wasm.k.free(ptr);
      },
    };
  }

  /** Like find(), for an id given as UTF-8 bytes at WASM pointer `ptr`. */
  findAt(ptr: number, length: number): number {
    this.wasm.checkRange(ptr, length);
    return this.wasm.k.tableFind(this.table, ptr, length);
  }

  /** The stream id's UTF-8 bytes (a copy). */
  streamIdBytes(streamNo: number): Uint8Array {
    this.checkStream(streamNo);
    const ptr = this.wasm.k.streamIdPtr(this.table, streamNo);
    return this.wasm.u8.slice(ptr, ptr + this.wasm.k.streamIdLen(this.table, streamNo));
  }

  /**
   * Positions of revisions [fromRevision, fromRevision+count) from the tail, fewer at the stream's
   * end; fromRevision must be at least the base revision.
   */
  positions(streamNo: number, fromRevision: number, count: number): Float64Array {
    this.checkStream(streamNo);
    const base = this.wasm.k.streamBaseRevision(this.table, streamNo);
    assert(fromRevision >= base, () => `revision ${fromRevision} of stream ${streamNo} is in the tail (base ${base})`);
    const total = this.wasm.k.streamRevisionCount(this.table, streamNo);
    const n = Math.max(0, Math.min(count, total - fromRevision));
    const out = new Float64Array(n);
    let done = 0;
    while (done < n) {
      const step = Math.min(POSITIONS_BATCH, n - done);
      const copied = this.wasm.k.streamPositions(this.table, streamNo, fromRevision + done, step, this.positionsOut.ptr);
      assert(copied === step, 'stream positions copied as asked');
      out.set(this.wasm.f64.subarray(this.positionsOut.ptr / 8, this.positionsOut.ptr / 8 + step), done);
      done += step;
    }
    return out;
  }

  /** The position of one revision (which must exist and be at least the base revision). */
  positionOf(streamNo: number, revision: number): number {
    const copied = this.wasm.k.streamPositions(this.table, streamNo, revision, 1, this.positionsOut.ptr);
    assert(copied === 1, () => `revision ${revision} of stream ${streamNo} exists`);
    return this.wasm.f64[this.positionsOut.ptr / 8];
  }

  streamId(streamNo: number): string {
    this.checkStream(streamNo);
    const ptr = this.wasm.k.streamIdPtr(this.table, streamNo);
    const length = this.wasm.k.streamIdLen(this.table, streamNo);
    return utf8Decoder.decode(this.wasm.u8.subarray(ptr, ptr + length));
  }

  get streamCount(): number {
    return this.wasm.k.tableStreamCount(this.table);
  }

  get slotCapacity(): number {
    return this.wasm.k.tableSlotCapacity(this.table);
  }

  /**
   * Indexes `count` decoded records whose descriptors are at `descPtr`, over bytes at `base`
   * (see record-decoder). Returns how many were indexed before a revision-contiguity violation.
   */
  indexRecords(base: number, regionBytes: number, descPtr: number, descBytes: number, count: number): number {
    this.wasm.checkRange(base, regionBytes);
    this.wasm.checkRange(descPtr, descBytes);
    return this.wasm.k.indexRecords(this.table, base, descPtr, count);
  }

  destroy(): void {
    if (this.table === 0) return;
    this.wasm.k.tableDestroy(this.table);
    this.key.free();
    this.positionsOut.free();
    this.table = 0;
  }

  private checkStream(streamNo: number): void {
    assert(this.table !== 0, 'stream table used after destroy');
    assert(Number.isInteger(streamNo) && streamNo >= 0 && streamNo < this.wasm.k.tableStreamCount(this.table), () => `stream number ${streamNo} in range`);
  }
}
