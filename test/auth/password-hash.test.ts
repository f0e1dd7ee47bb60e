import { describe, expect, test } from 'vitest';
import {
  SCRYPT_PARAMETERS_DEFAULT, checkScryptParameters, hashPassword, parsePasswordHash, scryptHasher, verifyPassword,
} from '../../src/auth/password-hash.js';
import { InvalidArgumentError } from '../../src/util/errors.js';
import { FAST_SCRYPT } from './auth-fixtures.js';

describe('password hash', () => {
  test('password hash - the default parameters round-trip and reject a wrong password', async () => {
    expect(SCRYPT_PARAMETERS_DEFAULT).toEqual({ N: 2 ** 15, r: 8, p: 1, keyBytes: 64, saltBytes: 16 });
    const hash = await hashPassword('correct horse');
    expect(hash.algorithm).toBe('scrypt');
    expect([hash.N, hash.r, hash.p]).toEqual([2 ** 15, 8, 1]);
    expect(Buffer.from(hash.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(hash.key, 'base64')).toHaveLength(64);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  test('password hash - each hash has its own salt, and the parameters travel with the hash', async () => {
    const a = await hashPassword('pw', FAST_SCRYPT);
    const b = await hashPassword('pw', FAST_SCRYPT);
    expect(a.salt).not.toBe(b.salt);
    expect(a.key).not.toBe(b.key);
    // A hasher with other defaults still verifies hashes made with the old parameters.
    const stronger = scryptHasher({ ...FAST_SCRYPT, N: 2 ** 12, keyBytes: 32 });
    expect(await stronger.verify('pw', a)).toBe(true);
    const c = await stronger.hash('pw');
    expect(c.N).toBe(2 ** 12);
    expect(Buffer.from(c.key, 'base64')).toHaveLength(32);
    expect(await verifyPassword('pw', c)).toBe(true);
  });

  test('password hash - passwords are hashed as UTF-8 bytes', async () => {
    const hash = await hashPassword('pässwörd ✓ 🔑', FAST_SCRYPT);
    expect(await verifyPassword('pässwörd ✓ 🔑', hash)).toBe(true);
    expect(await verifyPassword('passwörd ✓ 🔑', hash)).toBe(false);
    // NFC and NFD spellings are different bytes, hence different passwords.
    expect(await verifyPassword('pa\u0308sswörd ✓ 🔑', hash)).toBe(false);
  });

  test('password hash - malformed stored hashes are refused before scrypt runs', async () => {
    const good = await hashPassword('pw', FAST_SCRYPT);
    expect(parsePasswordHash({ ...good })).toEqual(good);
    const bad: unknown[] = [
      null, 'scrypt', [],
      { ...good, algorithm: 'bcrypt' },
      { ...good, N: 3000 },
      { ...good, N: 2 ** 21 },
      { ...good, N: 2 ** 9 },
      { ...good, r: 0 },
      { ...good, r: 33 },
      { ...good, p: 17 },
      { ...good, N: 2 ** 20, r: 8 }, // 1 GiB of scrypt memory
      { ...good, salt: 'not base64!' },
      { ...good, salt: Buffer.alloc(4).toString('base64') },
      { ...good, key: Buffer.alloc(8).toString('base64') },
      { ...good, key: 42 },
      { ...good, extra: 1 },
    ];
    for (const value of bad) expect(() => parsePasswordHash(value), JSON.stringify(value)).toThrow(InvalidArgumentError);
    await expect(verifyPassword('pw', { ...good, N: 2 ** 21 })).rejects.toThrow(InvalidArgumentError);
  });

  test('password hash - parameters for new hashes are checked', () => {
    expect(() => checkScryptParameters({ ...FAST_SCRYPT, N: 2 ** 9 })).toThrow(InvalidArgumentError);
    expect(() => checkScryptParameters({ ...FAST_SCRYPT, keyBytes: 8 })).toThrow(InvalidArgumentError);
    expect(() => checkScryptParameters({ ...FAST_SCRYPT, saltBytes: 8 })).toThrow(InvalidArgumentError);
    expect(() => scryptHasher({ ...FAST_SCRYPT, p: 0 })).toThrow(InvalidArgumentError);
    expect(() => checkScryptParameters({ ...SCRYPT_PARAMETERS_DEFAULT, N: 2 ** 14 })).not.toThrow();
  });
});
