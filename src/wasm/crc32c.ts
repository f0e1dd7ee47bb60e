// CRC32C of JavaScript bytes through the WASM kernel (format-spec/log.md §1). Large inputs are
// streamed through a fixed staging region so memory does not grow with the input.

import type { Wasm } from './kernels.js';
import { WasmRegion } from './region.js';

const STAGING_BYTES = 256 * 1024;

export class Crc32c {
  private readonly staging: WasmRegion;

  constructor(private readonly wasm: Wasm) {
    this.staging = new WasmRegion(wasm, STAGING_BYTES);
  }

  /** CRC32C of `bytes`, continuing from `crc` (0 to start). */
  of(bytes: Uint8Array, crc = 0): number {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(STAGING_BYTES, bytes.length - at);
      this.wasm.u8.set(bytes.subarray(at, at + n), this.staging.ptr);
      crc = this.wasm.k.crc32cUpdate(crc, this.staging.ptr, n) >>> 0;
      at += n;
    }
    return crc >>> 0;
  }

  /** CRC32C of bytes already in WASM memory. */
  ofMemory(ptr: number, length: number, crc = 0): number {
    this.wasm.checkRange(ptr, length);
    return this.wasm.k.crc32cUpdate(crc, ptr, length) >>> 0;
  }
}
