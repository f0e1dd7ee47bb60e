// The index manifest (`manifest.annal`, format-spec/index.md "Manifest"): which index files and
// which stream directory make up the persisted indexes, and the log position they cover.
// Replaced durably (write-temp, fdatasync, rename, directory fsync) after the files it names are
// durable, so it never names a file that a crash could take away.

import { CorruptionError } from '../util/errors.js';
import type { Crc32cOf } from './index-file-format.js';

export const MANIFEST_FILE = 'manifest.annal';
export const MANIFEST_MAGIC = 'ANNALIXM';
export const MANIFEST_FORMAT_VERSION = 1;
const M_VERSION = 8; // u32
const M_BODY_BYTES = 12; // u32
const M_BODY = 16;
/** A manifest names a directory and at most this many files; anything longer is damage. */
const MANIFEST_BODY_BYTES_MAX = 1024 * 1024;

export interface IndexManifest {
  /** The files cover the log's positions [0, coveredPosition). */
  readonly coveredPosition: number;
  /** Stream directory file name. */
  readonly directory: string;
  /** Index file names, oldest positions first; their ranges are contiguous from 0. */
  readonly files: readonly string[];
}

const utf8 = new TextEncoder();
const FILE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function encodeManifest(manifest: IndexManifest, crc: Crc32cOf): Uint8Array {
  const body = utf8.encode(JSON.stringify({ coveredPosition: manifest.coveredPosition, directory: manifest.directory, files: manifest.files }));
  const bytes = new Uint8Array(M_BODY + body.length + 4);
  const view = new DataView(bytes.buffer);
  bytes.set(utf8.encode(MANIFEST_MAGIC), 0);
  view.setUint32(M_VERSION, MANIFEST_FORMAT_VERSION, true);
  view.setUint32(M_BODY_BYTES, body.length, true);
  bytes.set(body, M_BODY);
  view.setUint32(M_BODY + body.length, crc.of(bytes.subarray(0, M_BODY + body.length)), true);
  return bytes;
}

export function decodeManifest(bytes: Uint8Array, file: string, crc: Crc32cOf): IndexManifest {
  const fail = (offset: number, reason: string): never => {
    throw new CorruptionError({ file, offset, reason: `index manifest: ${reason}` });
  };
  if (bytes.length < M_BODY + 4) fail(0, 'shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MANIFEST_MAGIC) fail(0, 'bad magic');
  const bodyBytes = view.getUint32(M_BODY_BYTES, true);
  if (bodyBytes > MANIFEST_BODY_BYTES_MAX || M_BODY + bodyBytes + 4 !== bytes.length) fail(M_BODY_BYTES, `body of ${bodyBytes} bytes does not fit the file`);
  if (view.getUint32(M_BODY + bodyBytes, true) !== crc.of(bytes.subarray(0, M_BODY + bodyBytes))) fail(M_BODY + bodyBytes, 'CRC mismatch');
  if (view.getUint32(M_VERSION, true) !== MANIFEST_FORMAT_VERSION) fail(M_VERSION, `unknown format version ${view.getUint32(M_VERSION, true)}`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes.subarray(M_BODY, M_BODY + bodyBytes)).toString('utf8'));
  } catch {
    fail(M_BODY, 'body is not JSON');
  }
  const b = body as Partial<IndexManifest> | null;
  if (
    typeof b !== 'object' || b === null || !Number.isSafeInteger(b.coveredPosition) || (b.coveredPosition as number) < 0
    || typeof b.directory !== 'string' || !FILE_NAME.test(b.directory)
    || !Array.isArray(b.files) || !b.files.every((f) => typeof f === 'string' && FILE_NAME.test(f))
  ) {
    fail(M_BODY, 'body does not have the expected fields');
  }
  return { coveredPosition: b!.coveredPosition!, directory: b!.directory!, files: [...b!.files!] };
}
