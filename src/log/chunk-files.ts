// Creating and sealing chunk files, in the order that keeps a crash at any step recoverable.
// format-spec/log.md §2 (creation) and §4 (sealing).

import { assert } from '../util/assert.js';
import type { Crc32c } from '../wasm/crc32c.js';
import { CHUNK_HEADER_BYTES, encodeChunkFooter, encodeChunkHeader } from '../format/chunk-layout.js';
import type { ChunkInfo, ChunkSet } from './chunk-set.js';
import type { FileSystem } from './file-system.js';

/**
 * Creates chunk `chunkNumber` as the new active chunk: header written and the file extended to
 * its capacity in `<name>.tmp`, fsync'd, renamed into place, directory fsync'd. A crash before
 * the rename leaves only a .tmp file, which recovery deletes.
 */
export async function createChunk(
  fs: FileSystem, chunks: ChunkSet, crc: Crc32c, firstPosition: number, chunkSizeBytes: number, createdMs: number,
): Promise<ChunkInfo> {
  const chunkNumber = chunks.count;
  const path = chunks.path(chunkNumber);
  const tmp = `${path}.tmp`;
  const header = { chunkNumber, lastChunkNumber: chunkNumber, firstPosition, chunkSizeBytes, createdMs };
  const handle = await fs.open(tmp, 'create');
  try {
    await handle.write(encodeChunkHeader(header, crc), 0);
    // Preallocate: the file has its final size from the start, so appends never change it and
    // fdatasync has no size to flush. (Node has no fallocate; the extension is sparse.)
    await handle.truncate(chunkSizeBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(chunks.dir);
  const chunk: ChunkInfo = {
    header,
    fileName: path.slice(chunks.dir.length + 1),
    handle: await fs.open(path, 'readwrite', { syncWrites: true }),
    sealed: false,
    endOffset: CHUNK_HEADER_BYTES,
    nextPosition: firstPosition,
  };
  chunks.add(chunk);
  return chunk;
}

/**
 * Seals the active chunk: shrinks the file to its records plus the footer, writes the footer
 * (record count, next position, body CRC, position→offset map) and fsyncs. A crash before the
 * footer is durable leaves an unsealed chunk that recovery treats as active.
 */
export async function sealChunk(chunk: ChunkInfo, recordOffsets: Uint32Array, bodyChecksum: number, crc: Crc32c): Promise<void> {
  assert(!chunk.sealed, 'a chunk is sealed once');
  assert(recordOffsets.length === chunk.nextPosition - chunk.header.firstPosition, 'one offset per record of the chunk');
  const footer = encodeChunkFooter(
    {
      recordCount: recordOffsets.length,
      nextPosition: chunk.nextPosition,
      bodyBytes: chunk.endOffset - CHUNK_HEADER_BYTES,
      bodyChecksum,
      recordOffsets,
    },
    crc,
  );
  await chunk.handle.truncate(chunk.endOffset + footer.length);
  await chunk.handle.write(footer, chunk.endOffset);
  await chunk.handle.sync();
  chunk.sealed = true;
}
