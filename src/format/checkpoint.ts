// Checkpoint file codec: two 64-byte slots, written alternately, each naming the end of the
// durable log. format-spec/log.md §5.

import { POSITION_MAX } from '../util/limits.js';
import type { Crc32c } from '../wasm/crc32c.js';
import { FORMAT_VERSION } from './chunk-layout.js';

export const CHECKPOINT_FILE = 'checkpoint.annal';
export const CHECKPOINT_MAGIC = 'ANNALCKP';
export const CHECKPOINT_SLOT_BYTES = 64;
/** Slot i lives at i * CHECKPOINT_SLOT_STRIDE: separate 4 KiB sectors, so a torn write hits one. */
export const CHECKPOINT_SLOT_STRIDE = 4096;
export const CHECKPOINT_FILE_BYTES = 2 * CHECKPOINT_SLOT_STRIDE;
export const CHECKPOINT_FLAG_CLEAN = 0x01; // written by close(): nothing after it was ever written

const C_VERSION = 8; // u32
const C_FLAGS = 12; // u32
const C_SEQUENCE = 16; // u64, +1 per write; the valid slot with the highest sequence wins
const C_CHUNK_NUMBER = 24; // u64
const C_CHUNK_OFFSET = 32; // u64 file offset where durable records end in that chunk
const C_NEXT_POSITION = 40; // u64 position the next record will take
const C_CRC = 60; // u32 CRC32C of [0, 60)

export interface Checkpoint {
  sequence: number;
  chunkNumber: number;
  chunkOffset: number;
  nextPosition: number;
  clean: boolean;
}

const MAGIC = new Uint8Array(Buffer.from(CHECKPOINT_MAGIC, 'latin1'));

export function checkpointSlotOffset(sequence: number): number {
  return (sequence % 2) * CHECKPOINT_SLOT_STRIDE;
}

export function encodeCheckpoint(checkpoint: Checkpoint, crc: Crc32c): Uint8Array {
  const bytes = new Uint8Array(CHECKPOINT_SLOT_BYTES);
  const dv = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  dv.setUint32(C_VERSION, FORMAT_VERSION, true);
  dv.setUint32(C_FLAGS, checkpoint.clean ? CHECKPOINT_FLAG_CLEAN : 0, true);
  dv.setBigUint64(C_SEQUENCE, BigInt(checkpoint.sequence), true);
  dv.setBigUint64(C_CHUNK_NUMBER, BigInt(checkpoint.chunkNumber), true);
  dv.setBigUint64(C_CHUNK_OFFSET, BigInt(checkpoint.chunkOffset), true);
  dv.setBigUint64(C_NEXT_POSITION, BigInt(checkpoint.nextPosition), true);
  dv.setUint32(C_CRC, crc.of(bytes.subarray(0, C_CRC)), true);
  return bytes;
}

/** Decodes one slot; null when it is empty or fails its CRC (the other slot may be good). */
export function decodeCheckpointSlot(bytes: Uint8Array, crc: Crc32c): Checkpoint | null {
  if (bytes.length < CHECKPOINT_SLOT_BYTES) return null;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, CHECKPOINT_SLOT_BYTES);
  if (dv.getUint32(C_CRC, true) !== crc.of(bytes.subarray(0, C_CRC))) return null;
  if (dv.getUint32(C_VERSION, true) !== FORMAT_VERSION) return null;
  const big = [C_SEQUENCE, C_CHUNK_NUMBER, C_CHUNK_OFFSET, C_NEXT_POSITION].map((at) => dv.getBigUint64(at, true));
  if (big.some((v) => v > BigInt(POSITION_MAX))) return null;
  return {
    sequence: Number(big[0]),
    chunkNumber: Number(big[1]),
    chunkOffset: Number(big[2]),
    nextPosition: Number(big[3]),
    clean: (dv.getUint32(C_FLAGS, true) & CHECKPOINT_FLAG_CLEAN) !== 0,
  };
}

/** The newest valid slot of a checkpoint file's bytes, or null when neither slot is valid. */
export function decodeCheckpointFile(bytes: Uint8Array, crc: Crc32c): Checkpoint | null {
  const a = decodeCheckpointSlot(bytes.subarray(0, CHECKPOINT_SLOT_BYTES), crc);
  const b = decodeCheckpointSlot(bytes.subarray(CHECKPOINT_SLOT_STRIDE, CHECKPOINT_SLOT_STRIDE + CHECKPOINT_SLOT_BYTES), crc);
  if (a && b) return a.sequence >= b.sequence ? a : b;
  return a ?? b;
}
