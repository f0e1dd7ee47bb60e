// Typed operating errors with stable codes (mapped later to protocol results and HTTP statuses).
// Programmer errors are assertions (util/assert.ts), not these.

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export class AnnalError extends Error {
  readonly code: string = 'ANNAL_ERROR';
  override name = 'AnnalError';
}

/** An append's expected revision did not match the stream. `actual` is -1n when the stream is absent. */
export class WrongExpectedVersionError extends AnnalError {
  override readonly code = 'WRONG_EXPECTED_VERSION';
  override name = 'WrongExpectedVersionError';
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly actual: bigint;
  constructor(args: { streamId: string; expected: ExpectedRevision; actual: bigint }) {
    super(`stream '${args.streamId}': expected revision ${String(args.expected)}, actual ${args.actual === -1n ? 'no stream' : String(args.actual)}`);
    this.streamId = args.streamId;
    this.expected = args.expected;
    this.actual = args.actual;
  }
}

/** Stored bytes failed a check (CRC, length, position, header). Never repaired silently. */
export class CorruptionError extends AnnalError {
  override readonly code = 'CORRUPTION';
  override name = 'CorruptionError';
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  readonly expectedCrc: number | undefined;
  readonly actualCrc: number | undefined;
  constructor(args: { file: string; offset: number; reason: string; expectedCrc?: number; actualCrc?: number }) {
    const crc = args.expectedCrc === undefined ? '' : ` (expected crc ${hex(args.expectedCrc)}, actual ${hex(args.actualCrc ?? 0)})`;
    super(`corruption in ${args.file} at offset ${args.offset}: ${args.reason}${crc}`);
    this.file = args.file;
    this.offset = args.offset;
    this.reason = args.reason;
    this.expectedCrc = args.expectedCrc;
    this.actualCrc = args.actualCrc;
  }
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** A stream id that is empty, too long or not well-formed Unicode. */
export class InvalidStreamIdError extends AnnalError {
  override readonly code = 'INVALID_STREAM_ID';
  override name = 'InvalidStreamIdError';
}

/** An event that is malformed: missing type, bad id, data that is not what it claims to be. */
export class InvalidEventError extends AnnalError {
  override readonly code = 'INVALID_EVENT';
  override name = 'InvalidEventError';
}

/** One encoded event is larger than maxEventBytes. */
export class EventTooLargeError extends AnnalError {
  override readonly code = 'EVENT_TOO_LARGE';
  override name = 'EventTooLargeError';
}

/** One append (all its events) is over maxAppendBytes or maxAppendEvents. */
export class AppendTooLargeError extends AnnalError {
  override readonly code = 'APPEND_TOO_LARGE';
  override name = 'AppendTooLargeError';
}

/** An unknown option or an option value out of range. */
export class InvalidOptionError extends AnnalError {
  override readonly code = 'INVALID_OPTION';
  override name = 'InvalidOptionError';
}

/** A bad argument to a read or other call (not an event or stream id). */
export class InvalidArgumentError extends AnnalError {
  override readonly code = 'INVALID_ARGUMENT';
  override name = 'InvalidArgumentError';
}

/** The store was closed. */
export class StoreClosedError extends AnnalError {
  override readonly code = 'STORE_CLOSED';
  override name = 'StoreClosedError';
  constructor() {
    super('the store is closed');
  }
}

/**
 * A write or sync failed. The store refuses all further writes until it is reopened: after a failed
 * fsync the page cache can no longer be trusted, so retrying would pretend durability.
 */
export class StoreFailedError extends AnnalError {
  override readonly code = 'STORE_FAILED';
  override name = 'StoreFailedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Another EventStore (in this or another process) holds the data directory. */
export class StoreLockedError extends AnnalError {
  override readonly code = 'STORE_LOCKED';
  override name = 'StoreLockedError';
}

/** More appends are waiting than maxPendingAppends allows: the caller should back off and retry. */
export class StoreOverloadedError extends AnnalError {
  override readonly code = 'STORE_OVERLOADED';
  override name = 'StoreOverloadedError';
}

/** The stream was hard-deleted (tombstoned): it can be neither read nor written again. */
export class StreamDeletedError extends AnnalError {
  override readonly code = 'STREAM_DELETED';
  override name = 'StreamDeletedError';
  readonly streamId: string;
  constructor(streamId: string) {
    super(`stream '${streamId}' is deleted`);
    this.streamId = streamId;
  }
}

/** The caller's principal lacks the role that the stream's access control list asks for. */
export class AccessDeniedError extends AnnalError {
  override readonly code = 'ACCESS_DENIED';
  override name = 'AccessDeniedError';
  readonly streamId: string;
  readonly operation: string;
  constructor(streamId: string, operation: string) {
    super(`access denied: ${operation} on '${streamId}'`);
    this.streamId = streamId;
    this.operation = operation;
  }
}

/** A persistent subscription group of that name already exists on that stream. */
export class PersistentSubscriptionExistsError extends AnnalError {
  override readonly code = 'PERSISTENT_SUBSCRIPTION_EXISTS';
  override name = 'PersistentSubscriptionExistsError';
  readonly streamId: string;
  readonly group: string;
  constructor(streamId: string, group: string) {
    super(`persistent subscription group '${group}' on '${streamId}' already exists`);
    this.streamId = streamId;
    this.group = group;
  }
}

/** No persistent subscription group of that name exists on that stream. */
export class PersistentSubscriptionNotFoundError extends AnnalError {
  override readonly code = 'PERSISTENT_SUBSCRIPTION_NOT_FOUND';
  override name = 'PersistentSubscriptionNotFoundError';
  readonly streamId: string;
  readonly group: string;
  constructor(streamId: string, group: string) {
    super(`persistent subscription group '${group}' on '${streamId}' does not exist`);
    this.streamId = streamId;
    this.group = group;
  }
}

/** The group already has as many consumers as its maxSubscriberCount (or PERSISTENT_CONSUMERS_PER_GROUP_MAX) allows. */
export class MaxSubscribersReachedError extends AnnalError {
  override readonly code = 'MAX_SUBSCRIBERS_REACHED';
  override name = 'MaxSubscribersReachedError';
  readonly streamId: string;
  readonly group: string;
  readonly maxSubscriberCount: number;
  constructor(streamId: string, group: string, maxSubscriberCount: number) {
    super(`persistent subscription group '${group}' on '${streamId}' already has ${maxSubscriberCount} consumers (its maximum)`);
    this.streamId = streamId;
    this.group = group;
    this.maxSubscriberCount = maxSubscriberCount;
  }
}
