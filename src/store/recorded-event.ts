// An event read back from the store: a light view over a read buffer. Fields are decoded on
// first access (reads that skip a field never pay for it), then cached.

import { uuidFromBytes } from '../util/bytes.js';
import { FLAG_DATA_JSON, FLAG_ID_GIVEN, FLAG_METADATA_JSON, FLAG_METADATA_PRESENT, RECORD_HEADER_BYTES, RECORD_ID_AT, recordBytes } from '../format/record-layout.js';
import { CONTENT_TYPE_BINARY, CONTENT_TYPE_JSON, type ContentType } from './event-input.js';

const UNPARSED: unique symbol = Symbol('unparsed');

export class RecordedEvent {
  // The record is bytes[at .. at+recordBytes), validated (CRC, position) before this was made.
  readonly #bytes: Buffer;
  readonly #at: number;
  readonly #position: number;
  readonly #revision: number;
  readonly #createdMs: number;
  readonly #flags: number;
  readonly #streamIdBytes: number;
  readonly #eventTypeBytes: number;
  readonly #metadataBytes: number;
  readonly #dataBytes: number;
  #streamId: string | null;
  #positionBig: bigint | null = null;
  #type: string | null;
  #data: unknown = UNPARSED;
  #metadata: unknown = UNPARSED;

  /**
   * `at` is the record's offset in `bytes`; the sizes come from its validated header. `streamId`
   * and `type` are the decoded strings when the reader already has them (null: decode on access).
   */
  constructor(
    bytes: Buffer, at: number, streamId: string | null, type: string | null, streamIdBytes: number, eventTypeBytes: number,
    metadataBytes: number, dataBytes: number, flags: number, position: number, revision: number, createdMs: number,
  ) {
    this.#bytes = bytes;
    this.#at = at;
    this.#streamId = streamId;
    this.#type = type;
    this.#streamIdBytes = streamIdBytes;
    this.#eventTypeBytes = eventTypeBytes;
    this.#metadataBytes = metadataBytes;
    this.#dataBytes = dataBytes;
    this.#flags = flags;
    this.#position = position;
    this.#revision = revision;
    this.#createdMs = createdMs;
  }

  get streamId(): string {
    if (this.#streamId === null) {
      const from = this.#at + RECORD_HEADER_BYTES;
      this.#streamId = this.#bytes.toString('utf8', from, from + this.#streamIdBytes);
    }
    return this.#streamId;
  }

  get type(): string {
    if (this.#type === null) {
      const from = this.#at + RECORD_HEADER_BYTES + this.#streamIdBytes;
      this.#type = this.#bytes.toString('utf8', from, from + this.#eventTypeBytes);
    }
    return this.#type;
  }

  /** The event's number in its stream. */
  get revision(): bigint {
    return BigInt(this.#revision);
  }

  /** Bytes of the event's record in the log (format-spec/log.md §3): what reads count against `maxBytes`. */
  get recordBytes(): number {
    return recordBytes(this.#streamIdBytes, this.#eventTypeBytes, this.#metadataBytes, this.#dataBytes);
  }

  /** The event's global ($all) position. */
  get position(): bigint {
    // Cached: subscriptions compare an event's position several times per subscriber, and each
    // BigInt() is a heap allocation.
    return (this.#positionBig ??= BigInt(this.#position));
  }

  get id(): string {
    return uuidFromBytes(this.#bytes, this.#at + RECORD_ID_AT);
  }

  /** The event id's 16 bytes (RFC 4122 order), a view owned by this event. */
  idBytes(): Uint8Array {
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.#at + RECORD_ID_AT, 16);
  }

  /** Whether the appender chose the id (only such ids can come back in a retry); @internal. */
  get idGiven(): boolean {
    return (this.#flags & FLAG_ID_GIVEN) !== 0;
  }

  get created(): Date {
    return new Date(this.#createdMs);
  }

  /** `created` as milliseconds since the Unix epoch, without making a Date. */
  get createdEpochMs(): number {
    return this.#createdMs;
  }

  get contentType(): ContentType {
    return this.#flags & FLAG_DATA_JSON ? CONTENT_TYPE_JSON : CONTENT_TYPE_BINARY;
  }

  /** The parsed JSON value, or the bytes (a view owned by this event) for binary data. */
  get data(): unknown {
    if (this.#data === UNPARSED) {
      this.#data = this.#decode(this.#payloadAt() + this.#metadataBytes, this.#dataBytes, (this.#flags & FLAG_DATA_JSON) !== 0);
    }
    return this.#data;
  }

  /** The parsed JSON metadata, its bytes when binary, or undefined when appended without. */
  get metadata(): unknown {
    if (this.#metadata === UNPARSED) {
      this.#metadata = this.#flags & FLAG_METADATA_PRESENT
        ? this.#decode(this.#payloadAt(), this.#metadataBytes, (this.#flags & FLAG_METADATA_JSON) !== 0)
        : undefined;
    }
    return this.#metadata;
  }

  /** The data exactly as stored (JSON text or binary), as a view owned by this event. */
  dataBytes(): Uint8Array {
    const at = this.#payloadAt() + this.#metadataBytes;
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + at, this.#dataBytes);
  }

  /** The metadata exactly as stored, or undefined when the event was appended without. */
  metadataBytes(): Uint8Array | undefined {
    if (!(this.#flags & FLAG_METADATA_PRESENT)) return undefined;
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.#payloadAt(), this.#metadataBytes);
  }

  #payloadAt(): number {
    return this.#at + RECORD_HEADER_BYTES + this.#streamIdBytes + this.#eventTypeBytes;
  }

  #decode(at: number, length: number, json: boolean): unknown {
    return json ? JSON.parse(this.#bytes.toString('utf8', at, at + length)) : new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + at, length);
  }

  toJSON(): Record<string, unknown> {
    return {
      streamId: this.streamId, revision: String(this.revision), position: String(this.position), id: this.id, type: this.type,
      contentType: this.contentType, created: this.created.toISOString(), data: this.data, metadata: this.metadata,
    };
  }

  /** Shown by console.log / util.inspect, since the fields are getters. */
  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return {
      streamId: this.streamId, revision: this.revision, position: this.position, id: this.id, type: this.type,
      contentType: this.contentType, created: this.created, data: this.data, metadata: this.metadata,
    };
  }
}
