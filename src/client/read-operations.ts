// The read requests, one page each (es-tcp.md §3.4): ReadEvent, ReadStreamEvents forward and
// backward, ReadAllEvents and FilteredReadAllEvents, with their results turned into events or
// the embedded API's errors.

import { AccessDeniedError, StreamDeletedError } from '../util/errors.js';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import {
  FilteredReadAllResult, ReadAllResult, ReadEventResult, ReadStreamResult, messages, type Filter,
} from '../protocol/wire/messages.js';
import type { TcpPackage } from '../protocol/wire/package.js';
import { ProtocolError, ServerError } from './client-errors.js';
import { done, fail, type Operation, type Outcome } from './client-core.js';
import { FILTER_SEARCH_WINDOW_EVENTS } from './client-limits.js';
import { POSITION_UNKNOWN, RecordedEvent } from './recorded-event.js';

const REQUIRE_LEADER = true;

export interface StreamPage {
  /** False when the stream does not exist (or is soft-deleted): then there are no events. */
  readonly exists: boolean;
  readonly events: RecordedEvent[];
  /** Where the next page starts (forwards: after the last event; backwards: below it, -1 at the start). */
  readonly next: bigint;
  /** The stream's last revision, -1n when it has none. */
  readonly last: bigint;
  readonly endOfStream: boolean;
}

export interface AllPage {
  readonly events: RecordedEvent[];
  /** Where the next page starts. */
  readonly next: bigint;
  /** Nothing further in this direction (for unfiltered reads: the page was empty). */
  readonly end: boolean;
}

function unexpected<T>(what: string, pkg: TcpPackage): Outcome<T> {
  return fail(new ProtocolError(`${what}: unexpected reply ${commandName(pkg.command)}`));
}

/** One event ('end' = the last), or null when the stream has no such event. */
export function readEventOperation(streamId: string, revision: bigint | 'end'): Operation<RecordedEvent | null> {
  const description = `readEvent('${streamId}', ${String(revision)})`;
  return {
    description,
    command: TcpCommand.ReadEvent,
    payload: messages.ReadEvent.encode({ eventStreamId: streamId, eventNumber: revision === 'end' ? -1n : revision, resolveLinkTos: false, requireLeader: REQUIRE_LEADER }),
    interpret(pkg) {
      if (pkg.command !== TcpCommand.ReadEventCompleted) return unexpected(description, pkg);
      const reply = messages.ReadEventCompleted.decode(pkg.payload);
      switch (reply.result) {
        case ReadEventResult.Success: {
          const record = reply.event?.event;
          return record === undefined ? fail(new ProtocolError(`${description}: Success without an event`)) : done(new RecordedEvent(record, POSITION_UNKNOWN));
        }
        case ReadEventResult.NotFound:
        case ReadEventResult.NoStream:
          return done(null);
        case ReadEventResult.StreamDeleted:
          return fail(new StreamDeletedError(streamId));
        case ReadEventResult.AccessDenied:
          return fail(new AccessDeniedError(streamId, 'read'));
        default:
          return fail(new ServerError(`${description}: ${reply.error || `result ${reply.result}`}`));
      }
    },
  };
}

/** One page of a stream from `from` (backwards: -1n = from the end). */
export function readStreamPageOperation(streamId: string, from: bigint, maxCount: number, forwards: boolean): Operation<StreamPage> {
  const description = `readStream('${streamId}', ${forwards ? 'forwards' : 'backwards'} from ${from})`;
  const expected = forwards ? TcpCommand.ReadStreamEventsForwardCompleted : TcpCommand.ReadStreamEventsBackwardCompleted;
  return {
    description,
    command: forwards ? TcpCommand.ReadStreamEventsForward : TcpCommand.ReadStreamEventsBackward,
    payload: messages.ReadStreamEvents.encode({ eventStreamId: streamId, fromEventNumber: from, maxCount, resolveLinkTos: false, requireLeader: REQUIRE_LEADER }),
    interpret(pkg) {
      if (pkg.command !== expected) return unexpected(description, pkg);
      const reply = messages.ReadStreamEventsCompleted.decode(pkg.payload);
      switch (reply.result) {
        case ReadStreamResult.Success:
          return done({
            exists: true,
            events: reply.events.flatMap((e) => (e.event === undefined ? [] : [new RecordedEvent(e.event, POSITION_UNKNOWN)])),
            next: reply.nextEventNumber, last: reply.lastEventNumber, endOfStream: reply.isEndOfStream,
          });
        case ReadStreamResult.NoStream:
          return done({ exists: false, events: [], next: -1n, last: -1n, endOfStream: true });
        case ReadStreamResult.StreamDeleted:
          return fail(new StreamDeletedError(streamId));
        case ReadStreamResult.AccessDenied:
          return fail(new AccessDeniedError(streamId, 'read'));
        default:
          return fail(new ServerError(`${description}: ${reply.error || `result ${reply.result}`}`));
      }
    },
  };
}

/**
 * One page of $all. Forwards from `from` (inclusive); backwards from below `from` (-1n: from the
 * head). `filter` uses FilteredReadAllEvents, which examines at most FILTER_SEARCH_WINDOW_EVENTS.
 */
export function readAllPageOperation(from: bigint, maxCount: number, forwards: boolean, filter: Filter | null): Operation<AllPage> {
  const description = `readAll(${forwards ? 'forwards' : 'backwards'} from ${from}${filter === null ? '' : ', filtered'})`;
  if (filter === null) {
    const expected = forwards ? TcpCommand.ReadAllEventsForwardCompleted : TcpCommand.ReadAllEventsBackwardCompleted;
    return {
      description,
      command: forwards ? TcpCommand.ReadAllEventsForward : TcpCommand.ReadAllEventsBackward,
      payload: messages.ReadAllEvents.encode({ commitPosition: from, preparePosition: from, maxCount, resolveLinkTos: false, requireLeader: REQUIRE_LEADER }),
      interpret(pkg) {
        if (pkg.command !== expected) return unexpected(description, pkg);
        const reply = messages.ReadAllEventsCompleted.decode(pkg.payload);
        if (reply.result === ReadAllResult.AccessDenied) return fail(new AccessDeniedError('$all', 'read'));
        if (reply.result !== ReadAllResult.Success) return fail(new ServerError(`${description}: ${reply.error || `result ${reply.result}`}`));
        const events = reply.events.flatMap((e) => (e.event === undefined ? [] : [new RecordedEvent(e.event, e.commitPosition)]));
        // An empty page is the end of $all (es-tcp.md §3.4), and so is reaching the start backwards.
        return done({ events, next: reply.nextCommitPosition, end: events.length === 0 || (!forwards && reply.nextCommitPosition === 0n) });
      },
    };
  }
  const expected = forwards ? TcpCommand.FilteredReadAllEventsForwardCompleted : TcpCommand.FilteredReadAllEventsBackwardCompleted;
  return {
    description,
    command: forwards ? TcpCommand.FilteredReadAllEventsForward : TcpCommand.FilteredReadAllEventsBackward,
    payload: messages.FilteredReadAllEvents.encode({
      commitPosition: from, preparePosition: from, maxCount, maxSearchWindow: FILTER_SEARCH_WINDOW_EVENTS, resolveLinkTos: false, requireLeader: REQUIRE_LEADER, filter,
    }),
    interpret(pkg) {
      if (pkg.command !== expected) return unexpected(description, pkg);
      const reply = messages.FilteredReadAllEventsCompleted.decode(pkg.payload);
      if (reply.result === FilteredReadAllResult.AccessDenied) return fail(new AccessDeniedError('$all', 'read'));
      if (reply.result !== FilteredReadAllResult.Success) return fail(new ServerError(`${description}: ${reply.error || `result ${reply.result}`}`));
      const events = reply.events.flatMap((e) => (e.event === undefined ? [] : [new RecordedEvent(e.event, e.commitPosition)]));
      return done({ events, next: reply.nextCommitPosition, end: reply.isEndOfStream });
    },
  };
}
