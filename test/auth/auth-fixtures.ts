// Shared pieces of the auth tests: stores on a SimDisk, a fast scrypt hasher that counts its
// calls (and can be held mid-check), and a clock the test moves by hand.

import { EventStore } from '../../src/store/event-store.js';
import type { Clock } from '../../src/util/clock.js';
import { SCRYPT_N_MIN } from '../../src/auth/auth-limits.js';
import { scryptHasher, type PasswordHash, type PasswordHasher, type ScryptParameters } from '../../src/auth/password-hash.js';
import { Users, type UsersOptions } from '../../src/auth/users.js';
import { LoginThrottle } from '../../src/auth/login-throttle.js';
import { SimDisk } from '../harness/sim-disk.js';
import { DATA_DIR, QUIET, storeOptions } from '../harness/workload.js';

/** The cheapest parameters the bounds allow: tests would otherwise spend their time in scrypt. */
export const FAST_SCRYPT: ScryptParameters = { N: SCRYPT_N_MIN, r: 8, p: 1, keyBytes: 64, saltBytes: 16 };

export class ManualClock implements Clock {
  constructor(private ms = 1_000_000) {}
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface CountingHasher extends PasswordHasher {
  hashCalls: number;
  verifyCalls: number;
  /** While set, verify() calls that start wait for this promise before they answer. */
  hold: Promise<void> | null;
}

export function countingHasher(parameters: ScryptParameters = FAST_SCRYPT): CountingHasher {
  const inner = scryptHasher(parameters);
  const counting: CountingHasher = {
    hashCalls: 0,
    verifyCalls: 0,
    hold: null,
    hash(password: string): Promise<PasswordHash> {
      counting.hashCalls++;
      return inner.hash(password);
    },
    async verify(password: string, hash: PasswordHash): Promise<boolean> {
      counting.verifyCalls++;
      const hold = counting.hold;
      const result = await inner.verify(password, hash);
      if (hold !== null) await hold;
      return result;
    },
  };
  return counting;
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function openStore(disk: SimDisk): Promise<EventStore> {
  return EventStore.open(DATA_DIR, storeOptions(disk));
}

export interface AuthRig {
  readonly disk: SimDisk;
  readonly store: EventStore;
  readonly users: Users;
  readonly hasher: CountingHasher;
  readonly clock: ManualClock;
}

/** A store on a fresh SimDisk and Users over it, with the fast counting hasher and a manual clock. */
export async function openRig(options: UsersOptions = {}, disk = new SimDisk()): Promise<AuthRig> {
  const store = await openStore(disk);
  const hasher = countingHasher();
  const clock = new ManualClock();
  const users = await Users.open(store, { hasher, throttle: new LoginThrottle(clock), logger: QUIET, ...options });
  return { disk, store, users, hasher, clock };
}

/** Lets pending promise callbacks and timers of the current turn run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
