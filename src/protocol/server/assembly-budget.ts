// The server-wide budget of bytes held in frames that connections have begun and not finished
// (FRAME_ASSEMBLY_BYTES_MAX): every connection's framer reserves from it before it grows an
// assembly buffer. format-spec/protocol.md §10.

import { assert } from '../../util/assert.js';
import type { FrameAssemblyBudget } from '../wire/framer.js';

export class SharedAssemblyBudget implements FrameAssemblyBudget {
  private heldBytes = 0;

  constructor(readonly limitBytes: number) {
    assert(Number.isSafeInteger(limitBytes) && limitBytes > 0, () => `assembly budget of ${limitBytes} bytes`);
  }

  /** Bytes reserved now, by all connections together. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Takes `bytes` more unless that would pass the limit; says whether it did. */
  reserve(bytes: number): boolean {
    assert(Number.isSafeInteger(bytes) && bytes > 0, () => `reserving ${bytes} bytes`);
    if (this.heldBytes + bytes > this.limitBytes) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** Gives back `bytes` that an earlier reserve took. */
  release(bytes: number): void {
    assert(Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= this.heldBytes, () => `releasing ${bytes} of ${this.heldBytes} bytes held`);
    this.heldBytes -= bytes;
  }
}
