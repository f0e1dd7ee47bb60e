// Between the store's events and the wire's EventRecord / NewEvent (format-spec/protocol.md §9):
// ids in .NET GUID order, content types, .NET ticks, and commit = prepare = Annal's position.

import type { ExpectedRevision } from '../../util/errors.js';
import type { EventData } from '../../store/event-input.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import { rfcBytesToWire, wireToUuid } from '../wire/guid.js';
import type { EventRecord, NewEvent, ResolvedEvent, ResolvedIndexedEvent } from '../wire/messages.js';

/** .NET DateTime ticks (100 ns) between 0001-01-01 and the Unix epoch. */
const UNIX_EPOCH_TICKS = 621_355_968_000_000_000n;
/** DateTime.ToBinary() marks a UTC time with this bit (DateTimeKind.Utc). */
const DATETIME_KIND_UTC = 1n << 62n;

export const EXPECTED_ANY = -2n;
export const EXPECTED_NO_STREAM = -1n;
export const EXPECTED_STREAM_EXISTS = -4n;

/** The wire's int64 expected version as the store's ExpectedRevision, or null when invalid (-3, < -4). */
export function expectedRevisionOf(version: bigint): ExpectedRevision | null {
  if (version >= 0n) return version;
  if (version === EXPECTED_ANY) return 'any';
  if (version === EXPECTED_NO_STREAM) return 'no_stream';
  if (version === EXPECTED_STREAM_EXISTS) return 'stream_exists';
  return null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `bytes` is UTF-8 JSON text. */
function isJsonText(bytes: Uint8Array): boolean {
  try {
    JSON.parse(strictUtf8.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/**
 * A NewEvent as the store takes it: data_content_type 1 claims JSON (and is checked). EventStoreDB
 * keeps one JSON flag per event, and clients set metadata_content_type loosely (the node client
 * always sends 0), so metadata is kept as JSON when either flag is 1 and it is JSON text, else as
 * bytes; either way its bytes are returned unchanged.
 */
export function eventDataOf(event: NewEvent): EventData {
  const metadata = event.metadata !== undefined && event.metadata.length > 0 ? event.metadata : undefined;
  const flaggedJson = event.dataContentType === 1 || event.metadataContentType === 1;
  const metadataIsJson = metadata !== undefined && flaggedJson && isJsonText(metadata);
  return {
    id: wireToUuid(event.eventId),
    type: event.eventType,
    data: event.data,
    contentType: event.dataContentType === 1 ? 'application/json' : 'application/octet-stream',
    ...(metadata !== undefined ? { metadata, metadataContentType: metadataIsJson ? 'application/json' : 'application/octet-stream' } : {}),
  };
}

/** The event as an EventRecord; both content types say whether the data is JSON, as EventStoreDB does. */
export function eventRecordOf(event: RecordedEvent): EventRecord {
  const contentType = event.contentType === 'application/json' ? 1 : 0;
  const createdMs = BigInt(event.createdEpochMs);
  return {
    eventStreamId: event.streamId,
    eventNumber: event.revision,
    eventId: rfcBytesToWire(event.idBytes()),
    eventType: event.type,
    dataContentType: contentType,
    metadataContentType: contentType,
    data: event.dataBytes(),
    metadata: event.metadataBytes() ?? new Uint8Array(0),
    created: (createdMs * 10_000n + UNIX_EPOCH_TICKS) | DATETIME_KIND_UTC,
    createdEpoch: createdMs,
  };
}

export function resolvedIndexedEventOf(event: RecordedEvent): ResolvedIndexedEvent {
  return { event: eventRecordOf(event) };
}

export function resolvedEventOf(event: RecordedEvent): ResolvedEvent {
  return { event: eventRecordOf(event), commitPosition: event.position, preparePosition: event.position };
}
