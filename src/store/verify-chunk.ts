// `annal verify` for one chunk file: header (§2.3), every record and transaction (§3), the footer
// of a sealed chunk (§4) or the tail of the active one (§6 step 5), and stream revisions. Read only.

import { join } from 'node:path';
import { CorruptionError } from '../util/errors.js';
import { VERIFY_TAIL_BLOCK_BYTES } from '../util/limits.js';
import {
  CHUNK_HEADER_BYTES, FOOTER_FIXED_BYTES, decodeChunkHeader,
  footerBytes, type ChunkFooter, type ChunkHeader,
} from '../format/chunk-layout.js';
import type { Checkpoint } from '../format/checkpoint.js';
import { emptyDecodedRecord } from '../format/record-decoder.js';
import { DEC_DESC_BYTES, RECORD_HEADER_BYTES, StopReason, stopReasonName } from '../format/record-layout.js';
import type { ChunkScan, ScannedSpan } from '../log/chunk-scanner.js';
import { readFully, type FileHandle } from '../log/file-system.js';
import { readFooterAt, readFooterAtEnd } from '../log/footer-reader.js';
import { stopRevisionChecks, type VerifyContext } from './verify-context.js';

export interface ChunkToVerify {
  readonly name: string;
  readonly chunkNumber: number;
  readonly isLast: boolean;
  /** Where the previous chunk ended; null when unknown (it was missing or damaged). */
  readonly expectedFirstPosition: number | null;
  readonly checkpoint: Checkpoint | null;
}

export interface ChunkVerdict {
  readonly fileName: string;
  sealed: boolean;
  readonly sizeBytes: number;
  /** File offset just past the last valid committed record. */
  endOffset: number;
  /** Position after the last valid committed record. */
  nextPositionScanned: number;
  /** Where the next chunk must start; null when unknown. */
  nextPosition: number | null;
  /** Where and why the record scan stopped. */
  stopOffset: number;
  stopReason: string;
}

/** Checks chunk file `chunk.name`, adding its issues to `ctx`; never writes. */
export async function verifyChunk(ctx: VerifyContext, chunk: ChunkToVerify): Promise<ChunkVerdict> {
  const handle = await ctx.fs.open(join(ctx.dir, chunk.name), 'read');
  try {
    return checkChunk(ctx, handle, chunk);
  } finally {
    await handle.close();
  }
}

function checkChunk(ctx: VerifyContext, handle: FileHandle, chunk: ChunkToVerify): ChunkVerdict {
  const name = chunk.name;
  const progressBase = ctx.bytesDone;
  const verdict: ChunkVerdict = {
    fileName: name, sealed: false, sizeBytes: handle.size(), endOffset: CHUNK_HEADER_BYTES, nextPositionScanned: 0, nextPosition: null,
    stopOffset: 0, stopReason: 'chunk header damaged',
  };
  const header = readHeader(ctx, handle, chunk);
  if (header === null) {
    stopRevisionChecks(ctx, name, 0);
    return verdict;
  }
  const { scan, bodyChecksum } = scanRecords(ctx, handle, name, header, progressBase);
  verdict.endOffset = scan.endOffset;
  verdict.nextPositionScanned = scan.nextPosition;
  verdict.stopOffset = scan.stopOffset;
  verdict.stopReason = stopReasonName(scan.stopReason) + (scan.uncommittedRecords > 0 ? ` after ${scan.uncommittedRecords} records of an incomplete transaction` : '');
  checkCheckpointOffset(ctx, chunk, header, scan);
  // A merged file (§9) was complete before it got its name: it is never an active chunk.
  const merged = header.lastChunkNumber > header.chunkNumber;
  const footer = footerAt(ctx, handle, name, scan.endOffset, chunk.isLast && !merged);
  if (footer !== null) {
    verdict.sealed = true;
    verdict.nextPosition = scan.nextPosition;
    if (footer !== 'damaged') checkSealed(ctx, handle, name, scan, footer, bodyChecksum, verdict.sizeBytes, chunk.isLast);
    return verdict;
  }
  const ending = readFooterAtEnd(handle, name, verdict.sizeBytes, ctx.crc);
  if (ending !== null) {
    // The file ends in a valid footer, so the chunk was sealed: its records are damaged, not torn.
    ctx.issues.error(name, scan.stopOffset, `sealed chunk is damaged: ${verdict.stopReason}; the records after it are not checked`);
    verdict.sealed = true;
    verdict.nextPosition = ending.nextPosition;
    stopRevisionChecks(ctx, name, scan.stopOffset);
    return verdict;
  }
  if (!chunk.isLast || merged) {
    ctx.issues.error(name, scan.stopOffset, `${merged ? 'a merged chunk' : 'a chunk before the last'} has no valid footer after its records (damaged or never sealed): ${verdict.stopReason}`);
    stopRevisionChecks(ctx, name, scan.stopOffset);
    return verdict;
  }
  verdict.nextPosition = scan.nextPosition;
  const checkpoint = chunk.checkpoint;
  if (checkpoint !== null && checkpoint.chunkNumber === chunk.chunkNumber && (checkpoint.chunkOffset > scan.endOffset || checkpoint.nextPosition > scan.nextPosition)) {
    // Recovery refuses such a store (§6 step 5): what follows the end is damage, not a torn tail.
    ctx.issues.error(
      name, scan.stopOffset,
      `committed data is damaged: the checkpoint says the log reaches offset ${checkpoint.chunkOffset} (position ${checkpoint.nextPosition}), ` +
        `valid records end at offset ${scan.endOffset} (position ${scan.nextPosition}): ${verdict.stopReason}`,
    );
    return verdict;
  }
  checkActiveTail(ctx, handle, chunk, header, scan, verdict, progressBase);
  return verdict;
}

function readHeader(ctx: VerifyContext, handle: FileHandle, chunk: ChunkToVerify): ChunkHeader | null {
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const read = readFully(handle, bytes, 0, CHUNK_HEADER_BYTES, 0);
  let header: ChunkHeader;
  try {
    header = decodeChunkHeader(bytes.subarray(0, read), chunk.name, ctx.crc);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    ctx.issues.corruption(error);
    return null;
  }
  if (header.chunkNumber !== chunk.chunkNumber) ctx.issues.error(chunk.name, 16, `chunk header names chunk ${header.chunkNumber}`);
  if (chunk.expectedFirstPosition !== null && header.firstPosition !== chunk.expectedFirstPosition) {
    ctx.issues.error(chunk.name, 24, `chunk starts at position ${header.firstPosition}, the previous chunk ends at ${chunk.expectedFirstPosition}`);
    stopRevisionChecks(ctx, chunk.name, 24);
  }
  return header;
}

/** Scans the committed records, feeding each span to the body checksum, the revision check and progress. */
function scanRecords(ctx: VerifyContext, handle: FileHandle, name: string, header: ChunkHeader, progressBase: number): { scan: ChunkScan; bodyChecksum: number } {
  let bodyChecksum = 0;
  const scan = ctx.scanner.scan(handle, header, header.chunkSizeBytes, (span) => {
    bodyChecksum = span.decoder.bodyChecksum(bodyChecksum, span.base, 0, span.count);
    ctx.events += span.count;
    if (ctx.revisionsChecked) checkRevisions(ctx, name, span);
    ctx.bytesDone = progressBase + span.fileOffset + span.committedBytes;
    ctx.progress();
  });
  return { scan, bodyChecksum };
}

/** Every record must carry its stream's next revision (§6 step 7), through the stream-table kernel. */
function checkRevisions(ctx: VerifyContext, name: string, span: ScannedSpan): void {
  const indexed = ctx.streams.indexRecords(span.base, span.bytes, span.decoder.descPtr, span.count * DEC_DESC_BYTES, span.count);
  if (indexed === span.count) return;
  const record = span.decoder.read(indexed, emptyDecodedRecord());
  const at = span.base + record.offset + RECORD_HEADER_BYTES;
  const streamId = ctx.wasm.buf.toString('utf8', at, at + record.streamIdBytes);
  const offset = span.fileOffset + record.offset;
  ctx.issues.error(name, offset, `record at position ${record.position}: revision ${record.revision} of stream '${streamId}' does not follow the stream's last revision`);
  stopRevisionChecks(ctx, name, offset);
}

/** A checkpoint naming this chunk should name a record boundary and the position there. */
function checkCheckpointOffset(ctx: VerifyContext, chunk: ChunkToVerify, header: ChunkHeader, scan: ChunkScan): void {
  const checkpoint = chunk.checkpoint;
  if (checkpoint === null || checkpoint.chunkNumber !== chunk.chunkNumber || checkpoint.chunkOffset > scan.endOffset) return;
  // A checkpoint naming the first chunk of a merged file (§9) names an offset of the file it replaced.
  if (header.lastChunkNumber > header.chunkNumber) return;
  const offsets = scan.recordOffsets;
  let index = checkpoint.chunkOffset === scan.endOffset ? offsets.length : -1;
  for (let lo = 0, hi = offsets.length - 1; index < 0 && lo <= hi;) {
    const mid = (lo + hi) >>> 1;
    if (offsets.get(mid) === checkpoint.chunkOffset) index = mid;
    else if (offsets.get(mid) < checkpoint.chunkOffset) lo = mid + 1;
    else hi = mid - 1;
  }
  if (index < 0) {
    ctx.issues.warn(chunk.name, checkpoint.chunkOffset, 'the checkpoint names an offset that is not a record boundary (recovery does not rely on it)');
  } else if (header.firstPosition + index !== checkpoint.nextPosition) {
    ctx.issues.warn(chunk.name, checkpoint.chunkOffset, `the checkpoint says position ${checkpoint.nextPosition} starts here, the records say ${header.firstPosition + index}`);
  }
}

/**
 * The footer starting at `at`; 'damaged' when its magic is there but the rest is not valid — or,
 * for the last chunk, null with a warning: a seal cut short by a power loss, which recovery
 * treats as an active chunk (log.md §6 step 4).
 */
function footerAt(ctx: VerifyContext, handle: FileHandle, name: string, at: number, isLast: boolean): ChunkFooter | 'damaged' | null {
  try {
    return readFooterAt(handle, name, at, ctx.crc);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    if (isLast) {
      ctx.issues.warn(name, at, `the last chunk's footer is not valid (${error.reason}): a seal cut short; recovery keeps the chunk active`);
      return null;
    }
    ctx.issues.corruption(error);
    return 'damaged';
  }
}

/** A sealed chunk's footer must agree with its records in every field (§4, §6 step 4). */
function checkSealed(ctx: VerifyContext, handle: FileHandle, name: string, scan: ChunkScan, footer: ChunkFooter, bodyChecksum: number, sizeBytes: number, isLast: boolean): void {
  const at = scan.endOffset;
  const count = scan.recordOffsets.length;
  if (count !== footer.recordCount) ctx.issues.error(name, at + 8, `sealed chunk holds ${count} valid records, its footer says ${footer.recordCount}`);
  if (scan.nextPosition !== footer.nextPosition) ctx.issues.error(name, at + 16, `footer next position ${footer.nextPosition}, the records end before ${scan.nextPosition}`);
  if (scan.endOffset - CHUNK_HEADER_BYTES !== footer.bodyBytes) ctx.issues.error(name, at + 24, `footer body length ${footer.bodyBytes}, the records take ${scan.endOffset - CHUNK_HEADER_BYTES}`);
  if (bodyChecksum !== footer.bodyChecksum) ctx.issues.error(name, at + 32, 'body checksum mismatch');
  const mismatches: number[] = [];
  for (let i = 0; i < Math.min(count, footer.recordCount); i++) if (scan.recordOffsets.get(i) !== footer.recordOffsets[i]) mismatches.push(i);
  if (mismatches.length > 0) {
    const i = mismatches[0];
    ctx.issues.error(name, at + FOOTER_FIXED_BYTES + 4 * i, `footer offset of record ${i} (${footer.recordOffsets[i]}) disagrees with the records (${scan.recordOffsets.get(i)})${mismatches.length > 1 ? `; ${mismatches.length} offsets disagree` : ''}`);
  }
  // decodeChunkFooter also checked the trailer (end magic and length), outside the footer CRC.
  const total = footerBytes(footer.recordCount);
  if (sizeBytes !== at + total) {
    // The last chunk can be sealed without its shrink (a seal cut short): recovery finishes it.
    if (isLast) ctx.issues.warn(name, Math.min(sizeBytes, at + total), `file is ${sizeBytes} bytes, its footer ends at ${at + total}: a seal cut short, which recovery finishes`);
    else ctx.issues.error(name, Math.min(sizeBytes, at + total), `file is ${sizeBytes} bytes, its footer ends at ${at + total}`);
  }
}

/**
 * The active chunk after its last committed record: an incomplete transaction or non-zero bytes
 * there are a torn or unacknowledged tail that recovery cuts and zeroes (a warning, not an error).
 */
function checkActiveTail(
  ctx: VerifyContext, handle: FileHandle, chunk: ChunkToVerify, header: ChunkHeader, scan: ChunkScan, verdict: ChunkVerdict, progressBase: number,
): void {
  const name = chunk.name;
  const { count, first } = nonZeroBytes(ctx, handle, scan.endOffset, header.chunkSizeBytes, progressBase);
  if (count > 0 || scan.uncommittedRecords > 0) {
    const parts = [
      ...(scan.uncommittedRecords > 0 ? [`${scan.uncommittedRecords} records of an incomplete transaction`] : []),
      ...(count > 0 ? [`${count} non-zero bytes from offset ${first}`] : []),
    ];
    // Recovery trusts a clean-shutdown checkpoint at this very end when a zero length follows it,
    // and then leaves later stray bytes alone (§6 step 5); otherwise it zeroes the whole tail.
    const checkpoint = chunk.checkpoint;
    const left = checkpoint !== null && checkpoint.clean && checkpoint.chunkNumber === header.chunkNumber &&
      checkpoint.chunkOffset === scan.endOffset && scan.stopReason === StopReason.Zero;
    const fate = left ? 'recovery leaves them (the clean checkpoint and a zero length mark the end)' : 'recovery cuts it';
    ctx.issues.warn(name, scan.endOffset, `torn tail after the last committed record (scan stopped: ${stopReasonName(scan.stopReason)} at ${scan.stopOffset}): ${parts.join(', ')}; ${fate}`);
  }
  if (verdict.sizeBytes < header.chunkSizeBytes) {
    ctx.issues.warn(name, verdict.sizeBytes, `active chunk is ${verdict.sizeBytes} bytes, less than its capacity ${header.chunkSizeBytes} (an interrupted seal?); recovery re-extends it`);
  } else if (verdict.sizeBytes > header.chunkSizeBytes) {
    ctx.issues.warn(name, header.chunkSizeBytes, `active chunk is ${verdict.sizeBytes} bytes, more than its capacity ${header.chunkSizeBytes}`);
  }
}

/** Counts the non-zero bytes in [from, to) (reads past the file's end count as zeros). */
function nonZeroBytes(ctx: VerifyContext, handle: FileHandle, from: number, to: number, progressBase: number): { count: number; first: number } {
  const block = new Uint8Array(Math.min(VERIFY_TAIL_BLOCK_BYTES, Math.max(0, to - from)));
  let count = 0;
  let first = -1;
  for (let at = from; at < to; at += block.length) {
    const read = readFully(handle, block, 0, Math.min(block.length, to - at), at);
    for (let i = 0; i < read; i++) {
      if (block[i] === 0) continue;
      count++;
      if (first < 0) first = at + i;
    }
    ctx.bytesDone = progressBase + at + read;
    ctx.progress();
    if (read === 0) break;
  }
  return { count, first };
}
