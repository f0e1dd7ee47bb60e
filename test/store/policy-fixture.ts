// Shared setup for the metadata, delete and access tests: a store on a simulated disk (fast, and
// reopenable), typed-error expectations and the principals the tests act as.

import { expect } from 'vitest';
import { AnnalError, EventStore, type EventStoreOptions } from '../../src/annal.js';
import type { Principal } from '../../src/store/access.js';
import { SimDisk } from '../harness/sim-disk.js';
import { DATA_DIR, storeOptions } from '../harness/workload.js';

export type ErrorClass = new (...args: never[]) => AnnalError;

export const ANONYMOUS: Principal = { name: null, groups: [] };
export const ADMIN: Principal = { name: 'admin', groups: ['$admins'] };
export const ALICE: Principal = { name: 'alice', groups: ['readers'] };
export const BOB: Principal = { name: 'bob', groups: ['writers'] };

/** A store on its own simulated disk; `reopen` closes it and opens the same disk again. */
export class SimStore {
  private constructor(readonly disk: SimDisk, public store: EventStore, private readonly extra: EventStoreOptions) {}

  static async open(extra: EventStoreOptions = {}): Promise<SimStore> {
    const disk = new SimDisk();
    return new SimStore(disk, await EventStore.open(DATA_DIR, storeOptions(disk, extra)), extra);
  }

  async reopen(): Promise<EventStore> {
    await this.store.close();
    this.store = await EventStore.open(DATA_DIR, storeOptions(this.disk, this.extra));
    return this.store;
  }

  /** Every chunk file's durable bytes, concatenated (the store is closed or synced). */
  chunkBytes(): Buffer {
    const names = this.disk.fileNames(DATA_DIR).filter((name) => name.startsWith('chunk-')).sort();
    return Buffer.concat(names.map((name) => this.disk.durableBytes(`${DATA_DIR}/${name}`)));
  }
}

/** Awaits `promise`, which must reject with `type` and `code`; returns the error. */
export async function expectRejects<E extends AnnalError>(promise: Promise<unknown>, type: new (...args: never[]) => E, code: string): Promise<E> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, `expected ${type.name}`).toBeInstanceOf(type);
  expect((error as AnnalError).code).toBe(code);
  return error as E;
}

/** `count` events of type T with data { n } (n from `from`). */
export function events(count: number, from = 0): { type: string; data: { n: number } }[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'T', data: { n: from + i } }));
}

export async function revisions(promise: Promise<{ revision: bigint }[]>): Promise<bigint[]> {
  return (await promise).map((e) => e.revision);
}
