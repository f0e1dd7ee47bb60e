// Byte helpers shared by every layer: UTF-8, UUIDs (RFC 4122 byte order), little-endian u64.

import { randomFillSync } from 'node:crypto';

export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function isUuid(text: string): boolean {
  return UUID_PATTERN.test(text);
}

/** Writes the 16 bytes of a UUID string (already checked with isUuid) into out[at..at+16). */
export function uuidToBytes(text: string, out: Uint8Array, at: number): void {
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (text.charCodeAt(j) === 45 /* - */) j++;
    out[at + i] = parseInt(text.substr(j, 2), 16);
    j += 2;
  }
}

/** The lower-case canonical text of the UUID in bytes[at..at+16). */
export function uuidFromBytes(bytes: Uint8Array, at: number): string {
  const h = (i: number): string => HEX[bytes[at + i]];
  return (
    h(0) + h(1) + h(2) + h(3) + '-' + h(4) + h(5) + '-' + h(6) + h(7) + '-' +
    h(8) + h(9) + '-' + h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
  );
}

// Random version-4 UUIDs come from a refilled pool: one getrandom call serves 256 ids.
const POOL_IDS = 256;
const pool = new Uint8Array(16 * POOL_IDS);
let poolNext = POOL_IDS;

/** Writes a fresh random (version 4, RFC 4122 variant) UUID into out[at..at+16). */
export function randomUuidBytes(out: Uint8Array, at: number): void {
  if (poolNext === POOL_IDS) {
    randomFillSync(pool);
    poolNext = 0;
  }
  const from = poolNext++ * 16;
  for (let i = 0; i < 16; i++) out[at + i] = pool[from + i];
  out[at + 6] = (out[at + 6] & 0x0f) | 0x40;
  out[at + 8] = (out[at + 8] & 0x3f) | 0x80;
}
