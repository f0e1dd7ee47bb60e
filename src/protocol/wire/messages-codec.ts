// The protobuf codec of the ClientMessageDtos (format-spec/protocol.md §7): parses the .proto text
// with protobufjs at load, converts bigint ↔ int64, writes every 5.x-required field, and turns any
// malformed payload into WireError after a structural scan bounds what decoding may allocate.

import protobuf from 'protobufjs';
import { assert, AssertionError } from '../../util/assert.js';
import type { Decoded, MessageName, MessageTypes } from './messages-types.js';
import { MESSAGES_PROTO_TEXT } from './messages-proto.js';
import { scanMessage, type ScanField, type ScanShape } from './protobuf-scan.js';
import { REQUIRED_FIELDS_5X } from './required-fields.js';
import { WireError } from './wire-error.js';
import { PROTOBUF_ELEMENTS_MAX } from './wire-limits.js';

export const PROTO_PACKAGE = 'EventStore.Client.Messages';

type FieldKind = 'int64' | 'int32' | 'enum' | 'bool' | 'string' | 'bytes' | 'message';

interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Written with its default when the caller leaves it out (a 5.x required field). */
  readonly alwaysWritten: boolean;
  readonly message: TypePlan | null;
}

interface TypePlan {
  readonly name: string;
  readonly type: protobuf.Type;
  readonly fields: FieldPlan[];
  readonly shape: ScanShape;
}

const root = protobuf.parse(MESSAGES_PROTO_TEXT, { keepCase: false }).root;
root.resolveAll();

/** Full protobuf name of each message (LeaderInfo is nested in NotHandled). */
function protoPath(name: MessageName): string {
  return name === 'LeaderInfo' ? `${PROTO_PACKAGE}.NotHandled.LeaderInfo` : `${PROTO_PACKAGE}.${name}`;
}

const shortNames = new Map<string, MessageName>(
  (Object.keys(REQUIRED_FIELDS_5X) as MessageName[]).map((name) => [protoPath(name), name]),
);

const plans = new Map<string, TypePlan>();

function kindOf(field: protobuf.Field): FieldKind {
  if (field.resolvedType instanceof protobuf.Type) return 'message';
  if (field.resolvedType instanceof protobuf.Enum) return 'enum';
  switch (field.type) {
    case 'int64':
    case 'int32':
    case 'bool':
    case 'string':
    case 'bytes':
      return field.type;
    default:
      throw new AssertionError(`${field.fullName}: type ${field.type} is not handled by the codec or the scan`);
  }
}

function planOf(type: protobuf.Type): TypePlan {
  const key = type.fullName.replace(/^\./, '');
  const known = plans.get(key);
  if (known !== undefined) return known;
  const short = shortNames.get(key);
  assert(short !== undefined, `${key} has no entry in REQUIRED_FIELDS_5X`);
  const required = new Set<string>(REQUIRED_FIELDS_5X[short]);
  const fields: FieldPlan[] = [];
  const scanFields = new Map<number, ScanField>();
  const shape: ScanShape = { name: short, fields: scanFields };
  const plan: TypePlan = { name: short, type, fields, shape };
  plans.set(key, plan);
  for (const field of type.fieldsArray) {
    field.resolve();
    assert(!field.map && field.partOf === null, `${field.fullName}: maps and oneofs are not used by this protocol`);
    const kind = kindOf(field);
    // Packed encoding would let a repeated scalar arrive with wire type 2; the scan does not expect it.
    assert(!field.repeated || kind === 'message' || kind === 'string' || kind === 'bytes', `${field.fullName}: repeated ${kind} is not supported`);
    const message = kind === 'message' ? planOf(field.resolvedType as protobuf.Type) : null;
    fields.push({ name: field.name, id: field.id, kind, repeated: field.repeated, alwaysWritten: required.delete(field.name), message });
    const varint = kind === 'int64' || kind === 'int32' || kind === 'enum' || kind === 'bool';
    scanFields.set(field.id, { wireType: varint ? 0 : 2, varint32: varint && kind !== 'int64', repeated: field.repeated, message: message?.shape ?? null });
  }
  assert(required.size === 0, () => `REQUIRED_FIELDS_5X.${short} names unknown fields: ${[...required].join(', ')}`);
  return plan;
}

function planByName(name: MessageName): TypePlan {
  return planOf(root.lookupType(protoPath(name)));
}

// ---- int64 ↔ bigint ----

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

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

// ---- encode ----

const EMPTY_BYTES = new Uint8Array(0);

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

function valueToWire(plan: TypePlan, field: FieldPlan, value: unknown): unknown {
  const where = (): string => `${plan.name}.${field.name}`;
  switch (field.kind) {
    case 'int64':
      assert(typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX, () => `${where()} must be an int64 bigint, got ${String(value)}`);
      return toLong(value);
    case 'int32':
    case 'enum':
      assert(Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff, () => `${where()} must be an int32, got ${String(value)}`);
      return value;
    case 'bool':
      assert(typeof value === 'boolean', () => `${where()} must be a boolean`);
      return value;
    case 'string':
      assert(typeof value === 'string', () => `${where()} must be a string`);
      return value;
    case 'bytes':
      assert(value instanceof Uint8Array, () => `${where()} must be a Uint8Array`);
      return value;
    case 'message':
      return toWire(field.message as TypePlan, value);
  }
}

function toWire(plan: TypePlan, value: unknown): Record<string, unknown> {
  assert(typeof value === 'object' && value !== null, () => `${plan.name} must be an object`);
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const v = source[field.name];
    if (field.repeated) {
      if (v === undefined) continue;
      assert(Array.isArray(v), () => `${plan.name}.${field.name} must be an array`);
      out[field.name] = v.map((element) => valueToWire(plan, field, element));
    } else if (v === undefined || v === null) {
      if (field.alwaysWritten) out[field.name] = defaultWire(field);
    } else {
      out[field.name] = valueToWire(plan, field, v);
    }
  }
  return out;
}

// ---- decode ----

function bytesView(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value.length === 0 ? EMPTY_BYTES : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return EMPTY_BYTES; // protobufjs's default for absent bytes is an empty array
}

function valueFromWire(field: FieldPlan, value: unknown): unknown {
  switch (field.kind) {
    case 'int64':
      return fromLong(value);
    case 'bytes':
      return bytesView(value);
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
    if (field.repeated) {
      out[field.name] = Array.isArray(v) ? v.map((element) => valueFromWire(field, element)) : [];
    } else if (field.kind === 'message') {
      out[field.name] = v === null || v === undefined ? undefined : valueFromWire(field, v);
    } else {
      out[field.name] = valueFromWire(field, v);
    }
  }
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface MessageCodec<T> {
  readonly name: MessageName;
  /** Protobuf bytes of `value`; 5.x-required fields left out are written with their defaults. */
  encode(value: T): Uint8Array;
  /**
   * Decodes a payload. Bytes fields are views of `payload` (no copy). Throws only WireError
   * (BAD_PROTOBUF, PROTOBUF_LIMIT) for malformed input.
   */
  decode(payload: Uint8Array): Decoded<T>;
}

/** The codec of one message. Programmer errors in `encode` input (wrong types) are assertions. */
export function messageCodec<K extends MessageName>(name: K): MessageCodec<MessageTypes[K]> {
  const plan = planByName(name);
  return {
    name,
    encode(value: MessageTypes[K]): Uint8Array {
      return plan.type.encode(toWire(plan, value)).finish();
    },
    decode(payload: Uint8Array): Decoded<MessageTypes[K]> {
      scanMessage(plan.shape, payload, PROTOBUF_ELEMENTS_MAX);
      try {
        const message = plan.type.decode(asBuffer(payload)) as unknown as Record<string, unknown>;
        return fromWire(plan, message) as Decoded<MessageTypes[K]>;
      } catch (error) {
        if (error instanceof WireError || error instanceof AssertionError) throw error;
        // The scan accepts only what protobufjs reads the same way, so this is a safety net.
        throw new WireError('BAD_PROTOBUF', `${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    },
  };
}

/** The parsed protobufjs root (for tests that compare the enums and field numbers). */
export function protoRoot(): protobuf.Root {
  return root;
}
