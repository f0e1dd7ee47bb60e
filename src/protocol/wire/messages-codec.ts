// The codec of each ClientMessageDtos message (format-spec/protocol.md §7): a structural scan that
// bounds what decoding may allocate, then the plan-driven decoder; the plan-driven encoder writes
// every 5.x-required field. int64 fields are bigint both ways.

import { AssertionError } from '../../util/assert.js';
import { planByName } from './message-plans.js';
import type { Decoded, MessageName, MessageTypes } from './messages-types.js';
import { scanMessage } from './protobuf-scan.js';
import { decodeMessage } from './protobuf-reader.js';
import { encodeMessage, encodeMessageInto, measureMessage, type MeasuredMessage } from './protobuf-writer.js';
import { WireError } from './wire-error.js';
import { PROTOBUF_ELEMENTS_MAX } from './wire-limits.js';

export { PROTO_PACKAGE, protoRoot } from './message-plans.js';
export type { MeasuredMessage } from './protobuf-writer.js';

export interface MessageCodec<T> {
  readonly name: MessageName;
  /** Protobuf bytes of `value`; 5.x-required fields left out are written with their defaults. */
  encode(value: T): Uint8Array;
  /** Checks and measures `value` for writing in place with `encodeInto` (one copy fewer for big replies). */
  measure(value: T): MeasuredMessage;
  /**
   * Decodes a payload. Bytes fields are views of `payload` (no copy). Throws only WireError
   * (BAD_PROTOBUF, PROTOBUF_LIMIT) for malformed input.
   */
  decode(payload: Uint8Array): Decoded<T>;
}

/** Writes a measured message at `out[at..at + measured.bytes)`. */
export function encodeInto(measured: MeasuredMessage, out: Buffer, at: number): void {
  encodeMessageInto(measured, out, at);
}

/** The codec of one message. Programmer errors in `encode` input (wrong types) are assertions. */
export function messageCodec<K extends MessageName>(name: K): MessageCodec<MessageTypes[K]> {
  const plan = planByName(name);
  return {
    name,
    encode: (value) => encodeMessage(plan, value),
    measure: (value) => measureMessage(plan, value),
    decode(payload: Uint8Array): Decoded<MessageTypes[K]> {
      scanMessage(plan.shape, payload, PROTOBUF_ELEMENTS_MAX);
      try {
        return decodeMessage(plan, payload) as Decoded<MessageTypes[K]>;
      } catch (error) {
        if (error instanceof WireError || error instanceof AssertionError) throw error;
        throw new WireError('BAD_PROTOBUF', `${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    },
  };
}
