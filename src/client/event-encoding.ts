// What the client sends for an append: EventData (the embedded API's shape) as NewEvent, with its
// id chosen here, once, before the first attempt, so that every retry carries the same ids and
// the server can recognise it (es-tcp.md §1 "Correlation rules", §3.2, §4).

import { InvalidArgumentError, InvalidEventError, type ExpectedRevision } from '../util/errors.js';
import { isUuid, randomUuidBytes } from '../util/bytes.js';
import { POSITION_MAX } from '../util/limits.js';
import { rfcBytesToWire, uuidToWire } from '../protocol/wire/guid.js';
import type { NewEvent } from '../protocol/wire/messages.js';
import type { EventData } from '../store/event-input.js';

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_BINARY = 'application/octet-stream';

/** es-tcp.md §4: the int64 expected versions of WriteEvents and DeleteStream. */
export const EXPECTED_VERSION_NO_STREAM = -1n;
export const EXPECTED_VERSION_ANY = -2n;
export const EXPECTED_VERSION_STREAM_EXISTS = -4n;

const EVENT_KEYS = new Set(['id', 'type', 'data', 'metadata', 'contentType', 'metadataContentType']);
const utf8 = new TextEncoder();

/** The wire's expected version for an ExpectedRevision (default 'any'); InvalidArgumentError otherwise. */
export function expectedVersionOf(value: unknown): { revision: ExpectedRevision; wire: bigint } {
  if (value === undefined || value === 'any') return { revision: 'any', wire: EXPECTED_VERSION_ANY };
  if (value === 'no_stream') return { revision: value, wire: EXPECTED_VERSION_NO_STREAM };
  if (value === 'stream_exists') return { revision: value, wire: EXPECTED_VERSION_STREAM_EXISTS };
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(POSITION_MAX)) return { revision: value, wire: value };
  throw new InvalidArgumentError(`expectedRevision must be 'any', 'no_stream', 'stream_exists' or a bigint revision >= 0n, got ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value)}`);
}

function payloadOf(value: unknown, what: string, index: number, claimed: unknown): { bytes: Uint8Array; json: boolean } {
  if (value instanceof Uint8Array) return { bytes: value, json: claimed === CONTENT_TYPE_JSON };
  if (claimed === CONTENT_TYPE_BINARY) throw new InvalidEventError(`event ${index}: ${what} is claimed as binary but is not a Uint8Array`);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidEventError(`event ${index}: ${what} cannot be serialised as JSON (${(error as Error).message})`);
  }
  if (text === undefined) throw new InvalidEventError(`event ${index}: ${what} has no JSON representation (${typeof value})`);
  return { bytes: utf8.encode(text), json: true };
}

/** A fresh random (version 4) event id in wire order, without going through its text. */
function randomWireId(): Uint8Array {
  const rfc = new Uint8Array(16);
  randomUuidBytes(rfc, 0);
  return rfcBytesToWire(rfc);
}

/**
 * The NewEvents of an append, ids generated where absent. Checks the shape of each event (as the
 * embedded API does); sizes and JSON claims on bytes are left to the server.
 */
export function newEventsOf(events: unknown): NewEvent[] {
  if (!Array.isArray(events)) throw new InvalidArgumentError('events must be an array');
  return events.map((event: unknown, index): NewEvent => {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InvalidEventError(`event ${index} must be an object`);
    for (const key of Object.keys(event)) {
      if (!EVENT_KEYS.has(key)) throw new InvalidEventError(`event ${index}: unknown field '${key}'`);
    }
    const e = event as EventData;
    if (typeof e.type !== 'string' || e.type.length === 0) throw new InvalidEventError(`event ${index}: type must be a non-empty string`);
    if (!e.type.isWellFormed()) throw new InvalidEventError(`event ${index}: type is not well-formed Unicode`);
    for (const key of ['contentType', 'metadataContentType'] as const) {
      const claimed = e[key];
      if (claimed !== undefined && claimed !== CONTENT_TYPE_JSON && claimed !== CONTENT_TYPE_BINARY) {
        throw new InvalidEventError(`event ${index}: ${key} must be '${CONTENT_TYPE_JSON}' or '${CONTENT_TYPE_BINARY}'`);
      }
    }
    if (e.metadataContentType !== undefined && e.metadata === undefined) throw new InvalidEventError(`event ${index}: metadataContentType without metadata`);
    if (e.data === undefined) throw new InvalidEventError(`event ${index}: data is required`);
    if (e.id !== undefined && (typeof e.id !== 'string' || !isUuid(e.id))) throw new InvalidEventError(`event ${index}: id must be a UUID string`);
    const data = payloadOf(e.data, 'data', index, e.contentType);
    const metadata = e.metadata === undefined ? null : payloadOf(e.metadata, 'metadata', index, e.metadataContentType);
    return {
      eventId: e.id === undefined ? randomWireId() : uuidToWire(e.id),
      eventType: e.type,
      dataContentType: data.json ? 1 : 0,
      metadataContentType: metadata?.json ? 1 : 0,
      data: data.bytes,
      ...(metadata !== null ? { metadata: metadata.bytes } : {}),
    };
  });
}
