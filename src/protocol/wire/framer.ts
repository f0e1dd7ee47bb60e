// The length-prefix framer of a connection (format-spec/protocol.md §1): cuts a TCP byte stream
// into frames, each an int32 little-endian length followed by that many package bytes.

import { assert } from '../../util/assert.js';
import { WireError } from './wire-error.js';
import { FRAME_ASSEMBLY_INITIAL_BYTES, FRAME_BYTES_MAX, FRAME_PREFIX_BYTES } from './wire-limits.js';

const EMPTY = new Uint8Array(0);

/**
 * Bytes a framer may allocate for frames it is assembling, shared with others (the server's
 * FRAME_ASSEMBLY_BYTES_MAX). `reserve` is asked before every allocation and may refuse;
 * `release` returns what an assembly held once its frame is complete or the framer fails.
 */
export interface FrameAssemblyBudget {
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

const UNBOUNDED: FrameAssemblyBudget = { reserve: () => true, release: () => {} };

/**
 * Feed it socket chunks cut anywhere (one byte at a time works) and iterate the frames each feed
 * yields. It holds at most one frame plus its prefix: a frame that arrives in pieces is assembled
 * in a buffer that starts small and doubles but never exceeds the frame's length, so a peer that
 * announces 64 MiB and sends 5 bytes costs 64 KiB, not 64 MiB. Every allocation is first reserved
 * from `budget` (unbounded by default); a refusal ends the feed with WireError ASSEMBLY_REFUSED.
 */
export class LengthPrefixFramer {
  private readonly prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  private prefixFilled = 0;
  /** Length of the frame being read, or -1 while the prefix is incomplete. */
  private frameBytes = -1;
  private body: Uint8Array = EMPTY;
  private bodyFilled = 0;
  private failure: WireError | null = null;
  private feeding = false;

  constructor(private readonly budget: FrameAssemblyBudget = UNBOUNDED) {}

  /** The framing error that stopped this framer, or null. */
  get error(): WireError | null {
    return this.failure;
  }

  /**
   * Bytes of the unfinished frame received so far, its length prefix included (what a closing peer
   * left behind): > 0 exactly while a frame has begun, a bare 4-byte prefix included.
   */
  get bufferedBytes(): number {
    return this.frameBytes < 0 ? this.prefixFilled : FRAME_PREFIX_BYTES + this.bodyFilled;
  }

  /** Bytes allocated for the frame being assembled (≤ its length ≤ FRAME_BYTES_MAX). */
  get assemblyCapacityBytes(): number {
    return this.body.length;
  }

  /**
   * Drops the unfinished frame, returning its bytes to the budget (call it when the connection
   * ends: a framer left mid-frame would keep its reservation). Later feeds throw FRAMER_FAILED.
   */
  discard(): void {
    if (this.failure === null) this.fail(new WireError('FRAMER_FAILED', 'the framer was discarded'));
  }

  /**
   * Yields, in order, every frame completed by `chunk` (the package bytes, without the prefix).
   * A frame wholly inside `chunk` is a view of it, so the caller must not reuse `chunk`'s memory
   * while it keeps the frame; socket chunks are never reused, so this is free. An assembled frame
   * is a fresh buffer. Iterate to the end: stopping early loses the rest of the chunk and fails the
   * framer. A length ≤ 0 or > FRAME_BYTES_MAX throws WireError BAD_FRAME_LENGTH, and an assembly
   * buffer the budget refuses throws ASSEMBLY_REFUSED, after the frames before it were yielded;
   * from then on every feed throws WireError FRAMER_FAILED.
   */
  feed(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (this.failure !== null) {
      throw new WireError('FRAMER_FAILED', 'the framer refuses input after an error', { cause: this.failure });
    }
    assert(!this.feeding, 'feed() called again before the previous chunk was iterated to the end');
    this.feeding = true;
    return this.frames(chunk);
  }

  private *frames(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    let done = false;
    try {
      let at = 0;
      while (at < chunk.length) {
        if (this.frameBytes < 0) {
          at = this.readPrefix(chunk, at);
          continue;
        }
        const wanted = this.frameBytes - this.bodyFilled;
        if (this.bodyFilled === 0 && chunk.length - at >= wanted) {
          const frame = chunk.subarray(at, at + wanted);
          at += wanted;
          this.resetFrame();
          yield frame;
          continue;
        }
        const taken = Math.min(wanted, chunk.length - at);
        this.ensureCapacity(this.bodyFilled + taken);
        this.body.set(chunk.subarray(at, at + taken), this.bodyFilled);
        this.bodyFilled += taken;
        at += taken;
        if (this.bodyFilled === this.frameBytes) {
          const frame = this.body;
          this.resetFrame();
          yield frame;
        }
      }
      done = true;
    } finally {
      this.feeding = false;
      if (!done && this.failure === null) {
        this.fail(new WireError('FRAMER_FAILED', 'a feed was abandoned before its chunk was consumed'));
      }
    }
  }

  private readPrefix(chunk: Uint8Array, at: number): number {
    if (this.prefixFilled === 0 && chunk.length - at >= FRAME_PREFIX_BYTES) {
      this.startFrame(readInt32Le(chunk, at), at);
      return at + FRAME_PREFIX_BYTES;
    }
    const taken = Math.min(FRAME_PREFIX_BYTES - this.prefixFilled, chunk.length - at);
    this.prefix.set(chunk.subarray(at, at + taken), this.prefixFilled);
    this.prefixFilled += taken;
    if (this.prefixFilled === FRAME_PREFIX_BYTES) {
      this.prefixFilled = 0;
      this.startFrame(readInt32Le(this.prefix, 0), at);
    }
    return at + taken;
  }

  private startFrame(lengthBytes: number, chunkOffset: number): void {
    if (lengthBytes <= 0 || lengthBytes > FRAME_BYTES_MAX) {
      throw this.fail(new WireError('BAD_FRAME_LENGTH', `frame length ${lengthBytes} is outside 1..${FRAME_BYTES_MAX}`, { offset: chunkOffset }));
    }
    this.frameBytes = lengthBytes;
  }

  private ensureCapacity(neededBytes: number): void {
    if (neededBytes <= this.body.length) return;
    assert(neededBytes <= this.frameBytes, 'assembly never needs more than the frame');
    const grown = Math.min(this.frameBytes, Math.max(neededBytes, FRAME_ASSEMBLY_INITIAL_BYTES, this.body.length * 2));
    if (!this.budget.reserve(grown - this.body.length)) {
      throw this.fail(new WireError('ASSEMBLY_REFUSED', `no room to assemble a frame of ${this.frameBytes} bytes (${this.bodyFilled} received, ${grown} bytes wanted)`));
    }
    const next = new Uint8Array(grown);
    next.set(this.body.subarray(0, this.bodyFilled));
    this.body = next;
  }

  private resetFrame(): void {
    this.budget.release(this.body.length);
    this.frameBytes = -1;
    this.body = EMPTY;
    this.bodyFilled = 0;
  }

  private fail(error: WireError): WireError {
    this.failure = error;
    this.prefixFilled = 0;
    this.resetFrame();
    return error;
  }
}

function readInt32Le(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}

/** Writes the int32 little-endian length prefix for a package of `packageBytes` at out[at..at+4). */
export function writeFramePrefix(out: Uint8Array, at: number, packageBytes: number): void {
  assert(Number.isInteger(packageBytes) && packageBytes > 0 && packageBytes <= FRAME_BYTES_MAX, () => `package of ${packageBytes} bytes cannot be framed`);
  assert(at >= 0 && at + FRAME_PREFIX_BYTES <= out.length, 'prefix out of range');
  out[at] = packageBytes & 0xff;
  out[at + 1] = (packageBytes >>> 8) & 0xff;
  out[at + 2] = (packageBytes >>> 16) & 0xff;
  out[at + 3] = (packageBytes >>> 24) & 0xff;
}

/**
 * A new buffer holding the length prefix and a copy of the encoded package `pkg` (never empty: a
 * package has an 18-byte header). Throws WireError FRAME_TOO_LARGE over FRAME_BYTES_MAX.
 * encodePackageFrame in package.ts does the same without the extra copy.
 */
export function prefixFrame(pkg: Uint8Array): Uint8Array {
  assert(pkg.length > 0, 'an empty package cannot be framed');
  if (pkg.length > FRAME_BYTES_MAX) {
    throw new WireError('FRAME_TOO_LARGE', `package of ${pkg.length} bytes exceeds FRAME_BYTES_MAX (${FRAME_BYTES_MAX})`);
  }
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + pkg.length);
  writeFramePrefix(frame, 0, pkg.length);
  frame.set(pkg, FRAME_PREFIX_BYTES);
  return frame;
}
