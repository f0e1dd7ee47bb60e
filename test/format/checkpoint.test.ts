import { describe, expect, test } from 'vitest';
import { Wasm } from '../../src/wasm/kernels.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import {
  CHECKPOINT_FILE_BYTES, CHECKPOINT_SLOT_BYTES, checkpointSlotOffset, decodeCheckpointFile, decodeCheckpointSlot, encodeCheckpoint,
} from '../../src/format/checkpoint.js';

const crc = new Crc32c(new Wasm());

function file(...checkpoints: { sequence: number; nextPosition: number }[]): Uint8Array {
  const bytes = new Uint8Array(CHECKPOINT_FILE_BYTES);
  for (const c of checkpoints) {
    bytes.set(encodeCheckpoint({ ...c, chunkNumber: 1, chunkOffset: 500, clean: false }, crc), checkpointSlotOffset(c.sequence));
  }
  return bytes;
}

describe('checkpoint', () => {
  test('checkpoint - a slot round trips', () => {
    const checkpoint = { sequence: 9, chunkNumber: 3, chunkOffset: 4096, nextPosition: 1_000_000, clean: true };
    const bytes = encodeCheckpoint(checkpoint, crc);
    expect(bytes.length).toBe(CHECKPOINT_SLOT_BYTES);
    expect(decodeCheckpointSlot(bytes, crc)).toEqual(checkpoint);
  });

  test('checkpoint - the newest valid slot wins', () => {
    expect(decodeCheckpointFile(file({ sequence: 4, nextPosition: 40 }, { sequence: 5, nextPosition: 50 }), crc)?.nextPosition).toBe(50);
  });

  test('checkpoint - a torn newest slot falls back to the older one', () => {
    const bytes = file({ sequence: 4, nextPosition: 40 }, { sequence: 5, nextPosition: 50 });
    bytes[checkpointSlotOffset(5) + 20] ^= 0xff;
    expect(decodeCheckpointFile(bytes, crc)?.nextPosition).toBe(40);
  });

  test('checkpoint - no valid slot reads as no checkpoint', () => {
    expect(decodeCheckpointFile(new Uint8Array(CHECKPOINT_FILE_BYTES), crc)).toBeNull();
    expect(decodeCheckpointFile(new Uint8Array(10), crc)).toBeNull();
  });
});
