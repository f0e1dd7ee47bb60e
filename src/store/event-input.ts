// Validation of what users append: stream ids and events become PreparedEvents with measured
// sizes, or a typed error is thrown before anything is queued. format-spec/log.md §3.

import { InvalidArgumentError, InvalidEventError, InvalidStreamIdError, EventTooLargeError, AppendTooLargeError } from '../util/errors.js';
import { parseUuid, randomUuidBytes } from '../util/bytes.js';
import { EVENT_TYPE_BYTES_MAX, STREAM_ID_BYTES_MAX } from '../util/limits.js';
import { FLAG_DATA_JSON, FLAG_ID_GIVEN, FLAG_METADATA_JSON, FLAG_METADATA_PRESENT, recordBytes } from '../format/record-layout.js';
import type { PreparedEvent } from '../format/record-batch-encoder.js';

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_BINARY = 'application/octet-stream';
export type ContentType = typeof CONTENT_TYPE_JSON | typeof CONTENT_TYPE_BINARY;

/** An event to append. `data`/`metadata`: a Uint8Array is stored as bytes, anything else as JSON. */
export interface EventData {
  /** A UUID; generated when absent. Re-sending the same ids makes a retry idempotent. */
  id?: string;
  type: string;
  data: unknown;
  metadata?: unknown;
  /** Only needed to claim that Uint8Array data is JSON text (it is then checked). */
  contentType?: ContentType;
  /** Only needed to claim that Uint8Array metadata is JSON text (it is then checked). */
  metadataContentType?: ContentType;
}

/** An event after validation; `idText` is set when the caller chose the id. */
export interface ValidatedEvent extends PreparedEvent {
  readonly idText: string | null;
}

export interface AppendLimits {
  readonly maxEventBytes: number;
  readonly maxAppendBytes: number;
  readonly maxAppendEvents: number;
}

const EVENT_KEYS = new Set(['id', 'type', 'data', 'metadata', 'contentType', 'metadataContentType']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 byte length of a valid stream id, or throws InvalidStreamIdError. */
export function validateStreamId(streamId: unknown): number {
  if (typeof streamId !== 'string' || streamId.length === 0) throw new InvalidStreamIdError('stream id must be a non-empty string');
  if (!streamId.isWellFormed()) throw new InvalidStreamIdError('stream id is not well-formed Unicode (lone surrogate)');
  const bytes = Buffer.byteLength(streamId, 'utf8');
  // The metadata stream `$$S` of a longest S is two bytes longer than S.
  const limit = streamId.startsWith('$$') ? STREAM_ID_BYTES_MAX + 2 : STREAM_ID_BYTES_MAX;
  if (bytes > limit) throw new InvalidStreamIdError(`stream id is ${bytes} bytes, more than STREAM_ID_BYTES_MAX = ${STREAM_ID_BYTES_MAX}${limit > STREAM_ID_BYTES_MAX ? ' (+ 2 for a $$ metadata stream)' : ''}`);
  return bytes;
}

function encodePayload(value: unknown, what: string, claimed: ContentType | undefined, index: number): { value: Uint8Array | string; bytes: number; json: boolean } {
  if (value instanceof Uint8Array) {
    if (claimed === CONTENT_TYPE_JSON) {
      try {
        JSON.parse(strictUtf8.decode(value));
      } catch (error) {
        throw new InvalidEventError(`event ${index}: ${what} is claimed as JSON but is not valid UTF-8 JSON (${(error as Error).message})`);
      }
      return { value, bytes: value.length, json: true };
    }
    return { value, bytes: value.length, json: false };
  }
  if (claimed === CONTENT_TYPE_BINARY) throw new InvalidEventError(`event ${index}: ${what} is claimed as binary but is not a Uint8Array`);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidEventError(`event ${index}: ${what} cannot be serialised as JSON (${(error as Error).message})`);
  }
  if (text === undefined) throw new InvalidEventError(`event ${index}: ${what} has no JSON representation (${typeof value})`);
  // JSON.stringify escapes lone surrogates (ES2019), so `text` is always well-formed.
  return { value: text, bytes: Buffer.byteLength(text, 'utf8'), json: true };
}

function validateEvent(event: unknown, index: number, streamIdBytes: number, limits: AppendLimits): ValidatedEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InvalidEventError(`event ${index} must be an object`);
  for (const key of Object.keys(event)) {
    if (!EVENT_KEYS.has(key)) throw new InvalidEventError(`event ${index}: unknown field '${key}'`);
  }
  const e = event as EventData;
  if (typeof e.type !== 'string' || e.type.length === 0) throw new InvalidEventError(`event ${index}: type must be a non-empty string`);
  if (!e.type.isWellFormed()) throw new InvalidEventError(`event ${index}: type is not well-formed Unicode`);
  const typeBytes = Buffer.byteLength(e.type, 'utf8');
  if (typeBytes > EVENT_TYPE_BYTES_MAX) throw new InvalidEventError(`event ${index}: type is ${typeBytes} bytes, more than EVENT_TYPE_BYTES_MAX = ${EVENT_TYPE_BYTES_MAX}`);
  for (const key of ['contentType', 'metadataContentType'] as const) {
    const claimed = e[key];
    if (claimed !== undefined && claimed !== CONTENT_TYPE_JSON && claimed !== CONTENT_TYPE_BINARY) {
      throw new InvalidEventError(`event ${index}: ${key} must be '${CONTENT_TYPE_JSON}' or '${CONTENT_TYPE_BINARY}'`);
    }
  }
  if (e.metadataContentType !== undefined && e.metadata === undefined) throw new InvalidEventError(`event ${index}: metadataContentType without metadata`);
  if (e.data === undefined) throw new InvalidEventError(`event ${index}: data is required`);
  const id = new Uint8Array(16);
  let idText: string | null = null;
  if (e.id === undefined) {
    randomUuidBytes(id, 0);
  } else {
    if (typeof e.id !== 'string' || !parseUuid(e.id, id, 0)) throw new InvalidEventError(`event ${index}: id must be a UUID string`);
    idText = e.id.toLowerCase();
  }
  const data = encodePayload(e.data, 'data', e.contentType, index);
  const metadata = e.metadata === undefined ? null : encodePayload(e.metadata, 'metadata', e.metadataContentType, index);
  const size = recordBytes(streamIdBytes, typeBytes, metadata?.bytes ?? 0, data.bytes);
  if (size > limits.maxEventBytes) {
    throw new EventTooLargeError(`event ${index} encodes to ${size} bytes, more than maxEventBytes = ${limits.maxEventBytes}`);
  }
  let flags = (data.json ? FLAG_DATA_JSON : 0) | (idText !== null ? FLAG_ID_GIVEN : 0);
  if (metadata) flags |= FLAG_METADATA_PRESENT | (metadata.json ? FLAG_METADATA_JSON : 0);
  return {
    id,
    idText,
    type: e.type,
    typeBytes,
    data: data.value,
    dataBytes: data.bytes,
    metadata: metadata?.value ?? null,
    metadataBytes: metadata?.bytes ?? 0,
    flags,
    recordBytes: size,
  };
}

/** Validates the events of one append part; throws a typed error for the first bad one. */
export function validateEvents(events: unknown, streamIdBytes: number, limits: AppendLimits): ValidatedEvent[] {
  if (!Array.isArray(events)) throw new InvalidArgumentError('events must be an array');
  if (events.length > limits.maxAppendEvents) {
    throw new AppendTooLargeError(`append of ${events.length} events, more than maxAppendEvents = ${limits.maxAppendEvents}`);
  }
  return events.map((event, i) => validateEvent(event, i, streamIdBytes, limits));
}

/** Throws AppendTooLargeError when the parts together exceed the append limits. */
export function checkAppendSize(parts: readonly { events: readonly ValidatedEvent[] }[], limits: AppendLimits): number {
  let bytes = 0;
  let count = 0;
  for (const part of parts) {
    count += part.events.length;
    for (const e of part.events) bytes += e.recordBytes;
  }
  if (count > limits.maxAppendEvents) throw new AppendTooLargeError(`append of ${count} events, more than maxAppendEvents = ${limits.maxAppendEvents}`);
  if (bytes > limits.maxAppendBytes) throw new AppendTooLargeError(`append encodes to ${bytes} bytes, more than maxAppendBytes = ${limits.maxAppendBytes}`);
  return bytes;
}
