// GUIDs on the wire (format-spec/protocol.md §4): correlation ids, event ids and ack/nak ids travel in
// .NET Guid.ToByteArray() order: the first three groups byte-reversed, the last eight bytes as is.

import { randomUUID } from 'node:crypto';
import { isUuid, uuidFromBytes, uuidToBytes } from '../../util/bytes.js';
import { WireError } from './wire-error.js';

export const GUID_BYTES = 16;
/** The all-zero GUID: a BadRequest with it means "connection-wide error" (§2). */
export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

// Wire index i holds RFC-4122 (big-endian) index SWAP[i]. The permutation is its own inverse, so
// one loop converts in both directions.
const SWAP = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

function swapInto(src: Uint8Array, srcAt: number, out: Uint8Array, outAt: number): void {
  for (let i = 0; i < GUID_BYTES; i++) out[outAt + i] = src[srcAt + SWAP[i]];
}

function requireExactly16(bytes: Uint8Array, what: string): void {
  if (bytes.length !== GUID_BYTES) throw new WireError('BAD_GUID', `${what}: a GUID is ${GUID_BYTES} bytes, got ${bytes.length}`);
}

function requireRoom(bytes: Uint8Array, at: number, what: string): void {
  if (!Number.isInteger(at) || at < 0 || bytes.length - at < GUID_BYTES) {
    throw new WireError('BAD_GUID', `${what}: need ${GUID_BYTES} bytes at ${at} of ${bytes.length}`);
  }
}

/** The 16 wire-order bytes of a UUID text (either case). Throws WireError BAD_GUID for other text. */
export function uuidToWire(text: string): Uint8Array {
  const wire = new Uint8Array(GUID_BYTES);
  writeWireGuid(text, wire, 0);
  return wire;
}

/** Writes the wire-order bytes of a UUID text into out[at..at+16). Throws WireError BAD_GUID. */
export function writeWireGuid(text: string, out: Uint8Array, at: number): void {
  if (!isUuid(text)) throw new WireError('BAD_GUID', `not a UUID: ${JSON.stringify(text.slice(0, 64))}`);
  requireRoom(out, at, 'writeWireGuid');
  const rfc = new Uint8Array(GUID_BYTES);
  uuidToBytes(text, rfc, 0);
  swapInto(rfc, 0, out, at);
}

/** The lower-case UUID text of exactly 16 wire-order bytes. Every 16 bytes are a valid GUID. */
export function wireToUuid(wire: Uint8Array): string {
  requireExactly16(wire, 'wireToUuid');
  return readWireGuid(wire, 0);
}

/** The lower-case UUID text of the wire-order GUID in bytes[at..at+16). */
export function readWireGuid(bytes: Uint8Array, at: number): string {
  requireRoom(bytes, at, 'readWireGuid');
  const rfc = new Uint8Array(GUID_BYTES);
  swapInto(bytes, at, rfc, 0);
  return uuidFromBytes(rfc, 0);
}

/** RFC-4122 bytes (big-endian, what `uuid.parse` returns) → a new array in wire order. */
export function rfcBytesToWire(rfc: Uint8Array): Uint8Array {
  requireExactly16(rfc, 'rfcBytesToWire');
  const wire = new Uint8Array(GUID_BYTES);
  swapInto(rfc, 0, wire, 0);
  return wire;
}

/** Wire-order bytes → a new array in RFC-4122 order. */
export function wireToRfcBytes(wire: Uint8Array): Uint8Array {
  requireExactly16(wire, 'wireToRfcBytes');
  const rfc = new Uint8Array(GUID_BYTES);
  swapInto(wire, 0, rfc, 0);
  return rfc;
}

/** A fresh random (version 4) correlation id, as lower-case text. */
export function randomCorrelationId(): string {
  return randomUUID();
}
