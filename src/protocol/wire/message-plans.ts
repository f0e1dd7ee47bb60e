// How each ClientMessageDtos message is laid out (format-spec/protocol.md §7): its fields with
// number, kind, tag and whether 5.x required it, built once from messages.proto (parsed by
// protobufjs). The encoder, the decoder and the pre-decode scan all work from these plans.

import protobuf from 'protobufjs';
import { assert, AssertionError } from '../../util/assert.js';
import type { MessageName } from './messages-types.js';
import { MESSAGES_PROTO_TEXT } from './messages-proto.js';
import type { ScanField, ScanShape } from './protobuf-scan.js';
import { REQUIRED_FIELDS_5X } from './required-fields.js';

export const PROTO_PACKAGE = 'EventStore.Client.Messages';

export type FieldKind = 'int64' | 'int32' | 'enum' | 'bool' | 'string' | 'bytes' | 'message';

/** Protobuf wire types the schema uses: varint and length-delimited. */
export const WIRE_VARINT = 0;
export const WIRE_LENGTH_DELIMITED = 2;

export interface FieldPlan {
  readonly name: string;
  readonly id: number;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Written with its default when the caller leaves it out (a 5.x required field). */
  readonly alwaysWritten: boolean;
  readonly message: TypePlan | null;
  /** (id << 3) | wire type: the varint that precedes every value of the field. */
  readonly tag: number;
}

export interface TypePlan {
  readonly name: MessageName;
  readonly type: protobuf.Type;
  /** In field-number order, the order they are written in. */
  readonly fields: readonly FieldPlan[];
  readonly byId: ReadonlyMap<number, FieldPlan>;
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
  const byId = new Map<number, FieldPlan>();
  const scanFields = new Map<number, ScanField>();
  const shape: ScanShape = { name: short, fields: scanFields };
  const plan: TypePlan = { name: short, type, fields, byId, shape };
  plans.set(key, plan);
  for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
    field.resolve();
    assert(!field.map && field.partOf === null, `${field.fullName}: maps and oneofs are not used by this protocol`);
    const kind = kindOf(field);
    // Packed encoding would let a repeated scalar arrive with wire type 2; nothing here expects it.
    assert(!field.repeated || kind === 'message' || kind === 'string' || kind === 'bytes', `${field.fullName}: repeated ${kind} is not supported`);
    const message = kind === 'message' ? planOf(field.resolvedType as protobuf.Type) : null;
    const varint = kind === 'int64' || kind === 'int32' || kind === 'enum' || kind === 'bool';
    const wireType = varint ? WIRE_VARINT : WIRE_LENGTH_DELIMITED;
    const fieldPlan: FieldPlan = {
      name: field.name, id: field.id, kind, repeated: field.repeated, alwaysWritten: required.delete(field.name), message, tag: field.id * 8 + wireType,
    };
    fields.push(fieldPlan);
    byId.set(field.id, fieldPlan);
    scanFields.set(field.id, { wireType, varint32: varint && kind !== 'int64', repeated: field.repeated, message: message?.shape ?? null });
  }
  assert(required.size === 0, () => `REQUIRED_FIELDS_5X.${short} names unknown fields: ${[...required].join(', ')}`);
  return plan;
}

export function planByName(name: MessageName): TypePlan {
  return planOf(root.lookupType(protoPath(name)));
}

/** The parsed protobufjs root (for tests that compare the enums and field numbers). */
export function protoRoot(): protobuf.Root {
  return root;
}
