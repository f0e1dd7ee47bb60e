// All indexes of a store, fed in position order by recovery and by each group commit: stream
// (WASM stream table), global ($all), category and event type. The stream, category and
// event-type indexes are a memtable (the stream table's tails and two KeyedPositions) over a list
// of sorted runs (index files, or a memtable frozen by a flush while its file is written); each
// run covers a range of positions, the runs and the memtable together cover [0, nextPosition).

import { assert } from '../util/assert.js';
import { GrowableFloat64Array } from '../util/growable-array.js';
import { lowerBound } from '../util/sorted-search.js';
import { STREAM_FILTER_BITS_PER_STREAM, STREAM_FILTER_BYTES_MAX, STREAM_FILTER_BYTES_MIN } from '../util/limits.js';
import type { Wasm } from '../wasm/kernels.js';
import { StreamTable } from '../wasm/stream-table.js';
import {
  DF64_POSITION, DF64_REVISION, DU32_FLAGS_STREAM, DU32_OFFSET, DU32_RECORD_BYTES, DU32_STREAM_NO, DU32_TYPE, type RecordDecoder,
} from '../format/record-decoder.js';
import { DEC_DESC_BYTES, DEC_F64_STRIDE, DEC_U32_STRIDE, FLAG_SCAVENGED, RECORD_HEADER_BYTES } from '../format/record-layout.js';
import { ENTRY_WORDS } from './index-entry.js';
import { IndexKind, keyHighWord } from './index-keys.js';
import type { IndexRun } from './index-run.js';
import { GlobalIndex, type GlobalIndexPaging } from './global-index.js';
import { KeyedPositions, NameNumbers, categoryOf } from './keyed-positions.js';
import { MemoryRun } from './memory-run.js';
import { DirectoryChanges } from './directory-changes.js';
import { ResidentStreams } from './resident-streams.js';
import type { DirectoryEntry, DirectorySummary, StreamDirectoryReader } from './stream-directory-file.js';

/**
 * The stream directory file the index reads the streams it does not hold from
 * (StreamDirectoryReader): every stream of the store as of its covered position.
 */
export interface StreamDirectoryLookup {
  readonly streamCount: number;
  /** The store's stream filter bits as of the file (empty: none). */
  readonly filter: Uint8Array;
  readonly categoryNames: readonly string[];
  readonly eventTypeNames: readonly string[];
  find(id: Uint8Array): DirectoryEntry | null;
  entriesFrom(fromId: Uint8Array): IterableIterator<DirectoryEntry>;
}

/** What the next stream directory file is: the previous one with `changes` applied, and `summary`. */
export interface DirectoryUpdate {
  readonly changes: DirectoryChanges;
  readonly summary: DirectorySummary;
}

export interface FrozenMemtable {
  readonly run: MemoryRun;
  readonly update: DirectoryUpdate;
}

/**
 * A stream as one lookup found it. Its table number is only good while the table keeps its
 * numbering (tableEpoch); streamPositions() looks the stream up again when it changed.
 */
export interface StreamState {
  readonly streamId: string;
  /** The stream's number in the store: the key of its stream-index entries. */
  readonly streamNo: number;
  /** Last revision + 1. */
  readonly revisionCount: number;
  /** Bytes of its records in the log (every revision, headers included). */
  readonly recordBytes: number;
  /** Its number in the stream table, -1 when only the directory holds it. */
  readonly tableNo: number;
  readonly tableEpoch: number;
}

export type ScanDirection = 'forwards' | 'backwards';

/**
 * Stream ids beginning with this hold the metadata of the stream named by the rest (`$$S` for S,
 * the store's naming, src/store/stream-names.ts).
 */
const METASTREAM_PREFIX = '$$';

export class StoreIndexes {
  readonly streams: StreamTable;
  readonly global: GlobalIndex;
  private readonly categories = new KeyedPositions(IndexKind.Category);
  private readonly eventTypes = new KeyedPositions(IndexKind.EventType);
  private readonly categoryNames = new NameNumbers();
  private readonly eventTypeNames = new NameNumbers();
  /** Per stream the table holds (by table number): store number, category, bytes, last change. */
  private readonly resident = new ResidentStreams();
  /** Streams in the store: the next new stream gets this number. */
  private streamTotal = 0;
  /**
   * Bumped when the table's numbering changes (a compaction) or it takes in a stream held
   * elsewhere until then: a StreamState of another epoch looks its stream up again.
   */
  private tableEpoch = 0;
  /** Whether the table holds every stream of the store (see StreamTable.setComplete). */
  private complete = true;
  /** The flush generation: streams changed since the last flush have changedIn === generation. */
  private generation = 1;
  /** The newest stream directory file written (null: none yet, the table holds every stream). */
  private directory: StreamDirectoryLookup | null = null;
  /** Changes of flushes whose directory file is not written yet, oldest first. */
  private pendingChanges: DirectoryChanges[] = [];
  /** Oldest first; together they cover [0, coveredPosition). */
  private runList: IndexRun[] = [];
  private covered = 0;

  /**
   * `globalPaging`: how the global index pages sealed chunks (null: it keeps every offset in
   * memory). `streamCacheEntries`: streams the table keeps after a flush (the most recently
   * written); the others are read from the stream directory file when needed.
   */
  constructor(private readonly wasm: Wasm, streamHashBits: number, globalPaging: GlobalIndexPaging | null = null, private readonly streamCacheEntries = Number.MAX_SAFE_INTEGER) {
    assert(Number.isSafeInteger(streamCacheEntries) && streamCacheEntries >= 1, 'the stream cache holds at least one stream');
    this.streams = new StreamTable(wasm, streamHashBits);
    this.global = new GlobalIndex(globalPaging);
  }

  /** Streams in the store (each has at least one event). */
  get streamCount(): number {
    return this.streamTotal;
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
   * Starts from a stream directory file and its runs (at open, before any record is applied):
   * the categories and event types it names, with the runs covering [0, coveredPosition).
   * The streams stay in the file; the table takes them in as they are written. False when the
   * names repeat.
   */
  load(directory: StreamDirectoryLookup, coveredPosition: number, runs: readonly IndexRun[]): boolean {
    assert(this.streams.streamCount === 0 && this.covered === 0 && this.runList.length === 0, 'load() starts from empty indexes');
    for (const name of directory.categoryNames) this.categoryNames.numberOf(name);
    for (const name of directory.eventTypeNames) this.eventTypeNames.numberOf(name);
    if (this.categoryNames.count !== directory.categoryNames.length || this.eventTypeNames.count !== directory.eventTypeNames.length) return false;
    this.directory = directory;
    this.streamTotal = directory.streamCount;
    this.complete = this.streamTotal === 0;
    this.streams.setComplete(this.complete);
    // Without the file's filter nothing can be ruled out until one is built from the file.
    if (directory.filter.length > 0) this.streams.installFilter(directory.filter);
    else if (!this.complete) this.streams.clearFilter();
    this.runList = [...runs];
    this.covered = coveredPosition;
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
    let done = covered;
    while (done < count) {
      done += this.indexSpan(decoder, firstDesc + done, count - done, base, regionBytes, chunkNumber, fileOffsetOfBase);
      // Stopped early: at a stream the table does not hold (taken in, then go on) or a bad revision.
      if (done === count || !this.admitStream(decoder, firstDesc + done, base)) break;
    }
    return done;
  }

  /** applyRecords for records that need no lookup outside the table; returns how many it indexed. */
  private indexSpan(decoder: RecordDecoder, firstDesc: number, count: number, base: number, regionBytes: number, chunkNumber: number, fileOffsetOfBase: number): number {
    const descPtr = decoder.descPtr + firstDesc * DEC_DESC_BYTES;
    const indexed = this.streams.indexRecords(base, regionBytes, descPtr, count * DEC_DESC_BYTES, count);
    // Views taken after the kernel call: it may grow WASM memory, which detaches older views.
    const { u32, f64, u32At, f64At } = decoder.views();
    const buf = this.wasm.buf;
    const resident = this.resident;
    // Consecutive records mostly share their event type: compare bytes before decoding a string.
    let typeAt = -1;
    let typeBytes = 0;
    let typeNo = -1;
    for (let i = 0; i < indexed; i++) {
      const u = u32At + (firstDesc + i) * DEC_U32_STRIDE;
      const offset = u32[u + DU32_OFFSET];
      const position = f64[f64At + (firstDesc + i) * DEC_F64_STRIDE + DF64_POSITION];
      const tableNo = u32[u + DU32_STREAM_NO];
      const streamIdBytes = u32[u + DU32_FLAGS_STREAM] >>> 16;
      const eventTypeBytes = u32[u + DU32_TYPE] & 0xffff;
      const at = base + offset + RECORD_HEADER_BYTES;
      this.global.add(chunkNumber, position, fileOffsetOfBase + offset, u32[u + DU32_RECORD_BYTES]);
      // A complete table inserted a new stream itself.
      if (tableNo === resident.length) this.addNewStream(buf.toString('utf8', at, at + streamIdBytes));
      resident.recordBytes[tableNo] += u32[u + DU32_RECORD_BYTES];
      resident.changedIn[tableNo] = this.generation;
      // A hole left by scavenging keeps its stream revision but is no longer of any category or type.
      if ((u32[u + DU32_FLAGS_STREAM] & FLAG_SCAVENGED) !== 0) continue;
      const category = resident.category[tableNo];
      if (category !== 0) this.categories.add(category - 1, position);
      const thisTypeAt = at + streamIdBytes;
      if (typeAt < 0 || eventTypeBytes !== typeBytes || !sameBytes(buf, typeAt, thisTypeAt, typeBytes)) {
        typeNo = this.eventTypeNames.numberOf(buf.toString('utf8', thisTypeAt, thisTypeAt + eventTypeBytes));
        typeBytes = eventTypeBytes;
      }
      typeAt = thisTypeAt;
      this.eventTypes.add(typeNo, position);
    }
    return indexed;
  }

  /** Numbers a stream the table just took in as new: the next store number, its category. */
  private addNewStream(streamId: string): void {
    const category = categoryOf(streamId);
    this.resident.push(this.streamTotal++, category === null ? 0 : this.categoryNames.numberOf(category) + 1, 0, this.generation);
  }

  /**
   * Takes the stream of the record at descriptor `desc` into the table when the table does not
   * hold it and the record carries its next revision: from the directory (its count, number,
   * category and bytes) or, when no stream has that id, as a new stream at revision 0. False
   * when the record breaks its stream's revisions (the table holds it, or the revision is wrong).
   */
  private admitStream(decoder: RecordDecoder, desc: number, base: number): boolean {
    const { u32, f64, u32At, f64At } = decoder.views();
    const u = u32At + desc * DEC_U32_STRIDE;
    const idAt = base + u32[u + DU32_OFFSET] + RECORD_HEADER_BYTES;
    const idLength = u32[u + DU32_FLAGS_STREAM] >>> 16;
    const revision = f64[f64At + desc * DEC_F64_STRIDE + DF64_REVISION];
    if (this.streams.findAt(idAt, idLength) >= 0) return false;
    const idBytes = this.wasm.u8.slice(idAt, idAt + idLength);
    const streamId = Buffer.from(idBytes.buffer, 0, idLength).toString('utf8');
    const known = this.lookElsewhere(idBytes);
    if (known === null) {
      if (revision !== 0) return false;
      this.streams.insert(streamId, 0);
      this.tableEpoch++;
      this.addNewStream(streamId);
      return true;
    }
    if (revision !== known.revisionCount) return false;
    assert(known.streamNo < this.streamTotal && known.category <= this.categoryNames.count, () => `directory entry of '${streamId}' names a stream and category that exist`);
    this.streams.insert(streamId, known.revisionCount);
    this.tableEpoch++;
    this.resident.push(known.streamNo, known.category, known.recordBytes, 0);
    return true;
  }

  /** The directory entry of a stream the table does not hold: the newest unwritten changes first. */
  private lookElsewhere(id: Uint8Array): DirectoryEntry | null {
    for (let i = this.pendingChanges.length - 1; i >= 0; i--) {
      const at = this.pendingChanges[i].indexOf(id);
      if (at >= 0) return this.pendingChanges[i].entry(at);
    }
    return this.directory?.find(id) ?? null;
  }

  /**
   * The stream as it is now, or null when it has no events. A stream found outside the table is
   * taken in while the table holds fewer than `streamCacheEntries` streams (as least recently
   * written: the first to go when a flush trims the table), so the streams a store reads stay
   * resident when they fit.
   */
  stream(streamId: string): StreamState | null {
    const found = this.streams.locate(streamId);
    if (found >= 0) return this.residentState(streamId, found);
    if (found === -1) return null;
    // The staged key is read before anything else runs on the table.
    const entry = this.lookElsewhere(this.streams.stagedKey());
    if (entry === null) return null;
    let tableNo = -1;
    if (this.resident.length < this.streamCacheEntries) {
      tableNo = this.streams.insert(streamId, entry.revisionCount);
      this.tableEpoch++;
      this.resident.push(entry.streamNo, entry.category, entry.recordBytes, 0);
    }
    return { streamId, streamNo: entry.streamNo, revisionCount: entry.revisionCount, recordBytes: entry.recordBytes, tableNo, tableEpoch: this.tableEpoch };
  }

  /** The stream's last revision + 1 (0 when it has no events). */
  revisionCount(streamId: string): number {
    const tableNo = this.streams.locate(streamId);
    if (tableNo >= 0) return this.streams.revisionCount(tableNo);
    if (tableNo === -1) return 0;
    return this.lookElsewhere(this.streams.stagedKey())?.revisionCount ?? 0;
  }

  private residentState(streamId: string, tableNo: number): StreamState {
    const r = this.resident;
    return { streamId, streamNo: r.streamNo[tableNo], revisionCount: this.streams.revisionCount(tableNo), recordBytes: r.recordBytes[tableNo], tableNo, tableEpoch: this.tableEpoch };
  }

  /**
   * Whether the metastream `$$S` of stream S has events: for the many streams without one, a
   * table probe and (once the table does not hold every stream) the stream filter rule `$$S` out
   * in one WASM call, with no directory read and nothing kept per stream.
   */
  hasMetastream(streamId: string): boolean {
    const found = this.streams.locate(METASTREAM_PREFIX + streamId);
    if (found !== -2) return found >= 0;
    return this.lookElsewhere(this.streams.stagedKey()) !== null;
  }

  /**
   * Whether something the stream directory records changed without a record being indexed (a
   * scavenge's byte counts): the directory is then written again at close even with an empty memtable.
   */
  directoryChanged = false;

  /** Changes a stream's byte count (a scavenge gave `delta` < 0 bytes back); the table takes it in. */
  addStreamBytes(streamId: string, delta: number): void {
    let tableNo = this.streams.find(streamId);
    if (tableNo < 0) {
      const known = this.lookElsewhere(Buffer.from(streamId, 'utf8'));
      assert(known !== null, () => `stream '${streamId}' whose bytes change exists`);
      tableNo = this.streams.insert(streamId, known.revisionCount);
      this.tableEpoch++;
      this.resident.push(known.streamNo, known.category, known.recordBytes, 0);
    }
    const bytes = this.resident.recordBytes[tableNo] + delta;
    assert(bytes >= 0, () => `stream '${streamId}' keeps a byte count >= 0`);
    this.resident.recordBytes[tableNo] = bytes;
    this.resident.changedIn[tableNo] = this.generation;
    this.directoryChanged = true;
  }

  /** Names of the categories that have events, in order of first appearance. */
  categoryNameList(): readonly string[] {
    return this.categoryNames.all();
  }

  /**
   * Positions of revisions [fromRevision, fromRevision + count) of a stream as `state` found it,
   * fewer at its end then: the older ones from the runs, the newer from the stream table's tail.
   */
  streamPositions(state: StreamState, fromRevision: number, count: number): Float64Array {
    const n = Math.max(0, Math.min(count, state.revisionCount - fromRevision));
    if (n === 0) return new Float64Array(0);
    // A stream the table does not hold has all its revisions in the runs (only empty tails are
    // dropped); one it did not hold may have been taken in since (tableEpoch counts that too).
    const tableNo = state.tableEpoch === this.tableEpoch ? state.tableNo : this.streams.find(state.streamId);
    const base = tableNo >= 0 ? this.streams.baseRevision(tableNo) : state.revisionCount;
    if (fromRevision >= base) return this.streams.positions(tableNo, fromRevision, n);
    const out = new GrowableFloat64Array(n);
    const fromRuns = Math.min(n, base - fromRevision);
    for (const run of this.runList) {
      if (out.length === fromRuns) break;
      run.forward(state.streamNo, keyHighWord(IndexKind.Stream), fromRevision + out.length, fromRuns - out.length, out);
    }
    assert(out.length === fromRuns, () => `the runs hold revisions ${fromRevision}..${fromRevision + fromRuns - 1} of stream ${state.streamNo} (found ${out.length})`);
    if (n > fromRuns) {
      const tail = this.streams.positions(tableNo, base, n - fromRuns);
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
    const streamWords = this.sortByStreamNo(this.streams.drainTails(this.resident.streamNo.subarray(0, this.resident.length)));
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
    return { run, update: this.captureDirectory(recentIds) };
  }

  /**
   * The drained tails (keyed by store number, grouped by stream in table order) in (store number,
   * revision) order, the order of an index run. Table order is store-number order unless a stream
   * was taken in from the directory after newer ones: only then are the groups moved.
   */
  private sortByStreamNo(words: Uint32Array): Uint32Array {
    const entries = words.length / ENTRY_WORDS;
    let sorted = true;
    for (let e = 1; e < entries && sorted; e++) sorted = words[e * ENTRY_WORDS] >= words[(e - 1) * ENTRY_WORDS];
    if (sorted) return words;
    const starts: number[] = [];
    const numbers: number[] = [];
    for (let e = 0; e < entries; e++) {
      if (e > 0 && words[e * ENTRY_WORDS] === words[(e - 1) * ENTRY_WORDS]) continue;
      starts.push(e);
      numbers.push(words[e * ENTRY_WORDS]);
    }
    starts.push(entries);
    // Store numbers are distinct: a group's place follows its number's rank among them.
    const ranked = Uint32Array.from(numbers).sort();
    const lengths = new Uint32Array(numbers.length);
    for (let g = 0; g < numbers.length; g++) lengths[lowerBound(ranked, numbers[g])] = starts[g + 1] - starts[g];
    const firstOfRank = new Uint32Array(numbers.length);
    for (let r = 1; r < numbers.length; r++) firstOfRank[r] = firstOfRank[r - 1] + lengths[r - 1];
    const out = new Uint32Array(words.length);
    for (let g = 0; g < numbers.length; g++) {
      out.set(words.subarray(starts[g] * ENTRY_WORDS, starts[g + 1] * ENTRY_WORDS), firstOfRank[lowerBound(ranked, numbers[g])] * ENTRY_WORDS);
    }
    return out;
  }

  /**
   * The directory update as of now (the streams changed since the last capture, sorted by id),
   * kept for lookups until directoryWritten(); then the table drops all but the
   * `streamCacheEntries` most recently written streams. Only with an empty memtable.
   */
  captureDirectory(recentIds: Uint8Array): DirectoryUpdate {
    assert(this.memtableEntries === 0 && this.covered === this.nextPosition, 'the directory is captured with an empty memtable');
    const resident = this.resident;
    const changed = new Uint8Array(resident.length);
    for (let t = 0; t < resident.length; t++) changed[t] = resident.changedIn[t] === this.generation ? 1 : 0;
    const { entries, offsets } = this.streams.sortedIds(changed);
    const n = offsets.length;
    const streamNos = new Uint32Array(n);
    const revisionCounts = new Uint32Array(n);
    const categories = new Uint32Array(n);
    const recordBytes = new Float64Array(n);
    const tags = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
    for (let i = 0; i < n; i++) {
      const tableNo = tags.getUint32(offsets[i], true);
      streamNos[i] = resident.streamNo[tableNo];
      revisionCounts[i] = this.streams.revisionCount(tableNo);
      categories[i] = resident.category[tableNo];
      recordBytes[i] = resident.recordBytes[tableNo];
    }
    const changes = new DirectoryChanges(entries, offsets, streamNos, revisionCounts, categories, recordBytes);
    this.pendingChanges.push(changes);
    this.generation++;
    this.directoryChanged = false;
    // A complete table keeps no filter up to date (inserts skip it): the file's, and the one the
    // table needs once it stops being complete, is built from it here, where it holds every stream.
    if (this.complete) {
      const filter = this.streams.newFilter(filterLog2BitsFor(this.streamTotal));
      filter.addTableStreams();
      filter.install();
    }
    this.shrinkTable();
    return {
      changes,
      summary: {
        coveredPosition: this.covered,
        streamCount: this.streamTotal,
        categoryNames: [...this.categoryNames.all()],
        eventTypeNames: [...this.eventTypeNames.all()],
        recentIds,
        filter: this.streams.filterBytes(),
      },
    };
  }

  /**
   * When the table holds more than `streamCacheEntries` streams, keeps the most recently changed
   * three quarters of that (tails are empty): the next few flushes then need no compaction.
   */
  private shrinkTable(): void {
    const resident = this.resident;
    const count = resident.length;
    if (count <= this.streamCacheEntries) return;
    const target = Math.max(1, Math.floor(this.streamCacheEntries * STREAM_CACHE_TRIM_FRACTION));
    const byAge = resident.changedIn.slice(0, count).sort();
    // Generations above the threshold are kept whole; of the threshold's own, the first ones.
    const threshold = byAge[count - target];
    let room = target;
    for (let t = 0; t < count; t++) if (resident.changedIn[t] > threshold) room--;
    const keep = new Uint8Array(count);
    for (let t = 0; t < count; t++) {
      const g = resident.changedIn[t];
      if (g > threshold || (g === threshold && room-- > 0)) keep[t] = 1;
    }
    const kept = this.streams.compact(keep);
    resident.compact(keep);
    assert(kept === resident.length && kept === target, () => `the table keeps ${target} streams (kept ${kept})`);
    this.complete = false;
    this.streams.setComplete(false);
    this.tableEpoch++;
  }

  /** Whether the stream filter has fewer than STREAM_FILTER_BITS_PER_STREAM bits per stream and may grow. */
  get filterTooSmall(): boolean {
    const log2Bits = this.streams.filterLog2Bits;
    return log2Bits === 0 || log2Bits < filterLog2BitsFor(this.streamTotal) - 1;
  }

  /**
   * Builds a stream filter sized for the store from every id of `directory` (the newest file,
   * read past the block cache a span at a time, yielding between spans) and every stream the
   * table holds when it is done (streams created meanwhile are in the table: none is dropped
   * before the next flush), then installs it.
   */
  async rebuildFilter(directory: StreamDirectoryReader): Promise<void> {
    assert(directory === this.directory && this.pendingChanges.length === 0, 'the filter is rebuilt from the newest directory file');
    const filter = this.streams.newFilter(filterLog2BitsFor(this.streamTotal));
    try {
      const list = new Uint8Array(FILTER_BUILD_LIST_BYTES);
      let bytes = 0;
      let count = 0;
      for (const scan = directory.scan(); scan.valid; scan.next()) {
        const length = scan.idLength;
        if (bytes + 2 + length > list.length) {
          filter.addIds(list.subarray(0, bytes), count);
          bytes = 0;
          count = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (directory !== this.directory) return;
        }
        list.set(scan.block.subarray(scan.at, scan.at + 2 + length), bytes);
        bytes += 2 + length;
        count++;
      }
      filter.addIds(list.subarray(0, bytes), count);
      filter.addTableStreams();
      filter.install();
    } finally {
      filter.free();
    }
  }

  /**
   * The directory file of `update` is written and `directory` reads it: lookups go there instead
   * of to its changes (and any older ones).
   */
  directoryWritten(directory: StreamDirectoryLookup, update: DirectoryUpdate): void {
    const at = this.pendingChanges.indexOf(update.changes);
    assert(at >= 0, 'a written directory applies pending changes');
    this.pendingChanges.splice(0, at + 1);
    this.directory = directory;
  }

  /** The directory file lookups read, or null before the first is written. */
  get directoryFile(): StreamDirectoryLookup | null {
    return this.directory;
  }

  /** Unwritten changes, oldest first (for listing streams). */
  get unwrittenChanges(): readonly DirectoryChanges[] {
    return this.pendingChanges;
  }

  /** The ids of the streams the table holds with a store number >= `fromStreamNo`, sorted bytewise. */
  residentIdsFrom(fromStreamNo: number): Uint8Array[] {
    const select = new Uint8Array(this.resident.length);
    for (let t = 0; t < select.length; t++) select[t] = this.resident.streamNo[t] >= fromStreamNo ? 1 : 0;
    const { entries, offsets } = this.streams.sortedIds(select);
    return Array.from(offsets, (at) => entries.subarray(at + 6, at + 6 + (entries[at + 4] | (entries[at + 5] << 8))));
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

/** What a trim leaves of `streamCacheEntries`. */
const STREAM_CACHE_TRIM_FRACTION = 0.75;

/** Bytes of ids handed to WASM per call while a filter is built from a directory file. */
const FILTER_BUILD_LIST_BYTES = 1024 * 1024;

/** log2 of the filter bits for twice `streams` streams at STREAM_FILTER_BITS_PER_STREAM, within bounds. */
function filterLog2BitsFor(streams: number): number {
  const wanted = Math.ceil(Math.log2(Math.max(1, streams) * 2 * STREAM_FILTER_BITS_PER_STREAM));
  return Math.min(Math.log2(STREAM_FILTER_BYTES_MAX * 8), Math.max(Math.log2(STREAM_FILTER_BYTES_MIN * 8), wanted));
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
