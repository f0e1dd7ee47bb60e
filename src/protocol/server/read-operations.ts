// ReadEvent, ReadStreamEvents, ReadAllEvents and their filtered variant against the store
// (format-spec/protocol.md §9.2). Positions: commit = prepare = Annal's global position.

import { InvalidArgumentError } from '../../util/errors.js';
import type { Principal } from '../../store/access.js';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import { TcpCommand } from '../wire/commands.js';
import {
  FilteredReadAllResult, ReadAllResult, ReadEventResult, ReadStreamResult, messages,
  type FilteredReadAllEvents, type ReadAllEvents, type ReadEvent, type ReadStreamEvents,
} from '../wire/messages.js';
import { resolvedEventOf, resolvedIndexedEventOf } from './event-convert.js';
import { filterPredicate } from './event-filter.js';
import { readEventResultOf, readStreamResultOf } from './results.js';
import { FILTER_SEARCH_WINDOW_EVENTS_MAX, READ_PAGE_EVENTS_MAX } from './server-limits.js';
import type { Reply } from './reply.js';
import { AccessDeniedError } from '../../util/errors.js';

function checkCount(maxCount: number): void {
  if (!Number.isInteger(maxCount) || maxCount < 0 || maxCount > READ_PAGE_EVENTS_MAX) {
    throw new InvalidArgumentError(`max count ${maxCount} is outside 0..${READ_PAGE_EVENTS_MAX} (READ_PAGE_EVENTS_MAX)`);
  }
}

export async function readEvent(store: EventStore, principal: Principal, request: ReadEvent): Promise<Reply> {
  const reply = (result: number, event?: RecordedEvent, error?: string): Reply => ({
    command: TcpCommand.ReadEventCompleted,
    payload: messages.ReadEventCompleted.encode({ result, event: event ? resolvedIndexedEventOf(event) : {}, ...(error ? { error } : {}) }),
  });
  if (request.eventNumber < -1n) throw new InvalidArgumentError(`event number ${request.eventNumber} is not valid`);
  try {
    const info = await store.streamInfo(request.eventStreamId, { principal });
    if (info.deleted === 'hard') return reply(ReadEventResult.StreamDeleted);
    if (!info.exists) return reply(ReadEventResult.NoStream);
    const event = await store.readEvent(request.eventStreamId, request.eventNumber === -1n ? 'end' : request.eventNumber, { principal });
    return event === null ? reply(ReadEventResult.NotFound) : reply(ReadEventResult.Success, event);
  } catch (error) {
    const result = readEventResultOf(error);
    if (result === null) throw error;
    return reply(result, undefined, (error as Error).message);
  }
}

/**
 * `pageBytesMax` bounds the records a page reads (READ_PAGE_BYTES_MAX): a page it cuts is shorter
 * than max_count but not the end of the stream, and the client reads on from next_event_number.
 */
export async function readStreamEvents(store: EventStore, principal: Principal, request: ReadStreamEvents, forwards: boolean, pageBytesMax: number): Promise<Reply> {
  checkCount(request.maxCount);
  const command = forwards ? TcpCommand.ReadStreamEventsForwardCompleted : TcpCommand.ReadStreamEventsBackwardCompleted;
  const head = await store.headPosition();
  const reply = (result: number, fields: { events?: RecordedEvent[]; next?: bigint; last?: bigint; end?: boolean; error?: string } = {}): Reply => ({
    command,
    payload: messages.ReadStreamEventsCompleted.encode({
      events: (fields.events ?? []).map(resolvedIndexedEventOf), result,
      nextEventNumber: fields.next ?? -1n, lastEventNumber: fields.last ?? -1n, isEndOfStream: fields.end ?? true,
      lastCommitPosition: head, ...(fields.error ? { error: fields.error } : {}),
    }),
  });
  if (request.fromEventNumber < (forwards ? 0n : -1n)) throw new InvalidArgumentError(`from event number ${request.fromEventNumber} is not valid`);
  try {
    const info = await store.streamInfo(request.eventStreamId, { principal });
    if (info.deleted === 'hard') return reply(ReadStreamResult.StreamDeleted);
    if (!info.exists) return reply(ReadStreamResult.NoStream);
    const last = info.lastRevision;
    // A backward read covers the numbers [from - maxCount + 1, from], as in EventStoreDB: one that
    // starts past the last event reads only the part of that window at or below it, and nothing
    // (next = the last event, not the end) when the whole window is past it (es-tcp.md §3.4).
    const pastEndBy = !forwards && request.fromEventNumber > last ? request.fromEventNumber - last : 0n;
    const maxCount = pastEndBy >= BigInt(request.maxCount) ? 0 : request.maxCount - Number(pastEndBy);
    const { events, cut } = await store.readStreamPage(request.eventStreamId, {
      fromRevision: !forwards && request.fromEventNumber === -1n ? 'end' : pastEndBy > 0n ? last : request.fromEventNumber,
      direction: forwards ? 'forwards' : 'backwards', maxCount, maxBytes: pageBytesMax, principal,
    });
    const lastRead = events[events.length - 1];
    // A short page is the end of what the stream shows, unless its byte budget cut it.
    if (forwards) {
      const next = lastRead !== undefined ? lastRead.revision + 1n : last + 1n;
      return reply(ReadStreamResult.Success, { events, next, last, end: next > last || (events.length < request.maxCount && !cut) });
    }
    if (maxCount === 0 && pastEndBy > 0n) return reply(ReadStreamResult.Success, { events, next: last, last, end: false });
    const next = lastRead !== undefined ? lastRead.revision - 1n : -1n;
    return reply(ReadStreamResult.Success, { events, next, last, end: next < 0n || (events.length < maxCount && !cut) });
  } catch (error) {
    const result = readStreamResultOf(error);
    if (result === null) throw error;
    return reply(result, { error: (error as Error).message });
  }
}

/**
 * Forward reads include `commitPosition` and continue after the last event; backward reads start
 * below `commitPosition` ((-1, -1): at the head) and continue from the last event returned.
 */
export async function readAllEvents(store: EventStore, principal: Principal, request: ReadAllEvents, forwards: boolean, pageBytesMax: number): Promise<Reply> {
  checkCount(request.maxCount);
  const command = forwards ? TcpCommand.ReadAllEventsForwardCompleted : TcpCommand.ReadAllEventsBackwardCompleted;
  const from = await startOf(store, request.commitPosition, forwards);
  const reply = (result: number, events: RecordedEvent[], next: bigint, error?: string): Reply => ({
    command,
    payload: messages.ReadAllEventsCompleted.encode({
      commitPosition: request.commitPosition, preparePosition: request.preparePosition, events: events.map(resolvedEventOf),
      nextCommitPosition: next, nextPreparePosition: next, result, ...(error ? { error } : {}),
    }),
  });
  try {
    const events = await readAllPage(store, principal, from, request.maxCount, forwards, pageBytesMax);
    const last = events[events.length - 1];
    return reply(ReadAllResult.Success, events, last === undefined ? from : forwards ? last.position + 1n : last.position);
  } catch (error) {
    if (!(error instanceof AccessDeniedError)) throw error;
    return reply(ReadAllResult.AccessDenied, [], from, error.message);
  }
}

/**
 * Where a read of $all starts: (-1, -1) is the end of $all in both directions (EventStoreDB's
 * Position.End), so a forward read from it starts after the last event and finds nothing yet.
 */
async function startOf(store: EventStore, position: bigint, forwards: boolean): Promise<bigint> {
  return forwards && position < 0n ? (await store.headPosition()) + 1n : position;
}

async function readAllPage(store: EventStore, principal: Principal, from: bigint, maxCount: number, forwards: boolean, maxBytes: number): Promise<RecordedEvent[]> {
  if (maxCount === 0) return [];
  if (forwards) return store.readAll({ fromPosition: from, maxCount, maxBytes, principal });
  if (from === 0n) return [];
  return store.readAll({ fromPosition: from < 0n ? 'end' : from - 1n, direction: 'backwards', maxCount, maxBytes, principal });
}

/**
 * Examines at most `maxSearchWindow` events (maxCount when ≤ 0) from the position and returns up
 * to `maxCount` that match; `next` is where the next call should start.
 */
export async function filteredReadAllEvents(store: EventStore, principal: Principal, request: FilteredReadAllEvents, forwards: boolean, pageBytesMax: number): Promise<Reply> {
  checkCount(request.maxCount);
  const command = forwards ? TcpCommand.FilteredReadAllEventsForwardCompleted : TcpCommand.FilteredReadAllEventsBackwardCompleted;
  const from = await startOf(store, request.commitPosition, forwards);
  const matches = filterPredicate(request.filter);
  const window = Math.min(request.maxSearchWindow > 0 ? request.maxSearchWindow : request.maxCount, FILTER_SEARCH_WINDOW_EVENTS_MAX);
  const reply = (result: number, events: RecordedEvent[], next: bigint, end: boolean, error?: string): Reply => ({
    command,
    payload: messages.FilteredReadAllEventsCompleted.encode({
      commitPosition: request.commitPosition, preparePosition: request.preparePosition, events: events.map(resolvedEventOf),
      nextCommitPosition: next, nextPreparePosition: next, isEndOfStream: end, result, ...(error ? { error } : {}),
    }),
  });
  try {
    const found: RecordedEvent[] = [];
    let foundBytes = 0;
    let examined = 0;
    let position = from;
    let end = false;
    // Each page examined holds at most pageBytesMax of records, and so do the events found.
    while (found.length < request.maxCount && examined < window && foundBytes < pageBytesMax) {
      const page = await readAllPage(store, principal, position, Math.min(READ_PAGE_EVENTS_MAX, window - examined), forwards, pageBytesMax);
      if (page.length === 0) {
        end = true;
        break;
      }
      for (const event of page) {
        examined++;
        position = forwards ? event.position + 1n : event.position;
        if (matches(event) && found.length < request.maxCount) {
          found.push(event);
          foundBytes += event.recordBytes;
        }
        if (found.length === request.maxCount || foundBytes >= pageBytesMax) break;
      }
      if (!forwards && position === 0n) {
        end = true;
        break;
      }
    }
    return reply(FilteredReadAllResult.Success, found, position, end);
  } catch (error) {
    if (!(error instanceof AccessDeniedError)) throw error;
    return reply(FilteredReadAllResult.AccessDenied, [], from, true, error.message);
  }
}
