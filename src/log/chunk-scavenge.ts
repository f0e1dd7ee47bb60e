// Scavenging the sealed chunks of the log (format-spec/log.md §9). Each record no read can show any
// more becomes a *hole* — header, stream id and trailer only, FLAG_SCAVENGED set — so positions
// stay dense and every surviving event keeps its position and bytes; and neighbouring sealed files
// whose records, so scavenged, fit in one chunk's capacity are merged into one file that covers
// their chunk numbers. A new file is written beside the old ones, fdatasync'd, renamed over the
// first of them and the directory fsync'd; only then are the others deleted and the directory
// fsync'd again. A crash at any point leaves the old files or the new one (recovery, §6, deletes
// the leftovers of a merge), never a mix.

import { join } from 'node:path';
import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { READ_SPAN_BYTES, RECORD_BYTES_MAX } from '../util/limits.js';
import type { Crc32c } from '../wasm/crc32c.js';
import type { Wasm } from '../wasm/kernels.js';
import { CHUNK_HEADER_BYTES, chunkFileName, encodeChunkFooter, encodeChunkHeader, type ChunkHeader } from '../format/chunk-layout.js';
import {
  FLAG_COMMIT, FLAG_ID_GIVEN, FLAG_SCAVENGED, RECORD_CRC_AT, RECORD_CRC_FROM, RECORD_DATA_BYTES_AT, RECORD_EVENT_TYPE_BYTES_AT,
  RECORD_FLAGS_AT, RECORD_HEADER_BYTES, RECORD_LENGTH_AT, RECORD_METADATA_BYTES_AT, RECORD_STREAM_ID_BYTES_AT, RECORD_TRAILER_BYTES,
} from '../format/record-layout.js';
import type { ChunkInfo, ChunkSet } from './chunk-set.js';
import { readFully, type FileSystem } from './file-system.js';
import { readFooterAtEnd } from './footer-reader.js';
import { SealedRecordCheck } from './sealed-record-check.js';

/** What a scavenge asks of each live record: true when the event can no longer be read. */
export type RemoveDecision = (streamId: string, revision: number, createdMs: number) => boolean;

/** A new file in place of the sealed files covering chunks firstChunkNumber..lastChunkNumber. */
export interface ChunkSwap {
  readonly firstChunkNumber: number;
  readonly lastChunkNumber: number;
  /** Position of its first record (that of the first file it replaces). */
  readonly firstPosition: number;
  /** File offset of each of its records, in position order: the same positions as before. */
  readonly recordOffsets: Uint32Array;
  readonly endOffset: number;
  /** Per stream with records turned into holes: the bytes those records gave back, summed. */
  readonly removedBytes: ReadonlyMap<string, number>;
}

export interface ScavengeHooks {
  /** Asked about every record that is not yet a hole (it may cache what it knows per stream). */
  readonly remove: RemoveDecision;
  /**
   * Called just before the swap; the decision it returns is asked again about every record to be
   * removed, all in that same turn. It must look afresh (nothing `remove` cached), and may cache
   * per stream for that turn: nothing can change a stream's metadata within it.
   */
  readonly recheck: () => RemoveDecision;
  /**
   * Called synchronously when a new file replaces old ones, in the same turn as the chunk set
   * swaps their handles: the caller moves its index to the new offsets there, so no read sees the
   * new file through the old offsets.
   */
  readonly swapped: (swap: ChunkSwap) => void;
  /**
   * Awaited after each sealed file has been read and decided, with its size in bytes: the caller
   * paces the scavenge here and may drop what it cached per file. Resolving false stops the
   * scavenge: no further file is read, and files read but not yet written stay as they are.
   */
  readonly fileRead: (sizeBytes: number) => Promise<boolean>;
}

export interface LogScavengeResult {
  /** Sealed chunk files read (a merged file counts once). */
  readonly filesScanned: number;
  /** New files swapped in, each in place of one file or of several merged. */
  readonly filesWritten: number;
  /** Of those, the ones that merged two files or more. */
  readonly filesMerged: number;
  /** Files that are gone, merged into a neighbour: the log has this many files fewer. */
  readonly filesRemoved: number;
  /** Records turned into holes. */
  readonly eventsRemoved: number;
  /** Bytes of the files replaced minus bytes of the files that replaced them. */
  readonly bytesReclaimed: number;
}

/** Records handled between two yields to the event loop, so appends and reads go on. */
const RECORDS_PER_SLICE = 500;
/** Bytes of records checked in one call, between two yields (at least one record, however large). */
const CHECK_SPAN_BYTES = READ_SPAN_BYTES;
/** Bytes of the chunk read between two yields to the event loop. */
const READ_SLICE_BYTES = 4 * 1024 * 1024;
/** The suffix of a chunk file being written by a scavenge; recovery removes leftover `.tmp` files. */
const SCAVENGE_TEMP_SUFFIX = '.scavenge.tmp';
/** Records whose length and CRC fields are gathered (8 bytes each) before one CRC call chains them. */
const CHECKSUM_BATCH_RECORDS = 32 * 1024;

// BodyChecksum copies a record's first RECORD_CRC_FROM bytes as its two u32 fields.
assert(RECORD_LENGTH_AT === 0 && RECORD_CRC_AT === 4 && RECORD_CRC_FROM === 8, 'a record starts with its u32 length and u32 CRC');

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Decided {
  readonly index: number;
  readonly streamId: string;
  readonly revision: number;
  readonly createdMs: number;
  /** Bytes the record gives back as a hole. */
  readonly bytes: number;
}

/** One sealed file, read, checked and decided. */
interface ReadFile {
  readonly chunk: ChunkInfo;
  readonly sizeBytes: number;
  /** The file's header and records, as read. */
  readonly old: Buffer;
  readonly offsets: Uint32Array;
  readonly decided: readonly Decided[];
  /** Bytes its records take once the decided ones are holes. */
  readonly bodyBytesAfter: number;
  /** The bytes the decided records give back, summed per stream. */
  readonly removedBytes: ReadonlyMap<string, number>;
}

/** A file's records as they go into the new file: survivors as they were, holes. */
interface Member {
  readonly chunk: ChunkInfo;
  readonly sizeBytes: number;
  readonly body: Buffer;
  /** Offset of each record in `body`. */
  readonly offsets: Uint32Array;
  readonly decided: readonly Decided[];
  readonly removedBytes: ReadonlyMap<string, number>;
  /** The footer's body checksum of its group up to and including this file's records. */
  readonly bodyChecksum: number;
}

interface Totals {
  filesScanned: number;
  filesWritten: number;
  filesMerged: number;
  filesRemoved: number;
  eventsRemoved: number;
  bytesReclaimed: number;
}

/**
 * Scavenges the files sealed when it starts (never the active chunk, nor chunks sealed meanwhile):
 * reads each whole, checks every record (length, fields, CRC and position through the WASM record
 * scan, offsets against the footer's: CorruptionError otherwise: damage is never copied, and
 * nothing more is written), asks `remove` about every record that is not already a hole. Walking the files in order, it gathers neighbours while their records, holes made, fit
 * in the first one's capacity; a gathering of several files, or one file with a record to remove,
 * is written as one new file and swapped into `chunks`. Returns what it did.
 */
export async function scavengeLog(fs: FileSystem, chunks: ChunkSet, wasm: Wasm, crc: Crc32c, hooks: ScavengeHooks): Promise<LogScavengeResult> {
  const sealed = chunks.all().slice(0, -1);
  const totals: Totals = { filesScanned: 0, filesWritten: 0, filesMerged: 0, filesRemoved: 0, eventsRemoved: 0, bytesReclaimed: 0 };
  const check = new SealedRecordCheck(wasm, RECORD_BYTES_MAX, RECORDS_PER_SLICE, CHECK_SPAN_BYTES);
  try {
    let group: Member[] = [];
    let groupBodyBytes = 0;
    for (const chunk of sealed) {
      const read = await readAndDecide(chunk, crc, check, hooks.remove);
      totals.filesScanned++;
      const goOn = await hooks.fileRead(read.sizeBytes);
      if (!goOn) return totals;
      // The group is written before this file's records are compacted, so that at most one group
      // (≤ one chunk's capacity) and one file's bytes are held at once.
      if (group.length > 0 && CHUNK_HEADER_BYTES + groupBodyBytes + read.bodyBytesAfter > group[0].chunk.header.chunkSizeBytes) {
        await writeGroup(fs, chunks, group, crc, hooks, totals);
        group = [];
        groupBodyBytes = 0;
      }
      // The footer's body checksum runs over the whole group: each file's records continue the chain.
      group.push(await compact(read, crc, group.length === 0 ? 0 : group[group.length - 1].bodyChecksum));
      groupBodyBytes += read.bodyBytesAfter;
    }
    await writeGroup(fs, chunks, group, crc, hooks, totals);
    return totals;
  } finally {
    check.free();
  }
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Reads sealed file `chunk` whole, checks every record and decides which become holes. */
async function readAndDecide(chunk: ChunkInfo, crc: Crc32c, check: SealedRecordCheck, remove: RemoveDecision): Promise<ReadFile> {
  assert(chunk.sealed, () => `${chunk.fileName} is sealed`);
  const fileName = chunk.fileName;
  const size = chunk.handle.size();
  const footer = readFooterAtEnd(chunk.handle, fileName, size, crc);
  if (footer === null) throw new CorruptionError({ file: fileName, offset: size, reason: 'a sealed chunk has no valid footer at its end' });
  const endOffset = CHUNK_HEADER_BYTES + footer.bodyBytes;
  if (endOffset !== chunk.endOffset) throw new CorruptionError({ file: fileName, offset: endOffset, reason: `footer says the records end at ${endOffset}, the log at ${chunk.endOffset}` });
  const old = Buffer.allocUnsafe(endOffset);
  for (let at = 0; at < endOffset; at += READ_SLICE_BYTES) {
    const length = Math.min(READ_SLICE_BYTES, endOffset - at);
    if (readFully(chunk.handle, old, at, length, at) !== length) throw new CorruptionError({ file: fileName, offset: at, reason: 'chunk shorter than its footer says' });
    await yieldTurn();
  }
  const offsets = footer.recordOffsets;
  if (offsets.length !== chunk.nextPosition - chunk.header.firstPosition) {
    throw new CorruptionError({ file: fileName, offset: size, reason: `footer maps ${offsets.length} records, the log holds ${chunk.nextPosition - chunk.header.firstPosition} in this file` });
  }
  const decided: Decided[] = [];
  const removedBytes = new Map<string, number>();
  let bodyBytesAfter = endOffset - CHUNK_HEADER_BYTES;
  let streamAt = -1;
  let streamBytes = 0;
  let streamId = '';
  for (let first = 0; first < offsets.length;) {
    if (first > 0) await yieldTurn();
    // Every record of the span is checked before any of them is decided on (and so long before
    // compact copies it).
    const count = check.check(fileName, old, offsets, first, endOffset, chunk.header.firstPosition);
    for (let k = 0; k < count; k++) {
      if (check.flags[k] & FLAG_SCAVENGED) continue;
      const i = first + k;
      const thisStreamBytes = check.streamIdBytes[k];
      const thisStreamAt = offsets[i] + RECORD_HEADER_BYTES;
      if (streamAt < 0 || thisStreamBytes !== streamBytes || old.compare(old, streamAt, streamAt + streamBytes, thisStreamAt, thisStreamAt + thisStreamBytes) !== 0) {
        streamId = utf8.decode(old.subarray(thisStreamAt, thisStreamAt + thisStreamBytes));
        streamBytes = thisStreamBytes;
      }
      streamAt = thisStreamAt;
      const revision = check.revision[k];
      const createdMs = check.createdMs[k];
      if (remove(streamId, revision, createdMs)) {
        const bytes = check.recordBytes[k] - (RECORD_HEADER_BYTES + thisStreamBytes + RECORD_TRAILER_BYTES);
        decided.push({ index: i, streamId, revision, createdMs, bytes });
        removedBytes.set(streamId, (removedBytes.get(streamId) ?? 0) + bytes);
        bodyBytesAfter -= bytes;
      }
    }
    first += count;
  }
  return { chunk, sizeBytes: size, old, offsets, decided, bodyBytesAfter, removedBytes };
}

/**
 * The footer's body checksum (log.md §4: CRC32C of the concatenated first 8 bytes of every record)
 * gathered in batches while the records are written: one CRC call per batch instead of one per
 * record, and no second pass over the new file's records, by then out of the CPU caches.
 */
class BodyChecksum {
  private readonly fields = new Uint8Array(CHECKSUM_BATCH_RECORDS * RECORD_CRC_FROM);
  private readonly fieldsView = new DataView(this.fields.buffer);
  private filledBytes = 0;

  /** Continues the chain from `value` (0 for a new file's first record). */
  constructor(private readonly crc: Crc32c, private value: number) {}

  /** Adds the length and CRC fields of the record at `at` in `source`. */
  add(source: DataView, at: number): void {
    this.fieldsView.setUint32(this.filledBytes, source.getUint32(at + RECORD_LENGTH_AT, true), true);
    this.fieldsView.setUint32(this.filledBytes + RECORD_CRC_AT, source.getUint32(at + RECORD_CRC_AT, true), true);
    this.filledBytes += RECORD_CRC_FROM;
    if (this.filledBytes === this.fields.length) this.flush();
  }

  /** The checksum of every record added so far. */
  result(): number {
    this.flush();
    return this.value;
  }

  private flush(): void {
    this.value = this.crc.of(this.fields.subarray(0, this.filledBytes), this.value);
    this.filledBytes = 0;
  }
}

/**
 * The file's records with the decided ones made holes, back to back from offset 0, and the body
 * checksum chained on from `checksumBefore` (that of the group's records before this file's).
 */
async function compact(read: ReadFile, crc: Crc32c, checksumBefore: number): Promise<Member> {
  const { chunk, sizeBytes, old, offsets, decided, removedBytes } = read;
  const view = new DataView(old.buffer, old.byteOffset, old.length);
  const checksum = new BodyChecksum(crc, checksumBefore);
  const newOffsets = new Uint32Array(offsets.length);
  if (decided.length === 0) {
    // Nothing removed: the records go as they are (a view of what was read, no copy).
    for (let i = 0; i < offsets.length; i++) {
      if (i > 0 && i % RECORDS_PER_SLICE === 0) await yieldTurn();
      newOffsets[i] = offsets[i] - CHUNK_HEADER_BYTES;
      checksum.add(view, offsets[i]);
    }
    return { chunk, sizeBytes, body: old.subarray(CHUNK_HEADER_BYTES), offsets: newOffsets, decided, removedBytes, bodyChecksum: checksum.result() };
  }
  const body = Buffer.allocUnsafe(read.bodyBytesAfter);
  const bodyView = new DataView(body.buffer, body.byteOffset, body.length);
  let out = 0;
  let next = 0;
  // Survivors next to each other are copied as one run (readAndDecide checked that each record
  // ends where the next begins): a copy call per record cost more than the bytes it moved. A run
  // ends at each yield, so one copy never holds the event loop longer than a slice's records.
  let runFrom = 0;
  let runBytes = 0;
  for (let i = 0; i < offsets.length; i++) {
    if (i > 0 && i % RECORDS_PER_SLICE === 0) {
      if (runBytes > 0) old.copy(body, out - runBytes, runFrom, runFrom + runBytes);
      runBytes = 0;
      await yieldTurn();
    }
    const at = offsets[i];
    const length = view.getUint32(at + RECORD_LENGTH_AT, true);
    newOffsets[i] = out;
    if (next >= decided.length || decided[next].index !== i) {
      if (runBytes === 0) runFrom = at;
      runBytes += length;
      checksum.add(view, at);
      out += length;
      continue;
    }
    if (runBytes > 0) {
      old.copy(body, out - runBytes, runFrom, runFrom + runBytes);
      runBytes = 0;
    }
    next++;
    const streamBytes = view.getUint16(at + RECORD_STREAM_ID_BYTES_AT, true);
    const holeBytes = RECORD_HEADER_BYTES + streamBytes + RECORD_TRAILER_BYTES;
    old.copy(body, out, at, at + RECORD_HEADER_BYTES + streamBytes);
    bodyView.setUint32(out + RECORD_LENGTH_AT, holeBytes, true);
    bodyView.setUint16(out + RECORD_FLAGS_AT, (view.getUint16(at + RECORD_FLAGS_AT, true) & (FLAG_COMMIT | FLAG_ID_GIVEN)) | FLAG_SCAVENGED, true);
    bodyView.setUint16(out + RECORD_EVENT_TYPE_BYTES_AT, 0, true);
    bodyView.setUint32(out + RECORD_METADATA_BYTES_AT, 0, true);
    bodyView.setUint32(out + RECORD_DATA_BYTES_AT, 0, true);
    bodyView.setUint32(out + holeBytes - RECORD_TRAILER_BYTES, holeBytes, true);
    bodyView.setUint32(out + RECORD_CRC_AT, crc.of(body.subarray(out + RECORD_CRC_FROM, out + holeBytes)), true);
    checksum.add(bodyView, out);
    out += holeBytes;
  }
  if (runBytes > 0) old.copy(body, out - runBytes, runFrom, runFrom + runBytes);
  assert(out === body.length && next === decided.length, 'the compacted records take the bytes counted for them');
  return { chunk, sizeBytes, body, offsets: newOffsets, decided, removedBytes, bodyChecksum: checksum.result() };
}

/**
 * Writes `group` (neighbouring sealed files, in order) as one new file named by its first chunk
 * number and swaps it in — unless it is one file with nothing to remove, or the metadata changed
 * meanwhile so that a decided record is readable again (then nothing changes; a later scavenge
 * sees the files again).
 */
async function writeGroup(fs: FileSystem, chunks: ChunkSet, group: readonly Member[], crc: Crc32c, hooks: ScavengeHooks, totals: Totals): Promise<void> {
  if (group.length === 0 || (group.length === 1 && group[0].decided.length === 0)) return;
  const first = group[0].chunk;
  const last = group[group.length - 1].chunk;
  const header: ChunkHeader = {
    chunkNumber: first.header.chunkNumber,
    lastChunkNumber: last.header.lastChunkNumber,
    firstPosition: first.header.firstPosition,
    chunkSizeBytes: first.header.chunkSizeBytes,
    createdMs: first.header.createdMs,
  };
  const recordCount = group.reduce((sum, m) => sum + m.offsets.length, 0);
  const recordOffsets = new Uint32Array(recordCount);
  let out = CHUNK_HEADER_BYTES;
  let k = 0;
  for (const member of group) {
    for (let i = 0; i < member.offsets.length; i++) {
      if (k > 0 && k % (RECORDS_PER_SLICE * 8) === 0) await yieldTurn();
      recordOffsets[k++] = out + member.offsets[i];
    }
    out += member.body.length;
  }
  // Each member continued the chain of the one before it: the last holds the group's checksum.
  const bodyChecksum = group[group.length - 1].bodyChecksum;
  assert(out <= header.chunkSizeBytes, () => `the new file's records end at ${out}, within its capacity ${header.chunkSizeBytes}`);
  const footer = encodeChunkFooter({ recordCount, nextPosition: last.nextPosition, bodyBytes: out - CHUNK_HEADER_BYTES, bodyChecksum, recordOffsets }, crc);
  const fileName = chunkFileName(header.chunkNumber);
  const temp = join(chunks.dir, `${fileName}${SCAVENGE_TEMP_SUFFIX}`);
  await fs.unlink(temp).catch(() => undefined);
  const handle = await fs.open(temp, 'create');
  try {
    await handle.write(encodeChunkHeader(header, crc), 0);
    let at = CHUNK_HEADER_BYTES;
    for (const member of group) {
      await handle.write(member.body, at);
      at += member.body.length;
    }
    await handle.write(footer, out);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const reopened = await fs.open(temp, 'read');
  // The decisions were made before the file was written; metadata appended meanwhile (a raised
  // $maxCount, say) may have made some of those events readable again: then the files are left
  // as they are (a later scavenge sees them again).
  const stillRemove = hooks.recheck();
  if (group.some((m) => m.decided.some((d) => !stillRemove(d.streamId, d.revision, d.createdMs)))) {
    await reopened.close();
    await fs.unlink(temp);
    return;
  }
  // The new file is complete and durable before its name is: the rename makes it the log's file
  // for all its chunk numbers at once (recovery ignores, then deletes, the old files it covers).
  await fs.rename(temp, chunks.path(header.chunkNumber));
  await fs.syncDir(chunks.dir);
  const merged: ChunkInfo = { header, fileName, handle: reopened, sealed: true, endOffset: out, nextPosition: last.nextPosition };
  // Summed per stream before the swap: `swapped` then updates one count per stream, not per record.
  const removedBytes = group.length === 1 ? group[0].removedBytes : sumRemovedBytes(group);
  // One synchronous step: the handles, the ends and (in `swapped`) the caller's offsets move together.
  const replaced = chunks.replace(merged);
  hooks.swapped({
    firstChunkNumber: header.chunkNumber, lastChunkNumber: header.lastChunkNumber, firstPosition: header.firstPosition, recordOffsets, endOffset: out,
    removedBytes,
  });
  for (const old of replaced) await old.handle.close();
  totals.filesWritten++;
  totals.eventsRemoved += group.reduce((sum, m) => sum + m.decided.length, 0);
  totals.bytesReclaimed += group.reduce((sum, m) => sum + m.sizeBytes, 0) - (out + footer.length);
  if (group.length === 1) return;
  totals.filesMerged++;
  totals.filesRemoved += group.length - 1;
  // Only once the rename is durable may the merged files go: until then a power loss can bring
  // back the old first file, which needs the others.
  for (const member of group.slice(1)) await fs.unlink(chunks.path(member.chunk.header.chunkNumber));
  await fs.syncDir(chunks.dir);
}

/** The bytes the members' decided records give back, summed per stream over the group. */
function sumRemovedBytes(group: readonly Member[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const member of group) {
    for (const [streamId, bytes] of member.removedBytes) sum.set(streamId, (sum.get(streamId) ?? 0) + bytes);
  }
  return sum;
}
