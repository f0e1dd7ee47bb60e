// Expected revisions: parsing the public form and checking it against a stream's event count.

import { InvalidArgumentError, type ExpectedRevision } from '../util/errors.js';
import { POSITION_MAX } from '../util/limits.js';

export type { ExpectedRevision };

/** Throws InvalidArgumentError unless `value` is an ExpectedRevision. */
export function validateExpectedRevision(value: unknown): ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(POSITION_MAX)) return value;
  throw new InvalidArgumentError(`expectedRevision must be 'any', 'no_stream', 'stream_exists' or a bigint revision >= 0n, got ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value)}`);
}

export type RevisionCheck =
  | { kind: 'ok' }
  /** The stream is past the expected revision: the append may be a retry of events from `fromRevision`. */
  | { kind: 'maybe_retry'; fromRevision: number }
  /** 'any' / 'stream_exists': a retry is recognised by event id, not by revision. */
  | { kind: 'ok_unless_retry' }
  | { kind: 'conflict' };

/** Compares an expected revision with a stream holding `eventCount` events. */
export function checkExpectedRevision(expected: ExpectedRevision, eventCount: number): RevisionCheck {
  if (expected === 'any') return { kind: 'ok_unless_retry' };
  if (expected === 'stream_exists') return eventCount > 0 ? { kind: 'ok_unless_retry' } : { kind: 'conflict' };
  const expectedCount = expected === 'no_stream' ? 0 : Number(expected) + 1;
  if (eventCount === expectedCount) return { kind: 'ok' };
  if (eventCount > expectedCount) return { kind: 'maybe_retry', fromRevision: expectedCount };
  return { kind: 'conflict' };
}
