// Protobuf encoding of a message value by its plan (format-spec/protocol.md §7): sizes first, then
// one buffer written front to back. Fields go out in field-number order, repeated ones unpacked,
// 5.x-required fields with their defaults when left out — byte for byte what protobufjs writes
// (test/protocol/wire/protobuf-codec.test.ts). Written by hand because protobufjs's writer builds
// an object per field and an intermediate copy of the value; on a page of 4096 events that was most
// of the server's time and garbage.

import { assert } from '../../util/assert.js';
import type { FieldPlan, TypePlan } from './message-plans.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_32 = 2 ** 32;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY_BYTES = new Uint8Array(0);

function varint32Bytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Bytes of the varint of a non-negative safe integer. */
function varintBytes(value: number): number {
  if (value < 0x10000000) return varint32Bytes(value);
  let bytes = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}

function checkInt64(plan: TypePlan, field: FieldPlan, value: unknown): bigint {
  assert(typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX, () => `${plan.name}.${field.name} must be an int64 bigint, got ${String(value)}`);
  return value;
}

function checkInt32(plan: TypePlan, field: FieldPlan, value: unknown): number {
  assert(Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff, () => `${plan.name}.${field.name} must be an int32, got ${String(value)}`);
  return value as number;
}

function int64Bytes(value: bigint): number {
  if (value < 0n) return 10;
  if (value <= SAFE_MAX) return varintBytes(Number(value));
  let bytes = 1;
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) bytes++;
  return bytes;
}

/**
 * The first pass: the encoded size of `value`, recording in `lengths`, in the order the writer will
 * meet them, the byte length of every string and nested message.
 */
function sizeOf(plan: TypePlan, value: unknown, lengths: number[]): number {
  assert(typeof value === 'object' && value !== null, () => `${plan.name} must be an object`);
  const source = value as Record<string, unknown>;
  let size = 0;
  for (const field of plan.fields) {
    const v = source[field.name];
    if (field.repeated) {
      if (v === undefined) continue;
      assert(Array.isArray(v), () => `${plan.name}.${field.name} must be an array`);
      for (const element of v) size += varint32Bytes(field.tag) + valueSize(plan, field, element, lengths);
    } else if (v === undefined || v === null) {
      if (field.alwaysWritten) size += varint32Bytes(field.tag) + valueSize(plan, field, defaultOf(field), lengths);
    } else {
      size += varint32Bytes(field.tag) + valueSize(plan, field, v, lengths);
    }
  }
  return size;
}

function defaultOf(field: FieldPlan): unknown {
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
      return {};
  }
}

function valueSize(plan: TypePlan, field: FieldPlan, value: unknown, lengths: number[]): number {
  switch (field.kind) {
    case 'int64':
      return int64Bytes(checkInt64(plan, field, value));
    case 'int32':
    case 'enum': {
      const n = checkInt32(plan, field, value);
      return n < 0 ? 10 : varint32Bytes(n);
    }
    case 'bool':
      assert(typeof value === 'boolean', () => `${plan.name}.${field.name} must be a boolean`);
      return 1;
    case 'string': {
      assert(typeof value === 'string', () => `${plan.name}.${field.name} must be a string`);
      const bytes = Buffer.byteLength(value, 'utf8');
      lengths.push(bytes);
      return varint32Bytes(bytes) + bytes;
    }
    case 'bytes':
      assert(value instanceof Uint8Array, () => `${plan.name}.${field.name} must be a Uint8Array`);
      return varint32Bytes(value.length) + value.length;
    case 'message': {
      const slot = lengths.length;
      lengths.push(0);
      const bytes = sizeOf(field.message as TypePlan, value, lengths);
      lengths[slot] = bytes;
      return varint32Bytes(bytes) + bytes;
    }
  }
}

/** The second pass: writes what sizeOf measured, consuming `lengths` in the same order. */
class Writer {
  at: number;
  next = 0;

  constructor(readonly out: Buffer, at: number, readonly lengths: readonly number[]) {
    this.at = at;
  }

  varint32(value: number): void {
    const out = this.out;
    while (value >= 0x80) {
      out[this.at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    out[this.at++] = value;
  }

  /** A 64-bit varint given as two unsigned 32-bit halves. */
  varint64(low: number, high: number): void {
    const out = this.out;
    while (high !== 0 || low >= 0x80) {
      out[this.at++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    out[this.at++] = low;
  }

  int64(value: bigint): void {
    if (value >= 0n && value <= SAFE_MAX) {
      const n = Number(value);
      this.varint64(n >>> 0, Math.floor(n / TWO_POW_32));
    } else {
      const bits = BigInt.asUintN(64, value);
      this.varint64(Number(bits & 0xffffffffn), Number(bits >> 32n));
    }
  }

  message(plan: TypePlan, source: Record<string, unknown>): void {
    for (const field of plan.fields) {
      const v = source[field.name];
      if (field.repeated) {
        if (v === undefined) continue;
        for (const element of v as unknown[]) this.field(field, element);
      } else if (v === undefined || v === null) {
        if (field.alwaysWritten) this.field(field, defaultOf(field));
      } else {
        this.field(field, v);
      }
    }
  }

  field(field: FieldPlan, value: unknown): void {
    this.varint32(field.tag);
    switch (field.kind) {
      case 'int64':
        this.int64(value as bigint);
        return;
      case 'int32':
      case 'enum': {
        const n = value as number;
        if (n < 0) this.varint64(n >>> 0, 0xffffffff);
        else this.varint32(n);
        return;
      }
      case 'bool':
        this.out[this.at++] = value === true ? 1 : 0;
        return;
      case 'string': {
        const bytes = this.lengths[this.next++];
        this.varint32(bytes);
        const written = bytes === 0 ? 0 : this.out.write(value as string, this.at, bytes, 'utf8');
        assert(written === bytes, 'a string encoded to another length than measured');
        this.at += bytes;
        return;
      }
      case 'bytes': {
        const bytes = value as Uint8Array;
        this.varint32(bytes.length);
        this.out.set(bytes, this.at);
        this.at += bytes.length;
        return;
      }
      case 'message': {
        const bytes = this.lengths[this.next++];
        this.varint32(bytes);
        const end = this.at + bytes;
        this.message(field.message as TypePlan, value as Record<string, unknown>);
        assert(this.at === end, () => `${field.name}: wrote ${this.at - end + bytes} bytes of a ${bytes}-byte message`);
        return;
      }
    }
  }
}

/** The encoded size of `value`, and what encodeMessageInto needs to write it. */
export interface MeasuredMessage {
  readonly plan: TypePlan;
  readonly value: Record<string, unknown>;
  readonly bytes: number;
  readonly lengths: readonly number[];
}

/** Checks `value` against `plan` (programmer errors are assertions) and measures its encoding. */
export function measureMessage(plan: TypePlan, value: unknown): MeasuredMessage {
  const lengths: number[] = [];
  const bytes = sizeOf(plan, value, lengths);
  return { plan, value: value as Record<string, unknown>, bytes, lengths };
}

/** Writes a measured message at `out[at..at + measured.bytes)`. */
export function encodeMessageInto(measured: MeasuredMessage, out: Buffer, at: number): void {
  const writer = new Writer(out, at, measured.lengths);
  writer.message(measured.plan, measured.value);
  assert(writer.at === at + measured.bytes, () => `${measured.plan.name}: wrote ${writer.at - at} bytes, measured ${measured.bytes}`);
}

/** The protobuf bytes of `value`. */
export function encodeMessage(plan: TypePlan, value: unknown): Uint8Array {
  const measured = measureMessage(plan, value);
  const out = Buffer.allocUnsafe(measured.bytes);
  encodeMessageInto(measured, out, 0);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
