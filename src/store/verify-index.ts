// `annal verify` for the persisted index files (format-spec/index.md §12–14): the manifest, the
// stream directory and every block of every index file it names, read only. Findings are
// warnings: index files are derived data, and open discards damaged ones and rebuilds them.

import { join } from 'node:path';
import { CorruptionError } from '../util/errors.js';
import { errorCode } from '../log/file-system.js';
import { BlockCache } from '../index/block-cache.js';
import { IndexFileReader } from '../index/index-file-reader.js';
import { MANIFEST_FILE, decodeManifest } from '../index/index-manifest.js';
import { INDEX_DIR } from '../index/persisted-indexes.js';
import { readWholeFile } from '../index/small-files.js';
import { StreamDirectoryReader } from '../index/stream-directory-file.js';
import { IndexBlockChecker } from '../wasm/index-blocks.js';
import type { VerifyContext } from './verify-context.js';

const REBUILT = 'open discards the index files and rebuilds them from the log';

/** Checks the index files of the store; `logEvents` is how many events the log holds. */
export async function verifyIndexFiles(ctx: VerifyContext, logEvents: number): Promise<void> {
  const indexDir = join(ctx.dir, INDEX_DIR);
  let names: string[];
  try {
    names = await ctx.fs.readdir(indexDir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const file = (name: string): string => `${INDEX_DIR}/${name}`;
  if (!names.includes(MANIFEST_FILE)) {
    for (const name of names) ctx.issues.warn(file(name), 0, `no index manifest names this file: ${REBUILT}`);
    return;
  }
  let named = new Set<string>([MANIFEST_FILE]);
  let checker: IndexBlockChecker | null = null;
  try {
    const manifest = decodeManifest(await readWholeFile(ctx.fs, indexDir, MANIFEST_FILE), file(MANIFEST_FILE), ctx.crc);
    named = new Set([MANIFEST_FILE, manifest.directory, ...manifest.files]);
    // No cache: every block is read once and checked (header, footer and fence at open).
    const cache = new BlockCache(0);
    // Opening the stream directory checks every one of its blocks.
    const directory = await StreamDirectoryReader.open({ fs: ctx.fs, dir: indexDir, fileName: manifest.directory, crc: ctx.crc, cache });
    const covered = directory.coveredPosition;
    await directory.close();
    if (covered !== manifest.coveredPosition) {
      throw new CorruptionError({ file: file(manifest.directory), offset: 16, reason: `the stream directory covers ${covered} events, the manifest ${manifest.coveredPosition}` });
    }
    checker = new IndexBlockChecker(ctx.wasm);
    let next = 0;
    for (const name of manifest.files) {
      const reader = await IndexFileReader.open({ fs: ctx.fs, dir: indexDir, fileName: name, crc: ctx.crc, cache });
      try {
        if (Number(reader.fromPosition) !== next) {
          throw new CorruptionError({ file: file(name), offset: 0, reason: `index file covers [${reader.fromPosition}, ${reader.toPosition}), expected to start at ${next}` });
        }
        reader.checkAllBlocks(checker);
        next = Number(reader.toPosition);
      } finally {
        await reader.close();
      }
    }
    if (next !== manifest.coveredPosition) {
      throw new CorruptionError({ file: file(MANIFEST_FILE), offset: 0, reason: `index files cover [0, ${next}), the manifest says ${manifest.coveredPosition}` });
    }
    if (manifest.coveredPosition > logEvents) {
      ctx.issues.warn(file(MANIFEST_FILE), 0, `the index files cover ${manifest.coveredPosition} events, the log holds ${logEvents}: ${REBUILT}`);
    }
  } catch (error) {
    if (error instanceof CorruptionError) {
      // The index file reader names files without their directory.
      ctx.issues.warn(error.file.startsWith(`${INDEX_DIR}/`) ? error.file : file(error.file), error.offset, `${error.reason}: ${REBUILT}`);
    } else if (errorCode(error) === 'ENOENT') {
      ctx.issues.warn(file(MANIFEST_FILE), 0, `a file the index manifest names is missing: ${REBUILT}`);
    } else {
      throw error;
    }
  } finally {
    checker?.free();
  }
  for (const name of names) {
    if (!named.has(name)) ctx.issues.warn(file(name), 0, 'an index file no manifest names (a crash between writing and naming it): open removes it');
  }
}
