// The embedded API: `EventStore.open(dir)` gives durable streams with expected revisions,
// atomic multi-stream appends and $all / stream / category reads, all in-process.

import { assert } from '../util/assert.js';
import { CorruptionError, InvalidArgumentError, StoreClosedError, type ExpectedRevision } from '../util/errors.js';
import { uuidFromBytes } from '../util/bytes.js';
import { APPEND_BYTES_MAX, GROUP_COMMIT_BATCHES_IN_FLIGHT, READ_BATCH_RECORDS_MAX, RECORD_BYTES_MAX } from '../util/limits.js';
import { Wasm } from '../wasm/kernels.js';
import { Crc32c } from '../wasm/crc32c.js';
import { chunkFileName } from '../format/chunk-layout.js';
import { RecordBatchEncoder } from '../format/record-batch-encoder.js';
import { emptyDecodedRecord } from '../format/record-decoder.js';
import { FLAG_ID_GIVEN, RECORD_ID_AT } from '../format/record-layout.js';
import { recoverLog } from '../log/recovery.js';
import { LogWriter } from '../log/log-writer.js';
import { LogReader } from '../log/log-reader.js';
import { StoreLock } from '../log/store-lock.js';
import { StoreIndexes } from '../index/store-indexes.js';
import { Committer, type AppendPart, type AppendResult } from './committer.js';
import { checkAppendSize, validateEvents, validateStreamId, type EventData } from './event-input.js';
import { validateExpectedRevision } from './expected-revision.js';
import { parseReadAllOptions, parseReadStreamOptions, type ParsedRead, type ReadAllOptions, type ReadStreamOptions } from './read-options.js';
import { PagedEvents } from './paged-events.js';
import { RecentEventIds, RecentIdRing } from './recent-event-ids.js';
import { RecordReader } from './record-reader.js';
import type { RecordedEvent } from './recorded-event.js';
import { resolveOptions, type EventStoreOptions, type ResolvedOptions } from './options.js';

export interface AppendOptions {
  /** Default 'any'. */
  expectedRevision?: ExpectedRevision;
}

export interface AppendRequest {
  streamId: string;
  events: EventData[];
  expectedRevision?: ExpectedRevision;
}

export interface StreamInfo {
  readonly streamId: string;
  readonly exists: boolean;
  /** -1n when the stream has no events. */
  readonly lastRevision: bigint;
  readonly eventCount: bigint;
  /** Position of the stream's last event; -1n when it has none. */
  readonly lastPosition: bigint;
}

interface Parts {
  readonly wasm: Wasm;
  readonly crc: Crc32c;
  readonly indexes: StoreIndexes;
  readonly writer: LogWriter;
  readonly reader: RecordReader;
  readonly encoders: RecordBatchEncoder[];
  readonly lock: StoreLock;
}

export class EventStore {
  private readonly committer: Committer;
  private closing: Promise<void> | null = null;

  private constructor(readonly dir: string, private readonly options: ResolvedOptions, private readonly parts: Parts, recentIds: RecentEventIds) {
    const { indexes, reader } = parts;
    const positionAt = (streamId: string, revision: number): number => {
      const streamNo = indexes.streams.find(streamId);
      assert(streamNo >= 0 && revision < indexes.streams.revisionCount(streamNo), 'a durable revision is looked up');
      return indexes.streams.positionOf(streamNo, revision);
    };
    const stored = {
      idAt: (streamId: string, revision: number): string => {
        const out: RecordedEvent[] = [];
        reader.readRange(positionAt(streamId, revision), 1, true, out);
        return out[0].id;
      },
      positionAt,
    };
    this.committer = new Committer(indexes, parts.writer, parts.encoders, stored, recentIds, options.clock, options.maxPendingAppends);
  }

  /**
   * Opens the store in `dir` (created when missing): recovers the log, cutting a torn tail,
   * and rebuilds the indexes. Throws CorruptionError when committed data is damaged.
   */
  static async open(dir: string, options: EventStoreOptions = {}): Promise<EventStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('dir must be a non-empty path');
    const opts = resolveOptions(options);
    const fs = opts.fileSystem;
    await fs.mkdir(dir);
    const lock = await StoreLock.acquire(fs, dir);
    const wasm = new Wasm();
    try {
      const crc = new Crc32c(wasm);
      const indexes = new StoreIndexes(wasm, opts.streamHashBits);
      const ring = new RecentIdRing(opts.idempotencyWindowEvents);
      const scratch = emptyDecodedRecord();
      const recovered = await recoverLog(
        {
          fs, dir, wasm, crc,
          chunkSizeBytes: opts.chunkSizeBytes,
          maxRecordBytes: RECORD_BYTES_MAX,
          maxTransactionBytes: APPEND_BYTES_MAX,
          logger: opts.logger,
          nowMs: opts.clock.nowMs(),
        },
        (span) => {
          const indexed = indexes.applyRecords(span.decoder, 0, span.count, span.base, span.bytes, span.chunkNumber, span.fileOffset);
          if (indexed < span.count) {
            const bad = span.decoder.read(indexed, scratch);
            throw new CorruptionError({ file: chunkFileName(span.chunkNumber), offset: span.fileOffset + bad.offset, reason: `revision ${bad.revision} does not follow its stream's last revision` });
          }
          if (opts.idempotencyWindowEvents === 0) return;
          const u8 = wasm.u8;
          for (let i = 0; i < span.count; i++) {
            const r = span.decoder.read(i, scratch);
            // Only ids the appender chose can come back in a retry (as at run time).
            if (r.flags & FLAG_ID_GIVEN) ring.add(u8, span.base + r.offset + RECORD_ID_AT, r.streamNo, r.revision);
          }
        },
      );
      const recentIds = new RecentEventIds(opts.idempotencyWindowEvents);
      ring.replayInto(recentIds, (streamNo) => indexes.streams.streamId(streamNo), uuidFromBytes);
      assert(indexes.nextPosition === recovered.chunks.last.nextPosition, 'indexes cover the recovered log');
      const writer = new LogWriter(fs, recovered.chunks, crc, recovered.checkpointFile, recovered.activeRecordOffsets, recovered.activeBodyChecksum, {
        chunkSizeBytes: opts.chunkSizeBytes,
        checkpointIntervalMs: opts.checkpointIntervalMs,
      });
      const reader = new RecordReader(wasm, new LogReader(recovered.chunks), indexes.global, RECORD_BYTES_MAX);
      const encoders = Array.from({ length: GROUP_COMMIT_BATCHES_IN_FLIGHT }, () => new RecordBatchEncoder(wasm, RECORD_BYTES_MAX));
      return new EventStore(dir, opts, { wasm, crc, indexes, writer, reader, encoders, lock }, recentIds);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Appends events to one stream atomically. Resolves after they are fdatasync'd, with the
   * stream's new last revision and the last event's position. Throws WrongExpectedVersionError on
   * a revision conflict; re-sending the same event ids is an idempotent success.
   */
  appendToStream(streamId: string, events: EventData[], options?: AppendOptions): Promise<AppendResult> {
    try {
      this.checkOpen();
      if (options !== undefined && (typeof options !== 'object' || options === null || Object.keys(options).some((k) => k !== 'expectedRevision'))) {
        throw new InvalidArgumentError('append options may only contain expectedRevision');
      }
      const part = this.preparePart(streamId, events, options?.expectedRevision);
      const bytes = checkAppendSize([part], this.options);
      return this.committer.submitOne(part, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends to several streams in one transaction: all become visible, or none (also across a crash). */
  appendMulti(requests: AppendRequest[]): Promise<AppendResult[]> {
    try {
      this.checkOpen();
      if (!Array.isArray(requests) || requests.length === 0) throw new InvalidArgumentError('appendMulti needs a non-empty array of requests');
      const parts = requests.map((request) => {
        if (typeof request !== 'object' || request === null) throw new InvalidArgumentError('each appendMulti request must be an object');
        for (const key of Object.keys(request)) {
          if (key !== 'streamId' && key !== 'events' && key !== 'expectedRevision') throw new InvalidArgumentError(`unknown appendMulti field '${key}'`);
        }
        return this.preparePart(request.streamId, request.events, request.expectedRevision);
      });
      const bytes = checkAppendSize(parts, this.options);
      return this.committer.submit(parts, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private preparePart(streamId: string, events: EventData[], expectedRevision: ExpectedRevision | undefined): AppendPart {
    const streamIdBytes = validateStreamId(streamId);
    const expected = expectedRevision === undefined ? 'any' : validateExpectedRevision(expectedRevision);
    return { streamId, streamIdBytes, events: validateEvents(events, streamIdBytes, this.options), expected };
  }

  /** Events of one stream; [] when the stream does not exist. */
  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    this.checkOpen();
    validateStreamId(streamId);
    const read = parseReadStreamOptions(options);
    const streams = this.parts.indexes.streams;
    const streamNo = streams.find(streamId);
    if (streamNo < 0 || read.maxCount === 0) return [];
    const count = streams.revisionCount(streamNo);
    let positions: Float64Array;
    if (read.direction === 'forwards') {
      const from = read.from === 'start' ? 0 : read.from === 'end' ? count : Math.min(Number(read.from), count);
      positions = streams.positions(streamNo, from, Math.min(read.maxCount, count - from));
    } else {
      const from = read.from === 'end' ? count - 1 : read.from === 'start' ? 0 : Math.min(Number(read.from), count - 1);
      const n = Math.min(read.maxCount, from + 1);
      positions = streams.positions(streamNo, from - n + 1, n).reverse();
    }
    const out: RecordedEvent[] = [];
    this.parts.reader.readPositions(positions, 0, positions.length, streamId, out);
    return out;
  }

  /** Events of $all in position order (or reverse), optionally filtered. */
  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    this.checkOpen();
    const read = parseReadAllOptions(options);
    if (read.filter === undefined) return this.readRange(read);
    if ('eventType' in read.filter) return this.readPositionList(this.parts.indexes.eventTypes.positions(read.filter.eventType), read);
    if ('category' in read.filter) return this.readPositionList(this.parts.indexes.categories.positions(read.filter.category), read);
    return this.readWithStreamPrefix(read.filter.streamPrefix, read);
  }

  /** Events of every stream in `category` (a stream's category is its id before the first '-'), in $all order. */
  readCategory(category: string, options?: Omit<ReadAllOptions, 'filter'>): Promise<RecordedEvent[]> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(new InvalidArgumentError('read options must be an object'));
    }
    if (options !== undefined && 'filter' in options) return Promise.reject(new InvalidArgumentError('readCategory takes no filter'));
    return this.readAll({ ...options, filter: { category } });
  }

  /**
   * Pages through $all; each page is read when the consumer asks for the next event. Bad options
   * and a closed store reject the first next(), as an async generator would.
   */
  iterateAll(options?: ReadAllOptions): AsyncIterableIterator<RecordedEvent> {
    try {
      this.checkOpen();
      const read = parseReadAllOptions(options);
      const filter = read.filter ? { filter: read.filter } : {};
      return new PagedEvents(
        (fromPosition, maxCount) => this.readAll({ fromPosition, direction: read.direction, maxCount, ...filter }),
        (event) => event.position, read.from, read.direction, read.maxCount,
      );
    } catch (error) {
      return PagedEvents.failing(error);
    }
  }

  /** Pages through one stream (errors as iterateAll). */
  iterateStream(streamId: string, options?: ReadStreamOptions): AsyncIterableIterator<RecordedEvent> {
    try {
      this.checkOpen();
      validateStreamId(streamId);
      const read = parseReadStreamOptions(options);
      return new PagedEvents(
        (fromRevision, maxCount) => this.readStream(streamId, { fromRevision, direction: read.direction, maxCount }),
        (event) => event.revision, read.from, read.direction, read.maxCount,
      );
    } catch (error) {
      return PagedEvents.failing(error);
    }
  }

  private readRange(read: ParsedRead): RecordedEvent[] {
    const next = this.parts.indexes.nextPosition;
    const out: RecordedEvent[] = [];
    if (next === 0 || read.maxCount === 0) return out;
    if (read.direction === 'forwards') {
      const from = read.from === 'start' ? 0 : read.from === 'end' ? next : Math.min(Number(read.from), next);
      const n = Math.min(read.maxCount, next - from);
      if (n > 0) this.parts.reader.readRange(from, n, true, out);
    } else {
      const from = read.from === 'start' ? 0 : read.from === 'end' ? next - 1 : Math.min(Number(read.from), next - 1);
      this.parts.reader.readRange(from, Math.min(read.maxCount, from + 1), false, out);
    }
    return out;
  }

  private readPositionList(positions: Float64Array, read: ParsedRead): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    if (positions.length === 0 || read.maxCount === 0) return out;
    const forwards = read.direction === 'forwards';
    // First index with position >= from (forwards), or last with position <= from (backwards).
    const from = read.from === 'start' ? 0 : read.from === 'end' ? Number.MAX_SAFE_INTEGER : Number(read.from);
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (forwards ? positions[mid] < from : positions[mid] <= from) lo = mid + 1;
      else hi = mid;
    }
    if (forwards) {
      const n = Math.min(read.maxCount, positions.length - lo);
      this.parts.reader.readPositions(positions.slice(lo, lo + n), 0, n, null, out);
    } else {
      const n = Math.min(read.maxCount, lo);
      this.parts.reader.readPositions(positions.slice(lo - n, lo).reverse(), 0, n, null, out);
    }
    return out;
  }

  private readWithStreamPrefix(prefix: string, read: ParsedRead): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    let from = read.from;
    for (;;) {
      const page = this.readRange({ from, direction: read.direction, maxCount: READ_BATCH_RECORDS_MAX });
      for (const event of page) {
        if (out.length === read.maxCount) return out;
        if (event.streamId.startsWith(prefix)) out.push(event);
      }
      if (page.length < READ_BATCH_RECORDS_MAX || out.length === read.maxCount) return out;
      const last = page[page.length - 1].position;
      if (read.direction === 'backwards' && last === 0n) return out;
      from = read.direction === 'forwards' ? last + 1n : last - 1n;
    }
  }

  /** Whether the stream exists, its last revision and event count. */
  async streamInfo(streamId: string): Promise<StreamInfo> {
    this.checkOpen();
    validateStreamId(streamId);
    const streams = this.parts.indexes.streams;
    const streamNo = streams.find(streamId);
    const count = streamNo < 0 ? 0 : streams.revisionCount(streamNo);
    return {
      streamId,
      exists: count > 0,
      lastRevision: BigInt(count - 1),
      eventCount: BigInt(count),
      lastPosition: count > 0 ? BigInt(streams.positionOf(streamNo, count - 1)) : -1n,
    };
  }

  /** Position of the last durable event, -1n for an empty store. Positions are dense: count = head + 1. */
  async headPosition(): Promise<bigint> {
    this.checkOpen();
    return BigInt(this.parts.indexes.nextPosition - 1);
  }

  /**
   * Commits every append already accepted, writes a clean-shutdown checkpoint and releases the
   * directory. Later calls throw StoreClosedError; closing twice is harmless.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const { writer, reader, encoders, indexes, lock } = this.parts;
    try {
      await this.committer.drain();
      await writer.close(this.options.clock.nowMs());
    } finally {
      reader.free();
      for (const encoder of encoders) encoder.free();
      indexes.destroy();
      await lock.release();
    }
  }

  private checkOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }
}
