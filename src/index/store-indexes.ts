// All indexes of a store, fed in position order by recovery and by each group commit:
// stream (WASM stream table), global ($all), category and event type.

import type { Wasm } from '../wasm/kernels.js';
import { StreamTable } from '../wasm/stream-table.js';
import {
  DF64_POSITION, DU32_FLAGS_STREAM, DU32_OFFSET, DU32_RECORD_BYTES, DU32_STREAM_NO, DU32_TYPE, type RecordDecoder,
} from '../format/record-decoder.js';
import { DEC_DESC_BYTES, DEC_F64_STRIDE, DEC_U32_STRIDE, RECORD_HEADER_BYTES } from '../format/record-layout.js';
import { GlobalIndex } from './global-index.js';
import { KeyedPositions, categoryOf } from './keyed-positions.js';

export class StoreIndexes {
  readonly streams: StreamTable;
  readonly global = new GlobalIndex();
  readonly categories = new KeyedPositions();
  readonly eventTypes = new KeyedPositions();
  /** Category of each stream number (null: the stream id has no '-'). */
  private readonly categoryByStream: (string | null)[] = [];

  constructor(private readonly wasm: Wasm, streamHashBits: number) {
    this.streams = new StreamTable(wasm, streamHashBits);
  }

  /** Position the next record must have. */
  get nextPosition(): number {
    return this.global.nextPosition;
  }

  /**
   * Indexes records described by decoder descriptors [firstDesc, firstDesc+count) over bytes at
   * WASM pointer `base`; record i lies in chunk `chunkNumber` at file offset fileOffsetOfBase +
   * its descriptor offset. Returns how many were indexed: fewer than `count` means the next record
   * does not carry its stream's next revision.
   */
  applyRecords(decoder: RecordDecoder, firstDesc: number, count: number, base: number, regionBytes: number, chunkNumber: number, fileOffsetOfBase: number): number {
    const descPtr = decoder.descPtr + firstDesc * DEC_DESC_BYTES;
    const indexed = this.streams.indexRecords(base, regionBytes, descPtr, count * DEC_DESC_BYTES, count);
    const buf = this.wasm.buf;
    const { u32, f64, u32At, f64At } = decoder.views();
    // Consecutive records mostly share their event type: compare bytes before decoding a string.
    let typeAt = -1;
    let typeBytes = 0;
    let type = '';
    for (let i = 0; i < indexed; i++) {
      const u = u32At + (firstDesc + i) * DEC_U32_STRIDE;
      const offset = u32[u + DU32_OFFSET];
      const position = f64[f64At + (firstDesc + i) * DEC_F64_STRIDE + DF64_POSITION];
      const streamNo = u32[u + DU32_STREAM_NO];
      const streamIdBytes = u32[u + DU32_FLAGS_STREAM] >>> 16;
      const eventTypeBytes = u32[u + DU32_TYPE] & 0xffff;
      const at = base + offset + RECORD_HEADER_BYTES;
      this.global.add(chunkNumber, position, fileOffsetOfBase + offset, u32[u + DU32_RECORD_BYTES]);
      if (streamNo === this.categoryByStream.length) {
        this.categoryByStream.push(categoryOf(buf.toString('utf8', at, at + streamIdBytes)));
      }
      const category = this.categoryByStream[streamNo];
      if (category !== null) this.categories.add(category, position);
      const thisTypeAt = at + streamIdBytes;
      if (typeAt < 0 || eventTypeBytes !== typeBytes || !sameBytes(buf, typeAt, thisTypeAt, typeBytes)) {
        type = buf.toString('utf8', thisTypeAt, thisTypeAt + eventTypeBytes);
        typeBytes = eventTypeBytes;
      }
      typeAt = thisTypeAt;
      this.eventTypes.add(type, position);
    }
    return indexed;
  }

  destroy(): void {
    this.streams.destroy();
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
