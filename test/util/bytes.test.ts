import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { isUuid, randomUuidBytes, uuidFromBytes, uuidToBytes } from '../../src/util/bytes.js';
import { propertyParams } from '../support/random.js';

describe('bytes', () => {
  test('uuid - text and bytes round trip in RFC 4122 order', () => {
    fc.assert(
      fc.property(fc.uuid(), (text) => {
        const bytes = new Uint8Array(20);
        uuidToBytes(text, bytes, 2);
        expect(uuidFromBytes(bytes, 2)).toBe(text.toLowerCase());
        expect(bytes[2]).toBe(parseInt(text.slice(0, 2), 16));
      }),
      propertyParams(200),
    );
  });

  test('uuid - only canonical 8-4-4-4-12 hex text is a uuid', () => {
    expect(isUuid('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe(true);
    expect(isUuid('0f8fad5bd9cb469fa16570867728950e')).toBe(false);
    expect(isUuid('0f8fad5b-d9cb-469f-a165-70867728950')).toBe(false);
    expect(isUuid('0f8fad5b-d9cb-469f-a165-70867728950g')).toBe(false);
    expect(isUuid('0f8fad5b-d9cb-469f-a165-70867728950e ')).toBe(false);
    expect(isUuid('0f8fad5b-d9cb-469fa-165-70867728950e')).toBe(false);
    expect(isUuid('0f8fad5b-d9cb-469f-a165-7086772895-e')).toBe(false);
  });

  test('uuid - isUuid agrees with the canonical pattern on uuids with one character changed', () => {
    const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const alphabet = '0123456789abcdefABCDEFgG-xZ/:@`{ \u00e9';
    fc.assert(
      fc.property(fc.uuid(), fc.nat(40), fc.nat(alphabet.length - 1), fc.boolean(), (uuid, at, pick, upper) => {
        const text = upper ? uuid.toUpperCase() : uuid;
        const changed = at >= text.length ? text + alphabet[pick] : text.slice(0, at) + alphabet[pick] + text.slice(at + 1);
        expect(isUuid(changed), changed).toBe(canonical.test(changed));
      }),
      propertyParams(2000),
    );
  });

  test('uuid - random ids are version 4, RFC variant, and distinct', () => {
    const seen = new Set<string>();
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 2000; i++) {
      randomUuidBytes(bytes, 0);
      const text = uuidFromBytes(bytes, 0);
      expect(text[14]).toBe('4');
      expect('89ab').toContain(text[19]);
      seen.add(text);
    }
    expect(seen.size).toBe(2000);
  });
});
