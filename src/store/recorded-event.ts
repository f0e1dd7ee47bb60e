// An event read back from the store. Header fields are plain properties; `data` and `metadata`
// are decoded on first access (JSON parsing dominates read cost, and many readers skip it).

import { uuidFromBytes } from '../util/bytes.js';
import { FLAG_DATA_JSON, FLAG_METADATA_JSON, FLAG_METADATA_PRESENT, RECORD_HEADER_BYTES, RECORD_ID_AT } from '../format/record-layout.js';
import { CONTENT_TYPE_BINARY, CONTENT_TYPE_JSON, type ContentType } from './event-input.js';

const UNPARSED: unique symbol = Symbol('unparsed');

export class RecordedEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: ContentType;
  readonly created: Date;
  // Where the payloads sit in `bytes`, a read buffer owned by this event and its batch siblings.
  readonly #bytes: Buffer;
  readonly #flags: number;
  readonly #metadataAt: number;
  readonly #metadataBytes: number;
  readonly #dataAt: number;
  readonly #dataBytes: number;
  #data: unknown = UNPARSED;
  #metadata: unknown = UNPARSED;

  /** `at` is the record's offset in `bytes`; the sizes come from its validated header. */
  constructor(
    bytes: Buffer, at: number, streamId: string | null, streamIdBytes: number, eventTypeBytes: number,
    metadataBytes: number, dataBytes: number, flags: number, position: number, revision: number, createdMs: number,
  ) {
    const streamAt = at + RECORD_HEADER_BYTES;
    const typeAt = streamAt + streamIdBytes;
    this.streamId = streamId ?? bytes.toString('utf8', streamAt, typeAt);
    this.revision = BigInt(revision);
    this.position = BigInt(position);
    this.id = uuidFromBytes(bytes, at + RECORD_ID_AT);
    this.type = bytes.toString('utf8', typeAt, typeAt + eventTypeBytes);
    this.contentType = flags & FLAG_DATA_JSON ? CONTENT_TYPE_JSON : CONTENT_TYPE_BINARY;
    this.created = new Date(createdMs);
    this.#bytes = bytes;
    this.#flags = flags;
    this.#metadataAt = typeAt + eventTypeBytes;
    this.#metadataBytes = metadataBytes;
    this.#dataAt = this.#metadataAt + metadataBytes;
    this.#dataBytes = dataBytes;
  }

  /** The parsed JSON value, or the bytes (a view owned by this event) for binary data. */
  get data(): unknown {
    if (this.#data === UNPARSED) this.#data = this.#decode(this.#dataAt, this.#dataBytes, (this.#flags & FLAG_DATA_JSON) !== 0);
    return this.#data;
  }

  /** The parsed JSON metadata, its bytes when binary, or undefined when appended without. */
  get metadata(): unknown {
    if (this.#metadata === UNPARSED) {
      this.#metadata = this.#flags & FLAG_METADATA_PRESENT
        ? this.#decode(this.#metadataAt, this.#metadataBytes, (this.#flags & FLAG_METADATA_JSON) !== 0)
        : undefined;
    }
    return this.#metadata;
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
}
