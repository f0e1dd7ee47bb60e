import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { uuidToBytes } from '../../../src/util/bytes.js';
import {
  GUID_BYTES, ZERO_GUID, randomCorrelationId, readWireGuid, rfcBytesToWire, uuidToWire, wireToRfcBytes, wireToUuid, writeWireGuid,
} from '../../../src/protocol/wire/guid.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { propertyParams } from '../../support/random.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));

function codeOf(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('guid', () => {
  test('guid - the example verified against node-eventstore-client converts both ways', () => {
    const text = '942640b2-a2ca-4e2e-a185-40b64880a72a';
    const wire = fromHex('b2402694 caa2 2e4e a185 40b64880a72a');
    expect(hex(uuidToWire(text))).toBe(hex(wire));
    expect(wireToUuid(wire)).toBe(text);
    expect(uuidToWire(text.toUpperCase())).toEqual(wire);
    expect(wireToUuid(uuidToWire(text.toUpperCase()))).toBe(text);
  });

  test('guid - RFC bytes and wire bytes differ by reversing the first three groups', () => {
    const rfc = fromHex('942640b2 a2ca 4e2e a185 40b64880a72a');
    expect(hex(rfcBytesToWire(rfc))).toBe('b2402694caa22e4ea18540b64880a72a');
    expect(wireToRfcBytes(rfcBytesToWire(rfc))).toEqual(rfc);
  });

  test('guid - text → wire → text is the identity (lower-cased)', () => {
    fc.assert(
      fc.property(fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }), fc.boolean(), (text, upper) => {
        const wire = uuidToWire(upper ? text.toUpperCase() : text);
        expect(wire.length).toBe(GUID_BYTES);
        expect(wireToUuid(wire)).toBe(text.toLowerCase());
        const rfc = new Uint8Array(GUID_BYTES);
        uuidToBytes(text, rfc, 0);
        expect(wireToRfcBytes(wire)).toEqual(rfc);
        expect(rfcBytesToWire(rfc)).toEqual(wire);
      }),
      propertyParams(500),
    );
  });

  test('guid - any 16 bytes are a GUID: wire → text → wire and the swap is an involution', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(uuidToWire(wireToUuid(bytes))).toEqual(bytes);
        expect(rfcBytesToWire(rfcBytesToWire(bytes))).toEqual(bytes);
        expect(wireToRfcBytes(bytes)).toEqual(rfcBytesToWire(bytes));
        // The last eight bytes never move.
        expect(rfcBytesToWire(bytes).subarray(8)).toEqual(bytes.subarray(8));
      }),
      propertyParams(500),
    );
  });

  test('guid - read and write at an offset inside a larger buffer', () => {
    const text = '942640b2-a2ca-4e2e-a185-40b64880a72a';
    const buffer = new Uint8Array(20).fill(0xee);
    writeWireGuid(text, buffer, 2);
    expect(hex(buffer)).toBe('eeee' + 'b2402694caa22e4ea18540b64880a72a' + 'eeee');
    expect(readWireGuid(buffer, 2)).toBe(text);
  });

  test('guid - malformed text and wrong lengths are BAD_GUID', () => {
    expect(codeOf(() => uuidToWire('not-a-guid'))).toBe('BAD_GUID');
    expect(codeOf(() => uuidToWire('942640b2a2ca4e2ea18540b64880a72a'))).toBe('BAD_GUID');
    expect(codeOf(() => wireToUuid(new Uint8Array(15)))).toBe('BAD_GUID');
    expect(codeOf(() => wireToUuid(new Uint8Array(17)))).toBe('BAD_GUID');
    expect(codeOf(() => rfcBytesToWire(new Uint8Array(0)))).toBe('BAD_GUID');
    expect(codeOf(() => wireToRfcBytes(new Uint8Array(32)))).toBe('BAD_GUID');
    expect(codeOf(() => readWireGuid(new Uint8Array(20), 5))).toBe('BAD_GUID');
    expect(codeOf(() => writeWireGuid(ZERO_GUID, new Uint8Array(16), 1))).toBe('BAD_GUID');
  });

  test('guid - the zero GUID is sixteen zero bytes', () => {
    expect(uuidToWire(ZERO_GUID)).toEqual(new Uint8Array(16));
  });

  test('guid - random correlation ids are distinct version-4 UUIDs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = randomCorrelationId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
});
