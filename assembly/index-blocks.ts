// Checks consecutive data blocks of an index file in place (format-spec/index.md §3.2, checks
// 2–7): open and `annal verify` read many blocks at once and check them here, instead of making
// one JavaScript call, one CRC call and ~170 entry comparisons per 4 KiB block.

import { crc32cUpdate } from './crc32c';

// Block header fields (§3.1).
const B_CRC: usize = 0; // u32 CRC32C of block bytes [4, blockBytes)
const B_ENTRY_COUNT: usize = 4; // u32
const B_BLOCK_INDEX: usize = 8; // u64
const BLOCK_HEADER_BYTES: usize = 16;
// Entry (§4) and fence entry (§5) fields.
const ENTRY_BYTES: usize = 24;
const E_KEY: usize = 0;
const E_SEQ: usize = 8;
const FENCE_ENTRY_BYTES: usize = 16;

// @ts-ignore: decorator
@inline function compareKeySeq(keyA: u64, seqA: u64, keyB: u64, seqB: u64): i32 {
  if (keyA != keyB) return keyA < keyB ? -1 : 1;
  if (seqA != seqB) return seqA < seqB ? -1 : 1;
  return 0;
}

/** Whether every byte of [from, to) is zero; both ends are 8-byte aligned (entries end on 8). */
function zeros(from: usize, to: usize): bool {
  for (let at = from; at < to; at += 8) if (load<u64>(at) != 0) return false;
  return true;
}

/**
 * Checks `count` blocks of `blockBytes` each at `ptr`: blocks firstBlock … firstBlock+count-1 of
 * a file of `fileBlocks` blocks, each holding `entriesPerBlock` entries but the file's last, which
 * holds `lastBlockEntries`. `fencePtr` holds count+1 (key, seq) pairs of u64s: the fence entries
 * of these blocks, then the next block's fence entry or, when the last of these blocks is the
 * file's last, the footer's (lastKey, lastSeq). Returns how many leading blocks pass every check;
 * fewer than `count` points at the first that fails (the caller reads it again to say why).
 */
export function indexBlocksCheck(
  ptr: usize, blockBytes: u32, count: u32, firstBlock: f64, fileBlocks: f64, entriesPerBlock: u32, lastBlockEntries: u32, fencePtr: usize,
): u32 {
  const size = <usize>blockBytes;
  for (let i: u32 = 0; i < count; i++) {
    const block = ptr + <usize>i * size;
    const blockIndex = firstBlock + <f64>i;
    const isFileLast = blockIndex == fileBlocks - 1;
    if (load<u32>(block, B_CRC) != crc32cUpdate(0, block + 4, size - 4)) return i;
    const entries = load<u32>(block, B_ENTRY_COUNT);
    if (entries != (isFileLast ? lastBlockEntries : entriesPerBlock)) return i;
    if (load<u64>(block, B_BLOCK_INDEX) != <u64>blockIndex) return i;
    // A block holds at least one entry (§2.1), and entryCount was just checked against the geometry.
    let at = block + BLOCK_HEADER_BYTES;
    let key = load<u64>(at, E_KEY);
    let seq = load<u64>(at, E_SEQ);
    const fence = fencePtr + <usize>i * FENCE_ENTRY_BYTES;
    if (compareKeySeq(key, seq, load<u64>(fence), load<u64>(fence, 8)) != 0) return i;
    const end = block + BLOCK_HEADER_BYTES + <usize>entries * ENTRY_BYTES;
    for (at += ENTRY_BYTES; at < end; at += ENTRY_BYTES) {
      const nextKey = load<u64>(at, E_KEY);
      const nextSeq = load<u64>(at, E_SEQ);
      if (compareKeySeq(key, seq, nextKey, nextSeq) >= 0) return i;
      key = nextKey;
      seq = nextSeq;
    }
    if (!zeros(end, block + size)) return i;
    const next = fence + FENCE_ENTRY_BYTES;
    const order = compareKeySeq(key, seq, load<u64>(next), load<u64>(next, 8));
    if (isFileLast ? order != 0 : order >= 0) return i;
  }
  return count;
}
