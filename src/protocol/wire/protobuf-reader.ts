// Protobuf decoding of a message by its plan (format-spec/protocol.md §7), read as protobufjs
// reads it: absent fields take their defaults (0n, 0, false, '', empty bytes, [] and undefined for
// a message), the last value of a non-repeated field wins, unknown fields are skipped, 32-bit
// varints keep their low 32 bits. Bytes fields are views of the payload. The payload must already
// have passed scanMessage (protobuf-scan.ts), which bounds what this allocates; a structural fault
// found here anyway is a WireError, never another exception.

import type { FieldPlan, TypePlan } from './message-plans.js';
import { WireError } from './wire-error.js';

const EMPTY_BYTES = new Uint8Array(0);
const TWO_POW_32 = 2 ** 32;
/** high < this: the 64-bit value low + high * 2^32 is a safe integer. */
const SAFE_HIGH_LIMIT = 2 ** 21;

class Reader {
  at: number;
  /** The 64-bit value of the last varint read, as two unsigned 32-bit halves. */
  low = 0;
  high = 0;

  /** The payload as a Buffer (a view, not a copy), for its UTF-8 decoder. */
  readonly text: Buffer;

  constructor(readonly bytes: Uint8Array, readonly plan: TypePlan) {
    this.at = 0;
    this.text = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A fault the scan should have refused: still a WireError, with a cause that says so (the fuzz counts these). */
  fail(reason: string): never {
    throw new WireError('BAD_PROTOBUF', `${this.plan.name}: ${reason}`, { offset: this.at, cause: new Error('the reader met a fault the scan let through') });
  }

  /** Reads a varint of up to 10 bytes into low/high. */
  varint(end: number): void {
    const bytes = this.bytes;
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (this.at >= end) this.fail('varint runs past the end');
      const byte = bytes[this.at++];
      const bits = byte & 0x7f;
      if (i < 4) low |= bits << (7 * i);
      else if (i === 4) {
        low |= bits << 28;
        high |= bits >>> 4;
      } else high |= bits << (7 * i - 32);
      if (byte < 0x80) {
        this.low = low >>> 0;
        this.high = high >>> 0;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A length (or tag): a varint that must fit in 32 bits. */
  uint32(end: number): number {
    this.varint(end);
    if (this.high !== 0) this.fail('length exceeds 32 bits');
    return this.low;
  }

  int64(end: number): bigint {
    this.varint(end);
    if (this.high < SAFE_HIGH_LIMIT) return BigInt(this.high * TWO_POW_32 + this.low);
    return BigInt.asIntN(64, (BigInt(this.high) << 32n) | BigInt(this.low));
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case 0:
        this.varint(end);
        return;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (end - this.at < size) this.fail('fixed-width field runs past the end');
        this.at += size;
        return;
      }
      case 2: {
        const length = this.uint32(end);
        if (length > end - this.at) this.fail('field runs past the end');
        this.at += length;
        return;
      }
      default:
        this.fail(`wire type ${wireType}`);
    }
  }

  message(plan: TypePlan, end: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of plan.fields) out[field.name] = defaultOf(field);
    while (this.at < end) {
      const tag = this.uint32(end);
      const field = plan.byId.get(tag >>> 3);
      if (field === undefined || field.tag !== tag) {
        if (field !== undefined) this.fail(`field ${tag >>> 3} has wire type ${tag & 7}`);
        this.skip(tag & 7, end);
        continue;
      }
      const value = this.value(field, end);
      if (field.repeated) (out[field.name] as unknown[]).push(value);
      else out[field.name] = value;
    }
    if (this.at !== end) this.fail('a field runs past the end of its message');
    return out;
  }

  value(field: FieldPlan, end: number): unknown {
    switch (field.kind) {
      case 'int64':
        return this.int64(end);
      case 'int32':
      case 'enum':
        this.varint(end);
        return this.low | 0;
      case 'bool':
        this.varint(end);
        return this.low !== 0;
      case 'string': {
        const length = this.uint32(end);
        if (length > end - this.at) this.fail(`${field.name} runs past the end`);
        const start = this.at;
        this.at += length;
        return length === 0 ? '' : this.text.toString('utf8', start, this.at);
      }
      case 'bytes': {
        const length = this.uint32(end);
        if (length > end - this.at) this.fail(`${field.name} runs past the end`);
        const start = this.at;
        this.at += length;
        return length === 0 ? EMPTY_BYTES : new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + start, length);
      }
      case 'message': {
        const length = this.uint32(end);
        if (length > end - this.at) this.fail(`${field.name} runs past the end`);
        return this.message(field.message as TypePlan, this.at + length);
      }
    }
  }
}

function defaultOf(field: FieldPlan): unknown {
  if (field.repeated) return [];
  switch (field.kind) {
    case 'int64':
      return 0n;
    case 'int32':
    case 'enum':
      return 0;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return EMPTY_BYTES;
    case 'message':
      return undefined;
  }
}

/** Decodes a scanned payload as a `plan` message. Throws only WireError BAD_PROTOBUF. */
export function decodeMessage(plan: TypePlan, payload: Uint8Array): Record<string, unknown> {
  const reader = new Reader(payload, plan);
  return reader.message(plan, payload.length);
}
