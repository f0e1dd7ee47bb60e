// Writes one immutable index file from entries in strictly increasing (key, seq) order, durably:
// to `<name>.tmp`, datasync, rename to `<name>`, fsync the directory. format-spec/index.md §2.3.

import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../log/file-system.js';
import { assert } from '../util/assert.js';
import { GrowableUint32Array } from '../util/growable-array.js';
import { compareKeySeq, ENTRY_WORDS, isU64, joinU64, splitU64, W_KEY_HI, W_KEY_LO, W_SEQ_HI, W_SEQ_LO, W_VALUE_LO, type IndexEntry } from './index-entry.js';
import {
  BLOCK_HEADER_BYTES, BLOCK_HEADER_WORDS, encodeFenceTrailer, encodeIndexFooter, encodeIndexHeader, entriesPerBlock,
  headerCrcOf, INDEX_HEADER_BYTES, indexGeometry, isValidBlockSize, sealBlock, type Crc32cOf,
} from './index-file-format.js';
import { INDEX_BLOCK_BYTES_DEFAULT, INDEX_BLOCK_BYTES_MIN, INDEX_FILE_ENTRIES_MAX, INDEX_LEVEL_MAX, INDEX_WRITE_BUFFER_BYTES } from './index-limits.js';

/** The suffix of a file being written (§2.3): readers ignore it; a crash may leave it behind. */
export const INDEX_TEMP_SUFFIX = '.tmp';

export interface IndexFileWriteOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  /** The final name in `dir`. An existing file of that name is replaced (names should not be reused). */
  readonly fileName: string;
  readonly crc: Crc32cOf;
  readonly level: number;
  /** The log positions the file covers: [fromPosition, toPosition). */
  readonly fromPosition: bigint;
  readonly toPosition: bigint;
  readonly blockSizeBytes?: number;
  /**
   * Default true: the file and its name are durable when finish() resolves. False (a rebuild,
   * whose files no manifest names yet): the data is not fdatasync'd nor the directory fsync'd;
   * the caller makes the file durable (IndexFileReader.sync, then a directory fsync) before naming it.
   */
  readonly durable?: boolean;
}

export interface IndexFileSummary {
  readonly fileName: string;
  readonly level: number;
  readonly entryCount: number;
  readonly blockCount: number;
  readonly fileBytes: number;
  readonly fromPosition: bigint;
  readonly toPosition: bigint;
}

/**
 * Writes `entries` (strictly increasing (key, seq): anything else is a bug and fails an assertion)
 * as index file `options.fileName`. Resolves once the file and its name are durable. If it
 * rejects, the temporary file has been removed when possible, and a file of the final name exists
 * only if the rename happened, in which case it is complete.
 */
export async function writeIndexFile(entries: Iterable<IndexEntry>, options: IndexFileWriteOptions): Promise<IndexFileSummary> {
  const writer = await IndexFileWriter.create(options);
  try {
    for (const entry of entries) {
      writer.add(entry.key, entry.seq, entry.value);
      if (writer.flushNeeded) await writer.flush();
    }
    return await writer.finish();
  } catch (error) {
    await writer.abandon();
    throw error;
  }
}

/**
 * The streaming writer behind writeIndexFile: add() entries, await flush() whenever flushNeeded,
 * then finish(). Entries are gathered into whole blocks in a fixed buffer; the header is written
 * last, when the entry count is known (the file has no name a reader could open until then).
 */
export class IndexFileWriter {
  private readonly blockSizeBytes: number;
  private readonly entriesPerBlock: number;
  private readonly buffer = new Uint8Array(INDEX_WRITE_BUFFER_BYTES);
  private readonly words = new Uint32Array(this.buffer.buffer);
  private readonly fence = new GrowableUint32Array(1024);
  /** (key, seq) words of the last entry added, for the order check and the footer. */
  private readonly last = new Uint32Array(4);
  private entryCount = 0;
  private blockCount = 0;
  /** Entries in the block being filled (the buffer's block number `bufferedBlocks`). */
  private blockFill = 0;
  /** Sealed blocks in the buffer, not yet written. */
  private bufferedBlocks = 0;
  private fileOffset: number;
  private state: 'open' | 'finished' | 'failed' = 'open';
  private handleOpen = true;

  private constructor(private readonly options: IndexFileWriteOptions, private readonly handle: FileHandle, private readonly tempPath: string) {
    this.blockSizeBytes = options.blockSizeBytes ?? INDEX_BLOCK_BYTES_DEFAULT;
    this.entriesPerBlock = entriesPerBlock(this.blockSizeBytes);
    this.fileOffset = this.blockSizeBytes; // block 0 starts after the header's block
  }

  /** Creates `<fileName>.tmp` in `dir`, replacing a stale one a crash left behind. */
  static async create(options: IndexFileWriteOptions): Promise<IndexFileWriter> {
    const blockSizeBytes = options.blockSizeBytes ?? INDEX_BLOCK_BYTES_DEFAULT;
    assert(isValidBlockSize(blockSizeBytes), () => `block size ${blockSizeBytes} is valid`);
    assert(Number.isInteger(options.level) && options.level >= 0 && options.level <= INDEX_LEVEL_MAX, () => `level ${options.level} within [0, ${INDEX_LEVEL_MAX}]`);
    assert(isU64(options.fromPosition) && isU64(options.toPosition) && options.fromPosition <= options.toPosition, 'covered positions form a u64 range');
    assert(!options.fileName.includes('/') && !options.fileName.endsWith(INDEX_TEMP_SUFFIX), () => `'${options.fileName}' is a plain final file name`);
    const tempPath = join(options.dir, options.fileName + INDEX_TEMP_SUFFIX);
    try {
      await options.fs.unlink(tempPath);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
    const handle = await options.fs.open(tempPath, 'create');
    return new IndexFileWriter(options, handle, tempPath);
  }

  /** Whether the buffer is full: await flush() before the next add(). */
  get flushNeeded(): boolean {
    return this.bufferedBlocks * this.blockSizeBytes === this.buffer.length;
  }

  /** Adds one entry; (key, seq) must be greater than the previous entry's. */
  add(key: bigint, seq: bigint, value: bigint): void {
    const at = this.slot();
    const w = this.words;
    splitU64(key, w, at + W_KEY_LO);
    splitU64(seq, w, at + W_SEQ_LO);
    splitU64(value, w, at + W_VALUE_LO);
    this.commitSlot(at);
  }

  /** Adds the entry whose six words (§4 layout) start at source[at]. */
  addWords(source: Uint32Array, at: number): void {
    const to = this.slot();
    for (let i = 0; i < ENTRY_WORDS; i++) this.words[to + i] = source[at + i];
    this.commitSlot(to);
  }

  /** Word index in the buffer where the next entry goes. */
  private slot(): number {
    assert(this.state === 'open', 'entries are added to an open writer');
    assert(!this.flushNeeded, 'flush() before adding to a full buffer');
    assert(this.entryCount < INDEX_FILE_ENTRIES_MAX, 'an index file holds at most INDEX_FILE_ENTRIES_MAX entries');
    return (this.bufferedBlocks * this.blockSizeBytes + BLOCK_HEADER_BYTES) / 4 + this.blockFill * ENTRY_WORDS;
  }

  private commitSlot(at: number): void {
    const w = this.words;
    const last = this.last;
    if (this.entryCount > 0 && compareKeySeq(last, 0, w[at + W_KEY_LO], w[at + W_KEY_HI], w[at + W_SEQ_LO], w[at + W_SEQ_HI]) >= 0) {
      assert(false, () => `index entries must strictly increase: (${joinU64(w[at], w[at + 1])}, ${joinU64(w[at + 2], w[at + 3])}) after (${joinU64(last[0], last[1])}, ${joinU64(last[2], last[3])})`);
    }
    for (let i = 0; i < 4; i++) last[i] = w[at + i];
    if (this.blockFill === 0) for (let i = 0; i < 4; i++) this.fence.push(w[at + i]);
    this.entryCount++;
    if (++this.blockFill === this.entriesPerBlock) this.sealCurrentBlock();
  }

  private sealCurrentBlock(): void {
    const from = this.bufferedBlocks * this.blockSizeBytes;
    sealBlock(this.buffer.subarray(from, from + this.blockSizeBytes), this.blockCount, this.blockFill, this.options.crc);
    this.blockCount++;
    this.bufferedBlocks++;
    this.blockFill = 0;
  }

  /** Writes the sealed blocks gathered so far. The buffer is reusable when it resolves. */
  async flush(): Promise<void> {
    if (this.bufferedBlocks === 0) return;
    const bytes = this.bufferedBlocks * this.blockSizeBytes;
    await this.handle.write(this.buffer.subarray(0, bytes), this.fileOffset);
    this.fileOffset += bytes;
    // Padding after a block's entries must be zero, and the buffer is reused for the next blocks.
    this.buffer.fill(0, 0, bytes);
    this.bufferedBlocks = 0;
  }

  /**
   * Seals the last block, writes the fence table, footer and header, datasyncs, renames the file to
   * its final name and fsyncs the directory. Resolves once the named file is durable.
   */
  async finish(): Promise<IndexFileSummary> {
    assert(this.state === 'open', 'finish() once');
    this.state = 'failed'; // until everything below succeeded
    if (this.blockFill > 0) this.sealCurrentBlock();
    await this.flush();
    const { options, handle } = this;
    const geometry = indexGeometry(this.blockSizeBytes, this.entryCount);
    assert(geometry.blockCount === this.blockCount && this.fileOffset === geometry.fenceOffset, 'blocks written where the geometry puts them');
    const header = encodeIndexHeader({ blockSizeBytes: this.blockSizeBytes, level: options.level, entryCount: this.entryCount, fromPosition: options.fromPosition, toPosition: options.toPosition }, options.crc);
    const fenceWords = this.fence.toArray();
    const fenceTable = new Uint8Array(fenceWords.buffer, 0, fenceWords.byteLength);
    const empty = this.entryCount === 0;
    const footer = encodeIndexFooter({
      entryCount: this.entryCount,
      blockCount: this.blockCount,
      fenceOffset: geometry.fenceOffset,
      lastKey: empty ? 0n : joinU64(this.last[0], this.last[1]),
      lastSeq: empty ? 0n : joinU64(this.last[2], this.last[3]),
      headerCrc: headerCrcOf(header),
    }, options.crc);
    const tail = new Uint8Array(geometry.fileBytes - geometry.fenceOffset);
    tail.set(fenceTable, 0);
    tail.set(encodeFenceTrailer(fenceTable, options.crc), fenceTable.length);
    tail.set(footer, tail.length - footer.length);
    await handle.write(tail, geometry.fenceOffset);
    const first = new Uint8Array(this.blockSizeBytes);
    first.set(header, 0);
    await handle.write(first, 0);
    const durable = options.durable ?? true;
    if (durable) await handle.datasync();
    this.handleOpen = false;
    await handle.close();
    const finalPath = join(options.dir, options.fileName);
    await options.fs.rename(this.tempPath, finalPath);
    if (durable) await options.fs.syncDir(options.dir);
    this.state = 'finished';
    return {
      fileName: options.fileName,
      level: options.level,
      entryCount: this.entryCount,
      blockCount: this.blockCount,
      fileBytes: geometry.fileBytes,
      fromPosition: options.fromPosition,
      toPosition: options.toPosition,
    };
  }

  /**
   * Gives up on the file: closes it and removes the temporary name, best effort (after a failed
   * write or a crash these calls may fail too; recovery deletes leftover `.tmp` files).
   */
  async abandon(): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'failed';
    // Closed at most once: a second close of a file descriptor could close a file opened since.
    if (this.handleOpen) {
      this.handleOpen = false;
      await this.handle.close().catch(() => undefined);
    }
    await this.options.fs.unlink(this.tempPath).catch(() => undefined);
  }

  get entriesAdded(): number {
    return this.entryCount;
  }
}

assert(BLOCK_HEADER_BYTES % 8 === 0 && BLOCK_HEADER_WORDS * 4 === BLOCK_HEADER_BYTES, 'entries are word-aligned in a block');
assert(INDEX_HEADER_BYTES <= INDEX_BLOCK_BYTES_MIN, 'the header fits the first block');
