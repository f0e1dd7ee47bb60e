// Group commit: appends queue up; each batch is checked against expected revisions, encoded in one
// WASM call, written with one durable write, indexed, and only then acknowledged. The next batch
// is checked and encoded while earlier ones are being synced (up to GROUP_COMMIT_BATCHES_IN_FLIGHT
// batches in flight), but they are acknowledged and indexed strictly in order.
// format-spec/log.md §7 "Durability rule".

import { assert } from '../util/assert.js';
import { StoreFailedError, StoreOverloadedError, WrongExpectedVersionError, type ExpectedRevision } from '../util/errors.js';
import { uuidFromBytes } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { GROUP_COMMIT_BATCHES_IN_FLIGHT, GROUP_COMMIT_BYTES_MAX } from '../util/limits.js';
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
  /** Resolves the caller's promise: with the only part's result for appendToStream, else all. */
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/** An event accepted into a batch that is not yet durable. */
interface PendingEvent {
  readonly revision: number;
  readonly id: Uint8Array;
  readonly position: number;
  readonly batch: number;
}

/** A stream with events in flight: the durable index plus the pending events after it. */
interface StreamView {
  readonly streamId: string;
  count: number;
  readonly pending: PendingEvent[];
}

/** Reads what the committer needs of durable events: their ids and positions by revision. */
export interface StoredEvents {
  idAt(streamId: string, revision: number): string;
  positionAt(streamId: string, revision: number): number;
}

type Decision =
  | { kind: 'write'; results: AppendResult[] }
  | { kind: 'done'; results: AppendResult[] }
  /** A revision conflict, or a read that failed while checking for a retry: nothing is written. */
  | { kind: 'rejected'; error: unknown };

type Undo = { view: StreamView; count: number; pending: number }[];

export class Committer {
  private readonly queue: AppendRequest[] = [];
  private running = false;
  private readonly idle: (() => void)[] = [];
  private readonly wakeups: (() => void)[] = [];
  private failure: Error | null = null;
  /** Streams with events in batches that are not yet durable. */
  private readonly views = new Map<string, StreamView>();
  /** Completes when the most recently started batch is durable, indexed and settled. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private batchNumber = 0;
  private nextPosition: number;
  private encoderTurn = 0;

  constructor(
    private readonly indexes: StoreIndexes,
    private readonly writer: LogWriter,
    private readonly encoders: readonly RecordBatchEncoder[],
    private readonly stored: StoredEvents,
    private readonly recentIds: RecentEventIds,
    private readonly clock: Clock,
    private readonly maxPendingAppends: number,
    /** Told the next position after each batch became durable and indexed. */
    private readonly onDurable: (nextPosition: number) => void = () => {},
  ) {
    assert(encoders.length === GROUP_COMMIT_BATCHES_IN_FLIGHT, 'one encoder per batch in flight');
    this.nextPosition = writer.nextPosition;
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Queues an append; resolves after its records are durable and indexed, with one result per part. */
  submit(parts: readonly AppendPart[], bytes: number): Promise<AppendResult[]> {
    return this.enqueue<AppendResult[]>(parts, bytes, (resolve) => resolve);
  }

  /** As submit() for a single part, resolving with its result (one promise fewer per append). */
  submitOne(part: AppendPart, bytes: number): Promise<AppendResult> {
    return this.enqueue<AppendResult>([part], bytes, (resolve) => (results) => resolve(results[0]));
  }

  private enqueue<T>(parts: readonly AppendPart[], bytes: number, adapt: (resolve: (value: T) => void) => (results: AppendResult[]) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.queue.length >= this.maxPendingAppends) {
      return Promise.reject(new StoreOverloadedError(`${this.queue.length} appends are pending, the limit maxPendingAppends is ${this.maxPendingAppends}`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ parts, bytes, resolve: adapt(resolve), reject });
      if (this.running) {
        this.wake();
      } else {
        this.running = true;
        // A microtask: every append issued by the code running now joins the first batch.
        queueMicrotask(() => void this.run());
      }
    });
  }

  /** Resolves once every queued append has been committed or failed. */
  drain(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    try {
      await this.loop();
    } catch (error) {
      // A bug (an assertion) in the commit path: fail what is queued rather than leave callers hanging.
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      for (const request of this.queue.splice(0)) request.reject(this.failure);
      this.running = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.queue.length > 0 && this.inFlight < GROUP_COMMIT_BATCHES_IN_FLIGHT) {
        // While a batch is in flight, give appends issued by just-acknowledged callers a turn of
        // the event loop to arrive, so they share the next batch instead of trickling one by one.
        if (this.inFlight > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.queue.length === 0) continue;
        this.start(this.take());
        continue;
      }
      if (this.queue.length === 0 && this.inFlight === 0) break;
      await new Promise<void>((resolve) => this.wakeups.push(resolve));
    }
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Wakes the run loop: an append arrived or a batch settled. */
  private wake(): void {
    for (const resolve of this.wakeups.splice(0)) resolve();
  }

  private take(): AppendRequest[] {
    let budget = GROUP_COMMIT_BYTES_MAX;
    if (this.inFlight === 0 && this.queue.length > 1) {
      // Nothing is on its way to the disk: take half the queue, so the other half is checked and
      // encoded while this half is written, instead of CPU and disk taking turns. (Spreading the
      // queue over every free slot measured slower: many small concurrent writes.)
      let queued = 0;
      for (let i = 0; i < this.queue.length && queued < 2 * budget; i++) queued += this.queue[i].bytes;
      budget = Math.min(budget, Math.ceil(queued / 2));
    }
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n].bytes <= budget)) {
      bytes += this.queue[n].bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /**
   * Decides, encodes and starts writing a batch now; indexes and settles it once it and every
   * batch before it are durable.
   */
  private start(requests: AppendRequest[]): void {
    const batch = ++this.batchNumber;
    this.inFlight++;
    const previous = this.tail;
    const decisions: Decision[] = [];
    const touched = new Set<StreamView>();
    let written: Promise<void> | null = null;
    if (this.failure === null) {
      const nowMs = this.clock.nowMs();
      const parts: EncodePart[] = [];
      const transactionEnds: number[] = [];
      for (const request of requests) {
        const first = this.nextPosition;
        decisions.push(this.decide(request, batch, parts));
        if (this.nextPosition > first) transactionEnds.push(this.nextPosition - parts[0].firstPosition);
        for (const part of request.parts) {
          const view = this.views.get(part.streamId);
          if (view !== undefined) touched.add(view);
        }
      }
      if (parts.length > 0) {
        const encoder = this.encoders[this.encoderTurn++ % this.encoders.length];
        // With nothing else queued or in flight, the writer may do a small write synchronously.
        const mayBlock = this.queue.length === 0 && this.inFlight === 1;
        written = this.write(encoder, parts, transactionEnds, nowMs, previous, mayBlock);
        written.catch(() => undefined);
      }
    }
    this.tail = previous.then(async () => {
      let error: unknown = this.failure;
      if (error === null && written !== null) {
        try {
          await written;
        } catch (writeError) {
          error = writeError;
        }
      }
      this.finish(batch, requests, decisions, touched, error);
      if (error === null) await this.checkpoint();
    });
  }

  /** Encodes and writes a batch; indexes it after the batches before it (`previous`) settled. */
  private async write(encoder: RecordBatchEncoder, parts: EncodePart[], transactionEnds: number[], nowMs: number, previous: Promise<void>, mayBlock: boolean): Promise<void> {
    const batch = encoder.encode(parts, nowMs);
    const segments = await this.writer.append(batch, transactionEnds, nowMs, mayBlock);
    await previous;
    if (this.failure) throw this.failure;
    for (const segment of segments) {
      const indexed = this.indexes.applyRecords(
        encoder.decoder, segment.firstRecord, segment.recordCount, batch.wasmBase, batch.bytes.length,
        segment.chunkNumber, segment.fileOffset - segment.batchOffset,
      );
      assert(indexed === segment.recordCount, 'a committed batch keeps every stream contiguous');
    }
    this.onDurable(this.indexes.nextPosition);
  }

  /** Settles a batch's requests once it is durable (or failed), and drops its pending events from the views it touched. */
  private finish(batch: number, requests: AppendRequest[], decisions: Decision[], touched: Set<StreamView>, error: unknown): void {
    if (error !== null && error !== undefined) {
      this.failure ??= error instanceof StoreFailedError ? error : new StoreFailedError(`append failed: ${(error as Error).message}`, { cause: error });
      for (const request of requests) request.reject(this.failure);
      for (const request of this.queue.splice(0)) request.reject(this.failure);
    } else {
      requests.forEach((request, i) => {
        const decision = decisions[i];
        if (decision.kind === 'rejected') request.reject(decision.error);
        else request.resolve(decision.results);
      });
    }
    for (const view of touched) {
      let drop = 0;
      while (drop < view.pending.length && view.pending[drop].batch <= batch) drop++;
      view.pending.splice(0, drop);
      // A view this batch saw may since have been dropped and replaced by a newer batch's view of
      // the same stream: only the view still in the map is this stream's live state.
      if (view.pending.length === 0 && this.views.get(view.streamId) === view) this.views.delete(view.streamId);
    }
    this.inFlight--;
    this.wake();
  }

  private async checkpoint(): Promise<void> {
    try {
      await this.writer.maybeCheckpoint(this.clock.nowMs());
    } catch (error) {
      this.failure ??= error as Error;
      for (const request of this.queue.splice(0)) request.reject(this.failure);
    }
  }

  private view(streamId: string): StreamView {
    let view = this.views.get(streamId);
    if (view === undefined) {
      const count = this.indexes.revisionCount(streamId);
      view = { streamId, count, pending: [] };
      this.views.set(streamId, view);
    }
    return view;
  }

  /**
   * Checks every part of a request against the streams as they will be once earlier accepted
   * appends are durable. A write is added to the views and to `parts`; a conflict changes nothing.
   */
  private decide(request: AppendRequest, batch: number, parts: EncodePart[]): Decision {
    const undo: Undo = [];
    try {
      return this.decideParts(request, batch, parts, undo);
    } catch (error) {
      // Reading a stored event id for a retry check failed: this request fails, the store goes on.
      rollBack(undo);
      return { kind: 'rejected', error };
    }
  }

  private decideParts(request: AppendRequest, batch: number, parts: EncodePart[], undo: Undo): Decision {
    const results: AppendResult[] = [];
    const newParts: EncodePart[] = [];
    let retried: AppendPart | null = null;
    let writes = 0;
    let position = this.nextPosition;
    const conflict = (part: AppendPart): Decision => {
      rollBack(undo);
      const view = this.view(part.streamId);
      return { kind: 'rejected', error: new WrongExpectedVersionError({ streamId: part.streamId, expected: part.expected, actual: BigInt(view.count - 1) }) };
    };
    for (const part of request.parts) {
      const view = this.view(part.streamId);
      const check = checkExpectedRevision(part.expected, view.count);
      if (check.kind === 'conflict') return conflict(part);
      if (check.kind === 'maybe_retry') {
        const retry = this.matchRetry(view, check.fromRevision, part.events);
        if (retry === null) return conflict(part);
        results.push(retry);
        retried ??= part;
        continue;
      }
      if (check.kind === 'ok_unless_retry' && part.events.length > 0 && part.events[0].idText !== null) {
        const seen = this.recentIds.lookup(part.events[0].idText);
        if (seen && seen.streamId === part.streamId) {
          // The first event was already written to this stream: a whole retry succeeds with the
          // original result; a partial one is refused rather than duplicating events.
          const retry = this.matchRetry(view, seen.revision, part.events);
          if (retry === null) return conflict(part);
          results.push(retry);
          retried ??= part;
          continue;
        }
      }
      if (part.events.length === 0) {
        // An empty part writes nothing, so it does not make a retried request half old, half new.
        results.push(this.currentResult(view));
        continue;
      }
      writes++;
      undo.push({ view, count: view.count, pending: view.pending.length });
      newParts.push({ streamId: part.streamId, streamIdBytes: part.streamIdBytes, events: part.events, firstPosition: position, firstRevision: view.count, endsTransaction: false });
      for (const event of part.events) view.pending.push({ revision: view.count++, id: event.id, position: position++, batch });
      results.push({ nextExpectedRevision: BigInt(view.count - 1), position: BigInt(position - 1) });
    }
    // Part of a multi-stream append was already written and part was not: it cannot be a retry.
    if (retried !== null && writes > 0) return conflict(retried);
    if (newParts.length === 0) return { kind: 'done', results };
    newParts[newParts.length - 1] = { ...newParts[newParts.length - 1], endsTransaction: true };
    for (const part of newParts) {
      part.events.forEach((event, k) => {
        const idText = (event as ValidatedEvent).idText;
        if (idText !== null) this.recentIds.remember(idText, part.streamId, part.firstRevision + k);
      });
    }
    parts.push(...newParts);
    this.nextPosition = position;
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
      if (this.idAt(view, fromRevision + k) !== uuidFromBytes(events[k].id, 0)) return null;
    }
    const last = fromRevision + events.length - 1;
    return { nextExpectedRevision: BigInt(last), position: BigInt(this.positionAt(view, last)) };
  }

  private pendingAt(view: StreamView, revision: number): PendingEvent | null {
    assert(revision < view.count, 'only existing revisions are looked up');
    const first = view.pending.length > 0 ? view.pending[0].revision : view.count;
    return revision >= first ? view.pending[revision - first] : null;
  }

  private idAt(view: StreamView, revision: number): string {
    const pending = this.pendingAt(view, revision);
    return pending ? uuidFromBytes(pending.id, 0) : this.stored.idAt(view.streamId, revision);
  }

  private positionAt(view: StreamView, revision: number): number {
    const pending = this.pendingAt(view, revision);
    return pending ? pending.position : this.stored.positionAt(view.streamId, revision);
  }
}

function rollBack(undo: Undo): void {
  for (const { view, count, pending } of undo.reverse()) {
    view.count = count;
    view.pending.length = pending;
  }
  undo.length = 0;
}
