// Rules for writes that touch metadata: what may be appended to a `$$S` stream, and how an
// expected revision reads against a soft-deleted stream (which shows as not existing).

import { InvalidEventError, WrongExpectedVersionError, type ExpectedRevision } from '../util/errors.js';
import type { EventData } from './event-input.js';
import { parseStreamMetadata } from './stream-metadata.js';
import { METADATA_EVENT_TYPE } from './stream-names.js';

/** Events appended to `$$S` must be `$metadata` events whose data is valid metadata JSON. */
export function validateMetadataEvents(events: unknown): void {
  if (!Array.isArray(events)) return; // validateEvents reports it
  events.forEach((event: EventData, i) => {
    if (typeof event !== 'object' || event === null) return;
    if (event.type !== METADATA_EVENT_TYPE) throw new InvalidEventError(`event ${i}: a metadata stream takes only '${METADATA_EVENT_TYPE}' events, not '${String(event.type)}'`);
    let json: unknown = event.data;
    if (event.data instanceof Uint8Array) {
      try {
        json = JSON.parse(Buffer.from(event.data).toString('utf8'));
      } catch {
        throw new InvalidEventError(`event ${i}: metadata must be a JSON object`);
      }
    }
    parseStreamMetadata(json);
  });
}

/**
 * A soft-deleted stream with `count` old events shows as not existing: 'any' and 'no_stream' hold
 * and become an exact expectation of its last revision (so a concurrent writer still conflicts).
 * The exact last revision also holds, as in EventStoreDB: the writer knew where the stream was.
 * Any other exact revision, or 'stream_exists', is a conflict with actual -1.
 */
export function undeletedExpectation(streamId: string, expected: ExpectedRevision, count: number): ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream') return count === 0 ? 'no_stream' : BigInt(count - 1);
  if (typeof expected === 'bigint' && count > 0 && expected === BigInt(count - 1)) return expected;
  throw new WrongExpectedVersionError({ streamId, expected, actual: -1n });
}
