// Opening a log directory: validates every chunk, decides exactly where the log ends, and feeds
// every committed record to the index builder. format-spec/log.md §6 "Recovery".

import { join } from 'node:path';
import { CorruptionError } from '../util/errors.js';
import type { GrowableUint32Array } from '../util/growable-array.js';
import type { Logger } from '../util/logger.js';
import type { Crc32c } from '../wasm/crc32c.js';
import type { Wasm } from '../wasm/kernels.js';
import {
  CHUNK_HEADER_BYTES, chunkFileName, decodeChunkHeader, footerBytes, parseChunkFileName, type ChunkFooter, type ChunkHeader,
} from '../format/chunk-layout.js';
import { CHECKPOINT_FILE, type Checkpoint } from '../format/checkpoint.js';
import { StopReason, stopReasonName } from '../format/record-layout.js';
import { CheckpointFile } from './checkpoint-file.js';
import { createChunk } from './chunk-files.js';
import { ChunkScanner, type ChunkScan, type SpanVisitor } from './chunk-scanner.js';
import { resolveChunkFiles } from './chunk-directory.js';
import { ChunkSet, type ChunkInfo } from './chunk-set.js';
import { readFully, type FileHandle, type FileSystem } from './file-system.js';
import { readFooterAt, readFooterAtEnd } from './footer-reader.js';
import { zeroTail } from './zero-tail.js';

export interface RecoveryOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly wasm: Wasm;
  readonly crc: Crc32c;
  readonly chunkSizeBytes: number;
  readonly maxRecordBytes: number;
  /** Largest transaction: bounds the scan span. */
  readonly maxTransactionBytes: number;
  readonly logger: Logger;
  readonly nowMs: number;
  /**
   * Records below this position are in persisted index files: a sealed chunk (not the last) that
   * ends at or before it is not scanned; its header and footer are checked and `indexedChunk` is
   * called with its footer's offset map instead of `visit` with its records (their CRCs are still
   * checked on every read). Default 0: every chunk is scanned.
   */
  readonly indexedBefore?: number;
  readonly indexedChunk?: (chunkNumber: number, firstPosition: number, recordOffsets: Uint32Array, endOffset: number) => void;
  /**
   * Called after each sealed chunk before the last was scanned and checked (its records, all
   * visited, are durable and valid): the store flushes its index memtable here, so that a rebuild
   * from the log runs in bounded memory.
   */
  readonly afterSealedChunk?: () => Promise<void>;
  /** Told after each chunk is recovered, for a progress bar. */
  readonly progress?: (chunksDone: number, chunkCount: number) => void;
}

export interface RecoveredLog {
  readonly chunks: ChunkSet;
  readonly checkpointFile: CheckpointFile;
  /** File offsets of the active chunk's records (its footer map when sealed). */
  readonly activeRecordOffsets: GrowableUint32Array;
  /** CRC32C of the active chunk's body so far. */
  readonly activeBodyChecksum: number;
  /** Bytes of an incomplete or torn tail that were cut off (0 after a clean close). */
  readonly truncatedBytes: number;
}

/** Opens (or creates) the log in `dir`, calling `visit` for every committed record in order. */
export async function recoverLog(options: RecoveryOptions, visit: SpanVisitor): Promise<RecoveredLog> {
  const { fs, dir, logger } = options;
  await fs.mkdir(dir);
  const names = await fs.readdir(dir);
  await removeUnfinishedFiles(fs, dir, names);
  const numbers = names.map(parseChunkFileName).filter((n): n is number => n !== null).sort((a, b) => a - b);
  // Two names for one number (chunk-000001.annal and chunk-0000001.annal): which is the log's is
  // unknown, and a repeated number would look like a merge's leftover, whose removal would delete
  // the file the log holds under that number (files are opened by their canonical name).
  const repeated = numbers.find((n, i) => i > 0 && numbers[i - 1] === n);
  if (repeated !== undefined) {
    const taken = names.filter((name) => parseChunkFileName(name) === repeated);
    throw new CorruptionError({ file: chunkFileName(repeated), offset: 0, reason: `chunk number ${repeated} is taken by ${taken.length} files: ${taken.join(', ')}` });
  }
  const { files, superseded } = await chunkFiles(options, numbers);
  // What this process sees may not all be durable: a previous run in this boot may have renamed a
  // file or written data whose fsync then failed. Make the directory durable before trusting it,
  // or a later power loss could take away a chunk the recovered log goes on writing to.
  await fs.syncDir(dir);
  const { file: checkpointFile, checkpoint } = await CheckpointFile.open(fs, dir, options.crc, names.includes(CHECKPOINT_FILE));
  if (checkpoint === null && files.length > 0) {
    logger.warn('checkpoint missing or unreadable: only sealed chunks count as durable for this recovery', { dir });
  }
  const chunks = new ChunkSet(dir);
  const scanner = new ChunkScanner(options.wasm, options.maxRecordBytes, options.maxTransactionBytes);
  try {
    if (files.length === 0) {
      if (checkpoint && checkpoint.nextPosition > 0) {
        throw new CorruptionError({ file: CHECKPOINT_FILE, offset: 0, reason: `checkpoint names ${checkpoint.nextPosition} durable events but no chunk exists` });
      }
      const active = await createChunk(fs, chunks, options.crc, 0, options.chunkSizeBytes, options.nowMs);
      return { chunks, checkpointFile, activeRecordOffsets: scanner.scan(active.handle, active.header, CHUNK_HEADER_BYTES).recordOffsets, activeBodyChecksum: 0, truncatedBytes: 0 };
    }
    let nextPosition = 0;
    let last: { scan: ChunkScan; chunk: ChunkInfo; bodyChecksum: number } | null = null;
    let truncatedBytes = 0;
    for (const [fileIndex, { chunkNumber, lastChunkNumber }] of files.entries()) {
      const isLast = fileIndex === files.length - 1;
      // A merged file (log.md §9) was complete and durable before it was renamed into place: it is
      // never the active chunk, and a damaged footer in it is damage, not a seal cut short.
      const merged = lastChunkNumber > chunkNumber;
      const fileName = chunkFileName(chunkNumber);
      const handle = await fs.open(join(dir, fileName), isLast ? 'readwrite' : 'read', { syncWrites: isLast });
      try {
        // Chunks before the checkpoint's were made durable (sealed and fsync'd) before it was
        // written; later ones are fsync'd now, before their contents are trusted (see above).
        if (checkpoint === null || lastChunkNumber >= checkpoint.chunkNumber) await handle.sync();
        const header = readHeader(handle, fileName, chunkNumber, nextPosition, options.crc);
        const sealedFooter = isLast ? null : durableSealedFooter(options, handle, fileName, header, checkpoint);
        const indexedBefore = options.indexedBefore ?? 0;
        const indexed = sealedFooter !== null && options.indexedChunk !== undefined && indexedBefore > header.firstPosition && sealedFooter.nextPosition <= indexedBefore
          ? sealedFooter : null;
        if (indexed !== null) {
          const endOffset = CHUNK_HEADER_BYTES + indexed.bodyBytes;
          options.indexedChunk!(chunkNumber, header.firstPosition, indexed.recordOffsets, endOffset);
          const chunk: ChunkInfo = { header, fileName, handle, sealed: true, endOffset, nextPosition: indexed.nextPosition };
          chunks.add(chunk);
          nextPosition = indexed.nextPosition;
          options.progress?.(fileIndex + 1, files.length);
          continue;
        }
        let bodyChecksum = 0;
        // A sealed chunk with a valid footer, made durable before the checkpoint, is scanned
        // without its records' CRCs (a rebuild of the indexes goes about a third faster): reads
        // check them, and `annal verify` reads everything. Every other field is still checked,
        // and the footer must agree with the records in every field.
        const scan = scanner.scan(handle, header, header.chunkSizeBytes, (span) => {
          bodyChecksum = span.decoder.bodyChecksum(bodyChecksum, span.base, 0, span.count);
          visit(span);
        }, sealedFooter === null);
        // The footer found at the file's end is the one after the records when the scan agrees
        // (checkSealed compares every field): it is not read a second time.
        const footer = sealedFooter ?? (isLast && !merged ? lastChunkFooter(handle, fileName, scan.endOffset, options) : readFooterAt(handle, fileName, scan.endOffset, options.crc));
        const chunk: ChunkInfo = { header, fileName, handle, sealed: footer !== null, endOffset: scan.endOffset, nextPosition: scan.nextPosition };
        if (footer) {
          checkSealed(fileName, scan, footer, bodyChecksum);
        } else if (!isLast || merged) {
          throw scanError(fileName, scan, merged ? 'a merged chunk has no valid footer after its records' : 'a chunk before the last has no valid footer after its records (damaged or never sealed)');
        } else {
          truncatedBytes = await settleActiveTail(options, handle, fileName, header, scan, checkpoint);
        }
        chunks.add(chunk);
        nextPosition = scan.nextPosition;
        last = { scan, chunk, bodyChecksum };
        if (chunk.sealed && !isLast) await options.afterSealedChunk?.();
        options.progress?.(fileIndex + 1, files.length);
      } catch (error) {
        await handle.close();
        throw error;
      }
    }
    await removeMergeLeftovers(options, superseded);
    if (checkpoint && checkpoint.chunkNumber >= chunks.count) {
      throw new CorruptionError({ file: chunkFileName(checkpoint.chunkNumber), offset: 0, reason: 'chunk named by the checkpoint is missing' });
    }
    if (last!.chunk.sealed) {
      // A seal cut short may have kept the footer but lost the shrink before it: finish the seal,
      // so the file ends with its footer before another chunk follows it.
      const footerEnd = last!.chunk.endOffset + footerBytes(last!.scan.recordOffsets.length);
      if (last!.chunk.handle.size() !== footerEnd) {
        logger.warn('the last chunk is sealed but longer than its footer (a seal cut short): shrinking it', { file: last!.chunk.fileName, sizeBytes: last!.chunk.handle.size(), footerEnd });
        await last!.chunk.handle.truncate(footerEnd);
        await last!.chunk.handle.sync();
      }
      const active = await createChunk(fs, chunks, options.crc, nextPosition, options.chunkSizeBytes, options.nowMs);
      return { chunks, checkpointFile, activeRecordOffsets: scanner.scan(active.handle, active.header, CHUNK_HEADER_BYTES).recordOffsets, activeBodyChecksum: 0, truncatedBytes };
    }
    return { chunks, checkpointFile, activeRecordOffsets: last!.scan.recordOffsets, activeBodyChecksum: last!.bodyChecksum, truncatedBytes };
  } catch (error) {
    await chunks.closeAll();
    await checkpointFile.close();
    throw error;
  } finally {
    scanner.free();
  }
}

/**
 * The footer of a sealed chunk before the checkpoint's chunk (so made durable before it), found
 * from the file's trailer and lying right after the records it describes; null when there is none
 * (the chunk is then scanned with every check, and a missing footer is an error there).
 */
function durableSealedFooter(options: RecoveryOptions, handle: FileHandle, fileName: string, header: ChunkHeader, checkpoint: Checkpoint | null): ChunkFooter | null {
  if (checkpoint === null || header.chunkNumber >= checkpoint.chunkNumber) return null;
  const size = handle.size();
  const footer = readFooterAtEnd(handle, fileName, size, options.crc);
  if (footer === null) return null;
  const footerAt = CHUNK_HEADER_BYTES + footer.bodyBytes;
  // It must lie right after the records it describes (where a scan would find it), or the chunk
  // is scanned.
  if (size - footerBytes(footer.recordCount) !== footerAt) return null;
  if (footer.nextPosition - header.firstPosition !== footer.recordCount) {
    throw new CorruptionError({ file: fileName, offset: footerAt, reason: `chunk footer: ${footer.recordCount} records from position ${header.firstPosition} do not end at ${footer.nextPosition}` });
  }
  return footer;
}

/**
 * The footer after the last chunk's records, or null when there is none — or when it is not
 * valid: a power loss while the chunk was being sealed can tear the footer, and a sealed chunk
 * without a successor is still the active one (its records are all there; the footer is derived
 * from them and is written again at the next seal).
 */
function lastChunkFooter(handle: FileHandle, fileName: string, endOffset: number, options: RecoveryOptions): ChunkFooter | null {
  try {
    return readFooterAt(handle, fileName, endOffset, options.crc);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    options.logger.warn('the last chunk has a damaged footer (a seal cut short): it stays the active chunk', { file: fileName, reason: error.reason });
    return null;
  }
}

/**
 * The chunk files that make up the log (log.md §6 step 2): numbered densely from 0, a merged file
 * covering several numbers. Files that a lower-numbered merged file covers are returned apart:
 * inputs of the merge that wrote it, left behind by a crash before their removal.
 */
async function chunkFiles(options: RecoveryOptions, numbers: readonly number[]): Promise<{ files: { chunkNumber: number; lastChunkNumber: number }[]; superseded: readonly SupersededFile[] }> {
  const errors = new Map<number, CorruptionError>();
  const ranges = new Map<number, number | null>();
  const highest = numbers.length > 0 ? numbers[numbers.length - 1] : 0;
  for (const chunkNumber of numbers) {
    const fileName = chunkFileName(chunkNumber);
    const handle = await options.fs.open(join(options.dir, fileName), 'read');
    try {
      const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
      const header = decodeChunkHeader(bytes.subarray(0, readFully(handle, bytes, 0, CHUNK_HEADER_BYTES, 0)), fileName, options.crc);
      if (header.chunkNumber !== chunkNumber) throw new CorruptionError({ file: fileName, offset: 16, reason: `chunk header names chunk ${header.chunkNumber}` });
      // A scavenge never takes the last file (the active chunk when it started, or one after it),
      // so a merged range ends before the highest-numbered file. A header claiming more (crafted,
      // or damage its CRC missed) would make every later file a "leftover" to delete: refuse it.
      if (header.lastChunkNumber > chunkNumber && header.lastChunkNumber >= highest) {
        throw new CorruptionError({ file: fileName, offset: 48, reason: `merged chunk claims chunks ${chunkNumber}..${header.lastChunkNumber}, but chunk ${highest} is the last file of the log` });
      }
      ranges.set(chunkNumber, header.lastChunkNumber);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      errors.set(chunkNumber, error);
      ranges.set(chunkNumber, null);
    } finally {
      await handle.close();
    }
  }
  const resolved = resolveChunkFiles(numbers, (n) => ranges.get(n)!);
  const problems: [number, CorruptionError][] = [
    ...resolved.files.flatMap((f): [number, CorruptionError][] => (errors.has(f.chunkNumber) ? [[f.chunkNumber, errors.get(f.chunkNumber)!]] : [])),
    ...resolved.overlapping.map(({ file, coveredBy }): [number, CorruptionError] => [file.chunkNumber, new CorruptionError({
      file: chunkFileName(file.chunkNumber), offset: 0,
      reason: `${chunkFileName(coveredBy.chunkNumber)} covers chunks ${coveredBy.chunkNumber}..${coveredBy.lastChunkNumber}, and this file lies inside that range but ` +
        (file.lastChunkNumber === null ? `its header is damaged (${errors.get(file.chunkNumber)?.reason})` : `reaches chunk ${file.lastChunkNumber}`),
    })]),
    ...resolved.missing.map((n): [number, CorruptionError] => [n, new CorruptionError({ file: chunkFileName(n), offset: 0, reason: 'missing chunk file (chunks are numbered densely from 0)' })]),
  ];
  // The lowest-numbered problem first, as a walk through the chunks would meet it.
  problems.sort((a, b) => a[0] - b[0]);
  if (problems.length > 0) throw problems[0][1];
  return {
    files: resolved.files.map((f) => ({ chunkNumber: f.chunkNumber, lastChunkNumber: f.lastChunkNumber! })),
    superseded: resolved.superseded.map(({ file, coveredBy }) => ({ chunkNumber: file.chunkNumber, coveredBy: coveredBy.chunkNumber, coveredTo: coveredBy.lastChunkNumber! })),
  };
}

interface SupersededFile {
  readonly chunkNumber: number;
  /** The merged file that holds its records, and the last chunk number that file covers. */
  readonly coveredBy: number;
  readonly coveredTo: number;
}

/**
 * Deletes the files a merged file covers (log.md §9: the merged file was durable before it was
 * renamed into place, so it holds every record they held), once the log they are left out of has
 * been recovered, and fsyncs the directory.
 */
async function removeMergeLeftovers(options: RecoveryOptions, superseded: readonly SupersededFile[]): Promise<void> {
  if (superseded.length === 0) return;
  for (const { chunkNumber, coveredBy, coveredTo } of superseded) {
    options.logger.warn('deleting a chunk file left over from a merging scavenge: a merged file covers it', {
      file: chunkFileName(chunkNumber), mergedInto: chunkFileName(coveredBy), chunks: `${coveredBy}..${coveredTo}`,
    });
    await options.fs.unlink(join(options.dir, chunkFileName(chunkNumber)));
  }
  await options.fs.syncDir(options.dir);
}

async function removeUnfinishedFiles(fs: FileSystem, dir: string, names: string[]): Promise<void> {
  for (const name of names.filter((n) => n.endsWith('.tmp'))) await fs.unlink(join(dir, name));
}

function readHeader(handle: FileHandle, fileName: string, chunkNumber: number, expectedFirstPosition: number, crc: Crc32c): ChunkHeader {
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const read = readFully(handle, bytes, 0, CHUNK_HEADER_BYTES, 0);
  const header = decodeChunkHeader(bytes.subarray(0, read), fileName, crc);
  if (header.chunkNumber !== chunkNumber) {
    throw new CorruptionError({ file: fileName, offset: 16, reason: `chunk header names chunk ${header.chunkNumber}` });
  }
  if (header.firstPosition !== expectedFirstPosition) {
    throw new CorruptionError({ file: fileName, offset: 24, reason: `chunk starts at position ${header.firstPosition}, expected ${expectedFirstPosition}` });
  }
  return header;
}

function checkSealed(fileName: string, scan: ChunkScan, footer: ChunkFooter, bodyChecksum: number): void {
  const count = scan.recordOffsets.length;
  if (scan.uncommittedRecords > 0) throw scanError(fileName, scan, 'sealed chunk ends inside a transaction');
  if (count !== footer.recordCount || scan.nextPosition !== footer.nextPosition) {
    throw scanError(fileName, scan, `sealed chunk holds ${count} valid records, its footer says ${footer.recordCount}`);
  }
  if (scan.endOffset - CHUNK_HEADER_BYTES !== footer.bodyBytes) throw scanError(fileName, scan, 'body length disagrees with the footer');
  for (let i = 0; i < count; i++) {
    if (scan.recordOffsets.get(i) !== footer.recordOffsets[i]) {
      throw new CorruptionError({ file: fileName, offset: footer.recordOffsets[i], reason: `footer offset of record ${i} disagrees with the records` });
    }
  }
  if (bodyChecksum !== footer.bodyChecksum) {
    throw new CorruptionError({ file: fileName, offset: CHUNK_HEADER_BYTES, reason: 'body checksum mismatch', expectedCrc: footer.bodyChecksum, actualCrc: bodyChecksum });
  }
}

function scanError(fileName: string, scan: ChunkScan, context: string): CorruptionError {
  const crc = scan.stopReason === StopReason.BadCrc ? { expectedCrc: scan.expectedCrc, actualCrc: scan.actualCrc } : {};
  const incomplete = scan.uncommittedRecords > 0 ? `, after ${scan.uncommittedRecords} records of an incomplete transaction` : '';
  return new CorruptionError({ file: fileName, offset: scan.stopOffset, reason: `${context}: ${stopReasonName(scan.stopReason)}${incomplete}`, ...crc });
}

/**
 * Decides the end of the active chunk: everything before the durable checkpoint must be intact;
 * after it, a torn or incomplete tail is cut off and the bytes past the end are zeroed, so a
 * stale record can never reappear behind a shorter new one. Returns the bytes cut off.
 */
async function settleActiveTail(
  options: RecoveryOptions, handle: FileHandle, fileName: string, header: ChunkHeader, scan: ChunkScan, checkpoint: Checkpoint | null,
): Promise<number> {
  if (checkpoint && checkpoint.chunkNumber === header.chunkNumber) {
    if (scan.endOffset < checkpoint.chunkOffset || scan.nextPosition < checkpoint.nextPosition) {
      throw scanError(fileName, scan, `damaged before the durable checkpoint (offset ${checkpoint.chunkOffset}, position ${checkpoint.nextPosition})`);
    }
  }
  if (readFooterAtEnd(handle, fileName, handle.size(), options.crc) !== null) {
    // The file ends in a valid footer, so it was sealed: the records before it are damaged, not torn.
    throw scanError(fileName, scan, 'sealed chunk is damaged');
  }
  // After a clean close whose end the scan confirms (zeros follow the last record), nothing can
  // lie beyond the end; otherwise the tail is checked and zeroed.
  const clean = checkpoint !== null && checkpoint.clean && checkpoint.chunkNumber === header.chunkNumber &&
    checkpoint.chunkOffset === scan.endOffset && scan.stopReason === StopReason.Zero;
  const cut = clean ? 0 : await zeroTail(handle, scan.endOffset, header.chunkSizeBytes);
  if (cut > 0 || scan.stopReason !== StopReason.Zero) {
    options.logger.warn('cut the torn tail of the log', {
      file: fileName, offset: scan.endOffset, reason: stopReasonName(scan.stopReason), droppedRecords: scan.uncommittedRecords, dirtyBytes: cut,
    });
  }
  if (handle.size() !== header.chunkSizeBytes) {
    // A seal that crashed before its footer was durable shrank the file: restore the capacity.
    await handle.truncate(header.chunkSizeBytes);
    await handle.sync();
  }
  return cut;
}
