// A growable block of WASM memory that JavaScript fills or reads (staging, read spans,
// descriptor arrays). Its pointer may move when it grows; callers re-read `ptr` after ensure().

import { assert } from '../util/assert.js';
import type { Wasm } from './kernels.js';

export class WasmRegion {
  ptr = 0;
  capacity = 0;

  constructor(private readonly wasm: Wasm, initialBytes: number) {
    this.ensure(initialBytes);
  }

  /** Makes the region at least `bytes` long. Contents are kept; the pointer may change. */
  ensure(bytes: number): void {
    if (bytes <= this.capacity) return;
    let capacity = Math.max(this.capacity, 4096);
    while (capacity < bytes) capacity *= 2;
    const ptr = this.ptr === 0 ? this.wasm.k.alloc(capacity) : this.wasm.k.realloc(this.ptr, capacity);
    assert(ptr !== 0 && ptr % 8 === 0, 'wasm allocation must succeed and be 8-byte aligned');
    this.ptr = ptr;
    this.capacity = capacity;
  }

  /** A view of the first `length` bytes (valid until the next allocation in this instance). */
  view(length = this.capacity): Uint8Array {
    assert(length <= this.capacity, 'view within region');
    return this.wasm.u8.subarray(this.ptr, this.ptr + length);
  }

  free(): void {
    if (this.ptr !== 0) this.wasm.k.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}
