import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { prefixFrame } from '../../../src/protocol/wire/framer.js';
import {
  PACKAGE_HEADER_BYTES, TcpFlags, decodePackage, encodePackage, encodePackageFrame, makePackage, type TcpPackage,
} from '../../../src/protocol/wire/package.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { CREDENTIAL_BYTES_MAX } from '../../../src/protocol/wire/wire-limits.js';
import { propertyParams } from '../../support/random.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

function codeOf(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

const credential = fc.string({ unit: 'binary', maxLength: 60 }).filter((text) => utf8Bytes(text) <= CREDENTIAL_BYTES_MAX);

const packageArbitrary: fc.Arbitrary<TcpPackage> = fc
  .record({
    command: fc.integer({ min: 0, max: 255 }),
    correlationId: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')),
    credentials: fc.option(fc.record({ login: credential, password: credential }), { nil: null }),
    trustedWrite: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 200 }),
  })
  .map(({ command, correlationId, credentials, trustedWrite, payload }) => {
    const base = makePackage(command, correlationId, payload, credentials);
    return { ...base, flags: base.flags | (trustedWrite ? TcpFlags.TrustedWrite : 0) };
  });

describe('package', () => {
  test('package - worked example: IdentifyClient without credentials', () => {
    const payload = fromHex('0801 1204 45532d31'); // IdentifyClient { version: 1, connection_name: "ES-1" }
    const bytes = encodePackage(makePackage(0xf5, '942640b2-a2ca-4e2e-a185-40b64880a72a', payload));
    expect(hex(bytes)).toBe('f5' + '00' + 'b2402694caa22e4ea18540b64880a72a' + '0801120445532d31');
    expect(hex(encodePackageFrame(makePackage(0xf5, '942640b2-a2ca-4e2e-a185-40b64880a72a', payload)))).toBe('1a000000' + hex(bytes));
  });

  test('package - worked example: Authenticate with admin/changeit', () => {
    const pkg = makePackage(0xf2, '942640b2-a2ca-4e2e-a185-40b64880a72a', new Uint8Array(0), { login: 'admin', password: 'changeit' });
    const bytes = encodePackage(pkg);
    expect(hex(bytes)).toBe('f2' + '01' + 'b2402694caa22e4ea18540b64880a72a' + '05' + hex(Buffer.from('admin')) + '08' + hex(Buffer.from('changeit')));
    expect(bytes.length).toBe(PACKAGE_HEADER_BYTES + 2 + 5 + 8);
    expect(decodePackage(bytes)).toEqual({ ...pkg, payload: new Uint8Array(0) });
  });

  test('package - encode then decode is the identity, with and without credentials', () => {
    fc.assert(
      fc.property(packageArbitrary, (pkg) => {
        const bytes = encodePackage(pkg);
        const decoded = decodePackage(bytes);
        expect(decoded.command).toBe(pkg.command);
        expect(decoded.flags).toBe(pkg.flags);
        expect(decoded.correlationId).toBe(pkg.correlationId);
        expect(decoded.credentials).toEqual(pkg.credentials);
        expect(decoded.payload).toEqual(pkg.payload);
        expect(encodePackageFrame(pkg)).toEqual(prefixFrame(bytes));
      }),
      propertyParams(1000),
    );
  });

  test('package - the decoded payload is a view of the package bytes, not a copy', () => {
    const bytes = encodePackage(makePackage(0x82, '942640b2-a2ca-4e2e-a185-40b64880a72a', new Uint8Array([1, 2, 3])));
    const decoded = decodePackage(bytes);
    expect(decoded.payload.buffer).toBe(bytes.buffer);
    expect(decoded.payload.byteOffset).toBe(PACKAGE_HEADER_BYTES);
  });

  test('package - logins and passwords of 127 UTF-8 bytes pass, 128 are BAD_CREDENTIALS on both sides', () => {
    const id = '942640b2-a2ca-4e2e-a185-40b64880a72a';
    const ok = makePackage(0xf2, id, new Uint8Array(0), { login: 'a'.repeat(127), password: 'é'.repeat(63) + 'x' });
    expect(decodePackage(encodePackage(ok)).credentials).toEqual(ok.credentials);
    expect(codeOf(() => encodePackage(makePackage(0xf2, id, new Uint8Array(0), { login: 'a'.repeat(128), password: '' })))).toBe('BAD_CREDENTIALS');
    expect(codeOf(() => encodePackage(makePackage(0xf2, id, new Uint8Array(0), { login: '', password: 'é'.repeat(64) })))).toBe('BAD_CREDENTIALS');

    const header = fromHex('f2 01 b2402694caa22e4ea18540b64880a72a');
    const longLogin = new Uint8Array([...header, 128, ...new Uint8Array(128).fill(0x61), 0]);
    expect(codeOf(() => decodePackage(longLogin))).toBe('BAD_CREDENTIALS');
    const longPassword = new Uint8Array([...header, 1, 0x61, 200, ...new Uint8Array(200).fill(0x61)]);
    expect(codeOf(() => decodePackage(longPassword))).toBe('BAD_CREDENTIALS');
  });

  test('package - short packages and credentials past the end are TRUNCATED', () => {
    const header = fromHex('f2 01 b2402694caa22e4ea18540b64880a72a');
    expect(codeOf(() => decodePackage(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(codeOf(() => decodePackage(header.subarray(0, 17)))).toBe('TRUNCATED');
    expect(codeOf(() => decodePackage(header))).toBe('TRUNCATED'); // no login length
    expect(codeOf(() => decodePackage(new Uint8Array([...header, 5, 0x61, 0x62])))).toBe('TRUNCATED'); // login cut
    expect(codeOf(() => decodePackage(new Uint8Array([...header, 1, 0x61])))).toBe('TRUNCATED'); // no password length
    expect(codeOf(() => decodePackage(new Uint8Array([...header, 1, 0x61, 3, 0x62])))).toBe('TRUNCATED'); // password cut
    // Empty login and password with no payload is complete.
    expect(decodePackage(new Uint8Array([...header, 0, 0])).credentials).toEqual({ login: '', password: '' });
  });

  test('package - unknown flag bits are BAD_FLAGS; TrustedWrite decodes for the server to refuse', () => {
    const body = fromHex('b2402694caa22e4ea18540b64880a72a');
    for (const flags of [0x04, 0x08, 0x80, 0xff, 0x05]) {
      expect(codeOf(() => decodePackage(new Uint8Array([0x82, flags, ...body])))).toBe('BAD_FLAGS');
    }
    expect(decodePackage(new Uint8Array([0x82, 0x02, ...body])).flags).toBe(TcpFlags.TrustedWrite);
  });

  test('package - invalid UTF-8 in a credential is BAD_CREDENTIALS', () => {
    const header = fromHex('f2 01 b2402694caa22e4ea18540b64880a72a');
    expect(codeOf(() => decodePackage(new Uint8Array([...header, 1, 0xff, 0])))).toBe('BAD_CREDENTIALS');
    expect(codeOf(() => decodePackage(new Uint8Array([...header, 0, 2, 0xc3, 0x28])))).toBe('BAD_CREDENTIALS');
  });

  test('package - a package over FRAME_BYTES_MAX cannot be encoded', () => {
    const huge = new Uint8Array(64 * 1024 * 1024);
    expect(codeOf(() => encodePackage(makePackage(0x82, '942640b2-a2ca-4e2e-a185-40b64880a72a', huge)))).toBe('FRAME_TOO_LARGE');
  });
});
