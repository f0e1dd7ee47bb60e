// Every fixed maximum of the auth layer, with its unit: credential sizes (es-tcp.md §1 limits
// logins and passwords to 127 bytes), scrypt parameter bounds and the failed-login throttle.

import { assert } from '../util/assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** es-tcp.md §1: the server takes logins and passwords of at most 127 bytes of UTF-8 each. */
export const LOGIN_BYTES_MAX = 127;
export const PASSWORD_BYTES_MAX = 127;
/** Group names are ACL roles, compared with logins, so they share the login bound. */
export const GROUP_NAME_BYTES_MAX = 127;
export const USER_GROUPS_MAX = 64;
export const FULL_NAME_BYTES_MAX = 1 * KiB;
/** A failed-login source (remote address) longer than this is a caller bug. */
export const SOURCE_CHARS_MAX = 256;

/** Defaults for new hashes (stored with each hash, so they can change without a migration). */
export const SCRYPT_N_DEFAULT = 2 ** 15;
export const SCRYPT_R_DEFAULT = 8;
export const SCRYPT_P_DEFAULT = 1;
export const SCRYPT_KEY_BYTES_DEFAULT = 64;
export const SCRYPT_SALT_BYTES_DEFAULT = 16;
/**
 * Bounds on the parameters a hash may carry, new or stored. The low N is there for tests, which
 * would otherwise spend most of their time in scrypt; the memory bound keeps a hostile stored hash
 * (anyone who may write `$users`) from making one login allocate gigabytes.
 */
export const SCRYPT_N_MIN = 2 ** 10;
export const SCRYPT_N_MAX = 2 ** 20;
export const SCRYPT_R_MAX = 32;
export const SCRYPT_P_MAX = 16;
export const SCRYPT_KEY_BYTES_MIN = 16;
export const SCRYPT_KEY_BYTES_MAX = 128;
export const SCRYPT_SALT_BYTES_MIN = 16;
export const SCRYPT_SALT_BYTES_MAX = 64;
/** scrypt needs about 128 * N * r bytes; one derivation may use at most this much. */
export const SCRYPT_MEMORY_BYTES_MAX = 256 * MiB;

/** Failed logins within LOGIN_FAILURE_WINDOW_MS after which a login or source is refused for a while. */
export const LOGIN_FAILURES_MAX = 5;
export const LOGIN_FAILURE_WINDOW_MS = 60_000;
/** The first refusal lasts LOGIN_COOLDOWN_MS_MIN; each further failure doubles it, up to the max. */
export const LOGIN_COOLDOWN_MS_MIN = 1_000;
export const LOGIN_COOLDOWN_MS_MAX = 60_000;
/** Logins and sources the throttle tracks at once; the least recently failed is evicted first. */
export const THROTTLE_ENTRIES_MAX = 10_000;

/** Events read per page when `$users` is loaded or caught up. */
export const USERS_PAGE_EVENTS = 1000;
/** Appends to `$users` retried after losing an expected-revision race before the error is thrown. */
export const USER_WRITE_ATTEMPTS_MAX = 8;

assert(SCRYPT_N_MIN <= SCRYPT_N_DEFAULT && SCRYPT_N_DEFAULT <= SCRYPT_N_MAX, 'default N within bounds');
assert(128 * SCRYPT_N_DEFAULT * SCRYPT_R_DEFAULT <= SCRYPT_MEMORY_BYTES_MAX, 'default parameters within the memory bound');
assert(SCRYPT_R_DEFAULT <= SCRYPT_R_MAX && SCRYPT_P_DEFAULT <= SCRYPT_P_MAX, 'default r and p within bounds');
assert(SCRYPT_KEY_BYTES_MIN <= SCRYPT_KEY_BYTES_DEFAULT && SCRYPT_KEY_BYTES_DEFAULT <= SCRYPT_KEY_BYTES_MAX, 'default key size within bounds');
assert(SCRYPT_SALT_BYTES_MIN <= SCRYPT_SALT_BYTES_DEFAULT && SCRYPT_SALT_BYTES_DEFAULT <= SCRYPT_SALT_BYTES_MAX, 'default salt size within bounds');
assert(LOGIN_FAILURES_MAX >= 1, 'at least one failure is allowed before refusing');
assert(0 < LOGIN_COOLDOWN_MS_MIN && LOGIN_COOLDOWN_MS_MIN <= LOGIN_COOLDOWN_MS_MAX, 'cooldown bounds ordered');
assert(THROTTLE_ENTRIES_MAX >= 2, 'one attempt tracks a login and a source');
assert(GROUP_NAME_BYTES_MAX === LOGIN_BYTES_MAX, 'roles name users or groups alike');
