// The write requests (es-tcp.md §3.3): WriteEvents and DeleteStream, with their results turned
// into the embedded API's results and errors. Commit and prepare timeouts are retried: the events
// keep their ids, so a write that did happen is recognised, not repeated.

import { AccessDeniedError, StreamDeletedError, WrongExpectedVersionError, type ExpectedRevision } from '../util/errors.js';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import { OperationResult, messages, type NewEvent } from '../protocol/wire/messages.js';
import type { AppendResult } from '../store/committer.js';
import { ProtocolError, ServerError } from './client-errors.js';
import { done, fail, retry, type Operation, type Outcome } from './client-core.js';

const REQUIRE_LEADER = true;

function failure<T>(description: string, streamId: string, operation: string, result: number, expected: ExpectedRevision, currentVersion: bigint, message: string): Outcome<T> {
  switch (result) {
    case OperationResult.PrepareTimeout:
    case OperationResult.CommitTimeout:
    case OperationResult.ForwardTimeout:
      return retry(new ServerError(`${description}: the server timed out (result ${result})`));
    case OperationResult.WrongExpectedVersion:
      return fail(new WrongExpectedVersionError({ streamId, expected, actual: currentVersion }));
    case OperationResult.StreamDeleted:
      return fail(new StreamDeletedError(streamId));
    case OperationResult.AccessDenied:
      return fail(new AccessDeniedError(streamId, operation));
    default:
      return fail(new ServerError(`${description}: ${message || `result ${result}`}`));
  }
}

/** WriteEvents of already-encoded events (ids fixed) with the expected version. */
export function appendOperation(streamId: string, events: readonly NewEvent[], expected: { revision: ExpectedRevision; wire: bigint }): Operation<AppendResult> {
  const description = `appendToStream('${streamId}')`;
  return {
    description,
    command: TcpCommand.WriteEvents,
    payload: messages.WriteEvents.encode({ eventStreamId: streamId, expectedVersion: expected.wire, events, requireLeader: REQUIRE_LEADER }),
    interpret(pkg) {
      if (pkg.command !== TcpCommand.WriteEventsCompleted) return fail(new ProtocolError(`${description}: unexpected reply ${commandName(pkg.command)}`));
      const reply = messages.WriteEventsCompleted.decode(pkg.payload);
      if (reply.result === OperationResult.Success) return done({ nextExpectedRevision: reply.lastEventNumber, position: reply.commitPosition });
      return failure(description, streamId, 'write', reply.result, expected.revision, reply.currentVersion, reply.message);
    },
  };
}

/** DeleteStream (soft, or hard: a tombstone) with the expected version; resolves with the deletion's position. */
export function deleteOperation(streamId: string, expected: { revision: ExpectedRevision; wire: bigint }, hard: boolean): Operation<{ position: bigint }> {
  const description = `deleteStream('${streamId}'${hard ? ', hard' : ''})`;
  return {
    description,
    command: TcpCommand.DeleteStream,
    payload: messages.DeleteStream.encode({ eventStreamId: streamId, expectedVersion: expected.wire, requireLeader: REQUIRE_LEADER, hardDelete: hard }),
    interpret(pkg) {
      if (pkg.command !== TcpCommand.DeleteStreamCompleted) return fail(new ProtocolError(`${description}: unexpected reply ${commandName(pkg.command)}`));
      const reply = messages.DeleteStreamCompleted.decode(pkg.payload);
      if (reply.result === OperationResult.Success) return done({ position: reply.commitPosition });
      return failure(description, streamId, 'delete', reply.result, expected.revision, reply.currentVersion, reply.message);
    },
  };
}
