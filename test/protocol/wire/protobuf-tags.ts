// Test support: a minimal protobuf tag-stream reader, written independently of the codec, to see
// exactly which fields an encoder put on the wire.

export interface RawField {
  readonly field: number;
  readonly wireType: number;
  /** The varint value (wire type 0) or the bytes (wire type 2). */
  readonly value: bigint | Uint8Array;
}

function varint(bytes: Uint8Array, at: number): { value: bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= bytes.length) throw new Error('varint past end');
    const byte = bytes[at + i];
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return { value, next: at + i + 1 };
  }
  throw new Error('varint too long');
}

/** The top-level fields of a protobuf message, in wire order. */
export function readRawFields(bytes: Uint8Array): RawField[] {
  const fields: RawField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    at = tag.next;
    const field = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (wireType === 0) {
      const v = varint(bytes, at);
      fields.push({ field, wireType, value: v.value });
      at = v.next;
    } else if (wireType === 2) {
      const length = varint(bytes, at);
      const end = length.next + Number(length.value);
      if (end > bytes.length) throw new Error('length past end');
      fields.push({ field, wireType, value: bytes.subarray(length.next, end) });
      at = end;
    } else {
      throw new Error(`unexpected wire type ${wireType}`);
    }
  }
  return fields;
}

/** The field numbers present, sorted and without duplicates. */
export function fieldNumbers(bytes: Uint8Array): number[] {
  return [...new Set(readRawFields(bytes).map((f) => f.field))].sort((a, b) => a - b);
}

/** The bytes of the first occurrence of a length-delimited field. */
export function subMessage(bytes: Uint8Array, field: number): Uint8Array {
  const found = readRawFields(bytes).find((f) => f.field === field && f.wireType === 2);
  if (found === undefined) throw new Error(`field ${field} not present`);
  return found.value as Uint8Array;
}
