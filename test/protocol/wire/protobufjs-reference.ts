// The reference codec for the hand-written protobuf writer and reader: the same messages encoded and
// decoded by protobufjs itself (what src/protocol/wire used before), with int64 as bigint and the
// 5.x-required fields written with their defaults.

import protobuf from 'protobufjs';
import { planByName, type FieldPlan, type TypePlan } from '../../../src/protocol/wire/message-plans.js';
import type { MessageName } from '../../../src/protocol/wire/messages-types.js';

const EMPTY_BYTES = new Uint8Array(0);

interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

function toLong(value: bigint): LongLike {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
}

function fromLong(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(value);
  const long = value as LongLike;
  return BigInt.asIntN(64, (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0));
}

function defaultWire(field: FieldPlan): unknown {
  switch (field.kind) {
    case 'int64':
      return toLong(0n);
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
      return toWire(field.message as TypePlan, {});
  }
}

function valueToWire(field: FieldPlan, value: unknown): unknown {
  if (field.kind === 'int64') return toLong(value as bigint);
  if (field.kind === 'message') return toWire(field.message as TypePlan, value as Record<string, unknown>);
  return value;
}

function toWire(plan: TypePlan, source: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const v = source[field.name];
    if (field.repeated) {
      if (v !== undefined) out[field.name] = (v as unknown[]).map((element) => valueToWire(field, element));
    } else if (v === undefined || v === null) {
      if (field.alwaysWritten) out[field.name] = defaultWire(field);
    } else {
      out[field.name] = valueToWire(field, v);
    }
  }
  return out;
}

function valueFromWire(field: FieldPlan, value: unknown): unknown {
  switch (field.kind) {
    case 'int64':
      return fromLong(value);
    case 'bytes':
      return value instanceof Uint8Array && value.length > 0 ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : EMPTY_BYTES;
    case 'message':
      return fromWire(field.message as TypePlan, value as Record<string, unknown>);
    default:
      return value;
  }
}

function fromWire(plan: TypePlan, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const v = message[field.name];
    if (field.repeated) out[field.name] = Array.isArray(v) ? v.map((element) => valueFromWire(field, element)) : [];
    else if (field.kind === 'message') out[field.name] = v === null || v === undefined ? undefined : valueFromWire(field, v);
    else out[field.name] = valueFromWire(field, v);
  }
  return out;
}

/** protobufjs's encoding of `value`. */
export function referenceEncode(name: MessageName, value: Record<string, unknown>): Uint8Array {
  const plan = planByName(name);
  return plan.type.encode(toWire(plan, value)).finish();
}

/** protobufjs's decoding of `payload`, as the codec's types (throws whatever protobufjs throws). */
export function referenceDecode(name: MessageName, payload: Uint8Array): Record<string, unknown> {
  const plan = planByName(name);
  const buffer = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return fromWire(plan, (plan.type as protobuf.Type).decode(buffer) as unknown as Record<string, unknown>);
}
