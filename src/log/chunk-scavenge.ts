// Rewriting one sealed chunk without the events that can no longer be read (format-spec/log.md §9):
// each such record becomes a *hole* — header, stream id and trailer only, FLAG_SCAVENGED set — so
// positions stay dense and every surviving event keeps its position, offset map and CRC rules.
// The new file is written beside the old one, fdatasync'd, renamed over it and the directory
// fsync'd: a crash at any point leaves the old chunk or the new one, never a mix.

import { join } from 'node:path';
import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import type { Crc32c } from '../wasm/crc32c.js';
import { CHUNK_HEADER_BYTES, chunkFileName, encodeChunkFooter } from '../format/chunk-layout.js';
import {
  FLAG_COMMIT, FLAG_ID_GIVEN, FLAG_SCAVENGED, RECORD_CREATED_AT, RECORD_CRC_AT, RECORD_CRC_FROM, RECORD_DATA_BYTES_AT,
  RECORD_EVENT_TYPE_BYTES_AT, RECORD_FLAGS_AT, RECORD_HEADER_BYTES, RECORD_LENGTH_AT, RECORD_METADATA_BYTES_AT, RECORD_POSITION_AT,
  RECORD_REVISION_AT, RECORD_STREAM_ID_BYTES_AT, RECORD_TRAILER_BYTES,
} from '../format/record-layout.js';
import type { ChunkInfo, ChunkSet } from './chunk-set.js';
import { readFully, type FileSystem } from './file-system.js';
import { readFooterAtEnd } from './footer-reader.js';

/** What a scavenge asks of each live record: true when the event can no longer be read. */
export type RemoveDecision = (streamId: string, revision: number, createdMs: number) => boolean;

export interface ScavengeHooks {
  /** Asked about every record that is not yet a hole (it may cache what it knows per stream). */
  readonly remove: RemoveDecision;
  /** Asked again, without a cache, about every record to be removed, just before the swap. */
  readonly stillRemove: RemoveDecision;
  /**
   * Called synchronously when the new file replaces the old one, in the same turn as the chunk's
   * handle is swapped: the caller moves its index to the new offsets there, so no read sees the
   * new file through the old offsets. `removedBytes` lists, per holed record, its stream id and
   * the bytes it gave back.
   */
  readonly swapped: (recordOffsets: Uint32Array, endOffset: number, removed: readonly { streamId: string; bytes: number }[]) => void;
}

export interface ChunkScavengeResult {
  readonly chunkNumber: number;
  /** Records turned into holes by this pass. */
  readonly eventsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Whether the new file replaced the old one (false: nothing to remove, or metadata changed meanwhile). */
  readonly rewritten: boolean;
}

/** Records handled between two yields to the event loop, so appends and reads go on. */
const RECORDS_PER_SLICE = 500;
/** Bytes of the chunk read between two yields to the event loop. */
const READ_SLICE_BYTES = 4 * 1024 * 1024;
/** The suffix of a chunk being rewritten; recovery removes leftover `.tmp` files. */
const SCAVENGE_TEMP_SUFFIX = '.scavenge.tmp';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Scavenges sealed chunk `chunkNumber` (never the active one): reads it whole, checks every
 * record's CRC (CorruptionError otherwise: damage is never copied), asks `remove` about every
 * record that is not already a hole, and when at least one goes, writes the new chunk and swaps
 * its handle into `chunks`. Returns what it did; the caller updates its global index.
 */
export async function scavengeChunk(fs: FileSystem, chunks: ChunkSet, chunkNumber: number, crc: Crc32c, hooks: ScavengeHooks): Promise<ChunkScavengeResult> {
  const chunk = chunks.get(chunkNumber);
  assert(chunk.sealed && chunkNumber < chunks.count - 1, () => `chunk ${chunkNumber} is sealed and not the active one`);
  const fileName = chunkFileName(chunkNumber);
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
  const view = new DataView(old.buffer, old.byteOffset, old.length);
  const offsets = footer.recordOffsets;
  const holes = new Uint8Array(offsets.length);
  const decided: Decided[] = [];
  let streamAt = -1;
  let streamBytes = 0;
  let streamId = '';
  for (let i = 0; i < offsets.length; i++) {
    if (i > 0 && i % RECORDS_PER_SLICE === 0) await yieldTurn();
    const at = offsets[i];
    const length = view.getUint32(at + RECORD_LENGTH_AT, true);
    const next = i + 1 < offsets.length ? offsets[i + 1] : endOffset;
    if (at + length !== next) throw new CorruptionError({ file: fileName, offset: at, reason: `record of ${length} bytes does not end where the next begins (${next})` });
    const expected = view.getUint32(at + RECORD_CRC_AT, true);
    const actual = crc.of(old.subarray(at + RECORD_CRC_FROM, at + length));
    if (expected !== actual) throw new CorruptionError({ file: fileName, offset: at, reason: 'record CRC mismatch', expectedCrc: expected, actualCrc: actual });
    const position = Number(view.getBigUint64(at + RECORD_POSITION_AT, true));
    if (position !== chunk.header.firstPosition + i) throw new CorruptionError({ file: fileName, offset: at, reason: `record holds position ${position}, expected ${chunk.header.firstPosition + i}` });
    if (view.getUint16(at + RECORD_FLAGS_AT, true) & FLAG_SCAVENGED) continue;
    const thisStreamBytes = view.getUint16(at + RECORD_STREAM_ID_BYTES_AT, true);
    const thisStreamAt = at + RECORD_HEADER_BYTES;
    if (streamAt < 0 || thisStreamBytes !== streamBytes || old.compare(old, streamAt, streamAt + streamBytes, thisStreamAt, thisStreamAt + thisStreamBytes) !== 0) {
      streamId = utf8.decode(old.subarray(thisStreamAt, thisStreamAt + thisStreamBytes));
      streamBytes = thisStreamBytes;
    }
    streamAt = thisStreamAt;
    const revision = Number(view.getBigUint64(at + RECORD_REVISION_AT, true));
    const createdMs = Number(view.getBigInt64(at + RECORD_CREATED_AT, true));
    if (hooks.remove(streamId, revision, createdMs)) {
      holes[i] = 1;
      decided.push({ index: i, streamId, revision, createdMs });
    }
  }
  if (decided.length === 0) return { chunkNumber, eventsRemoved: 0, bytesBefore: size, bytesAfter: size, rewritten: false };
  return rewrite(fs, chunks, chunk, old, offsets, holes, decided, size, crc, hooks);
}

interface Decided {
  readonly index: number;
  readonly streamId: string;
  readonly revision: number;
  readonly createdMs: number;
}

function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function rewrite(
  fs: FileSystem, chunks: ChunkSet, chunk: ChunkInfo, old: Buffer, offsets: Uint32Array, holes: Uint8Array, decided: readonly Decided[],
  sizeBefore: number, crc: Crc32c, hooks: ScavengeHooks,
): Promise<ChunkScavengeResult> {
  const view = new DataView(old.buffer, old.byteOffset, old.length);
  const body = Buffer.allocUnsafe(old.length);
  old.copy(body, 0, 0, CHUNK_HEADER_BYTES);
  const newOffsets = new Uint32Array(offsets.length);
  let out = CHUNK_HEADER_BYTES;
  let bodyChecksum = 0;
  for (let i = 0; i < offsets.length; i++) {
    if (i > 0 && i % RECORDS_PER_SLICE === 0) await yieldTurn();
    const at = offsets[i];
    const length = view.getUint32(at + RECORD_LENGTH_AT, true);
    newOffsets[i] = out;
    let written = length;
    if (holes[i] === 0) {
      old.copy(body, out, at, at + length);
    } else {
      const streamBytes = view.getUint16(at + RECORD_STREAM_ID_BYTES_AT, true);
      const holeBytes = RECORD_HEADER_BYTES + streamBytes + RECORD_TRAILER_BYTES;
      old.copy(body, out, at, at + RECORD_HEADER_BYTES + streamBytes);
      const hole = new DataView(body.buffer, body.byteOffset + out, holeBytes);
      hole.setUint32(RECORD_LENGTH_AT, holeBytes, true);
      hole.setUint16(RECORD_FLAGS_AT, (view.getUint16(at + RECORD_FLAGS_AT, true) & (FLAG_COMMIT | FLAG_ID_GIVEN)) | FLAG_SCAVENGED, true);
      hole.setUint16(RECORD_EVENT_TYPE_BYTES_AT, 0, true);
      hole.setUint32(RECORD_METADATA_BYTES_AT, 0, true);
      hole.setUint32(RECORD_DATA_BYTES_AT, 0, true);
      hole.setUint32(holeBytes - RECORD_TRAILER_BYTES, holeBytes, true);
      hole.setUint32(RECORD_CRC_AT, crc.of(body.subarray(out + RECORD_CRC_FROM, out + holeBytes)), true);
      written = holeBytes;
    }
    // The footer's body checksum chains the length and CRC fields of every record (log.md §4).
    bodyChecksum = crc.of(body.subarray(out, out + RECORD_CRC_FROM), bodyChecksum);
    out += written;
  }
  const footer = encodeChunkFooter({ recordCount: offsets.length, nextPosition: chunk.nextPosition, bodyBytes: out - CHUNK_HEADER_BYTES, bodyChecksum, recordOffsets: newOffsets }, crc);
  const fileName = chunkFileName(chunk.header.chunkNumber);
  const path = chunks.path(chunk.header.chunkNumber);
  const temp = join(chunks.dir, `${fileName}${SCAVENGE_TEMP_SUFFIX}`);
  await fs.unlink(temp).catch(() => undefined);
  const handle = await fs.open(temp, 'create');
  try {
    await handle.write(body.subarray(0, out), 0);
    await handle.write(footer, out);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const reopened = await fs.open(temp, 'read');
  // The decisions were made before the file was written; metadata appended meanwhile (a raised
  // $maxCount, say) may have made some of those events readable again: then this chunk is left
  // as it is (a later scavenge sees it again).
  if (decided.some((d) => !hooks.stillRemove(d.streamId, d.revision, d.createdMs))) {
    await reopened.close();
    await fs.unlink(temp);
    return { chunkNumber: chunk.header.chunkNumber, eventsRemoved: 0, bytesBefore: sizeBefore, bytesAfter: sizeBefore, rewritten: false };
  }
  await fs.rename(temp, path);
  await fs.syncDir(chunks.dir);
  // One synchronous step: the handle, the end and (in `swapped`) the caller's offsets move together.
  const previous = chunk.handle;
  chunk.handle = reopened;
  chunk.endOffset = out;
  hooks.swapped(newOffsets, out, decided.map((d) => {
    const at = offsets[d.index];
    return { streamId: d.streamId, bytes: view.getUint32(at + RECORD_LENGTH_AT, true) - (RECORD_HEADER_BYTES + view.getUint16(at + RECORD_STREAM_ID_BYTES_AT, true) + RECORD_TRAILER_BYTES) };
  }));
  await previous.close();
  return { chunkNumber: chunk.header.chunkNumber, eventsRemoved: decided.length, bytesBefore: sizeBefore, bytesAfter: out + footer.length, rewritten: true };
}
