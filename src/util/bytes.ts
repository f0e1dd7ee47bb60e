// Byte helpers shared by every layer: UTF-8, UUIDs (RFC 4122 byte order), little-endian u64.

import { randomFillSync } from 'node:crypto';

export const utf8Encoder = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const UUID_TEXT_LENGTH = 36;
/** Where the dashes of the canonical 8-4-4-4-12 form are. */
const isDashAt = (i: number): boolean => i === 8 || i === 13 || i === 18 || i === 23;

/** The value of one hex digit's char code, or -1. */
function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87; // a-f, A-F
  return -1;
}

/**
 * Parses the canonical text of a UUID (8-4-4-4-12 hex digits, either case) into out[at..at+16).
 * Returns false, having written part of it perhaps, when `text` is not one. One pass, no regex:
 * this runs for every event appended with an id.
 */
export function parseUuid(text: string, out: Uint8Array, at: number): boolean {
  if (text.length !== UUID_TEXT_LENGTH) return false;
  let byte = 0;
  for (let i = 0; i < UUID_TEXT_LENGTH; i++) {
    const code = text.charCodeAt(i);
    if (isDashAt(i)) {
      if (code !== 45 /* - */) return false;
      continue;
    }
    const high = hexValue(code);
    const low = hexValue(text.charCodeAt(++i));
    if (high < 0 || low < 0 || isDashAt(i)) return false;
    out[at + byte++] = high * 16 + low;
  }
  return true;
}

const scratch = new Uint8Array(16);

export function isUuid(text: string): boolean {
  return parseUuid(text, scratch, 0);
}

/** Writes the 16 bytes of a UUID string (already checked with isUuid) into out[at..at+16). */
export function uuidToBytes(text: string, out: Uint8Array, at: number): void {
  if (!parseUuid(text, out, at)) throw new Error(`uuidToBytes: not a UUID: ${JSON.stringify(text.slice(0, 64))}`);
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
