// The stream directory file (`streams-<covered position>.dir`, format-spec/index.md §13): every
// stream id with its number, revision count, category and record bytes, sorted by id in 4 KiB
// blocks read through the shared block cache, so only the fence table stays in memory.

import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../log/file-system.js';
import { readFully } from './small-files.js';
import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import type { BlockCache, BlockCacheSpace } from './block-cache.js';
import type { Crc32cOf } from './index-file-format.js';
import {
  BLOCK_ENTRIES_MAX, BLOCK_HEADER_BYTES, blockEntryCount, checkDirectoryBlock, compareBytesAt, decodeDirectoryHeaderBlock,
  decodeEntryAt, decodeFenceTable, decodeNames, DIRECTORY_BLOCK_BYTES, DIRECTORY_FILTER_BYTES_MAX, DIRECTORY_FILTER_BYTES_MIN, DIRECTORY_ID_BYTES_MAX, DIRECTORY_RECENT_IDS_BYTES_MAX,
  DIRECTORY_SPAN_BLOCKS, DIRECTORY_SPAN_BYTES, directoryBlockOffset, directoryLayout, encodeDirectoryHeaderBlock, encodeEntryAt,
  encodeNames, entryBytes, entryOffset, entryStreamNo, failer, lowerBoundInBlock, sealDirectoryBlock, setU16, StreamNoTally, u16At,
  type BlockCheckContext, type DirectoryEntry, type DirectoryHeader, type FenceTable,
} from './stream-directory-format.js';

export { compareIds, DIRECTORY_BLOCK_BYTES, streamDirectoryFileName, type DirectoryEntry } from './stream-directory-format.js';

/** What the file says besides its entries. */
export interface DirectorySummary {
  readonly coveredPosition: number;
  /** Streams numbered 0 .. streamCount-1 exist; the file has exactly streamCount entries, one per number. */
  readonly streamCount: number;
  readonly categoryNames: readonly string[];
  readonly eventTypeNames: readonly string[];
  /** Opaque bytes owned by the store (its idempotency window), stored and returned as is. */
  readonly recentIds: Uint8Array;
  /**
   * The store's stream filter (§13.6: a Bloom filter of every stream id, so a lookup of an id no
   * stream has needs no block): empty, or a power of two of DIRECTORY_FILTER_BYTES_MIN ..
   * DIRECTORY_FILTER_BYTES_MAX bytes, stored and returned as is.
   */
  readonly filter: Uint8Array;
}

/** The suffix of a directory being written: a crash may leave it behind; readers ignore it. */
export const DIRECTORY_TEMP_SUFFIX = '.tmp';

export class StreamDirectoryReader implements DirectorySummary {
  readonly fileName: string;
  readonly coveredPosition: number;
  readonly streamCount: number;
  readonly categoryNames: readonly string[];
  readonly eventTypeNames: readonly string[];
  readonly recentIds: Uint8Array;
  readonly filter: Uint8Array;
  /** Bytes this reader keeps while open: fence ids and offsets, names (as UTF-8) and recent ids. */
  readonly residentBytes: number;
  private readonly context: BlockCheckContext;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly space: BlockCacheSpace,
    private readonly fence: FenceTable,
    fileName: string,
    header: DirectoryHeader,
    crc: Crc32cOf,
    names: string[],
    recentIds: Uint8Array,
    filter: Uint8Array,
  ) {
    this.fileName = fileName;
    this.coveredPosition = header.coveredPosition;
    this.streamCount = header.streamCount;
    this.categoryNames = names.slice(0, header.categoryCount);
    this.eventTypeNames = names.slice(header.categoryCount);
    this.recentIds = recentIds;
    this.filter = filter;
    // The filter is the store's to keep (in WASM memory): it is not counted here.
    this.residentBytes = fence.residentBytes + header.nameBytes + recentIds.byteLength;
    this.context = { file: fileName, crc, streamCount: header.streamCount, categoryCount: header.categoryCount, fence };
  }

  /**
   * Opens `dir/fileName` and checks all of it (§13.7): the header, that the sections add up to the
   * file's size, the tail CRC, the fence table and names, and every block, read in spans past the
   * cache, with the stream numbers exactly 0 .. streamCount - 1 (as StreamNoTally checks them).
   * CorruptionError naming the file and the byte offset when a check fails. `justWritten`: this
   * process wrote the file a moment ago (writeStreamDirectory checked what it wrote), so its
   * blocks are not read back; each is still checked when a lookup first reads it.
   */
  static async open(args: { fs: FileSystem; dir: string; fileName: string; crc: Crc32cOf; cache: BlockCache; justWritten?: boolean }): Promise<StreamDirectoryReader> {
    const { fileName, crc } = args;
    const handle = await args.fs.open(join(args.dir, fileName), 'read');
    try {
      const first = new Uint8Array(DIRECTORY_BLOCK_BYTES);
      const header = decodeDirectoryHeaderBlock(first.subarray(0, readFully(handle, first, 0, first.length, 0)), fileName, crc);
      const layout = directoryLayout(header);
      const fail = failer(fileName, 'file');
      const size = handle.size();
      if (size !== layout.fileBytes) fail(Math.min(size, layout.fileBytes), `${size} bytes, the header's sections add up to ${layout.fileBytes}`);
      const tail = new Uint8Array(layout.fileBytes - layout.fenceOffset);
      const read = readFully(handle, tail, 0, tail.length, layout.fenceOffset);
      if (read < tail.length) fail(layout.fenceOffset + read, 'file ends early');
      const actualCrc = crc.of(tail);
      if (actualCrc !== header.tailCrc) fail(layout.fenceOffset, 'fence, names and recent ids: CRC mismatch', { expectedCrc: header.tailCrc, actualCrc });
      const fence = decodeFenceTable(tail.subarray(0, header.fenceBytes), header.blockCount, fileName, layout.fenceOffset);
      const namesEnd = header.fenceBytes + header.nameBytes;
      const names = decodeNames(tail.subarray(header.fenceBytes, namesEnd), header.categoryCount + header.eventTypeCount, fileName, layout.namesOffset);
      const recentEnd = namesEnd + header.recentIdsBytes;
      const reader = new StreamDirectoryReader(handle, args.cache.space(), fence, fileName, header, crc, names, tail.slice(namesEnd, recentEnd), tail.slice(recentEnd));
      if (args.justWritten !== true) reader.checkAllBlocks();
      return reader;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** The entry of this id, or null. One block through the cache at most. */
  find(id: Uint8Array): DirectoryEntry | null {
    assert(!this.closed, () => `${this.fileName} is open`);
    const b = this.fence.blockOf(id);
    if (b < 0) return null;
    const block = this.blockBytes(b);
    const i = lowerBoundInBlock(block, id);
    if (i === blockEntryCount(block)) return null;
    const at = entryOffset(block, i);
    return compareBytesAt(block, at + 2, u16At(block, at), id, 0, id.length) === 0 ? decodeEntryAt(block, at) : null;
  }

  /** Entries in id order from the first id >= fromId, block by block through the cache. */
  *entriesFrom(fromId: Uint8Array): IterableIterator<DirectoryEntry> {
    assert(!this.closed, () => `${this.fileName} is open`);
    let b = this.fence.blockOf(fromId);
    let i = 0;
    if (b < 0) b = 0;
    else i = lowerBoundInBlock(this.blockBytes(b), fromId);
    for (; b < this.fence.blockCount; b++, i = 0) {
      // The view keeps the block's words alive even if the cache evicts them while the caller iterates.
      const block = this.blockBytes(b);
      const count = blockEntryCount(block);
      for (; i < count; i++) yield decodeEntryAt(block, entryOffset(block, i));
    }
  }

  /** Drops this file's cached blocks and closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.space.clear();
    await this.handle.close();
  }

  /** Makes the file durable (after a write that was not: writeStreamDirectory with durable false). */
  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  /** @internal A cursor over every entry, reading checked spans of blocks past the cache (for a rewrite). */
  scan(): DirectoryScan {
    assert(!this.closed, () => `${this.fileName} is open`);
    return new DirectoryScan(this.handle, this.context, this.fence.blockCount);
  }

  private checkAllBlocks(): void {
    const tally = new StreamNoTally(this.streamCount);
    const spans = new SpanReader(this.handle, this.context, this.fence.blockCount, tally);
    for (let b = 0; b < this.fence.blockCount; b++) spans.block(b);
    if (!tally.complete()) {
      throw new CorruptionError({ file: this.fileName, offset: DIRECTORY_BLOCK_BYTES, reason: `stream directory blocks: the ${tally.count} stream numbers are not exactly 0 .. ${this.streamCount - 1}` });
    }
  }

  /** Block b's bytes through the cache; on a miss read synchronously and checked before it is cached. */
  private blockBytes(blockIndex: number): Uint8Array {
    const cached = this.space.get(blockIndex);
    if (cached !== undefined) return new Uint8Array(cached.buffer, cached.byteOffset, DIRECTORY_BLOCK_BYTES);
    const words = new Uint32Array(DIRECTORY_BLOCK_BYTES / 4);
    const bytes = new Uint8Array(words.buffer);
    const offset = directoryBlockOffset(blockIndex);
    const n = readFully(this.handle, bytes, 0, DIRECTORY_BLOCK_BYTES, offset);
    if (n < DIRECTORY_BLOCK_BYTES) failer(this.fileName, `block ${blockIndex}`)(offset + n, 'file ends inside the block');
    checkDirectoryBlock(bytes, blockIndex, this.context, null);
    this.space.put(blockIndex, words);
    return bytes;
  }
}

/** Reads blocks in increasing order, a span at a time into one reused buffer, checking each block once. */
class SpanReader {
  private readonly buffer = new Uint8Array(DIRECTORY_SPAN_BYTES);
  private first = 0;
  private count = 0;

  constructor(private readonly handle: FileHandle, private readonly context: BlockCheckContext, private readonly blockCount: number, private readonly tally: StreamNoTally | null) {}

  /** The checked bytes of block b (a view of the buffer, valid until the next span is read). */
  block(blockIndex: number): Uint8Array {
    if (blockIndex < this.first || blockIndex >= this.first + this.count) this.readSpan(blockIndex);
    const at = (blockIndex - this.first) * DIRECTORY_BLOCK_BYTES;
    return this.buffer.subarray(at, at + DIRECTORY_BLOCK_BYTES);
  }

  private readSpan(first: number): void {
    assert(first >= this.first + this.count && first < this.blockCount, 'spans are read in order');
    const count = Math.min(DIRECTORY_SPAN_BLOCKS, this.blockCount - first);
    const bytes = count * DIRECTORY_BLOCK_BYTES;
    const offset = directoryBlockOffset(first);
    const n = readFully(this.handle, this.buffer, 0, bytes, offset);
    if (n < bytes) failer(this.context.file, 'blocks')(offset + n, 'file ends inside a block');
    for (let i = 0; i < count; i++) {
      checkDirectoryBlock(this.buffer.subarray(i * DIRECTORY_BLOCK_BYTES, (i + 1) * DIRECTORY_BLOCK_BYTES), first + i, this.context, this.tally);
    }
    this.first = first;
    this.count = count;
  }
}

/** A cursor over the entries of a file in id order; `block` and `at` locate the current entry's bytes. */
class DirectoryScan {
  private readonly spans: SpanReader;
  private blockIndex = -1;
  private index = 0;
  private count = 0;
  block: Uint8Array = new Uint8Array(0);
  /** Offset in `block` of the current entry (its u16 id length). */
  at = 0;
  valid = false;

  constructor(handle: FileHandle, context: BlockCheckContext, private readonly blockCount: number) {
    this.spans = new SpanReader(handle, context, blockCount, null);
    this.next();
  }

  get idLength(): number {
    return u16At(this.block, this.at);
  }

  next(): void {
    if (++this.index >= this.count) {
      if (++this.blockIndex >= this.blockCount) {
        this.valid = false;
        return;
      }
      this.block = this.spans.block(this.blockIndex);
      this.count = blockEntryCount(this.block);
      this.index = 0;
    }
    this.at = entryOffset(this.block, this.index);
    this.valid = true;
  }
}

/** Changes to apply, by index in id order (DirectoryChanges; listOf() for an array). */
export interface DirectoryChangeList {
  readonly count: number;
  entry(i: number): DirectoryEntry;
}

/** An array of entries as a DirectoryChangeList. */
export function listOf(entries: readonly DirectoryEntry[]): DirectoryChangeList {
  return { count: entries.length, entry: (i) => entries[i] };
}

/**
 * Writes `dir/fileName` durably (temp file `${fileName}.tmp`, written, fdatasync'd, renamed, the
 * directory fsync'd) holding `previous`'s entries with `changes` applied: an entry of `changes`
 * replaces the previous entry of the same id, or is added. `changes` must be sorted by compareIds
 * with unique ids and valid fields (an assertion fails otherwise). Streams: reads `previous` in
 * checked spans past the block cache, writes spans of DIRECTORY_SPAN_BYTES and awaits each. Fails
 * an assertion, before renaming, unless the result holds exactly summary.streamCount entries whose
 * numbers pass StreamNoTally (count, each below streamCount, sums). On any error the temp file is
 * removed and the error rethrown. With `durable` false (a rebuild's intermediate files) neither the
 * file nor the directory is synced: StreamDirectoryReader.sync() and a later directory fsync
 * (the manifest's) make it durable before anything names it.
 */
export async function writeStreamDirectory(args: {
  fs: FileSystem;
  dir: string;
  fileName: string;
  crc: Crc32cOf;
  previous: StreamDirectoryReader | null;
  changes: DirectoryChangeList;
  summary: DirectorySummary;
  durable?: boolean;
}): Promise<void> {
  const { fs, dir, fileName, summary, changes } = args;
  assert(!fileName.includes('/') && !fileName.endsWith(DIRECTORY_TEMP_SUFFIX), () => `'${fileName}' is a plain final file name`);
  checkSummary(summary);
  checkChanges(changes, summary);
  const tempPath = join(dir, fileName + DIRECTORY_TEMP_SUFFIX);
  await fs.unlink(tempPath).catch(() => undefined);
  const handle = await fs.open(tempPath, 'create');
  let handleOpen = true;
  try {
    const writer = new BlockWriter(handle, args.crc, summary.streamCount);
    const scan = args.previous === null ? null : args.previous.scan();
    let j = 0;
    while ((scan !== null && scan.valid) || j < changes.count) {
      const change = j < changes.count ? changes.entry(j) : null;
      const order = scan === null || !scan.valid ? 1 : change === null ? -1 : compareBytesAt(scan.block, scan.at + 2, scan.idLength, change.id, 0, change.id.length);
      if (order < 0) {
        writer.addRaw(scan!.block, scan!.at);
      } else {
        writer.add(change!);
        j++;
      }
      if (order <= 0) scan!.next();
      if (writer.spanFull) await writer.flush();
    }
    const header = await writer.finish(summary);
    await handle.write(encodeDirectoryHeaderBlock(header, args.crc), 0);
    const durable = args.durable ?? true;
    if (durable) await handle.datasync();
    handleOpen = false;
    await handle.close();
    await fs.rename(tempPath, join(dir, fileName));
    if (durable) await fs.syncDir(dir);
  } catch (error) {
    // Closed at most once: a second close of a descriptor could close a file opened since.
    if (handleOpen) await handle.close().catch(() => undefined);
    await fs.unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

function checkSummary(summary: DirectorySummary): void {
  assert(Number.isSafeInteger(summary.coveredPosition) && summary.coveredPosition >= 0, () => `covered position ${summary.coveredPosition} is a safe integer >= 0`);
  assert(Number.isInteger(summary.streamCount) && summary.streamCount >= 0 && summary.streamCount <= 0xffffffff, () => `stream count ${summary.streamCount} is a u32`);
  assert(summary.recentIds.length <= DIRECTORY_RECENT_IDS_BYTES_MAX, () => `recent ids of ${summary.recentIds.length} bytes, at most ${DIRECTORY_RECENT_IDS_BYTES_MAX}`);
  const filter = summary.filter.length;
  assert(filter === 0 || (filter >= DIRECTORY_FILTER_BYTES_MIN && filter <= DIRECTORY_FILTER_BYTES_MAX && (filter & (filter - 1)) === 0), () => `a stream filter of ${filter} bytes`);
}

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function checkChanges(changes: DirectoryChangeList, summary: DirectorySummary): void {
  let previous: DirectoryEntry | null = null;
  for (let i = 0; i < changes.count; i++) {
    const e = changes.entry(i);
    assert(e.id.length >= 1 && e.id.length <= DIRECTORY_ID_BYTES_MAX, () => `change ${i}: an id of ${e.id.length} bytes`);
    assert(previous === null || Buffer.compare(previous.id, e.id) < 0, () => `change ${i}: ids are sorted and unique`);
    assert(isU32(e.streamNo) && e.streamNo < summary.streamCount, () => `change ${i}: stream number ${e.streamNo} of ${summary.streamCount}`);
    assert(isU32(e.revisionCount), () => `change ${i}: revision count ${e.revisionCount} is a u32`);
    assert(isU32(e.category) && e.category <= summary.categoryNames.length, () => `change ${i}: category ${e.category} of ${summary.categoryNames.length}`);
    assert(Number.isSafeInteger(e.recordBytes) && e.recordBytes >= 0, () => `change ${i}: record bytes ${e.recordBytes} is a safe integer >= 0`);
    previous = e;
  }
}

/**
 * Packs entries into blocks inside a span buffer. An entry is staged until the block's count is
 * known: the offset table before the entries grows with it.
 */
class BlockWriter {
  private readonly span = new Uint8Array(DIRECTORY_SPAN_BYTES);
  private readonly staging = new Uint8Array(DIRECTORY_BLOCK_BYTES);
  private readonly offsets = new Uint16Array(BLOCK_ENTRIES_MAX);
  /** Staged entries of the open block, and their bytes. */
  private count = 0;
  private stagedBytes = 0;
  private bufferedBlocks = 0;
  private blockCount = 0;
  private fileOffset = DIRECTORY_BLOCK_BYTES;
  private fence = new Uint8Array(64 * 1024);
  private fenceBytes = 0;
  /** The id of the entry added last, for the order check. */
  private readonly lastId = new Uint8Array(DIRECTORY_ID_BYTES_MAX);
  private lastIdLength = 0;
  private readonly tally: StreamNoTally;

  constructor(private readonly handle: FileHandle, private readonly crc: Crc32cOf, streamCount: number) {
    this.tally = new StreamNoTally(streamCount);
  }

  get spanFull(): boolean {
    return this.bufferedBlocks === DIRECTORY_SPAN_BLOCKS;
  }

  add(entry: DirectoryEntry): void {
    const at = this.slot(entryBytes(entry.id.length));
    encodeEntryAt(this.staging, at, entry);
    this.commit(at);
  }

  /** Adds the entry at source[at..], already checked (a block of the previous file). */
  addRaw(source: Uint8Array, at: number): void {
    const length = entryBytes(u16At(source, at));
    const to = this.slot(length);
    this.staging.set(source.subarray(at, at + length), to);
    this.commit(to);
  }

  /** Where in the staging area an entry of `length` bytes goes, sealing the open block if it does not fit. */
  private slot(length: number): number {
    assert(!this.spanFull, 'flush() before adding to a full span');
    if (BLOCK_HEADER_BYTES + 2 * (this.count + 1) + this.stagedBytes + length > DIRECTORY_BLOCK_BYTES) this.seal();
    return this.stagedBytes;
  }

  private commit(at: number): void {
    const s = this.staging;
    const length = u16At(s, at);
    const added = this.blockCount + this.bufferedBlocks + this.count > 0;
    assert(!added || compareBytesAt(this.lastId, 0, this.lastIdLength, s, at + 2, length) < 0, 'entries are added in strictly increasing id order');
    this.lastId.set(s.subarray(at + 2, at + 2 + length));
    this.lastIdLength = length;
    const streamNo = entryStreamNo(s, at);
    assert(this.tally.add(streamNo), () => `stream number ${streamNo} is below the stream count ${this.tally.streamCount}`);
    if (this.count === 0) this.pushFence(s.subarray(at + 2, at + 2 + length));
    this.offsets[this.count++] = at;
    this.stagedBytes += entryBytes(length);
  }

  private pushFence(id: Uint8Array): void {
    while (this.fenceBytes + 2 + id.length > this.fence.length) {
      const grown = new Uint8Array(this.fence.length * 2);
      grown.set(this.fence.subarray(0, this.fenceBytes));
      this.fence = grown;
    }
    setU16(this.fence, this.fenceBytes, id.length);
    this.fence.set(id, this.fenceBytes + 2);
    this.fenceBytes += 2 + id.length;
  }

  private seal(): void {
    assert(this.count > 0, 'a block is sealed with entries');
    const block = this.span.subarray(this.bufferedBlocks * DIRECTORY_BLOCK_BYTES, (this.bufferedBlocks + 1) * DIRECTORY_BLOCK_BYTES);
    const base = BLOCK_HEADER_BYTES + 2 * this.count;
    block.set(this.staging.subarray(0, this.stagedBytes), base);
    for (let i = 0; i < this.count; i++) this.offsets[i] += base;
    sealDirectoryBlock(block, this.blockCount, this.offsets, this.count, this.crc);
    this.blockCount++;
    this.bufferedBlocks++;
    this.count = 0;
    this.stagedBytes = 0;
  }

  /** Writes the sealed blocks of the span; the span is empty (zeros) when it resolves. */
  async flush(): Promise<void> {
    if (this.bufferedBlocks === 0) return;
    const bytes = this.bufferedBlocks * DIRECTORY_BLOCK_BYTES;
    await this.handle.write(this.span.subarray(0, bytes), this.fileOffset);
    this.fileOffset += bytes;
    // Padding after a block's entries must be zero, and the span is reused.
    this.span.fill(0, 0, bytes);
    this.bufferedBlocks = 0;
  }

  /** Seals and writes the last blocks, then the fence, names and recent ids; returns the header to write at offset 0. */
  async finish(summary: DirectorySummary): Promise<DirectoryHeader> {
    if (this.count > 0) {
      if (this.spanFull) await this.flush();
      this.seal();
    }
    await this.flush();
    assert(this.tally.complete(), () => `the directory holds ${this.tally.count} entries whose stream numbers are not exactly 0 .. ${summary.streamCount - 1}`);
    assert(this.fileOffset === directoryBlockOffset(this.blockCount), 'blocks written back to back after the header block');
    const names = encodeNames([...summary.categoryNames, ...summary.eventTypeNames]);
    const fence = this.fence.subarray(0, this.fenceBytes);
    let tailCrc = this.crc.of(fence);
    tailCrc = this.crc.of(names, tailCrc);
    tailCrc = this.crc.of(summary.recentIds, tailCrc);
    tailCrc = this.crc.of(summary.filter, tailCrc);
    const fenceAndNames = new Uint8Array(fence.length + names.length);
    fenceAndNames.set(fence, 0);
    fenceAndNames.set(names, fence.length);
    await this.handle.write(fenceAndNames, this.fileOffset);
    if (summary.recentIds.length > 0) await this.handle.write(summary.recentIds, this.fileOffset + fenceAndNames.length);
    if (summary.filter.length > 0) await this.handle.write(summary.filter, this.fileOffset + fenceAndNames.length + summary.recentIds.length);
    return {
      coveredPosition: summary.coveredPosition,
      streamCount: summary.streamCount,
      blockCount: this.blockCount,
      categoryCount: summary.categoryNames.length,
      eventTypeCount: summary.eventTypeNames.length,
      fenceBytes: fence.length,
      nameBytes: names.length,
      recentIdsBytes: summary.recentIds.length,
      filterBytes: summary.filter.length,
      tailCrc,
    };
  }
}
