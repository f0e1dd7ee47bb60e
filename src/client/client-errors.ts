// Typed errors of the TCP client that the embedded API has no counterpart for: connections,
// authentication, timeouts and what the server refused. Store errors (WrongExpectedVersionError,
// StreamDeletedError, AccessDeniedError…) are the embedded classes from util/errors.ts.

import { AnnalError } from '../util/errors.js';

/** The connection is gone (refused, lost and not regained within the retries, or the client was closed). */
export class ConnectionClosedError extends AnnalError {
  override readonly code = 'CONNECTION_CLOSED';
  override name = 'ConnectionClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server refused the credentials (at connect, or for a request). */
export class NotAuthenticatedError extends AnnalError {
  override readonly code = 'NOT_AUTHENTICATED';
  override name = 'NotAuthenticatedError';
}

/** A request had no answer within requestTimeoutMs, on its first attempt and on every retry. */
export class RequestTimeoutError extends AnnalError {
  override readonly code = 'REQUEST_TIMEOUT';
  override name = 'RequestTimeoutError';
  readonly attempts: number;
  constructor(what: string, attempts: number, timeoutMs: number, cause?: unknown) {
    super(`${what}: no answer within ${timeoutMs} ms (attempt ${attempts})${cause instanceof Error ? `; last connection error: ${cause.message}` : ''}`);
    this.attempts = attempts;
  }
}

/** The server answered BadRequest: the request was malformed or refused as input (the text says why). */
export class BadRequestError extends AnnalError {
  override readonly code = 'BAD_REQUEST';
  override name = 'BadRequestError';
}

/** The server could not serve the request (NotHandled other than busy, a read result Error, an invalid transaction). */
export class ServerError extends AnnalError {
  override readonly code = 'SERVER_ERROR';
  override name = 'ServerError';
}

/** The server broke the protocol: an unexpected reply, or bytes that do not decode. */
export class ProtocolError extends AnnalError {
  override readonly code = 'PROTOCOL_ERROR';
  override name = 'ProtocolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server dropped a subscription for a reason other than access or deletion. */
export class SubscriptionDroppedError extends AnnalError {
  override readonly code = 'SUBSCRIPTION_DROPPED';
  override name = 'SubscriptionDroppedError';
  readonly reason: string;
  constructor(what: string, reason: string) {
    super(`${what}: dropped by the server (${reason})`);
    this.reason = reason;
  }
}

/** More requests are waiting to be sent than REQUESTS_WAITING_MAX: back off and retry. */
export class ClientOverloadedError extends AnnalError {
  override readonly code = 'CLIENT_OVERLOADED';
  override name = 'ClientOverloadedError';
}

/** The persistent subscription group was deleted while this consumer was connected to it. */
export class PersistentSubscriptionDeletedError extends AnnalError {
  override readonly code = 'PERSISTENT_SUBSCRIPTION_DELETED';
  override name = 'PersistentSubscriptionDeletedError';
  readonly streamId: string;
  readonly group: string;
  constructor(streamId: string, group: string) {
    super(`persistent subscription group '${group}' on '${streamId}' was deleted`);
    this.streamId = streamId;
    this.group = group;
  }
}
