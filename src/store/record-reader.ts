// Turns global positions into RecordedEvents. Neighbouring records are read with one pread into
// WASM memory and validated there in one call per span (length, CRC, position), then copied into
// a buffer the events own. format-spec/log.md §3.4 "Reading".

import { CorruptionError } from '../util/errors.js';
import { READ_BATCH_RECORDS_MAX, READ_SPAN_BYTES } from '../util/limits.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import {
  DF64_CREATED, DF64_POSITION, DF64_REVISION, DU32_DATA, DU32_FLAGS_STREAM, DU32_META, DU32_OFFSET, DU32_RECORD_BYTES, DU32_TYPE,
  RecordDecoder,
} from '../format/record-decoder.js';
import { DEC_F64_STRIDE, DEC_U32_STRIDE, FLAG_SCAVENGED, RECORD_HEADER_BYTES, StopReason, stopReasonName } from '../format/record-layout.js';
import type { LogReader } from '../log/log-reader.js';
import type { GlobalIndex } from '../index/global-index.js';
import { RecordedEvent } from './recorded-event.js';

/** Records further apart than this are read separately rather than with the bytes between them. */
const SPAN_GAP_BYTES_MAX = 16 * 1024;

export class RecordReader {
  private readonly span: WasmRegion;
  private readonly decoder: RecordDecoder;
  /** Offsets of the records of a scattered read in the compact buffer the events own. */
  private readonly relocated = new Uint32Array(READ_BATCH_RECORDS_MAX);

  /** Record bytes the read under way may still return (Infinity: no budget); see withByteBudget. */
  private bytesLeft = Infinity;
  private budgetBytes = Infinity;
  /** Whether the read under way has returned an event yet (until then, one record may go over budget). */
  private returnedAny = false;
  private budgetCut = false;

  constructor(private readonly wasm: Wasm, private readonly log: LogReader, private readonly global: GlobalIndex, maxRecordBytes: number) {
    this.span = new WasmRegion(wasm, READ_SPAN_BYTES);
    this.decoder = new RecordDecoder(wasm, READ_BATCH_RECORDS_MAX, maxRecordBytes);
  }

  /**
   * Runs a synchronous read that materialises at most `maxBytes` of records (log.md §3 sizes,
   * holes included): readRange and readPositions then stop before the first record that would go
   * past it once the read has returned an event. So a page holds at most maxBytes of records, or,
   * when its first event alone is larger, that event (and any holes before it): it always makes
   * progress. Sizes come from the global index before the records are read, so a page of huge
   * events never exists in memory, even for a moment.
   * Returns fn's result and whether the budget cut the read short.
   */
  withByteBudget<T>(maxBytes: number, read: () => T): { result: T; cut: boolean } {
    if (maxBytes === Infinity) return { result: read(), cut: false };
    this.budgetBytes = maxBytes;
    this.renewBudget();
    try {
      return { result: read(), cut: this.budgetCut };
    } finally {
      this.bytesLeft = Infinity;
      this.budgetCut = false;
    }
  }

  /**
   * Starts the read under way on a fresh budget, as if nothing had been read: for a read that
   * filters what the reader returns (stream prefix, metadata) and whose budget ran out before
   * anything passed its filter — the records it read are garbage by then, and a page must hold
   * at least one event.
   */
  renewBudget(): void {
    this.bytesLeft = this.budgetBytes;
    this.returnedAny = false;
    this.budgetCut = false;
  }

  /** Whether the budget of the read under way is spent (its callers stop asking for more). */
  get budgetSpent(): boolean {
    return this.budgetCut;
  }

  /**
   * How many of the records at positionAt(0) … positionAt(count-1) to read next, taking their
   * bytes from the budget: those that fit; when not even the first fits, that one alone if the
   * read has returned no event yet (holes at most), else 0 — the read is then cut.
   */
  private fitBudget(count: number, positionAt: (i: number) => number): number {
    if (this.bytesLeft === Infinity || count === 0) return count;
    let n = 0;
    while (n < count) {
      const { recordBytes } = this.global.locate(positionAt(n));
      if (recordBytes > this.bytesLeft) {
        // Those before it are read first: they may hold the page's first event.
        if (this.returnedAny || n > 0) break;
        // Nothing returned yet (holes at most): this record is read over budget.
        this.bytesLeft = 0;
        return 1;
      }
      this.bytesLeft -= recordBytes;
      n++;
    }
    if (n === 0 && count > 0) this.budgetCut = true;
    return n;
  }

  /**
   * As fitBudget for consecutive positions from `p` (upwards or downwards), within p's chunk: a
   * binary search over the chunk's offsets rather than a lookup per record.
   */
  private fitRange(p: number, count: number, forwards: boolean): number {
    if (this.bytesLeft === Infinity) return count;
    const global = this.global;
    const c = global.chunkIndexOf(p);
    const most = Math.min(count, forwards ? global.chunkEndPosition(c) - p : p - global.chunkStartPosition(c) + 1);
    const bytesOf = (k: number): number => (forwards ? global.endOf(c, p + k - 1) - global.offsetOf(c, p) : global.endOf(c, p) - global.offsetOf(c, p - k + 1));
    let a = 0;
    let b = most;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (bytesOf(mid) <= this.bytesLeft) a = mid;
      else b = mid - 1;
    }
    if (a > 0) {
      this.bytesLeft -= bytesOf(a);
      return a;
    }
    // The next record alone is over budget: as in fitBudget.
    return this.fitBudget(1, () => p);
  }

  /**
   * Reads the `count` events at consecutive positions from `first` upwards (forwards) or downwards
   * (backwards) and pushes them to `out` in that order (holes left by scavenging only with
   * `keepHoles`: otherwise fewer than `count`). Every record is validated by one scan per
   * span; throws CorruptionError on any damage, never returning bytes that differ from those written.
   */
  readRange(first: number, count: number, forwards: boolean, out: RecordedEvent[], keepHoles = false): void {
    let p = first;
    let left = count;
    let allowed = 0;
    while (left > 0) {
      if (allowed === 0) {
        allowed = this.fitRange(p, left, forwards);
        if (allowed === 0) return;
      }
      const c = this.global.chunkIndexOf(p);
      // The span covers positions [lo, hi) of one chunk within READ_SPAN_BYTES (at least one record).
      let lo: number;
      let hi: number;
      if (forwards) {
        lo = p;
        hi = this.spanEnd(c, lo, Math.min(lo + allowed, this.global.chunkEndPosition(c), lo + READ_BATCH_RECORDS_MAX));
      } else {
        hi = p + 1;
        lo = this.spanStart(c, hi, Math.max(hi - allowed, this.global.chunkStartPosition(c), hi - READ_BATCH_RECORDS_MAX));
      }
      const n = hi - lo;
      const start = this.global.offsetOf(c, lo);
      const bytes = this.global.endOf(c, hi - 1) - start;
      const owned = this.load(c, start, bytes);
      const valid = this.decoder.scan(this.span.ptr, bytes, lo, n);
      if (valid !== n || this.decoder.lastStop().reason !== StopReason.End) this.corrupt(c, start, lo + valid);
      this.emit(owned, n, forwards, null, out, keepHoles);
      p = forwards ? hi : lo - 1;
      left -= n;
      allowed -= n;
    }
  }

  /**
   * Reads the events at positions[from..to) (ascending or descending) in that order. `streamId`,
   * when the caller knows it, saves decoding it per event.
   */
  readPositions(positions: ArrayLike<number>, from: number, to: number, streamId: string | null, out: RecordedEvent[]): void {
    let i = from;
    while (i < to) {
      const start = i;
      const allowed = this.fitBudget(to - i, (k) => positions[start + k]);
      if (allowed === 0) return;
      const end = i + allowed;
      while (i < end) i = this.readScattered(positions, i, end, streamId, out);
    }
  }

  /** Last position (exclusive) ≤ limit whose span from `lo` stays within READ_SPAN_BYTES. */
  private spanEnd(c: number, lo: number, limit: number): number {
    const start = this.global.offsetOf(c, lo);
    let a = lo + 1;
    let b = limit;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (this.global.endOf(c, mid - 1) - start <= READ_SPAN_BYTES) a = mid;
      else b = mid - 1;
    }
    return a;
  }

  /** First position ≥ limit whose span up to `hi` stays within READ_SPAN_BYTES. */
  private spanStart(c: number, hi: number, limit: number): number {
    const end = this.global.endOf(c, hi - 1);
    let a = limit;
    let b = hi - 1;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (end - this.global.offsetOf(c, mid) <= READ_SPAN_BYTES) b = mid;
      else a = mid + 1;
    }
    return a;
  }

  /** Reads one span of positions[i..] whose records are close together; returns the index after it. */
  private readScattered(positions: ArrayLike<number>, i: number, to: number, streamId: string | null, out: RecordedEvent[]): number {
    const global = this.global;
    const c = global.chunkIndexOf(positions[i]);
    const chunkStart = global.chunkStartPosition(c);
    const chunkEnd = global.chunkEndPosition(c);
    let lo = global.offsetOf(c, positions[i]);
    let hi = global.endOf(c, positions[i]);
    let j = i + 1;
    while (j < to && j - i < READ_BATCH_RECORDS_MAX) {
      const p = positions[j];
      if (p < chunkStart || p >= chunkEnd) break;
      const start = global.offsetOf(c, p);
      const end = global.endOf(c, p);
      const newLo = Math.min(lo, start);
      const newHi = Math.max(hi, end);
      if (newHi - newLo > READ_SPAN_BYTES || (start >= hi ? start - hi : lo - end) > SPAN_GAP_BYTES_MAX) break;
      lo = newLo;
      hi = newHi;
      j++;
    }
    const count = j - i;
    this.fill(c, lo, hi - lo);
    for (let k = 0; k < count; k++) this.decoder.expect(k, global.offsetOf(c, positions[i + k]) - lo, positions[i + k]);
    const valid = this.decoder.validateAt(this.span.ptr, hi - lo, count);
    if (valid !== count) this.corrupt(c, lo, positions[i + valid]);
    // The span may hold other streams' records between the wanted ones: copy only the wanted.
    const { u32, u32At } = this.decoder.views();
    let wanted = 0;
    for (let k = 0; k < count; k++) wanted += u32[u32At + k * DEC_U32_STRIDE + DU32_RECORD_BYTES];
    const owned = Buffer.allocUnsafe(wanted);
    const memory = this.wasm.u8;
    let at = 0;
    for (let k = 0; k < count; k++) {
      const u = u32At + k * DEC_U32_STRIDE;
      const from = this.span.ptr + u32[u + DU32_OFFSET];
      const length = u32[u + DU32_RECORD_BYTES];
      owned.set(memory.subarray(from, from + length), at);
      this.relocated[k] = at;
      at += length;
    }
    this.emit(owned, count, true, streamId, out, false, this.relocated);
    return j;
  }

  /** Reads chunk bytes [start, start+bytes) into the WASM span. */
  private fill(c: number, start: number, bytes: number): void {
    this.span.ensure(bytes);
    this.decoder.reserve(READ_BATCH_RECORDS_MAX);
    const chunkNumber = this.global.chunkNumberAt(c);
    const got = this.log.read(chunkNumber, start, bytes, this.wasm.u8, this.span.ptr);
    if (got !== bytes) {
      this.global.forgetCachedOffsets(c);
      throw new CorruptionError({ file: this.log.fileName(chunkNumber), offset: start + got, reason: `short read: ${got} of ${bytes} bytes` });
    }
  }

  /** Reads chunk bytes [start, start+bytes) into the WASM span and returns a copy the events own. */
  private load(c: number, start: number, bytes: number): Buffer {
    this.fill(c, start, bytes);
    const owned = Buffer.allocUnsafe(bytes);
    owned.set(this.wasm.u8.subarray(this.span.ptr, this.span.ptr + bytes));
    return owned;
  }

  /**
   * Makes events from descriptors 0..count-1 (in descriptor order, or reversed). Record k lies in
   * `owned` at its descriptor offset, or at relocated[k] when given. Consecutive events mostly
   * share a stream and a type, so those strings are decoded once per run of equal bytes.
   */
  /**
   * Pushes the decoded records as events; holes left by scavenging (FLAG_SCAVENGED) are skipped
   * unless `keepHoles` (the idempotency check reads their ids).
   */
  private emit(owned: Buffer, count: number, inOrder: boolean, streamId: string | null, out: RecordedEvent[], keepHoles: boolean, relocated?: Uint32Array): void {
    const { u32, f64, u32At, f64At } = this.decoder.views();
    let typeAt = -1;
    let typeBytes = 0;
    let type = '';
    let streamAt = -1;
    let streamBytes = 0;
    let stream = streamId ?? '';
    for (let k = 0; k < count; k++) {
      const i = inOrder ? k : count - 1 - k;
      const u = u32At + i * DEC_U32_STRIDE;
      const f = f64At + i * DEC_F64_STRIDE;
      const flagsStream = u32[u + DU32_FLAGS_STREAM];
      if (!keepHoles && (flagsStream & FLAG_SCAVENGED) !== 0) continue;
      const at = relocated ? relocated[i] : u32[u + DU32_OFFSET];
      const thisStreamBytes = flagsStream >>> 16;
      const thisStreamAt = at + RECORD_HEADER_BYTES;
      if (streamId === null && (streamAt < 0 || thisStreamBytes !== streamBytes || !sameBytes(owned, streamAt, thisStreamAt, streamBytes))) {
        stream = owned.toString('utf8', thisStreamAt, thisStreamAt + thisStreamBytes);
        streamBytes = thisStreamBytes;
      }
      streamAt = thisStreamAt;
      const thisTypeBytes = u32[u + DU32_TYPE] & 0xffff;
      const thisTypeAt = thisStreamAt + thisStreamBytes;
      if (typeAt < 0 || thisTypeBytes !== typeBytes || !sameBytes(owned, typeAt, thisTypeAt, typeBytes)) {
        type = owned.toString('utf8', thisTypeAt, thisTypeAt + thisTypeBytes);
        typeBytes = thisTypeBytes;
      }
      typeAt = thisTypeAt;
      this.returnedAny = true;
      out.push(new RecordedEvent(
        owned, at, stream, type, thisStreamBytes, thisTypeBytes, u32[u + DU32_META], u32[u + DU32_DATA],
        flagsStream & 0xffff, f64[f + DF64_POSITION], f64[f + DF64_REVISION], f64[f + DF64_CREATED],
      ));
    }
  }

  private corrupt(c: number, spanStart: number, position: number): never {
    // The offsets that led here may be what is wrong: the next read fetches them again.
    this.global.forgetCachedOffsets(c);
    const stop = this.decoder.lastStop();
    const chunkNumber = this.global.chunkNumberAt(c);
    throw new CorruptionError({
      file: this.log.fileName(chunkNumber),
      offset: spanStart + stop.offset,
      reason: `record at position ${position}: ${stopReasonName(stop.reason)}`,
      ...(stop.reason === StopReason.BadCrc ? { expectedCrc: stop.expectedCrc, actualCrc: stop.actualCrc } : {}),
    });
  }

  free(): void {
    this.span.free();
    this.decoder.free();
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}
