// WriteEvents, DeleteStream and explicit transactions against the store (format-spec/protocol.md
// §9.1). An error the protocol has a result for is answered with it; anything else is thrown for
// the connection to turn into a BadRequest.

import { InvalidArgumentError } from '../../util/errors.js';
import type { Principal } from '../../store/access.js';
import type { EventStore } from '../../store/event-store.js';
import type { EventData } from '../../store/event-input.js';
import { TcpCommand } from '../wire/commands.js';
import {
  OperationResult, messages, type DeleteStream, type TransactionCommit, type TransactionStart, type TransactionWrite, type WriteEvents,
} from '../wire/messages.js';
import { eventDataOf, expectedRevisionOf } from './event-convert.js';
import { operationResultOf } from './results.js';
import { TRANSACTION_EVENTS_MAX, TRANSACTION_IDLE_MS_MAX, TRANSACTIONS_OPEN_MAX } from './server-limits.js';
import type { Reply } from './reply.js';

function expected(version: bigint): NonNullable<ReturnType<typeof expectedRevisionOf>> {
  const revision = expectedRevisionOf(version);
  if (revision === null) throw new InvalidArgumentError(`expected version ${version} is not valid`);
  return revision;
}

/** The stream's actual last revision for a WrongExpectedVersion answer (-1 when absent). */
function actualOf(error: unknown): bigint | undefined {
  return typeof error === 'object' && error !== null && 'actual' in error ? (error as { actual: bigint }).actual : undefined;
}

export async function writeEvents(store: EventStore, principal: Principal, request: WriteEvents): Promise<Reply> {
  try {
    const events = request.events.map(eventDataOf);
    const result = await store.appendToStream(request.eventStreamId, events, { expectedRevision: expected(request.expectedVersion), principal });
    const first = events.length === 0 ? result.nextExpectedRevision : result.nextExpectedRevision - BigInt(events.length - 1);
    return {
      command: TcpCommand.WriteEventsCompleted,
      payload: messages.WriteEventsCompleted.encode({
        result: OperationResult.Success, firstEventNumber: first, lastEventNumber: result.nextExpectedRevision,
        preparePosition: result.position, commitPosition: result.position,
      }),
    };
  } catch (error) {
    const result = operationResultOf(error);
    if (result === null) throw error;
    const actual = actualOf(error);
    return {
      command: TcpCommand.WriteEventsCompleted,
      payload: messages.WriteEventsCompleted.encode({
        result, message: (error as Error).message, firstEventNumber: -1n, lastEventNumber: -1n, ...(actual !== undefined ? { currentVersion: actual } : {}),
      }),
    };
  }
}

export async function deleteStream(store: EventStore, principal: Principal, request: DeleteStream): Promise<Reply> {
  try {
    const { position } = await store.deleteStream(request.eventStreamId, { expectedRevision: expected(request.expectedVersion), hard: request.hardDelete === true, principal });
    return {
      command: TcpCommand.DeleteStreamCompleted,
      payload: messages.DeleteStreamCompleted.encode({ result: OperationResult.Success, preparePosition: position, commitPosition: position }),
    };
  } catch (error) {
    const result = operationResultOf(error);
    if (result === null) throw error;
    const actual = actualOf(error);
    return {
      command: TcpCommand.DeleteStreamCompleted,
      payload: messages.DeleteStreamCompleted.encode({ result, message: (error as Error).message, ...(actual !== undefined ? { currentVersion: actual } : {}) }),
    };
  }
}

interface OpenTransaction {
  readonly streamId: string;
  readonly expectedVersion: bigint;
  readonly principal: Principal;
  readonly events: EventData[];
  lastUsedMs: number;
}

/**
 * Explicit transactions (TransactionStart / Write / Commit). Events are held here until the commit
 * appends them as one atomic append with the expected version given at the start; a transaction
 * belongs to whoever started it and expires after TRANSACTION_IDLE_MS_MAX of silence.
 */
export class Transactions {
  private readonly open = new Map<bigint, OpenTransaction>();
  private nextId = 1n;

  constructor(private readonly store: EventStore, private readonly nowMs: () => number = Date.now) {}

  start(principal: Principal, request: TransactionStart): Reply {
    this.expire();
    const reply = (result: number, message?: string, transactionId = -1n): Reply => ({
      command: TcpCommand.TransactionStartCompleted,
      payload: messages.TransactionStartCompleted.encode({ transactionId, result, ...(message ? { message } : {}) }),
    });
    expected(request.expectedVersion);
    if (this.open.size >= TRANSACTIONS_OPEN_MAX) return reply(OperationResult.InvalidTransaction, `${TRANSACTIONS_OPEN_MAX} transactions are open (TRANSACTIONS_OPEN_MAX)`);
    const id = this.nextId++;
    this.open.set(id, { streamId: request.eventStreamId, expectedVersion: request.expectedVersion, principal, events: [], lastUsedMs: this.nowMs() });
    return reply(OperationResult.Success, undefined, id);
  }

  write(principal: Principal, request: TransactionWrite): Reply {
    const transaction = this.owned(principal, request.transactionId);
    const reply = (result: number, message?: string): Reply => ({
      command: TcpCommand.TransactionWriteCompleted,
      payload: messages.TransactionWriteCompleted.encode({ transactionId: request.transactionId, result, ...(message ? { message } : {}) }),
    });
    if (transaction === null) return reply(OperationResult.InvalidTransaction, `no open transaction ${request.transactionId}`);
    if (transaction.events.length + request.events.length > TRANSACTION_EVENTS_MAX) {
      this.open.delete(request.transactionId);
      return reply(OperationResult.InvalidTransaction, `a transaction holds at most ${TRANSACTION_EVENTS_MAX} events (TRANSACTION_EVENTS_MAX)`);
    }
    transaction.events.push(...request.events.map(eventDataOf));
    transaction.lastUsedMs = this.nowMs();
    return reply(OperationResult.Success);
  }

  async commit(principal: Principal, request: TransactionCommit): Promise<Reply> {
    const transaction = this.owned(principal, request.transactionId);
    const reply = (result: number, fields: { message?: string; first?: bigint; last?: bigint; position?: bigint } = {}): Reply => ({
      command: TcpCommand.TransactionCommitCompleted,
      payload: messages.TransactionCommitCompleted.encode({
        transactionId: request.transactionId, result, firstEventNumber: fields.first ?? -1n, lastEventNumber: fields.last ?? -1n,
        ...(fields.message ? { message: fields.message } : {}),
        ...(fields.position !== undefined ? { preparePosition: fields.position, commitPosition: fields.position } : {}),
      }),
    });
    if (transaction === null) return reply(OperationResult.InvalidTransaction, { message: `no open transaction ${request.transactionId}` });
    this.open.delete(request.transactionId);
    try {
      const result = await this.store.appendToStream(transaction.streamId, transaction.events, { expectedRevision: expected(transaction.expectedVersion), principal: transaction.principal });
      const count = BigInt(transaction.events.length);
      return reply(OperationResult.Success, { first: count === 0n ? result.nextExpectedRevision : result.nextExpectedRevision - count + 1n, last: result.nextExpectedRevision, position: result.position });
    } catch (error) {
      const result = operationResultOf(error);
      if (result === null) throw error;
      return reply(result, { message: (error as Error).message });
    }
  }

  private owned(principal: Principal, id: bigint): OpenTransaction | null {
    this.expire();
    const transaction = this.open.get(id);
    if (transaction === undefined || transaction.principal.name !== principal.name) return null;
    return transaction;
  }

  private expire(): void {
    const now = this.nowMs();
    for (const [id, transaction] of this.open) if (now - transaction.lastUsedMs > TRANSACTION_IDLE_MS_MAX) this.open.delete(id);
  }
}
