// Group commit: appends queue up while the previous batch is being written; each batch is checked
// against expected revisions, encoded in one WASM call, written with one write + one fdatasync,
// indexed, and only then acknowledged. format-spec/log.md §7 "Durability rule".

import { assert } from '../util/assert.js';
import { StoreFailedError, StoreOverloadedError, WrongExpectedVersionError, type ExpectedRevision } from '../util/errors.js';
import { uuidFromBytes } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { GROUP_COMMIT_BYTES_MAX } from '../util/limits.js';
import type { EncodePart, RecordBatchEncoder } from '../format/record-batch-encoder.js';
import type { LogWriter } from '../log/log-writer.js';
import type { StoreIndexes } from '../index/store-indexes.js';
import type { ValidatedEvent } from './event-input.js';
import { checkExpectedRevision } from './expected-revision.js';
import type { RecentEventIds } from './recent-event-ids.js';

/** One stream's share of an append request. */
export interface AppendPart {
  readonly streamId: string;
  readonly streamIdBytes: number;
  readonly events: readonly ValidatedEvent[];
  readonly expected: ExpectedRevision;
}

export interface AppendResult {
  /** The stream's last revision after the append (-1n when it still has no events). */
  readonly nextExpectedRevision: bigint;
  /** Global position of the part's last event (of the stream's last event for an empty append; -1n if none). */
  readonly position: bigint;
}

interface AppendRequest {
  readonly parts: readonly AppendPart[];
  readonly bytes: number;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/** A stream as this batch sees it: durable events plus those accepted earlier in the batch. */
interface StreamView {
  readonly streamId: string;
  readonly streamNo: number; // -1: no durable event yet
  readonly durableCount: number;
  count: number;
  readonly pendingIds: Uint8Array[];
  readonly pendingPositions: number[];
}

/** Reads what the committer needs of stored events: their ids and positions by revision. */
export interface StoredEvents {
  idAt(streamNo: number, revision: number): string;
  positionAt(streamNo: number, revision: number): number;
}

type Decision =
  | { kind: 'write'; results: AppendResult[] }
  | { kind: 'done'; results: AppendResult[] }
  | { kind: 'conflict'; error: WrongExpectedVersionError };

export class Committer {
  private readonly queue: AppendRequest[] = [];
  private running = false;
  private idle: (() => void)[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly indexes: StoreIndexes,
    private readonly writer: LogWriter,
    private readonly encoder: RecordBatchEncoder,
    private readonly stored: StoredEvents,
    private readonly recentIds: RecentEventIds,
    private readonly clock: Clock,
    private readonly maxPendingAppends: number,
  ) {}

  get failed(): Error | null {
    return this.failure;
  }

  /** Queues an append; resolves after its records are durable and indexed. */
  submit(parts: readonly AppendPart[], bytes: number): Promise<AppendResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.queue.length >= this.maxPendingAppends) {
      return Promise.reject(new StoreOverloadedError(`${this.queue.length} appends are pending, the limit maxPendingAppends is ${this.maxPendingAppends}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ parts, bytes, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let every append issued in this turn of the event loop join the first batch.
        setImmediate(() => void this.run());
      }
    });
  }

  /** Resolves once every queued append has been committed or failed. */
  drain(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      await this.commit(this.take());
      // Yield a macrotask so appends issued by the just-acknowledged callers join the next batch.
      if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private take(): AppendRequest[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n].bytes <= GROUP_COMMIT_BYTES_MAX)) {
      bytes += this.queue[n].bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async commit(requests: AppendRequest[]): Promise<void> {
    if (this.failure) {
      for (const request of requests) request.reject(this.failure);
      return;
    }
    const nowMs = this.clock.nowMs();
    const views = new Map<string, StreamView>();
    const parts: EncodePart[] = [];
    const transactionEnds: number[] = [];
    const settled: { request: AppendRequest; decision: Decision }[] = [];
    let position = this.writer.nextPosition;
    let records = 0;
    for (const request of requests) {
      const decision = this.decide(request, views, position, parts);
      settled.push({ request, decision });
      if (decision.kind !== 'write') continue;
      const added = request.parts.reduce((sum, part) => sum + part.events.length, 0);
      if (added > 0) {
        position += added;
        records += added;
        transactionEnds.push(records);
      }
    }
    if (records > 0) {
      try {
        const batch = this.encoder.encode(parts, nowMs);
        const segments = await this.writer.append(batch, transactionEnds, nowMs);
        for (const segment of segments) {
          const indexed = this.indexes.applyRecords(
            this.encoder.decoder, segment.firstRecord, segment.recordCount, batch.wasmBase, batch.bytes.length,
            segment.chunkNumber, segment.fileOffset - segment.batchOffset,
          );
          assert(indexed === segment.recordCount, 'a committed batch keeps every stream contiguous');
        }
      } catch (error) {
        this.failAll(error, requests);
        return;
      }
    }
    for (const { request, decision } of settled) {
      if (decision.kind === 'conflict') request.reject(decision.error);
      else request.resolve(decision.results);
    }
    try {
      await this.writer.maybeCheckpoint(this.clock.nowMs());
    } catch (error) {
      this.failAll(error, []);
    }
  }

  private failAll(error: unknown, inFlight: AppendRequest[]): void {
    this.failure ??= error instanceof StoreFailedError ? error : new StoreFailedError(`append failed: ${(error as Error).message}`, { cause: error });
    for (const request of inFlight) request.reject(this.failure);
    for (const request of this.queue.splice(0)) request.reject(this.failure);
  }

  private view(streamId: string, views: Map<string, StreamView>): StreamView {
    let view = views.get(streamId);
    if (view === undefined) {
      const streamNo = this.indexes.streams.find(streamId);
      const count = streamNo >= 0 ? this.indexes.streams.revisionCount(streamNo) : 0;
      view = { streamId, streamNo, durableCount: count, count, pendingIds: [], pendingPositions: [] };
      views.set(streamId, view);
    }
    return view;
  }

  /**
   * Checks every part of a request against the batch's view of its streams. A write is applied to
   * the views and its records added to `parts`; a conflict leaves the views as they were.
   */
  private decide(request: AppendRequest, views: Map<string, StreamView>, firstPosition: number, parts: EncodePart[]): Decision {
    const undo: { view: StreamView; count: number }[] = [];
    const results: AppendResult[] = [];
    const newParts: EncodePart[] = [];
    let retried: AppendPart | null = null;
    let writes = 0;
    let position = firstPosition;
    const conflict = (view: StreamView, expected: ExpectedRevision): Decision => {
      for (const { view: v, count } of undo.reverse()) {
        v.count = count;
        v.pendingIds.length = count - v.durableCount;
        v.pendingPositions.length = count - v.durableCount;
      }
      return { kind: 'conflict', error: new WrongExpectedVersionError({ streamId: view.streamId, expected, actual: BigInt(view.count - 1) }) };
    };
    for (const part of request.parts) {
      const view = this.view(part.streamId, views);
      const check = checkExpectedRevision(part.expected, view.count);
      if (check.kind === 'conflict') return conflict(view, part.expected);
      if (check.kind === 'maybe_retry') {
        const retry = this.matchRetry(view, check.fromRevision, part.events);
        if (retry === null) return conflict(view, part.expected);
        results.push(retry);
        retried ??= part;
        continue;
      }
      if (check.kind === 'ok_unless_retry' && part.events.length > 0 && part.events[0].idText !== null) {
        const seen = this.recentIds.lookup(part.events[0].idText);
        const retry = seen && seen.streamId === part.streamId ? this.matchRetry(view, seen.revision, part.events) : null;
        if (retry !== null) {
          results.push(retry);
          retried ??= part;
          continue;
        }
      }
      writes++;
      undo.push({ view, count: view.count });
      if (part.events.length === 0) {
        results.push(this.currentResult(view));
        continue;
      }
      newParts.push({ streamId: part.streamId, streamIdBytes: part.streamIdBytes, events: part.events, firstPosition: position, firstRevision: view.count, endsTransaction: false });
      for (const event of part.events) {
        view.pendingIds.push(event.id);
        view.pendingPositions.push(position++);
        view.count++;
      }
      results.push({ nextExpectedRevision: BigInt(view.count - 1), position: BigInt(position - 1) });
    }
    if (retried !== null && writes > 0) {
      // Part of a multi-stream append was already written and part was not: it cannot be a retry.
      return conflict(this.view(retried.streamId, views), retried.expected);
    }
    if (newParts.length === 0) return { kind: 'done', results };
    for (const part of newParts) {
      part.events.forEach((event, k) => {
        if ((event as ValidatedEvent).idText !== null) this.recentIds.remember((event as ValidatedEvent).idText!, part.streamId, part.firstRevision + k);
      });
    }
    const last = newParts[newParts.length - 1];
    newParts[newParts.length - 1] = { ...last, endsTransaction: true };
    parts.push(...newParts);
    return { kind: 'write', results };
  }

  /** The result of an append that writes nothing: the stream as it stands. */
  private currentResult(view: StreamView): AppendResult {
    if (view.count === 0) return { nextExpectedRevision: -1n, position: -1n };
    return { nextExpectedRevision: BigInt(view.count - 1), position: BigInt(this.positionAt(view, view.count - 1)) };
  }

  /** If the stream already holds exactly these event ids from `fromRevision`, the result of that append. */
  private matchRetry(view: StreamView, fromRevision: number, events: readonly ValidatedEvent[]): AppendResult | null {
    if (events.length === 0 || fromRevision + events.length > view.count) return null;
    for (let k = 0; k < events.length; k++) {
      const revision = fromRevision + k;
      const stored = revision >= view.durableCount
        ? uuidFromBytes(view.pendingIds[revision - view.durableCount], 0)
        : this.stored.idAt(view.streamNo, revision);
      if (stored !== uuidFromBytes(events[k].id, 0)) return null;
    }
    const last = fromRevision + events.length - 1;
    return { nextExpectedRevision: BigInt(last), position: BigInt(this.positionAt(view, last)) };
  }

  private positionAt(view: StreamView, revision: number): number {
    return revision >= view.durableCount ? view.pendingPositions[revision - view.durableCount] : this.stored.positionAt(view.streamNo, revision);
  }
}
