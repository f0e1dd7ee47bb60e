// Which chunk files make up the log (format-spec/log.md §0, §6 step 2): a file covers the chunk
// numbers from the one in its name to its header's lastChunkNumber; a file whose number lies
// inside the range of a lower-numbered file is left over from the scavenge that merged it there.

export interface ChunkFileRange {
  readonly chunkNumber: number;
  /** From the header; null when the header could not be read (the file then counts as one chunk). */
  readonly lastChunkNumber: number | null;
}

export interface ChunkDirectory {
  /** The files of the log, in order: each starts after the previous one's last chunk number. */
  readonly files: readonly ChunkFileRange[];
  /**
   * Files whose numbers a lower-numbered (merged) file covers entirely: inputs of that merge whose
   * removal a crash cut short. The merged file holds every record they held (log.md §9).
   */
  readonly superseded: readonly { readonly file: ChunkFileRange; readonly coveredBy: ChunkFileRange }[];
  /**
   * Files inside a merged file's range that reach past it, or whose header could not be read: no
   * merge leaves such a file, so it is damage (never deleted).
   */
  readonly overlapping: readonly { readonly file: ChunkFileRange; readonly coveredBy: ChunkFileRange }[];
  /** Chunk numbers below the highest one that no file covers. */
  readonly missing: readonly number[];
  /** Chunk numbers in use: one past the last file's last chunk number. */
  readonly chunkCount: number;
}

/**
 * Resolves the chunk files named `numbers` (ascending, distinct): `lastChunkNumberOf` reads a
 * file's header (null when it cannot), and is asked only about files it needs to know.
 */
export function resolveChunkFiles(numbers: readonly number[], lastChunkNumberOf: (chunkNumber: number) => number | null): ChunkDirectory {
  const files: ChunkFileRange[] = [];
  const superseded: { file: ChunkFileRange; coveredBy: ChunkFileRange }[] = [];
  const overlapping: { file: ChunkFileRange; coveredBy: ChunkFileRange }[] = [];
  const missing: number[] = [];
  let next = 0;
  for (const chunkNumber of numbers) {
    const file = { chunkNumber, lastChunkNumber: lastChunkNumberOf(chunkNumber) };
    const previous = files[files.length - 1];
    if (chunkNumber < next) {
      if (file.lastChunkNumber !== null && file.lastChunkNumber < next) superseded.push({ file, coveredBy: previous });
      else overlapping.push({ file, coveredBy: previous });
      continue;
    }
    for (let n = next; n < chunkNumber; n++) missing.push(n);
    files.push(file);
    next = (file.lastChunkNumber ?? chunkNumber) + 1;
  }
  return { files, superseded, overlapping, missing, chunkCount: next };
}
