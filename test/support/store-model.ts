// A tiny in-memory model of the EventStore API for model-based tests: appends are decided one
// request at a time (expected revisions, id-based idempotent retries, atomic multi-stream appends)
// and reads are plain array filters. It knows nothing of chunks, WASM or the disk.

import { expect } from 'vitest';
import {
  AppendTooLargeError, type EventStore, WrongExpectedVersionError, type AppendResult, type ContentType, type EventData,
  type ExpectedRevision, type ReadFrom, type RecordedEvent, type StreamInfo,
} from '../../src/annal.js';

const JSON_TYPE = 'application/json';
const BINARY_TYPE = 'application/octet-stream';
/** Record header + trailer bytes (format-spec/log.md §3.1): the size model of an event. */
const RECORD_OVERHEAD_BYTES = 68;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ModelEvent {
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  /** Lower-case id; null for a generated id until a read shows it (then it is pinned). */
  id: string | null;
  readonly type: string;
  readonly contentType: ContentType;
  readonly data: unknown;
  readonly metadata: unknown;
}

export interface RequestPart {
  readonly streamId: string;
  readonly events: readonly EventData[];
  readonly expected: ExpectedRevision;
}

/** An append as issued: one appendToStream (`single`, `omitOptions` for the default 'any') or one appendMulti. */
export interface AppendRequestSpec {
  readonly kind: 'single' | 'multi';
  readonly parts: readonly RequestPart[];
  readonly omitOptions?: boolean;
}

/** What an append resolved or rejected with, in comparable form. */
export type Outcome =
  | { ok: true; results: { nextExpectedRevision: bigint; position: bigint }[] }
  | { ok: false; error: string; streamId?: string; expected?: ExpectedRevision; actual?: bigint };

export interface ModelLimits {
  readonly maxAppendBytes: number;
}

function payloadBytes(value: unknown): number {
  return value instanceof Uint8Array ? value.length : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** The encoded size of an event, as the store measures it. */
export function eventRecordBytes(streamId: string, event: EventData): number {
  return RECORD_OVERHEAD_BYTES + Buffer.byteLength(streamId, 'utf8') + Buffer.byteLength(event.type, 'utf8')
    + (event.metadata === undefined ? 0 : payloadBytes(event.metadata)) + payloadBytes(event.data);
}

/** What reading `value` back gives: bytes stay bytes (or are parsed when claimed as JSON); the rest goes through JSON. */
function readBack(value: unknown, claimed: ContentType | undefined): unknown {
  if (value instanceof Uint8Array) {
    return claimed === JSON_TYPE ? JSON.parse(Buffer.from(value).toString('utf8')) : new Uint8Array(value);
  }
  return JSON.parse(JSON.stringify(value));
}

export function outcomeOf(settled: PromiseSettledResult<AppendResult | AppendResult[]>): Outcome {
  if (settled.status === 'fulfilled') {
    const results = Array.isArray(settled.value) ? settled.value : [settled.value];
    return { ok: true, results: results.map((r) => ({ nextExpectedRevision: r.nextExpectedRevision, position: r.position })) };
  }
  const error = settled.reason as Error;
  if (error instanceof WrongExpectedVersionError) {
    return { ok: false, error: error.name, streamId: error.streamId, expected: error.expected, actual: error.actual };
  }
  return { ok: false, error: error?.name ?? String(error) };
}

/** Issues one append against the real store. */
export function issue(store: EventStore, request: AppendRequestSpec): Promise<AppendResult | AppendResult[]> {
  if (request.kind === 'multi') {
    return store.appendMulti(request.parts.map((p) => ({ streamId: p.streamId, events: [...p.events], expectedRevision: p.expected })));
  }
  const part = request.parts[0];
  return request.omitOptions
    ? store.appendToStream(part.streamId, [...part.events])
    : store.appendToStream(part.streamId, [...part.events], { expectedRevision: part.expected });
}

export class StoreModel {
  events: ModelEvent[] = [];
  streams = new Map<string, ModelEvent[]>();
  /** Bytes of each stream's records, as the store encodes them. */
  streamBytes = new Map<string, number>();
  /** Explicit ids of written events, latest write wins (the store's recent-id window, unbounded here). */
  recentIds = new Map<string, { streamId: string; revision: number }>();
  /** Every append issued so far (succeeded or not), for retry commands. */
  history: AppendRequestSpec[] = [];

  constructor(readonly limits: ModelLimits) {}

  clone(): StoreModel {
    const copy = new StoreModel(this.limits);
    copy.events = [...this.events];
    copy.streams = new Map([...this.streams].map(([k, v]) => [k, [...v]]));
    copy.streamBytes = new Map(this.streamBytes);
    copy.recentIds = new Map(this.recentIds);
    copy.history = [...this.history];
    return copy;
  }

  adopt(other: StoreModel): void {
    this.events = other.events;
    this.streams = other.streams;
    this.streamBytes = other.streamBytes;
    this.recentIds = other.recentIds;
    this.history = other.history;
  }

  count(streamId: string): number {
    return this.streams.get(streamId)?.length ?? 0;
  }

  /**
   * Decides an append the way the store's contract says, applies it when it writes, and returns
   * the outcome. A conflict anywhere changes nothing.
   */
  apply(request: AppendRequestSpec): Outcome {
    this.history.push(request);
    let bytes = 0;
    for (const part of request.parts) for (const e of part.events) bytes += eventRecordBytes(part.streamId, e);
    if (bytes > this.limits.maxAppendBytes) return { ok: false, error: AppendTooLargeError.name };

    // Ids by revision of each touched stream, including this request's own earlier parts.
    const ids = new Map<string, (string | null)[]>();
    const positions = new Map<string, number[]>();
    const idsOf = (s: string): (string | null)[] => {
      if (!ids.has(s)) {
        ids.set(s, (this.streams.get(s) ?? []).map((e) => e.id));
        positions.set(s, (this.streams.get(s) ?? []).map((e) => e.position));
      }
      return ids.get(s)!;
    };
    const conflict = (part: RequestPart): Outcome => ({
      ok: false, error: WrongExpectedVersionError.name, streamId: part.streamId, expected: part.expected, actual: BigInt(this.count(part.streamId) - 1),
    });
    const matchRetry = (s: string, from: number, events: readonly EventData[]): { nextExpectedRevision: bigint; position: bigint } | null => {
      const have = idsOf(s);
      if (events.length === 0 || from + events.length > have.length) return null;
      for (let k = 0; k < events.length; k++) {
        const id = events[k].id?.toLowerCase();
        if (id === undefined || have[from + k] !== id) return null;
      }
      const last = from + events.length - 1;
      return { nextExpectedRevision: BigInt(last), position: BigInt(positions.get(s)![last]) };
    };

    const results: { nextExpectedRevision: bigint; position: bigint }[] = [];
    const written: { part: RequestPart; firstRevision: number; firstPosition: number }[] = [];
    let retried: RequestPart | null = null;
    let writes = 0;
    let position = this.events.length;
    for (const part of request.parts) {
      const have = idsOf(part.streamId);
      const count = have.length;
      const e = part.expected;
      let mayBeRetryById = false;
      if (e === 'any' || e === 'stream_exists') {
        if (e === 'stream_exists' && count === 0) return conflict(part);
        mayBeRetryById = true;
      } else {
        const expectedCount = e === 'no_stream' ? 0 : Number(e) + 1;
        if (count < expectedCount) return conflict(part);
        if (count > expectedCount) {
          const retry = matchRetry(part.streamId, expectedCount, part.events);
          if (retry === null) return conflict(part);
          results.push(retry);
          retried ??= part;
          continue;
        }
      }
      const firstId = part.events[0]?.id?.toLowerCase();
      if (mayBeRetryById && firstId !== undefined) {
        const seen = this.recentIds.get(firstId);
        if (seen && seen.streamId === part.streamId) {
          const retry = matchRetry(part.streamId, seen.revision, part.events);
          if (retry === null) return conflict(part);
          results.push(retry);
          retried ??= part;
          continue;
        }
      }
      if (part.events.length === 0) {
        // An empty part writes nothing: the stream as it stands.
        results.push(count === 0 ? { nextExpectedRevision: -1n, position: -1n } : { nextExpectedRevision: BigInt(count - 1), position: BigInt(positions.get(part.streamId)![count - 1]) });
        continue;
      }
      writes++;
      written.push({ part, firstRevision: count, firstPosition: position });
      for (const event of part.events) {
        have.push(event.id?.toLowerCase() ?? null);
        positions.get(part.streamId)!.push(position++);
      }
      results.push({ nextExpectedRevision: BigInt(have.length - 1), position: BigInt(position - 1) });
    }
    // Part of the request is already in the store and part is not: it cannot be a retry.
    if (retried !== null && writes > 0) return conflict(retried);
    for (const { part, firstRevision, firstPosition } of written) {
      let list = this.streams.get(part.streamId);
      if (list === undefined) {
        list = [];
        this.streams.set(part.streamId, list);
      }
      part.events.forEach((event, k) => {
        const id = event.id?.toLowerCase() ?? null;
        const stored: ModelEvent = {
          streamId: part.streamId, revision: firstRevision + k, position: firstPosition + k, id, type: event.type,
          contentType: event.data instanceof Uint8Array && event.contentType !== JSON_TYPE ? BINARY_TYPE : JSON_TYPE,
          data: readBack(event.data, event.contentType),
          metadata: event.metadata === undefined ? undefined : readBack(event.metadata, undefined),
        };
        list.push(stored);
        this.events.push(stored);
        this.streamBytes.set(part.streamId, (this.streamBytes.get(part.streamId) ?? 0) + eventRecordBytes(part.streamId, event));
        if (id !== null) this.recentIds.set(id, { streamId: part.streamId, revision: firstRevision + k });
      });
    }
    return { ok: true, results };
  }

  readStream(streamId: string, from: ReadFrom | undefined, direction: 'forwards' | 'backwards' | undefined, maxCount: number | undefined): ModelEvent[] {
    return pick(this.streams.get(streamId) ?? [], (e) => e.revision, from, direction, maxCount);
  }

  readAll(
    from: ReadFrom | undefined, direction: 'forwards' | 'backwards' | undefined, maxCount: number | undefined,
    filter?: { streamPrefix: string } | { eventType: string } | { category: string },
  ): ModelEvent[] {
    let events = this.events;
    if (filter !== undefined) {
      if ('streamPrefix' in filter) events = events.filter((e) => e.streamId.startsWith(filter.streamPrefix));
      else if ('eventType' in filter) events = events.filter((e) => e.type === filter.eventType);
      else events = events.filter((e) => categoryOf(e.streamId) === filter.category);
    }
    return pick(events, (e) => e.position, from, direction, maxCount);
  }

  streamInfo(streamId: string): StreamInfo {
    const list = this.streams.get(streamId) ?? [];
    const last = list[list.length - 1];
    return {
      streamId, exists: list.length > 0, deleted: false, lastRevision: BigInt(list.length - 1), eventCount: BigInt(list.length),
      lastPosition: last === undefined ? -1n : BigInt(last.position),
      bytes: BigInt(this.streamBytes.get(streamId) ?? 0),
    };
  }

  get headPosition(): bigint {
    return BigInt(this.events.length - 1);
  }
}

/** A stream's category: its id before the first '-' (none when the id has no '-' after its first character). */
export function categoryOf(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : null;
}

/** Forwards: keys >= from, ascending; backwards: keys <= from, descending; then the first maxCount. */
function pick(events: readonly ModelEvent[], key: (e: ModelEvent) => number, from: ReadFrom | undefined, direction: 'forwards' | 'backwards' | undefined, maxCount: number | undefined): ModelEvent[] {
  const limit = maxCount ?? Number.MAX_SAFE_INTEGER;
  if ((direction ?? 'forwards') === 'forwards') {
    const lo = from === undefined || from === 'start' ? 0 : from === 'end' ? Number.MAX_SAFE_INTEGER : Number(from);
    return events.filter((e) => key(e) >= lo).slice(0, limit);
  }
  const hi = from === undefined || from === 'end' ? Number.MAX_SAFE_INTEGER : from === 'start' ? 0 : Number(from);
  return events.filter((e) => key(e) <= hi).reverse().slice(0, limit);
}

/** The comparable fields of a read event. */
export function plainEvent(e: RecordedEvent): Record<string, unknown> {
  return {
    streamId: e.streamId, revision: Number(e.revision), position: Number(e.position), id: e.id, type: e.type,
    contentType: e.contentType, data: e.data, metadata: e.metadata,
  };
}

/**
 * Asserts that `actual` are exactly the `expected` model events. A generated id the model does not
 * know yet must be a lower-case UUID and is pinned, so every later read must agree with it.
 */
export function expectSameEvents(actual: readonly RecordedEvent[], expected: readonly ModelEvent[], what: string): void {
  const got = actual.map(plainEvent);
  expect(got.map((e) => e.position), `${what}: positions`).toEqual(expected.map((e) => e.position));
  expected.forEach((e, i) => {
    if (e.id === null) {
      expect(got[i].id, `${what}: generated id`).toMatch(LOWER_UUID);
      e.id = got[i].id as string;
    }
  });
  expect(got, what).toEqual(expected.map((e) => ({ ...e })));
}
