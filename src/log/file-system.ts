// The file-system seam: every byte Annal reads or writes goes through this interface, so the
// crash harness can substitute a simulated disk (lost, torn and reordered writes, EIO, ENOSPC).
// Reads are synchronous (page-cache hits on the read path); everything that changes state is async.

export type OpenMode =
  | 'read' // existing file, read only
  | 'readwrite' // existing file, read and write
  | 'create'; // new file, read and write; fails with EEXIST when it exists

export interface OpenOptions {
  /**
   * Every write is durable when it resolves, as if followed by datasync() (O_DSYNC): the active
   * chunk's appends then cost one system call instead of two.
   */
  readonly syncWrites?: boolean;
}

export interface FileHandle {
  readonly path: string;
  /** Whether write() is durable on its own (opened with syncWrites). */
  readonly syncWrites: boolean;
  /**
   * Reads up to `length` bytes at `fileOffset` into buffer[bufferOffset..]; returns bytes read.
   * May return fewer than asked before the end of the file (a short read): use readFully().
   */
  read(buffer: Uint8Array, bufferOffset: number, length: number, fileOffset: number): number;
  /** Writes all of `buffer` at `fileOffset`. Durable when it resolves if syncWrites, else after datasync()/sync(). */
  write(buffer: Uint8Array, fileOffset: number): Promise<void>;
  /**
   * write() without leaving the thread: blocks the caller until the bytes are written (durable if
   * syncWrites). For a lone small append this saves a thread-pool round trip.
   */
  writeNow(buffer: Uint8Array, fileOffset: number): void;
  /** Makes written data (and the size, if it changed) durable. */
  datasync(): Promise<void>;
  /** Makes data and all metadata durable. */
  sync(): Promise<void>;
  /** Sets the file's size (growing fills with zeros). Durable after sync(). */
  truncate(sizeBytes: number): Promise<void>;
  /** The size the file system reports (may disagree with the valid data: never trusted alone). */
  size(): number;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle>;
  /** Atomically replaces `to` with `from`. Durable after syncDir() of the parent. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Names in the directory (not paths). Throws ENOENT when it does not exist. */
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and its parents when missing. */
  mkdir(dir: string): Promise<void>;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  syncDir(dir: string): Promise<void>;
}

/** Node-style error code of a failure thrown by a FileSystem, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/**
 * Reads `length` bytes at `fileOffset`, repeating short reads; returns fewer only at the end of
 * the file (a read that returns 0).
 */
export function readFully(handle: FileHandle, buffer: Uint8Array, bufferOffset: number, length: number, fileOffset: number): number {
  let done = 0;
  while (done < length) {
    const n = handle.read(buffer, bufferOffset + done, length - done, fileOffset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
