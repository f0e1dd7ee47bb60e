// Password hashing with scrypt (node:crypto, on the libuv thread pool). Each hash carries its
// parameters and salt, so the defaults can be raised later and old hashes still verify.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { InvalidArgumentError } from '../util/errors.js';
import {
  SCRYPT_KEY_BYTES_DEFAULT, SCRYPT_KEY_BYTES_MAX, SCRYPT_KEY_BYTES_MIN, SCRYPT_MEMORY_BYTES_MAX, SCRYPT_N_DEFAULT, SCRYPT_N_MAX,
  SCRYPT_N_MIN, SCRYPT_P_DEFAULT, SCRYPT_P_MAX, SCRYPT_R_DEFAULT, SCRYPT_R_MAX, SCRYPT_SALT_BYTES_DEFAULT, SCRYPT_SALT_BYTES_MAX,
  SCRYPT_SALT_BYTES_MIN,
} from './auth-limits.js';

/** How new hashes are made. N is the CPU/memory cost (a power of two), r the block size, p the parallelism. */
export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly keyBytes: number;
  readonly saltBytes: number;
}

export const SCRYPT_PARAMETERS_DEFAULT: ScryptParameters = Object.freeze({
  N: SCRYPT_N_DEFAULT, r: SCRYPT_R_DEFAULT, p: SCRYPT_P_DEFAULT, keyBytes: SCRYPT_KEY_BYTES_DEFAULT, saltBytes: SCRYPT_SALT_BYTES_DEFAULT,
});

/** A stored password hash, as it appears in `$users` events (salt and key in base64). */
export interface PasswordHash {
  readonly algorithm: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly key: string;
}

/** The seam `Users` hashes and verifies through (tests count calls through it). */
export interface PasswordHasher {
  /** A new hash of `password` with a fresh random salt. */
  hash(password: string): Promise<PasswordHash>;
  /** Whether `password` derives `hash.key` under the hash's own parameters (constant-time compare). */
  verify(password: string, hash: PasswordHash): Promise<boolean>;
}

const HASH_KEYS = ['algorithm', 'N', 'r', 'p', 'salt', 'key'];

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Throws InvalidArgumentError unless N, r and p are within the bounds of auth-limits.ts. */
function checkCost(N: unknown, r: unknown, p: unknown): void {
  if (!isIntegerIn(N, SCRYPT_N_MIN, SCRYPT_N_MAX) || (N & (N - 1)) !== 0) {
    throw new InvalidArgumentError(`scrypt N must be a power of two in [${SCRYPT_N_MIN}, ${SCRYPT_N_MAX}], got ${String(N)}`);
  }
  if (!isIntegerIn(r, 1, SCRYPT_R_MAX)) throw new InvalidArgumentError(`scrypt r must be an integer in [1, ${SCRYPT_R_MAX}], got ${String(r)}`);
  if (!isIntegerIn(p, 1, SCRYPT_P_MAX)) throw new InvalidArgumentError(`scrypt p must be an integer in [1, ${SCRYPT_P_MAX}], got ${String(p)}`);
  if (memoryBytes(N, r, p) > SCRYPT_MEMORY_BYTES_MAX) {
    throw new InvalidArgumentError(`scrypt N=${N} r=${r} needs more than SCRYPT_MEMORY_BYTES_MAX = ${SCRYPT_MEMORY_BYTES_MAX}`);
  }
}

/** What OpenSSL checks against maxmem: the V array (128 * r * (N + 2)) plus the B array (128 * r * p). */
function memoryBytes(N: number, r: number, p: number): number {
  return 128 * r * (N + 2) + 128 * r * p;
}

/** Throws InvalidArgumentError for parameters outside the bounds of auth-limits.ts. */
export function checkScryptParameters(parameters: ScryptParameters): void {
  checkCost(parameters.N, parameters.r, parameters.p);
  if (!isIntegerIn(parameters.keyBytes, SCRYPT_KEY_BYTES_MIN, SCRYPT_KEY_BYTES_MAX)) {
    throw new InvalidArgumentError(`scrypt keyBytes must be in [${SCRYPT_KEY_BYTES_MIN}, ${SCRYPT_KEY_BYTES_MAX}]`);
  }
  if (!isIntegerIn(parameters.saltBytes, SCRYPT_SALT_BYTES_MIN, SCRYPT_SALT_BYTES_MAX)) {
    throw new InvalidArgumentError(`scrypt saltBytes must be in [${SCRYPT_SALT_BYTES_MIN}, ${SCRYPT_SALT_BYTES_MAX}]`);
  }
}

/** Strict base64: decodes and re-encodes to the same text, with a length in [min, max] bytes. */
function decodeBase64(text: unknown, what: string, min: number, max: number): Buffer {
  if (typeof text !== 'string') throw new InvalidArgumentError(`password hash ${what} must be a base64 string`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text || bytes.length < min || bytes.length > max) {
    throw new InvalidArgumentError(`password hash ${what} must be canonical base64 of ${min}..${max} bytes`);
  }
  return bytes;
}

/** Validates a stored hash (from an event) and returns it as a fresh frozen object; throws InvalidArgumentError. */
export function parsePasswordHash(value: unknown): PasswordHash {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('password hash must be an object');
  const h = value as Record<string, unknown>;
  for (const key of Object.keys(h)) {
    if (!HASH_KEYS.includes(key)) throw new InvalidArgumentError(`password hash has an unknown field '${key}'`);
  }
  if (h.algorithm !== 'scrypt') throw new InvalidArgumentError(`password hash algorithm must be 'scrypt', got ${String(h.algorithm)}`);
  checkCost(h.N, h.r, h.p);
  decodeBase64(h.salt, 'salt', SCRYPT_SALT_BYTES_MIN, SCRYPT_SALT_BYTES_MAX);
  decodeBase64(h.key, 'key', SCRYPT_KEY_BYTES_MIN, SCRYPT_KEY_BYTES_MAX);
  return Object.freeze({ algorithm: 'scrypt', N: h.N as number, r: h.r as number, p: h.p as number, salt: h.salt as string, key: h.key as string });
}

function derive(password: string, salt: Buffer, keyBytes: number, N: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: memoryBytes(N, r, p) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes `password` (its UTF-8 bytes) with a fresh random salt. */
export async function hashPassword(password: string, parameters: ScryptParameters = SCRYPT_PARAMETERS_DEFAULT): Promise<PasswordHash> {
  if (typeof password !== 'string') throw new InvalidArgumentError('password must be a string');
  checkScryptParameters(parameters);
  const { N, r, p, keyBytes, saltBytes } = parameters;
  const salt = randomBytes(saltBytes);
  const key = await derive(password, salt, keyBytes, N, r, p);
  return Object.freeze({ algorithm: 'scrypt', N, r, p, salt: salt.toString('base64'), key: key.toString('base64') });
}

/**
 * Whether `password` matches `hash`, derived with the hash's own parameters and compared in
 * constant time. Throws InvalidArgumentError for a malformed hash.
 */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  if (typeof password !== 'string') throw new InvalidArgumentError('password must be a string');
  const valid = parsePasswordHash(hash);
  const expected = Buffer.from(valid.key, 'base64');
  const actual = await derive(password, Buffer.from(valid.salt, 'base64'), expected.length, valid.N, valid.r, valid.p);
  return timingSafeEqual(actual, expected);
}

/** The production hasher: scrypt with `parameters` for new hashes (checked now). */
export function scryptHasher(parameters: ScryptParameters = SCRYPT_PARAMETERS_DEFAULT): PasswordHasher {
  checkScryptParameters(parameters);
  const fixed = Object.freeze({ ...parameters });
  return { hash: (password) => hashPassword(password, fixed), verify: verifyPassword };
}
