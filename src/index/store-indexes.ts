// All indexes of a store, fed in position order by recovery and by each group commit:
// stream (WASM stream table), global ($all), category and event type.

import type { Wasm } from '../wasm/kernels.js';
import { StreamTable } from '../wasm/stream-table.js';
import type { RecordDecoder } from '../format/record-decoder.js';
import { DEC_DESC_BYTES, RECORD_HEADER_BYTES } from '../format/record-layout.js';
import { emptyDecodedRecord } from '../format/record-decoder.js';
import { GlobalIndex } from './global-index.js';
import { KeyedPositions, categoryOf } from './keyed-positions.js';

export class StoreIndexes {
  readonly streams: StreamTable;
  readonly global = new GlobalIndex();
  readonly categories = new KeyedPositions();
  readonly eventTypes = new KeyedPositions();
  /** Category of each stream number (null: the stream id has no '-'). */
  private readonly categoryByStream: (string | null)[] = [];
  private readonly scratch = emptyDecodedRecord();

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
    const r = this.scratch;
    for (let i = 0; i < indexed; i++) {
      decoder.read(firstDesc + i, r);
      const at = base + r.offset + RECORD_HEADER_BYTES;
      this.global.add(chunkNumber, r.position, fileOffsetOfBase + r.offset, r.recordBytes);
      if (r.streamNo === this.categoryByStream.length) {
        this.categoryByStream.push(categoryOf(buf.toString('utf8', at, at + r.streamIdBytes)));
      }
      const category = this.categoryByStream[r.streamNo];
      if (category !== null) this.categories.add(category, r.position);
      this.eventTypes.add(buf.toString('utf8', at + r.streamIdBytes, at + r.streamIdBytes + r.eventTypeBytes), r.position);
    }
    return indexed;
  }

  destroy(): void {
    this.streams.destroy();
  }
}
