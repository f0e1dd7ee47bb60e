// A structural check of a protobuf payload before it is decoded (format-spec/protocol.md §7.10):
// well-formed tags, varints and lengths, the declared wire type for every known field, and a bound
// on how many objects decoding will allocate. Pure. Its rules follow protobufjs's reader (which the
// hand-written reader matches), so anything it accepts decodes the same way in both.

import { WireError } from './wire-error.js';

export interface ScanField {
  /** 0 (varint) or 2 (length-delimited): the only wire types the schema uses. */
  readonly wireType: 0 | 2;
  /** int32, enum and bool: protobufjs reads these as 32-bit varints (1–5 bytes, or 10 if negative). */
  readonly varint32: boolean;
  readonly repeated: boolean;
  /** The nested message's shape, for message-typed fields. */
  readonly message: ScanShape | null;
}

export interface ScanShape {
  readonly name: string;
  readonly fields: ReadonlyMap<number, ScanField>;
}

const VARINT_BYTES_MAX = 10;
const VARINT32_BYTES_MAX = 5;

class Scan {
  at = 0;
  elements = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly elementsMax: number,
  ) {}

  fail(shape: ScanShape, reason: string, offset: number): never {
    throw new WireError('BAD_PROTOBUF', `${shape.name}: ${reason}`, { offset });
  }

  /** Reads a varint of 1..5 bytes whose value fits in 32 bits (tags and lengths). */
  uint32(shape: ScanShape, end: number, what: string): number {
    const start = this.at;
    let value = 0;
    for (let i = 0; i < VARINT32_BYTES_MAX; i++) {
      if (this.at >= end) this.fail(shape, `${what} varint runs past the end`, start);
      const byte = this.bytes[this.at++];
      if (i === VARINT32_BYTES_MAX - 1 && byte > 0x0f) this.fail(shape, `${what} varint exceeds 32 bits`, start);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    return this.fail(shape, `${what} varint exceeds 32 bits`, start);
  }

  /** Skips a varint and returns its length in bytes (1..10). */
  skipVarint(shape: ScanShape, end: number): number {
    const start = this.at;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.at >= end) this.fail(shape, 'varint runs past the end', start);
      if (this.bytes[this.at++] < 0x80) return i + 1;
    }
    return this.fail(shape, 'varint longer than 10 bytes', start);
  }

  count(shape: ScanShape, offset: number): void {
    if (++this.elements > this.elementsMax) {
      throw new WireError('PROTOBUF_LIMIT', `${shape.name}: more than ${this.elementsMax} nested messages and repeated elements`, { offset });
    }
  }

  range(shape: ScanShape, end: number): void {
    while (this.at < end) {
      const tagAt = this.at;
      const tag = this.uint32(shape, end, 'tag');
      const fieldNumber = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (fieldNumber === 0) this.fail(shape, 'field number 0', tagAt);
      const field = shape.fields.get(fieldNumber);
      if (field !== undefined && field.wireType !== wireType) {
        this.fail(shape, `field ${fieldNumber} has wire type ${wireType}, expected ${field.wireType}`, tagAt);
      }
      switch (wireType) {
        case 0: {
          const length = this.skipVarint(shape, end);
          // protobufjs reads 32-bit varints as 5 bytes, then skips 5 more if the 5th continues; any
          // other length would make it read something else than what was checked here.
          if (field?.varint32 === true && length > VARINT32_BYTES_MAX && length !== VARINT_BYTES_MAX) {
            this.fail(shape, `field ${fieldNumber}: a 32-bit varint of ${length} bytes`, tagAt);
          }
          break;
        }
        case 1:
        case 5: {
          const size = wireType === 1 ? 8 : 4;
          if (end - this.at < size) this.fail(shape, `fixed-width field ${fieldNumber} runs past the end`, tagAt);
          this.at += size;
          break;
        }
        case 2: {
          const length = this.uint32(shape, end, 'length');
          if (length > end - this.at) this.fail(shape, `field ${fieldNumber} of ${length} bytes runs past the end`, tagAt);
          const nestedEnd = this.at + length;
          if (field?.message != null) {
            this.count(shape, tagAt);
            this.range(field.message, nestedEnd);
          }
          this.at = nestedEnd;
          break;
        }
        default:
          this.fail(shape, `wire type ${wireType} (groups and reserved types are not used by this protocol)`, tagAt);
      }
      if (field?.repeated === true && field.message === null) this.count(shape, tagAt);
    }
  }
}

/**
 * Checks that `bytes` is a well-formed encoding of `shape` that protobufjs will read exactly as
 * checked, with at most `elementsMax` nested messages plus repeated elements. Returns that count.
 * Throws WireError BAD_PROTOBUF or PROTOBUF_LIMIT; the work is linear in the payload and the
 * recursion is bounded by the schema's nesting (unknown length-delimited fields are skipped whole).
 */
export function scanMessage(shape: ScanShape, bytes: Uint8Array, elementsMax: number): number {
  const scan = new Scan(bytes, elementsMax);
  scan.range(shape, bytes.length);
  return scan.elements;
}
