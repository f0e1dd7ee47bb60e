// An event as the client returns it: the fields of the embedded RecordedEvent, read-only, built
// from a wire EventRecord (es-tcp.md §3.2). It owns copies of its bytes; JSON is parsed on first use.

import { wireToUuid } from '../protocol/wire/guid.js';
import type { Decoded, EventRecord } from '../protocol/wire/messages.js';
import type { ContentType } from '../store/event-input.js';
import { CONTENT_TYPE_BINARY, CONTENT_TYPE_JSON } from './event-encoding.js';

const UNPARSED: unique symbol = Symbol('unparsed');
const utf8 = new TextDecoder();

/** Position of an event whose position the protocol does not carry (events read from a stream). */
export const POSITION_UNKNOWN = -1n;

function parsed(bytes: Uint8Array, json: boolean): unknown {
  if (!json) return bytes;
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return bytes; // claimed JSON but is not: the bytes, rather than a getter that throws
  }
}

export class RecordedEvent {
  readonly streamId: string;
  /** The event's number in its stream. */
  readonly revision: bigint;
  /**
   * The event's global ($all) position. Stream reads (readStream, readEvent, a stream
   * subscription's history) carry none in this protocol: there it is POSITION_UNKNOWN (-1n).
   */
  readonly position: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: ContentType;
  readonly #createdMs: number;
  readonly #data: Uint8Array;
  readonly #metadata: Uint8Array | undefined;
  readonly #metadataJson: boolean;
  #parsedData: unknown = UNPARSED;
  #parsedMetadata: unknown = UNPARSED;

  /** `position`: the ResolvedEvent's commit position, or POSITION_UNKNOWN. */
  constructor(record: Decoded<EventRecord>, position: bigint) {
    this.streamId = record.eventStreamId;
    this.revision = record.eventNumber;
    this.position = position;
    this.id = wireToUuid(record.eventId);
    this.type = record.eventType;
    this.contentType = record.dataContentType === 1 ? CONTENT_TYPE_JSON : CONTENT_TYPE_BINARY;
    this.#createdMs = Number(record.createdEpoch);
    // Copies: the decoded fields are views of a socket buffer that holds other packages too.
    this.#data = record.data.slice();
    this.#metadata = record.metadata.length === 0 ? undefined : record.metadata.slice();
    // The server keeps one JSON flag per event and reports it for both (es-tcp.md §3.2).
    this.#metadataJson = record.metadataContentType === 1;
    Object.freeze(this);
  }

  get created(): Date {
    return new Date(this.#createdMs);
  }

  /** The parsed JSON value, or the bytes for binary data. */
  get data(): unknown {
    if (this.#parsedData === UNPARSED) this.#parsedData = parsed(this.#data, this.contentType === CONTENT_TYPE_JSON);
    return this.#parsedData;
  }

  /** The parsed JSON metadata (when the server flags it JSON and it parses), its bytes, or undefined when there is none. */
  get metadata(): unknown {
    if (this.#parsedMetadata === UNPARSED) this.#parsedMetadata = this.#metadata === undefined ? undefined : parsed(this.#metadata, this.#metadataJson);
    return this.#parsedMetadata;
  }

  /** The data exactly as stored (JSON text or binary). */
  dataBytes(): Uint8Array {
    return this.#data;
  }

  /** The metadata exactly as stored, or undefined when there is none. */
  metadataBytes(): Uint8Array | undefined {
    return this.#metadata;
  }

  toJSON(): Record<string, unknown> {
    return {
      streamId: this.streamId, revision: String(this.revision), position: String(this.position), id: this.id, type: this.type,
      contentType: this.contentType, created: this.created.toISOString(), data: this.data, metadata: this.metadata,
    };
  }

  /** Shown by console.log / util.inspect, since data and metadata are getters. */
  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return {
      streamId: this.streamId, revision: this.revision, position: this.position, id: this.id, type: this.type,
      contentType: this.contentType, created: this.created, data: this.data, metadata: this.metadata,
    };
  }
}
