// A cache of the last password that verified for each login, so that clients sending credentials
// with every request pay for scrypt once, not per request.
//
// What it keeps: per login, HMAC-SHA256(processKey, password) of the last password that verified,
// and the stored hash it verified against. The key is random per process and never leaves it, so
// a memory dump or a leaked entry gives an offline attacker nothing to grind on: without the key
// the MAC is not a password hash they can test guesses against. Hits compare MACs with
// timingSafeEqual. An entry counts only while the user's stored hash is the very object it
// verified against, and Users also forgets a login on every event about it (password change,
// disable, delete, group change), so an old password stops working the moment the change is
// folded. Size: at most one entry per existing user, since only successful verifications enter.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PasswordHash } from './password-hash.js';

const PROCESS_KEY_BYTES = 32;

interface Entry {
  readonly mac: Buffer;
  readonly hash: PasswordHash;
}

export class VerifiedPasswordCache {
  private readonly processKey = randomBytes(PROCESS_KEY_BYTES);
  private readonly entries = new Map<string, Entry>();

  private mac(password: string): Buffer {
    return createHmac('sha256', this.processKey).update(password, 'utf8').digest();
  }

  /** Records that `password` verified against `hash` for `login`. */
  remember(login: string, hash: PasswordHash, password: string): void {
    this.entries.set(login, { mac: this.mac(password), hash });
  }

  /** Whether `password` is the one that last verified for `login` against this same `hash`. */
  matches(login: string, hash: PasswordHash, password: string): boolean {
    const entry = this.entries.get(login);
    if (entry === undefined || entry.hash !== hash) return false;
    return timingSafeEqual(entry.mac, this.mac(password));
  }

  /** A keyed tag of `password` (hex), to group identical passwords without keeping them as text. */
  tag(password: string): string {
    return this.mac(password).toString('hex');
  }

  forget(login: string): void {
    this.entries.delete(login);
  }

  get size(): number {
    return this.entries.size;
  }
}
