// Test support: fast-check arbitraries for every ClientMessageDtos message, derived from the parsed
// .proto, and a model of what decoding an encoded value must give back (proto3 defaults, required
// sub-messages filled in).

import fc from 'fast-check';
import protobuf from 'protobufjs';
import { PROTO_PACKAGE, protoRoot } from '../../../src/protocol/wire/messages-codec.js';
import type { MessageName } from '../../../src/protocol/wire/messages-types.js';
import { REQUIRED_FIELDS_5X } from '../../../src/protocol/wire/required-fields.js';

export const MESSAGE_NAMES = Object.keys(REQUIRED_FIELDS_5X) as MessageName[];

export function protoTypeOf(name: MessageName): protobuf.Type {
  return protoRoot().lookupType(name === 'LeaderInfo' ? `${PROTO_PACKAGE}.NotHandled.LeaderInfo` : `${PROTO_PACKAGE}.${name}`);
}

function shortName(type: protobuf.Type): MessageName {
  return type.name as MessageName;
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

const int64 = fc.oneof(
  fc.constantFrom(0n, -1n, -2n, -4n, INT64_MAX, INT64_MIN, 1n << 53n),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);
const int32 = fc.oneof(fc.constantFrom(0, -1, 0x7fffffff, -0x80000000), fc.integer({ min: -0x80000000, max: 0x7fffffff }));

function scalarArbitrary(field: protobuf.Field): fc.Arbitrary<unknown> {
  if (field.resolvedType instanceof protobuf.Enum) {
    return fc.oneof(fc.constantFrom(...Object.values(field.resolvedType.values)), int32);
  }
  switch (field.type) {
    case 'int64':
      return int64;
    case 'int32':
      return int32;
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 24 });
    case 'bytes':
      return fc.uint8Array({ maxLength: 40 });
    default:
      throw new Error(`no arbitrary for ${field.type}`);
  }
}

const cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** Values of a message with any subset of fields present (absent ones are left out entirely). */
export function messageArbitrary(type: protobuf.Type): fc.Arbitrary<Record<string, unknown>> {
  const known = cache.get(type.fullName);
  if (known !== undefined) return known;
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    const element = field.resolvedType instanceof protobuf.Type ? messageArbitrary(field.resolvedType) : scalarArbitrary(field);
    model[field.name] = field.repeated ? fc.array(element, { maxLength: 3 }) : element;
  }
  const arbitrary = fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>;
  cache.set(type.fullName, arbitrary);
  return arbitrary;
}

function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  switch (field.type) {
    case 'int64':
      return 0n;
    case 'int32':
      return 0;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    default:
      throw new Error(`no default for ${field.type}`);
  }
}

/** What decode(encode(input)) must equal. */
export function expectedDecoded(type: protobuf.Type, input: Record<string, unknown>): Record<string, unknown> {
  const required = new Set<string>(REQUIRED_FIELDS_5X[shortName(type)]);
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = input[field.name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (field.repeated) {
      out[field.name] = ((v as unknown[] | undefined) ?? []).map((e) => (sub ? expectedDecoded(sub, e as Record<string, unknown>) : e));
    } else if (sub !== null) {
      out[field.name] = v !== undefined ? expectedDecoded(sub, v as Record<string, unknown>) : required.has(field.name) ? expectedDecoded(sub, {}) : undefined;
    } else {
      out[field.name] = v !== undefined ? v : defaultOf(field);
    }
  }
  return out;
}
