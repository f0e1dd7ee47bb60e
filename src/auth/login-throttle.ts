// Failed-login rate limiting, per login and per source (remote address): after too many failures
// in a sliding window, attempts are refused without checking the password for a cooldown that
// doubles with each further failure. Bounded memory; the clock is injectable for tests.

import { systemClock, type Clock } from '../util/clock.js';
import { assert } from '../util/assert.js';
import { InvalidArgumentError } from '../util/errors.js';
import {
  LOGIN_COOLDOWN_MS_MAX, LOGIN_COOLDOWN_MS_MIN, LOGIN_FAILURE_WINDOW_MS, LOGIN_FAILURES_MAX, SOURCE_CHARS_MAX, THROTTLE_ENTRIES_MAX,
} from './auth-limits.js';

export interface ThrottleLimits {
  /** Failures within failureWindowMs that start a refusal. */
  readonly failuresMax: number;
  readonly failureWindowMs: number;
  /** Length of the first refusal; each further failure doubles it, up to cooldownMsMax. */
  readonly cooldownMsMin: number;
  readonly cooldownMsMax: number;
  /** Logins and sources tracked at once; past this the least recently used is forgotten. */
  readonly entriesMax: number;
}

export const THROTTLE_LIMITS_DEFAULT: ThrottleLimits = Object.freeze({
  failuresMax: LOGIN_FAILURES_MAX,
  failureWindowMs: LOGIN_FAILURE_WINDOW_MS,
  cooldownMsMin: LOGIN_COOLDOWN_MS_MIN,
  cooldownMsMax: LOGIN_COOLDOWN_MS_MAX,
  entriesMax: THROTTLE_ENTRIES_MAX,
});

/** A password check the throttle let through. Report its outcome exactly once. */
export interface LoginAttempt {
  end(success: boolean): void;
}

interface Entry {
  /** Times of the failures within the window, oldest first; fewer than failuresMax unless refusing. */
  failureTimesMs: number[];
  /** 0 until failuresMax failures fell within one window; then the length of the current refusal. */
  cooldownMs: number;
  refusedUntilMs: number;
  /** Password checks let through and not yet ended. */
  inFlight: number;
  /** Attempts waiting for an in-flight check on this key to end. */
  wakers: (() => void)[];
}

/**
 * Why checks in flight count: with pipelined requests, a check-then-verify throttle would let a
 * burst of N concurrent guesses through before the first failure is recorded. So a key admits at
 * most (failuresMax - recent failures) concurrent checks (one, after a refusal ended), and further
 * attempts wait for one to end rather than fail: a legitimate burst is delayed, never refused.
 *
 * Limits of the design: a per-login refusal also locks out the rightful user for up to
 * LOGIN_COOLDOWN_MS_MAX per failure an attacker makes, and whoever can fail from more than
 * entriesMax keys can push a refused key out of the table. Both are the price of bounded memory
 * and of throttling at all; the source limit is what slows a single attacker down.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock = systemClock, private readonly limits: ThrottleLimits = THROTTLE_LIMITS_DEFAULT) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError(`throttle limit ${name} must be a positive integer`);
    }
    if (limits.cooldownMsMin > limits.cooldownMsMax) throw new InvalidArgumentError('throttle cooldownMsMin must not exceed cooldownMsMax');
    if (limits.entriesMax < 2) throw new InvalidArgumentError('throttle entriesMax must be at least 2 (a login and a source)');
  }

  /** How many logins and sources are tracked (at most limits.entriesMax). */
  get trackedKeyCount(): number {
    return this.entries.size;
  }

  /** Whether an attempt for `login` (null: not a valid login) from `source` would be refused now. */
  isRefused(login: string | null, source?: string): boolean {
    const now = this.clock.nowMs();
    return this.keysOf(login, source).some((key) => {
      const entry = this.current(key, now);
      return entry !== undefined && now < entry.refusedUntilMs;
    });
  }

  /**
   * Admits a password check for `login` from `source`, or resolves null when either is refused.
   * May wait while earlier checks on the same key are in flight (see the class comment).
   */
  async begin(login: string | null, source?: string): Promise<LoginAttempt | null> {
    const keys = this.keysOf(login, source);
    for (;;) {
      const now = this.clock.nowMs();
      const entries = keys.map((key) => this.current(key, now));
      if (entries.some((entry) => entry !== undefined && now < entry.refusedUntilMs)) return null;
      const full = entries.find((entry) => entry !== undefined && entry.inFlight >= this.capacity(entry, now));
      if (full === undefined) break;
      assert(full.inFlight > 0, 'an attempt waits only for one in flight');
      await new Promise<void>((resolve) => full.wakers.push(resolve));
    }
    const admitted = keys.map((key) => this.touch(key));
    for (const entry of admitted) entry.inFlight++;
    let ended = false;
    return {
      end: (success) => {
        assert(!ended, 'a login attempt ends once');
        ended = true;
        // Decrement the entries this attempt incremented: an evicted one is no longer in the map.
        for (const entry of admitted) entry.inFlight--;
        if (success) {
          if (login !== null) this.recordSuccess(login);
        } else {
          this.recordFailure(login, source);
        }
        const now = this.clock.nowMs();
        for (const [i, entry] of admitted.entries()) {
          LoginThrottle.wake(entry);
          this.current(keys[i], now); // drops the entry when nothing is left to remember
        }
      },
    };
  }

  /** Counts a failed attempt against `login` (when it is one) and `source`. */
  recordFailure(login: string | null, source?: string): void {
    const now = this.clock.nowMs();
    for (const key of this.keysOf(login, source)) {
      this.current(key, now);
      const entry = this.touch(key);
      entry.failureTimesMs.push(now);
      if (entry.cooldownMs > 0 || entry.failureTimesMs.length >= this.limits.failuresMax) {
        entry.cooldownMs = entry.cooldownMs === 0 ? this.limits.cooldownMsMin : Math.min(2 * entry.cooldownMs, this.limits.cooldownMsMax);
        entry.refusedUntilMs = now + entry.cooldownMs;
        // Only the recent count matters once refusing; keep the array bounded.
        entry.failureTimesMs.splice(0, Math.max(0, entry.failureTimesMs.length - this.limits.failuresMax));
      }
    }
  }

  /** A successful login clears that login's failures (not its source's: one valid account must not launder guesses). */
  recordSuccess(login: string): void {
    const key = loginKey(login);
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    LoginThrottle.reset(entry);
    LoginThrottle.wake(entry);
    this.current(key, this.clock.nowMs());
  }

  private keysOf(login: string | null, source: string | undefined): string[] {
    if (source !== undefined && (typeof source !== 'string' || source.length > SOURCE_CHARS_MAX)) {
      throw new InvalidArgumentError(`source must be a string of at most ${SOURCE_CHARS_MAX} characters`);
    }
    const keys: string[] = [];
    if (login !== null) keys.push(loginKey(login));
    if (source !== undefined) keys.push(`source:${source}`);
    return keys;
  }

  /** Concurrent checks a key admits now: the failures still allowed, or one after a refusal. */
  private capacity(entry: Entry, now: number): number {
    if (entry.cooldownMs > 0) return 1;
    const recent = entry.failureTimesMs.filter((t) => now - t < this.limits.failureWindowMs).length;
    assert(recent < this.limits.failuresMax, 'a key with failuresMax recent failures is refusing');
    return this.limits.failuresMax - recent;
  }

  /** The key's entry with old failures forgotten, or undefined (an idle, forgotten entry is removed). */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const { failureWindowMs } = this.limits;
    if (entry.cooldownMs > 0) {
      // A refusing key is forgiven after a whole window without failures once its refusal ended.
      if (now >= entry.refusedUntilMs + failureWindowMs) LoginThrottle.reset(entry);
    } else {
      while (entry.failureTimesMs.length > 0 && now - entry.failureTimesMs[0] >= failureWindowMs) entry.failureTimesMs.shift();
    }
    if (entry.failureTimesMs.length === 0 && entry.cooldownMs === 0 && entry.inFlight === 0 && entry.wakers.length === 0) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The key's entry (created when missing), moved to the most recently used end; evicts the oldest past entriesMax. */
  private touch(key: string): Entry {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { failureTimesMs: [], cooldownMs: 0, refusedUntilMs: 0, inFlight: 0, wakers: [] };
    } else {
      this.entries.delete(key);
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.limits.entriesMax) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldestKey);
      // Its waiters re-check against the table as it is now.
      LoginThrottle.wake(oldest);
    }
    return entry;
  }

  private static reset(entry: Entry): void {
    entry.failureTimesMs.length = 0;
    entry.cooldownMs = 0;
    entry.refusedUntilMs = 0;
  }

  private static wake(entry: Entry): void {
    for (const wake of entry.wakers.splice(0)) wake();
  }
}

function loginKey(login: string): string {
  return `login:${login}`;
}
