// How the store's typed errors become protocol results (format-spec/protocol.md §9.3). An error
// with no result code of its own (bad input) is a BadRequest for that request only.

import { AccessDeniedError, StreamDeletedError, WrongExpectedVersionError } from '../../util/errors.js';
import { OperationResult, ReadEventResult, ReadStreamResult } from '../wire/messages.js';

/** The OperationResult for a failed write or delete, or null when the error has none. */
export function operationResultOf(error: unknown): number | null {
  if (error instanceof WrongExpectedVersionError) return OperationResult.WrongExpectedVersion;
  if (error instanceof StreamDeletedError) return OperationResult.StreamDeleted;
  if (error instanceof AccessDeniedError) return OperationResult.AccessDenied;
  return null;
}

export function readEventResultOf(error: unknown): number | null {
  if (error instanceof StreamDeletedError) return ReadEventResult.StreamDeleted;
  if (error instanceof AccessDeniedError) return ReadEventResult.AccessDenied;
  return null;
}

export function readStreamResultOf(error: unknown): number | null {
  if (error instanceof StreamDeletedError) return ReadStreamResult.StreamDeleted;
  if (error instanceof AccessDeniedError) return ReadStreamResult.AccessDenied;
  return null;
}
