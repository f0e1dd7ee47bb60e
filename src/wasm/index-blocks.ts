// Checks of index-file data blocks in WASM memory (assembly/index-blocks.ts, format-spec/index.md
// §3.2): the caller reads a span of blocks straight into `spanView()`, with no copy through
// JavaScript memory, then has them checked in one call.

import { assert } from '../util/assert.js';
import type { Wasm } from './kernels.js';
import { WasmRegion } from './region.js';

/** Bytes of one fence entry, (key, seq) as two u64s (format-spec/index.md §5). */
const FENCE_ENTRY_BYTES = 16;

export class IndexBlockChecker {
  private readonly span: WasmRegion;
  private readonly fence: WasmRegion;

  constructor(private readonly wasm: Wasm) {
    this.span = new WasmRegion(wasm, 0);
    this.fence = new WasmRegion(wasm, 0);
  }

  /**
   * Makes room for `spanBytes` of blocks and `fenceEntries` fence entries. Call before spanView():
   * it may grow the memory, which leaves earlier views detached.
   */
  reserve(spanBytes: number, fenceEntries: number): void {
    this.span.ensure(spanBytes);
    this.fence.ensure(fenceEntries * FENCE_ENTRY_BYTES);
  }

  /** The first `bytes` of the span, to read blocks into: valid until the next reserve(). */
  spanView(bytes: number): Uint8Array {
    assert(bytes <= this.span.capacity, () => `span of ${bytes} bytes within the reserved ${this.span.capacity}`);
    return this.span.view(bytes);
  }

  /**
   * Checks `count` blocks of `blockBytes` at the start of the span: blocks firstBlock … of a file
   * of `fileBlocks` blocks, each of `entriesPerBlock` entries but the file's last, which holds
   * `lastBlockEntries`. `fenceWords` holds count+1 fence entries as u32 words: those of these
   * blocks, then the next block's or, after the file's last block, the footer's last (key, seq).
   * Returns how many leading blocks pass every check of §3.2; fewer than `count` names the first
   * that does not.
   */
  check(blockBytes: number, count: number, firstBlock: number, fileBlocks: number, entriesPerBlock: number, lastBlockEntries: number, fenceWords: Uint32Array): number {
    assert(Number.isInteger(count) && count >= 0 && count * blockBytes <= this.span.capacity, () => `${count} blocks of ${blockBytes} bytes fit the span`);
    assert(fenceWords.length === (count + 1) * (FENCE_ENTRY_BYTES / 4) && fenceWords.byteLength <= this.fence.capacity, 'one fence entry per block and one after');
    assert(Number.isSafeInteger(firstBlock) && firstBlock >= 0 && firstBlock + count <= fileBlocks, () => `blocks [${firstBlock}, ${firstBlock + count}) of ${fileBlocks}`);
    assert(entriesPerBlock > 0 && lastBlockEntries > 0 && lastBlockEntries <= entriesPerBlock, 'every block holds entries');
    this.wasm.checkRange(this.span.ptr, count * blockBytes);
    this.wasm.checkRange(this.fence.ptr, fenceWords.byteLength);
    this.wasm.u32.set(fenceWords, this.fence.ptr >>> 2);
    const good = this.wasm.k.indexBlocksCheck(this.span.ptr, blockBytes, count, firstBlock, fileBlocks, entriesPerBlock, lastBlockEntries, this.fence.ptr) >>> 0;
    assert(good <= count, 'the kernel counts within the span');
    return good;
  }

  free(): void {
    this.span.free();
    this.fence.free();
  }
}
