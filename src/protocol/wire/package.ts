// One TCP package (format-spec/protocol.md §2, §3): command byte, flags, a 16-byte correlation id in
// .NET order, an optional credentials block, then the payload. Size-then-encode; decode is bounded.

import { assert } from '../../util/assert.js';
import { utf8Encoder } from '../../util/bytes.js';
import { writeFramePrefix } from './framer.js';
import { GUID_BYTES, readWireGuid, writeWireGuid } from './guid.js';
import { WireError } from './wire-error.js';
import { CREDENTIAL_BYTES_MAX, FRAME_BYTES_MAX, FRAME_PREFIX_BYTES } from './wire-limits.js';

/** §2 header layout: offsets within the package (after the frame's length prefix). */
export const PACKAGE_COMMAND_OFFSET = 0;
export const PACKAGE_FLAGS_OFFSET = 1;
export const PACKAGE_CORRELATION_OFFSET = 2;
export const PACKAGE_HEADER_BYTES = PACKAGE_CORRELATION_OFFSET + GUID_BYTES; // 18
/** §3: where the credentials block starts when the Authenticated flag is set. */
export const PACKAGE_CREDENTIALS_OFFSET = PACKAGE_HEADER_BYTES;

export const TcpFlags = {
  None: 0x00,
  /** A credentials block follows the correlation id. */
  Authenticated: 0x01,
  /** Node-to-node only; a server answers BadRequest and closes a client connection that sends it. */
  TrustedWrite: 0x02,
} as const;
const KNOWN_FLAGS = TcpFlags.Authenticated | TcpFlags.TrustedWrite;

export interface Credentials {
  readonly login: string;
  readonly password: string;
}

export interface TcpPackage {
  /** A TcpCommand code (commands.ts); any byte decodes, the handler decides what it accepts. */
  readonly command: number;
  /** TcpFlags bits; Authenticated is set exactly when `credentials` is not null. */
  readonly flags: number;
  /** Lower-case UUID text; on the wire in .NET order (§4). */
  readonly correlationId: string;
  readonly credentials: Credentials | null;
  /** Protobuf, UTF-8 text or raw bytes depending on the command (§6.1). */
  readonly payload: Uint8Array;
}

/** Builds a package value with flags computed from the credentials. */
export function makePackage(
  command: number,
  correlationId: string,
  payload: Uint8Array = new Uint8Array(0),
  credentials: Credentials | null = null,
): TcpPackage {
  return { command, flags: credentials === null ? TcpFlags.None : TcpFlags.Authenticated, correlationId, credentials, payload };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function credentialBytes(text: string, what: string): Uint8Array {
  const bytes = utf8Encoder.encode(text);
  if (bytes.length > CREDENTIAL_BYTES_MAX) {
    throw new WireError('BAD_CREDENTIALS', `${what} is ${bytes.length} bytes of UTF-8, at most ${CREDENTIAL_BYTES_MAX} allowed`);
  }
  return bytes;
}

function checkShape(pkg: TcpPackage): void {
  assert(Number.isInteger(pkg.command) && pkg.command >= 0 && pkg.command <= 0xff, () => `command ${pkg.command} is not a byte`);
  assert((pkg.flags & ~KNOWN_FLAGS) === 0 && Number.isInteger(pkg.flags), () => `flags 0x${pkg.flags.toString(16)} has unknown bits`);
  assert(((pkg.flags & TcpFlags.Authenticated) !== 0) === (pkg.credentials !== null), 'the Authenticated flag must match the credentials');
}

/**
 * Encodes `pkg` behind `prefixBytes` zero bytes (0 for a bare package, FRAME_PREFIX_BYTES for a frame
 * whose prefix the caller fills). Throws WireError BAD_CREDENTIALS or BAD_GUID for bad input values.
 */
function encodeWithRoom(pkg: TcpPackage, prefixBytes: number): Uint8Array {
  checkShape(pkg);
  const login = pkg.credentials === null ? null : credentialBytes(pkg.credentials.login, 'login');
  const password = pkg.credentials === null ? null : credentialBytes(pkg.credentials.password, 'password');
  const credentialsBytes = login === null || password === null ? 0 : 2 + login.length + password.length;
  const packageBytes = PACKAGE_HEADER_BYTES + credentialsBytes + pkg.payload.length;
  if (packageBytes > FRAME_BYTES_MAX) {
    throw new WireError('FRAME_TOO_LARGE', `package of ${packageBytes} bytes exceeds FRAME_BYTES_MAX (${FRAME_BYTES_MAX})`);
  }
  const out = new Uint8Array(prefixBytes + packageBytes);
  let at = prefixBytes;
  out[at + PACKAGE_COMMAND_OFFSET] = pkg.command;
  out[at + PACKAGE_FLAGS_OFFSET] = pkg.flags;
  writeWireGuid(pkg.correlationId, out, at + PACKAGE_CORRELATION_OFFSET);
  at += PACKAGE_HEADER_BYTES;
  if (login !== null && password !== null) {
    out[at++] = login.length;
    out.set(login, at);
    at += login.length;
    out[at++] = password.length;
    out.set(password, at);
    at += password.length;
  }
  out.set(pkg.payload, at);
  return out;
}

/** The package's bytes (no length prefix). Throws WireError for bad credentials, GUID or size. */
export function encodePackage(pkg: TcpPackage): Uint8Array {
  return encodeWithRoom(pkg, 0);
}

/** The package with its int32 little-endian length prefix, ready for the socket, in one allocation. */
export function encodePackageFrame(pkg: TcpPackage): Uint8Array {
  const frame = encodeWithRoom(pkg, FRAME_PREFIX_BYTES);
  writeFramePrefix(frame, 0, frame.length - FRAME_PREFIX_BYTES);
  return frame;
}

function readCredential(bytes: Uint8Array, at: number, what: string): { text: string; next: number } {
  if (at >= bytes.length) throw new WireError('TRUNCATED', `package ends before the ${what} length`, { offset: at });
  const length = bytes[at];
  if (length > CREDENTIAL_BYTES_MAX) {
    throw new WireError('BAD_CREDENTIALS', `${what} length ${length} exceeds ${CREDENTIAL_BYTES_MAX}`, { offset: at });
  }
  const start = at + 1;
  if (start + length > bytes.length) {
    throw new WireError('TRUNCATED', `${what} of ${length} bytes runs past the package end (${bytes.length})`, { offset: at });
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes.subarray(start, start + length));
  } catch {
    throw new WireError('BAD_CREDENTIALS', `${what} is not valid UTF-8`, { offset: start });
  }
  return { text, next: start + length };
}

/**
 * Decodes one package (the bytes of a frame after its prefix). The payload is a view of `bytes`, not
 * a copy: it stays valid as long as the caller does not reuse `bytes`. Throws only WireError
 * (TRUNCATED, BAD_FLAGS, BAD_CREDENTIALS); allocates nothing proportional to the input but strings
 * of at most CREDENTIAL_BYTES_MAX bytes.
 */
export function decodePackage(bytes: Uint8Array): TcpPackage {
  if (bytes.length < PACKAGE_HEADER_BYTES) {
    throw new WireError('TRUNCATED', `package of ${bytes.length} bytes is shorter than the ${PACKAGE_HEADER_BYTES}-byte header`);
  }
  const command = bytes[PACKAGE_COMMAND_OFFSET];
  const flags = bytes[PACKAGE_FLAGS_OFFSET];
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new WireError('BAD_FLAGS', `flags 0x${flags.toString(16).padStart(2, '0')} has bits other than 0x01 and 0x02`, { offset: PACKAGE_FLAGS_OFFSET });
  }
  const correlationId = readWireGuid(bytes, PACKAGE_CORRELATION_OFFSET);
  let at = PACKAGE_CREDENTIALS_OFFSET;
  let credentials: Credentials | null = null;
  if ((flags & TcpFlags.Authenticated) !== 0) {
    const login = readCredential(bytes, at, 'login');
    const password = readCredential(bytes, login.next, 'password');
    credentials = { login: login.text, password: password.text };
    at = password.next;
  }
  return { command, flags, correlationId, credentials, payload: bytes.subarray(at) };
}
