// All indexes of a store, fed in position order by recovery and by each group commit: stream
// (WASM stream table), global ($all), category and event type. The stream, category and
// event-type indexes are a memtable (the stream table's tails and two KeyedPositions) over a list
// of sorted runs (index files, or a memtable frozen by a flush while its file is written); each
// run covers a range of positions, the runs and the memtable together cover [0, nextPosition).

import { assert } from '../util/assert.js';
import { GrowableFloat64Array, GrowableUint32Array } from '../util/growable-array.js';
import { lowerBound } from '../util/sorted-search.js';
import type { Wasm } from '../wasm/kernels.js';
import { StreamTable } from '../wasm/stream-table.js';
import {
  DF64_POSITION, DU32_FLAGS_STREAM, DU32_OFFSET, DU32_RECORD_BYTES, DU32_STREAM_NO, DU32_TYPE, type RecordDecoder,
} from '../format/record-decoder.js';
import { DEC_DESC_BYTES, DEC_F64_STRIDE, DEC_U32_STRIDE, FLAG_SCAVENGED, RECORD_HEADER_BYTES } from '../format/record-layout.js';
import { ENTRY_WORDS } from './index-entry.js';
import { IndexKind, keyHighWord } from './index-keys.js';
import type { IndexRun } from './index-run.js';
import { GlobalIndex, type GlobalIndexPaging } from './global-index.js';
import { KeyedPositions, NameNumbers, categoryOf } from './keyed-positions.js';
import { MemoryRun } from './memory-run.js';

/** What a flush must persist beside its run so that open() can do without the log before it. */
export interface IndexDirectory {
  /** The runs cover [0, coveredPosition). */
  readonly coveredPosition: number;
  readonly streamCount: number;
  /** Stream table entries (u32 revision count, u16 id length, id bytes) in stream-number order. */
  readonly streamBytes: Uint8Array;
  /** Per stream: its category's number + 1, 0 when its id has no '-'. */
  readonly streamCategories: Uint32Array;
  /** Per stream: bytes of its records in the log (headers included). */
  readonly streamRecordBytes: Float64Array;
  readonly categoryNames: readonly string[];
  readonly eventTypeNames: readonly string[];
  /**
   * The store's idempotency window as of coveredPosition (24-byte entries: event id, u32 stream
   * number, u32 revision; oldest first), so a reopen that reads no log remembers it.
   */
  readonly recentIds: Uint8Array;
}

export interface FrozenMemtable {
  readonly run: MemoryRun;
  readonly directory: IndexDirectory;
}

export type ScanDirection = 'forwards' | 'backwards';

/**
 * Stream ids beginning with this hold the metadata of the stream named by the rest (`$$S` for S,
 * the store's naming, src/store/stream-names.ts). The index tracks which streams have one so that
 * the metadata check of every append needs no lookup for the many streams without.
 */
const METASTREAM_PREFIX = '$$';
const DOLLAR = 0x24;

export class StoreIndexes {
  readonly streams: StreamTable;
  readonly global: GlobalIndex;
  private readonly categories = new KeyedPositions(IndexKind.Category);
  private readonly eventTypes = new KeyedPositions(IndexKind.EventType);
  private readonly categoryNames = new NameNumbers();
  private readonly eventTypeNames = new NameNumbers();
  /** Category number + 1 of each stream number (0: the stream id has no '-'). */
  private readonly streamCategories = new GrowableUint32Array(1024);
  /** Bytes of each stream's records in the log, by stream number. */
  private readonly streamRecordBytes = new GrowableFloat64Array(1024);
  /** S for every stream `$$S` that has events (never shrinks: streams are not removed). */
  private readonly streamsWithMetastream = new Set<string>();
  /** Oldest first; together they cover [0, coveredPosition). */
  private runList: IndexRun[] = [];
  private covered = 0;

  /** `globalPaging`: how the global index pages sealed chunks (null: it keeps every offset in memory). */
  constructor(private readonly wasm: Wasm, streamHashBits: number, globalPaging: GlobalIndexPaging | null = null) {
    this.streams = new StreamTable(wasm, streamHashBits);
    this.global = new GlobalIndex(globalPaging);
  }

  /** Position the next record must have. */
  get nextPosition(): number {
    return this.global.nextPosition;
  }

  /** Positions below this are in runs; the memtable holds the rest. */
  get coveredPosition(): number {
    return this.covered;
  }

  get runs(): readonly IndexRun[] {
    return this.runList;
  }

  /** Entries in the memtable (stream, category and event-type entries of unflushed records). */
  get memtableEntries(): number {
    return this.streams.tailEntries + this.categories.entryCount + this.eventTypes.entryCount;
  }

  /**
   * Starts from a persisted directory and its runs (at open, before any record is applied):
   * the streams, categories and event types it names, with the runs covering
   * [0, directory.coveredPosition). Returns false when the directory is malformed.
   */
  load(directory: IndexDirectory, runs: readonly IndexRun[]): boolean {
    assert(this.streams.streamCount === 0 && this.covered === 0 && this.runList.length === 0, 'load() starts from empty indexes');
    if (directory.streamCategories.length !== directory.streamCount || directory.streamRecordBytes.length !== directory.streamCount) return false;
    if (!this.streams.loadStreamBytes(directory.streamBytes, directory.streamCount)) return false;
    this.noteMetastreams(directory.streamBytes);
    for (const name of directory.categoryNames) this.categoryNames.numberOf(name);
    for (const name of directory.eventTypeNames) this.eventTypeNames.numberOf(name);
    if (this.categoryNames.count !== directory.categoryNames.length || this.eventTypeNames.count !== directory.eventTypeNames.length) return false;
    const categoryCount = this.categoryNames.count;
    for (const c of directory.streamCategories) if (c > categoryCount) return false;
    for (const bytes of directory.streamRecordBytes) if (!Number.isSafeInteger(bytes) || bytes < 0) return false;
    this.streamCategories.pushAll(directory.streamCategories);
    this.streamRecordBytes.pushAll(directory.streamRecordBytes);
    this.runList = [...runs];
    this.covered = directory.coveredPosition;
    return true;
  }

  /**
   * Records that the chunk `chunkNumber`, holding positions [firstPosition, firstPosition +
   * offsets.length), lies at these file offsets (from its footer); only for records already in
   * the runs, whose other indexes need nothing. With paging the offsets are checked, not kept.
   */
  addIndexedChunk(chunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): void {
    assert(firstPosition + offsets.length <= this.covered, 'a chunk taken from its footer is covered by the runs');
    this.global.addChunk(chunkNumber, firstPosition, offsets, endOffset);
  }

  /**
   * Indexes records described by decoder descriptors [firstDesc, firstDesc+count) over bytes at
   * WASM pointer `base`; record i lies in chunk `chunkNumber` at file offset fileOffsetOfBase +
   * its descriptor offset. Records below coveredPosition (recovery of a chunk the runs partly
   * cover) enter only the global index. Returns how many were indexed: fewer than `count` means
   * the next record does not carry its stream's next revision.
   */
  applyRecords(decoder: RecordDecoder, firstDesc: number, count: number, base: number, regionBytes: number, chunkNumber: number, fileOffsetOfBase: number): number {
    let covered = 0;
    if (this.covered > this.nextPosition) {
      const { u32, f64, u32At, f64At } = decoder.views();
      while (covered < count && f64[f64At + (firstDesc + covered) * DEC_F64_STRIDE + DF64_POSITION] < this.covered) {
        const u = u32At + (firstDesc + covered) * DEC_U32_STRIDE;
        this.global.add(chunkNumber, f64[f64At + (firstDesc + covered) * DEC_F64_STRIDE + DF64_POSITION], fileOffsetOfBase + u32[u + DU32_OFFSET], u32[u + DU32_RECORD_BYTES]);
        covered++;
      }
    }
    if (covered === count) return count;
    firstDesc += covered;
    count -= covered;
    const descPtr = decoder.descPtr + firstDesc * DEC_DESC_BYTES;
    const indexed = this.streams.indexRecords(base, regionBytes, descPtr, count * DEC_DESC_BYTES, count);
    // Views taken after the kernel call: it may grow WASM memory, which detaches older views.
    const { u32, f64, u32At, f64At } = decoder.views();
    const buf = this.wasm.buf;
    // Consecutive records mostly share their event type: compare bytes before decoding a string.
    let typeAt = -1;
    let typeBytes = 0;
    let typeNo = -1;
    for (let i = 0; i < indexed; i++) {
      const u = u32At + (firstDesc + i) * DEC_U32_STRIDE;
      const offset = u32[u + DU32_OFFSET];
      const position = f64[f64At + (firstDesc + i) * DEC_F64_STRIDE + DF64_POSITION];
      const streamNo = u32[u + DU32_STREAM_NO];
      const streamIdBytes = u32[u + DU32_FLAGS_STREAM] >>> 16;
      const eventTypeBytes = u32[u + DU32_TYPE] & 0xffff;
      const at = base + offset + RECORD_HEADER_BYTES;
      this.global.add(chunkNumber, position, fileOffsetOfBase + offset, u32[u + DU32_RECORD_BYTES]);
      if (streamNo === this.streamCategories.length) {
        const streamId = buf.toString('utf8', at, at + streamIdBytes);
        if (streamId.startsWith(METASTREAM_PREFIX)) this.streamsWithMetastream.add(streamId.slice(METASTREAM_PREFIX.length));
        const category = categoryOf(streamId);
        this.streamCategories.push(category === null ? 0 : this.categoryNames.numberOf(category) + 1);
        this.streamRecordBytes.push(0);
      }
      this.streamRecordBytes.set(streamNo, this.streamRecordBytes.get(streamNo) + u32[u + DU32_RECORD_BYTES]);
      // A hole left by scavenging keeps its stream revision but is no longer of any category or type.
      if ((u32[u + DU32_FLAGS_STREAM] & FLAG_SCAVENGED) !== 0) continue;
      const category = this.streamCategories.get(streamNo);
      if (category !== 0) this.categories.add(category - 1, position);
      const thisTypeAt = at + streamIdBytes;
      if (typeAt < 0 || eventTypeBytes !== typeBytes || !sameBytes(buf, typeAt, thisTypeAt, typeBytes)) {
        typeNo = this.eventTypeNames.numberOf(buf.toString('utf8', thisTypeAt, thisTypeAt + eventTypeBytes));
        typeBytes = eventTypeBytes;
      }
      typeAt = thisTypeAt;
      this.eventTypes.add(typeNo, position);
    }
    return covered + indexed;
  }

  /**
   * Whether the metastream `$$S` of stream S has events — false without a lookup of `$$S` for the
   * streams that never had metadata. Exact: a stream, once indexed, is never removed.
   */
  hasMetastream(streamId: string): boolean {
    return this.streamsWithMetastream.has(streamId);
  }

  /** Adds the metastreams among loaded directory entries; only those ids are decoded. */
  private noteMetastreams(streamBytes: Uint8Array): void {
    for (let at = 0; at < streamBytes.length;) {
      const length = streamBytes[at + 4] | (streamBytes[at + 5] << 8);
      const id = at + 6;
      if (length >= 2 && streamBytes[id] === DOLLAR && streamBytes[id + 1] === DOLLAR) {
        this.streamsWithMetastream.add(Buffer.from(streamBytes.buffer, streamBytes.byteOffset + id + 2, length - 2).toString('utf8'));
      }
      at = id + length;
    }
  }

  /**
   * Whether something the stream directory records changed without a record being indexed (a
   * scavenge's byte counts): the directory is then written again at close even with an empty memtable.
   */
  directoryChanged = false;

  /** Changes a stream's byte count (a scavenge gave `delta` < 0 bytes back). */
  addStreamBytes(streamNo: number, delta: number): void {
    this.directoryChanged = true;
    const bytes = this.streamRecordBytes.get(streamNo) + delta;
    assert(streamNo >= 0 && streamNo < this.streamRecordBytes.length && bytes >= 0, () => `stream ${streamNo} keeps a byte count >= 0`);
    this.streamRecordBytes.set(streamNo, bytes);
  }

  /** Bytes of the stream's records in the log (every revision, headers included). */
  streamBytes(streamNo: number): number {
    return this.streamRecordBytes.get(streamNo);
  }

  /** Names of the categories that have events, in order of first appearance. */
  categoryNameList(): readonly string[] {
    return this.categoryNames.all();
  }

  /**
   * Positions of revisions [fromRevision, fromRevision + count) of a stream, fewer at its end:
   * the older ones from the runs, the newer from the stream table's tail.
   */
  streamPositions(streamNo: number, fromRevision: number, count: number): Float64Array {
    const total = this.streams.revisionCount(streamNo);
    const n = Math.max(0, Math.min(count, total - fromRevision));
    if (n === 0) return new Float64Array(0);
    const base = this.streams.baseRevision(streamNo);
    if (fromRevision >= base) return this.streams.positions(streamNo, fromRevision, n);
    const out = new GrowableFloat64Array(n);
    const fromRuns = Math.min(n, base - fromRevision);
    for (const run of this.runList) {
      if (out.length === fromRuns) break;
      run.forward(streamNo, keyHighWord(IndexKind.Stream), fromRevision + out.length, fromRuns - out.length, out);
    }
    assert(out.length === fromRuns, () => `the runs hold revisions ${fromRevision}..${fromRevision + fromRuns - 1} of stream ${streamNo} (found ${out.length})`);
    if (n > fromRuns) {
      const tail = this.streams.positions(streamNo, base, n - fromRuns);
      for (let i = 0; i < tail.length; i++) out.push(tail[i]);
    }
    return out.view();
  }

  /**
   * Up to `maxCount` positions of the events of a category or event type: forwards from the
   * first at or after `fromPosition`, or backwards from the last at or before it.
   */
  keyedPositions(kind: IndexKind.Category | IndexKind.EventType, name: string, fromPosition: number, direction: ScanDirection, maxCount: number): Float64Array {
    const key = (kind === IndexKind.Category ? this.categoryNames : this.eventTypeNames).find(name);
    if (key < 0 || maxCount <= 0) return new Float64Array(0);
    const memtable = (kind === IndexKind.Category ? this.categories : this.eventTypes).positions(key);
    const high = keyHighWord(kind);
    const out = new GrowableFloat64Array(Math.min(maxCount, 1024));
    if (direction === 'forwards') {
      for (const run of this.runList) {
        if (out.length === maxCount) break;
        if (run.toPosition <= fromPosition) continue;
        run.forward(key, high, fromPosition, maxCount - out.length, out);
      }
      for (let i = lowerBound(memtable, fromPosition); i < memtable.length && out.length < maxCount; i++) out.push(memtable[i]);
    } else {
      for (let i = lowerBound(memtable, fromPosition + 1) - 1; i >= 0 && out.length < maxCount; i--) out.push(memtable[i]);
      for (let r = this.runList.length - 1; r >= 0 && out.length < maxCount; r--) {
        const run = this.runList[r];
        if (run.fromPosition > fromPosition) continue;
        run.backward(key, high, fromPosition, maxCount - out.length, out);
      }
    }
    return out.view();
  }

  /**
   * Moves the memtable into a new in-memory run covering [coveredPosition, nextPosition) and
   * returns it with the directory a file written from it needs (`recentIds`: the store's
   * idempotency window, exported at the same moment). The run stays readable (in
   * `runs`) until replaceRuns() swaps it for its file.
   */
  freeze(recentIds: Uint8Array): FrozenMemtable {
    const streamWords = this.streams.drainTails();
    const categoryWords = this.categories.drain();
    const typeWords = this.eventTypes.drain();
    const words = new Uint32Array(streamWords.length + categoryWords.length + typeWords.length);
    words.set(streamWords, 0);
    words.set(categoryWords, streamWords.length);
    words.set(typeWords, streamWords.length + categoryWords.length);
    const run = new MemoryRun(words, this.covered, this.nextPosition);
    this.runList.push(run);
    this.covered = this.nextPosition;
    assert(this.memtableEntries === 0 && run.entryCount === words.length / ENTRY_WORDS, 'a freeze empties the memtable');
    return { run, directory: this.captureDirectory(recentIds) };
  }

  /** The stream directory as of now; only consistent with the runs when the memtable is empty. */
  captureDirectory(recentIds: Uint8Array): IndexDirectory {
    assert(this.memtableEntries === 0 && this.covered === this.nextPosition, 'the directory is captured with an empty memtable');
    this.directoryChanged = false;
    return {
      coveredPosition: this.covered,
      streamCount: this.streams.streamCount,
      streamBytes: this.streams.exportStreams(),
      streamCategories: this.streamCategories.toArray(),
      streamRecordBytes: this.streamRecordBytes.view().slice(),
      categoryNames: [...this.categoryNames.all()],
      eventTypeNames: [...this.eventTypeNames.all()],
      recentIds,
    };
  }

  /**
   * Replaces consecutive runs `old` (a frozen memtable by its file, or merged inputs by their
   * merge) with `replacement`, which must cover exactly their positions.
   */
  replaceRuns(old: readonly IndexRun[], replacement: IndexRun): void {
    const at = this.runList.indexOf(old[0]);
    assert(at >= 0 && old.every((run, i) => this.runList[at + i] === run), 'replaced runs are consecutive runs of this index');
    assert(replacement.fromPosition === old[0].fromPosition && replacement.toPosition === old[old.length - 1].toPosition, 'a replacement covers what it replaces');
    this.runList.splice(at, old.length, replacement);
  }

  destroy(): void {
    this.streams.destroy();
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
