// Where the parts of a store's files lie on a simulated disk (records, headers, footers, the
// active chunk's zero tail, checkpoint slots), found by walking length fields of a clean store.
// format-spec/log.md §2–§5.

import { join } from 'node:path';
import { CHUNK_HEADER_BYTES, FOOTER_FIXED_BYTES, FOOTER_MAGIC, FOOTER_TRAILER_BYTES, parseChunkFileName } from '../../src/format/chunk-layout.js';
import { CHECKPOINT_FILE, CHECKPOINT_SLOT_BYTES, CHECKPOINT_SLOT_STRIDE } from '../../src/format/checkpoint.js';
import { RECORD_BYTES_MIN } from '../../src/format/record-layout.js';
import type { SimDisk } from './sim-disk.js';

export type RegionKind =
  | 'sealed-record' // records of a sealed chunk other than the second-to-last
  | 'second-to-last-record'
  | 'active-record'
  | 'chunk-header'
  | 'footer-fixed' // magic, record count, next position, body bytes and checksum
  | 'footer-map' // the position → offset map
  | 'footer-trailer'
  | 'active-tail' // zeros after the active chunk's last record
  | 'checkpoint-slot'
  | 'checkpoint-unused'; // the rest of the checkpoint file's two sectors

export interface Region {
  readonly kind: RegionKind;
  readonly file: string;
  /** Byte range [from, to) in the file. */
  readonly from: number;
  readonly to: number;
}

export interface StoreLayout {
  readonly dir: string;
  readonly regions: readonly Region[];
  /** Byte range [from, to) of the committed records of each chunk file. */
  readonly recordRanges: ReadonlyMap<string, readonly [number, number]>;
  readonly chunkCount: number;
  readonly fileSizes: ReadonlyMap<string, number>;
}

/** File offsets of a chunk's records, then the offset where they end (walking length and trailer fields). */
export function recordOffsets(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const offsets: number[] = [];
  let at = CHUNK_HEADER_BYTES;
  while (at + 4 <= bytes.length) {
    const length = dv.getUint32(at, true);
    if (length < RECORD_BYTES_MIN || at + length > bytes.length || dv.getUint32(at + length - 4, true) !== length) break;
    offsets.push(at);
    at += length;
  }
  offsets.push(at);
  return offsets;
}

function recordsEnd(bytes: Uint8Array): number {
  const offsets = recordOffsets(bytes);
  return offsets[offsets.length - 1];
}

/** The layout of the cleanly closed store in `dir` (assumes undamaged files). */
export function storeLayout(disk: SimDisk, dir: string): StoreLayout {
  const regions: Region[] = [];
  const recordRanges = new Map<string, readonly [number, number]>();
  const fileSizes = new Map<string, number>();
  const chunks = disk.fileNames(dir).filter((name) => parseChunkFileName(name) !== null);
  chunks.forEach((file, i) => {
    const bytes = disk.durableBytes(join(dir, file));
    fileSizes.set(file, bytes.length);
    const end = recordsEnd(bytes);
    const sealed = Buffer.from(bytes.subarray(end, end + 8)).toString('latin1') === FOOTER_MAGIC;
    const recordKind: RegionKind = !sealed ? 'active-record' : i === chunks.length - 2 ? 'second-to-last-record' : 'sealed-record';
    regions.push({ kind: 'chunk-header', file, from: 0, to: CHUNK_HEADER_BYTES });
    if (end > CHUNK_HEADER_BYTES) regions.push({ kind: recordKind, file, from: CHUNK_HEADER_BYTES, to: end });
    recordRanges.set(file, [CHUNK_HEADER_BYTES, end]);
    if (sealed) {
      const trailerAt = bytes.length - FOOTER_TRAILER_BYTES;
      regions.push({ kind: 'footer-fixed', file, from: end, to: end + FOOTER_FIXED_BYTES });
      if (trailerAt > end + FOOTER_FIXED_BYTES) regions.push({ kind: 'footer-map', file, from: end + FOOTER_FIXED_BYTES, to: trailerAt });
      regions.push({ kind: 'footer-trailer', file, from: trailerAt, to: bytes.length });
    } else if (end < bytes.length) {
      regions.push({ kind: 'active-tail', file, from: end, to: bytes.length });
    }
  });
  const checkpointBytes = disk.durableBytes(join(dir, CHECKPOINT_FILE)).length;
  fileSizes.set(CHECKPOINT_FILE, checkpointBytes);
  for (let slot = 0; slot * CHECKPOINT_SLOT_STRIDE < checkpointBytes; slot++) {
    const at = slot * CHECKPOINT_SLOT_STRIDE;
    regions.push({ kind: 'checkpoint-slot', file: CHECKPOINT_FILE, from: at, to: at + CHECKPOINT_SLOT_BYTES });
    regions.push({ kind: 'checkpoint-unused', file: CHECKPOINT_FILE, from: at + CHECKPOINT_SLOT_BYTES, to: Math.min(at + CHECKPOINT_SLOT_STRIDE, checkpointBytes) });
  }
  return { dir, regions, recordRanges, chunkCount: chunks.length, fileSizes };
}
