// The persisted side of the store's indexes (format-spec/index.md): flushes the memtable into
// immutable index files, merges them level by level, and keeps the manifest and the stream
// directory that let open() load the indexes instead of rebuilding them from the log. Everything
// here is derived data: a missing or damaged file means a rebuild from the log, never a refusal.

import { join } from 'node:path';
import type { FileSystem } from '../log/file-system.js';
import { CorruptionError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { IndexBlockChecker } from '../wasm/index-blocks.js';
import type { BlockCache } from './block-cache.js';
import { FileRun } from './file-run.js';
import { StreamDirectoryReader, streamDirectoryFileName, writeStreamDirectory } from './stream-directory-file.js';
import type { Crc32cOf } from './index-file-format.js';
import { IndexFileReader } from './index-file-reader.js';
import { IndexFileWriter } from './index-file-writer.js';
import { MANIFEST_FILE, decodeManifest, encodeManifest, type IndexManifest } from './index-manifest.js';
import { mergeIndexFiles } from './index-merge.js';
import { mergeChanges } from './directory-changes.js';
import { ENTRY_WORDS } from './index-entry.js';
import type { MemoryRun } from './memory-run.js';
import { readWholeFile, replaceFileDurably } from './small-files.js';
import type { DirectoryUpdate, StoreIndexes } from './store-indexes.js';

/** The index files live in this subdirectory of the store's directory. */
export const INDEX_DIR = 'index';
/** Files of one level merged into one of the next level (a tiered LSM: few files, bounded reads). */
export const INDEX_MERGE_FAN_IN = 4;
/**
 * Bytes of captured stream directory changes a rebuild holds back before it writes a directory
 * file: each file rewrites every stream, so a rebuild writes one at the end (or one per this many
 * bytes of changes) rather than one per memtable.
 */
export const REBUILD_DIRECTORY_CHANGES_BYTES_MAX = 64 * 1024 * 1024;

export interface PersistedIndexOptions {
  readonly fs: FileSystem;
  /** The store's directory; files go to its INDEX_DIR subdirectory. */
  readonly dir: string;
  readonly crc: Crc32cOf;
  readonly cache: BlockCache;
  /** The stream directory file's blocks: a cache of their own, so index-file blocks do not push them out. */
  readonly directoryCache: BlockCache;
  /** Checks every block of every file at open; open() frees its memory when done. */
  readonly blockChecker: IndexBlockChecker;
  readonly logger: Logger;
}

export interface LoadedIndexes {
  readonly directory: StreamDirectoryReader;
  readonly runs: readonly FileRun[];
}

/** A run file's name: its level and the positions it covers, fixed-width hex so names sort. */
export function indexFileName(level: number, fromPosition: number, toPosition: number): string {
  const hex = (n: number): string => n.toString(16).padStart(16, '0');
  return `L${level.toString().padStart(2, '0')}-${hex(fromPosition)}-${hex(toPosition)}.idx`;
}

export class PersistedIndexes {
  private files: FileRun[];
  /** The newest stream directory file written; lookups of streams the table lacks read it. */
  private directory: StreamDirectoryReader | null;
  /** The directory file the manifest names. */
  private publishedDirectory: string | null;
  private busy: Promise<void> | null = null;
  /** Whether files were written since the manifest was (a rebuild's flushes wait for publish()). */
  private unpublished = false;
  /** Whether the newest directory file was fdatasync'd (a rebuild's are not until published). */
  private directorySynced = true;
  /** Directory updates captured by flushes and not yet written (a rebuild holds them back), oldest first. */
  private unwritten: DirectoryUpdate[] = [];
  /** Level-0 files written without fdatasync, to be synced before a manifest names them. */
  private unsynced: FileRun[] = [];
  private failure: unknown = null;
  private closed = false;

  private constructor(private readonly options: PersistedIndexOptions, private readonly indexDir: string, loaded: { files: FileRun[]; directory: StreamDirectoryReader | null }) {
    this.files = loaded.files;
    this.directory = loaded.directory;
    this.publishedDirectory = loaded.directory?.fileName ?? null;
  }

  /**
   * Opens the index directory of a store: the files its manifest names (checked: header, footer,
   * fence and every block of each; the directory's checksums; position ranges contiguous from 0), or nothing
   * when there is no manifest or any of that fails — logged, the files removed, so the caller
   * rebuilds from the log. Files no manifest names (a crash between writing and naming them) are
   * removed.
   */
  static async open(options: PersistedIndexOptions): Promise<{ persisted: PersistedIndexes; loaded: LoadedIndexes | null }> {
    const { fs } = options;
    const indexDir = join(options.dir, INDEX_DIR);
    await fs.mkdir(indexDir);
    await fs.syncDir(options.dir);
    const names = await fs.readdir(indexDir);
    let manifest: IndexManifest | null = null;
    const opened: FileRun[] = [];
    let directory: StreamDirectoryReader | null = null;
    if (names.includes(MANIFEST_FILE)) {
      try {
        manifest = decodeManifest(await readWholeFile(fs, indexDir, MANIFEST_FILE), join(indexDir, MANIFEST_FILE), options.crc);
        directory = await StreamDirectoryReader.open({ fs, dir: indexDir, fileName: manifest.directory, crc: options.crc, cache: options.directoryCache });
        if (directory.coveredPosition !== manifest.coveredPosition) {
          throw new CorruptionError({ file: join(indexDir, manifest.directory), offset: 16, reason: `stream directory covers ${directory.coveredPosition}, the manifest ${manifest.coveredPosition}` });
        }
        let next = 0;
        for (const name of manifest.files) {
          const run = new FileRun(await IndexFileReader.open({ fs, dir: indexDir, fileName: name, crc: options.crc, cache: options.cache }));
          opened.push(run);
          // Every block is checked now, while a damaged one can still be rebuilt from the log
          // (a block found damaged by a later read could only be reported).
          run.reader.checkAllBlocks(options.blockChecker);
          if (run.fromPosition !== next || run.toPosition <= run.fromPosition) {
            throw new CorruptionError({ file: join(indexDir, name), offset: 0, reason: `index file covers [${run.fromPosition}, ${run.toPosition}), expected to start at ${next}` });
          }
          next = run.toPosition;
        }
        if (next !== manifest.coveredPosition) {
          throw new CorruptionError({ file: join(indexDir, MANIFEST_FILE), offset: 0, reason: `index files cover [0, ${next}), the manifest says ${manifest.coveredPosition}` });
        }
      } catch (error) {
        if (!(error instanceof CorruptionError) && errorCode(error) !== 'ENOENT') {
          for (const run of opened) await run.reader.close();
          await directory?.close();
          throw error;
        }
        options.logger.warn('persisted indexes are damaged or incomplete: rebuilding them from the log', { error: String(error) });
        for (const run of opened) await run.reader.close();
        await directory?.close();
        opened.length = 0;
        manifest = null;
        directory = null;
      }
    }
    const keep = new Set(manifest === null ? [] : [MANIFEST_FILE, manifest.directory, ...manifest.files]);
    let removed = false;
    for (const name of names) {
      if (keep.has(name)) continue;
      await fs.unlink(join(indexDir, name));
      removed = true;
    }
    if (removed) await fs.syncDir(indexDir);
    options.blockChecker.free();
    const persisted = new PersistedIndexes(options, indexDir, { files: opened, directory });
    return { persisted, loaded: directory === null ? null : { directory, runs: opened } };
  }

  /** Removes every persisted index file (after the log disagreed with them), so open() rebuilds. */
  static async discard(fs: FileSystem, dir: string): Promise<void> {
    const indexDir = join(dir, INDEX_DIR);
    await fs.mkdir(indexDir);
    for (const name of await fs.readdir(indexDir)) await fs.unlink(join(indexDir, name));
    await fs.syncDir(indexDir);
  }

  /** Resolves once no flush or merge is running (never rejects). */
  async idle(): Promise<void> {
    while (this.busy !== null) await this.busy;
  }

  /** Whether a flush or merge is running. */
  get flushing(): boolean {
    return this.busy !== null;
  }

  /** The index files, oldest positions first. */
  get fileRuns(): readonly FileRun[] {
    return this.files;
  }

  /**
   * Freezes the memtable now and writes it as a level-0 file in the background, then names it in
   * a new manifest with the stream directory and merges where a level has INDEX_MERGE_FAN_IN files.
   * With `publish` false (a rebuild during open) the file and its stream directory are written but
   * no manifest names them until publish(), so that a rebuild neither syncs nor merges for every
   * memtable. One flush at a time: does nothing while one is running, after a failure (logged
   * once; the memtable then stays in memory) or with an empty memtable. Never rejects.
   */
  flush(indexes: StoreIndexes, recentIds: () => Uint8Array, publish = true): Promise<void> {
    if (this.busy !== null) return this.busy;
    if (this.failure !== null || this.closed || indexes.memtableEntries === 0) return Promise.resolve();
    const frozen = indexes.freeze(recentIds());
    this.unwritten.push(frozen.update);
    return this.run(async () => {
      await this.writeRun(indexes, frozen.run);
      const heldBytes = this.unwritten.reduce((sum, u) => sum + u.changes.sizeBytes, 0);
      if (publish || heldBytes > REBUILD_DIRECTORY_CHANGES_BYTES_MAX) await this.writeDirectory(indexes, publish);
      if (publish) await this.publishNow(indexes);
    });
  }

  /** Names the files written by unpublished flushes in the manifest, then merges (in the background). */
  publish(indexes: StoreIndexes): Promise<void> {
    if (this.busy !== null || (!this.unpublished && this.unwritten.length === 0) || this.failure !== null || this.closed) return this.busy ?? Promise.resolve();
    return this.run(async () => {
      await this.writeDirectory(indexes);
      await this.publishNow(indexes);
    });
  }

  /**
   * Makes the stream directory durable as it is now, after a scavenge changed byte counts (no
   * record the next open reads carries them, so a crash before the next flush would bring the old
   * counts back): waits for a running flush or merge, then flushes the memtable (its directory
   * carries the counts) or, when the memtable is empty, writes the directory and a manifest naming
   * it. Does nothing when nothing changed since the directory was last captured, after a failure
   * (logged; the memtable then stays in memory) or once closed. Never rejects.
   */
  async persistDirectory(indexes: StoreIndexes, recentIds: () => Uint8Array): Promise<void> {
    while (this.busy !== null) await this.busy;
    if (!indexes.directoryChanged || this.failure !== null || this.closed) return;
    if (indexes.memtableEntries > 0) return this.flush(indexes, recentIds);
    // The runs cover [0, coveredPosition): without a file there is no record a scavenge could change.
    if (this.files.length === 0) return;
    this.unwritten.push(indexes.captureDirectory(recentIds()));
    return this.run(async () => {
      await this.writeDirectory(indexes);
      await this.publishNow(indexes);
    });
  }

  /** Waits for a running flush, flushes what is left (so the next open reads no log) and closes the files. */
  async close(last: { indexes: StoreIndexes; recentIds: () => Uint8Array } | null): Promise<void> {
    await this.busy;
    if (last !== null) {
      await this.flush(last.indexes, last.recentIds);
      const { indexes } = last;
      // A scavenge changed byte counts since the last flush: write the directory again.
      if (this.failure === null && indexes.directoryChanged && indexes.memtableEntries === 0 && this.files.length > 0) {
        this.unwritten.push(indexes.captureDirectory(last.recentIds()));
      }
      await this.publish(indexes);
    }
    this.closed = true;
    for (const run of this.files) await run.reader.close();
    this.files = [];
    await this.directory?.close();
    this.directory = null;
  }

  private run(work: () => Promise<void>): Promise<void> {
    this.busy = work()
      .catch((error: unknown) => {
        this.failure = error;
        this.options.logger.warn('writing the persisted indexes failed: they stay in memory until the store is reopened', { error: String(error) });
      })
      .finally(() => {
        this.busy = null;
      });
    return this.busy;
  }

  /** Writes a frozen memtable as a level-0 file and swaps it in for the in-memory run. */
  private async writeRun(indexes: StoreIndexes, frozen: MemoryRun): Promise<void> {
    const { fs, crc } = this.options;
    const { words, fromPosition, toPosition } = frozen;
    const fileName = indexFileName(0, fromPosition, toPosition);
    // Not synced here: publishNow() syncs every file before a manifest names it, so a rebuild's
    // many flushes cost page-cache writes, not a disk flush each.
    const writer = await IndexFileWriter.create({ fs, dir: this.indexDir, fileName, crc, level: 0, fromPosition: BigInt(fromPosition), toPosition: BigInt(toPosition), durable: false });
    try {
      for (let at = 0; at < words.length; at += ENTRY_WORDS) {
        writer.addWords(words, at);
        if (writer.flushNeeded) await writer.flush();
      }
      await writer.finish();
    } catch (error) {
      await writer.abandon();
      throw error;
    }
    const run = new FileRun(await IndexFileReader.open({ fs, dir: this.indexDir, fileName, crc, cache: this.options.cache }));
    indexes.replaceRuns([frozen], run);
    this.files = [...this.files, run];
    this.unsynced.push(run);
  }

  /**
   * Writes the stream directory file of the unwritten updates (the newest file with their changes applied;
   * `durable`: fdatasync'd and its directory fsync'd, which also makes the level-0 files' renames
   * durable — else publishNow() does it), then lookups read it. An older file no manifest names
   * (a rebuild's previous flush) is removed.
   */
  private async writeDirectory(indexes: StoreIndexes, durable = true): Promise<void> {
    const updates = this.unwritten;
    if (updates.length === 0) return;
    const { fs, crc, directoryCache: cache } = this.options;
    const update = updates[updates.length - 1];
    const fileName = streamDirectoryFileName(update.summary.coveredPosition);
    const changes = mergeChanges(updates.map((u) => u.changes));
    await writeStreamDirectory({ fs, dir: this.indexDir, fileName, crc, previous: this.directory, changes, summary: update.summary, durable });
    this.unwritten = [];
    const written = await StreamDirectoryReader.open({ fs, dir: this.indexDir, fileName, crc, cache, justWritten: true });
    const old = this.directory;
    indexes.directoryWritten(written, update);
    this.directory = written;
    this.directorySynced = durable;
    this.unpublished = true;
    // The table no longer holds every stream and the filter is full: build a bigger one from the file.
    if (indexes.filterTooSmall && !this.closed) await indexes.rebuildFilter(written);
    if (old === null) return;
    await old.close();
    // The same name (a scavenge's rewrite at the same position) was replaced by the rename.
    if (old.fileName !== fileName && old.fileName !== this.publishedDirectory) await this.removeFiles([old.fileName]);
  }

  /** Writes a manifest naming every file and the newest directory, removes the old directory, merges. */
  private async publishNow(indexes: StoreIndexes): Promise<void> {
    const directory = this.directory;
    if (!this.unpublished || directory === null) return;
    for (const run of this.unsynced) await run.reader.sync();
    this.unsynced = [];
    // The manifest's directory fsync makes its rename durable.
    if (!this.directorySynced) await directory.sync();
    this.directorySynced = true;
    await this.writeManifest(directory.coveredPosition, directory.fileName, this.files);
    this.unpublished = false;
    const oldDirectory = this.publishedDirectory;
    this.publishedDirectory = directory.fileName;
    if (oldDirectory !== null && oldDirectory !== directory.fileName) await this.removeFiles([oldDirectory]);
    await this.mergeLevels(indexes);
  }

  /** Merges the newest files while the lowest level has INDEX_MERGE_FAN_IN of them. */
  private async mergeLevels(indexes: StoreIndexes): Promise<void> {
    for (;;) {
      if (this.closed || this.files.length < INDEX_MERGE_FAN_IN) return;
      // Levels never grow from older to newer files, so the newest files are of the lowest level.
      const level = this.files[this.files.length - 1].level;
      let first = this.files.length - 1;
      while (first > 0 && this.files[first - 1].level === level) first--;
      const inputs = this.files.slice(first);
      if (inputs.length < INDEX_MERGE_FAN_IN) return;
      const { fs, crc } = this.options;
      const fromPosition = inputs[0].fromPosition;
      const toPosition = inputs[inputs.length - 1].toPosition;
      const fileName = indexFileName(level + 1, fromPosition, toPosition);
      await mergeIndexFiles(inputs.map((r) => r.reader), { fs, dir: this.indexDir, fileName, crc });
      const merged = new FileRun(await IndexFileReader.open({ fs, dir: this.indexDir, fileName, crc, cache: this.options.cache }));
      const files = [...this.files.slice(0, first), merged];
      await this.writeManifest(toPosition, this.publishedDirectory!, files);
      indexes.replaceRuns(inputs, merged);
      this.files = files;
      for (const input of inputs) await input.reader.close();
      await this.removeFiles(inputs.map((r) => r.fileName));
    }
  }

  private async writeManifest(coveredPosition: number, directory: string, files: readonly FileRun[]): Promise<void> {
    const manifest: IndexManifest = { coveredPosition, directory, files: files.map((f) => f.fileName) };
    await replaceFileDurably(this.options.fs, this.indexDir, MANIFEST_FILE, encodeManifest(manifest, this.options.crc));
  }

  /** Removes files the manifest no longer names (a crash before this leaves orphans open() removes). */
  private async removeFiles(names: readonly string[]): Promise<void> {
    for (const name of names) await this.options.fs.unlink(join(this.indexDir, name));
    await this.options.fs.syncDir(this.indexDir);
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}
