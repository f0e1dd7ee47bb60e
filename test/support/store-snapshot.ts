// Whole-store snapshots for tests that must show an operation wrote nothing: the head and every
// event's comparable fields, before and after (and after a reopen).

import { expect } from 'vitest';
import type { EventStore } from '../../src/annal.js';
import { plainEvent } from './store-model.js';

export interface StoreSnapshot {
  readonly head: bigint;
  readonly events: Record<string, unknown>[];
}

export async function storeSnapshot(store: EventStore): Promise<StoreSnapshot> {
  return { head: await store.headPosition(), events: (await store.readAll()).map(plainEvent) };
}

/** Asserts that `store` holds exactly what `before` recorded. */
export async function expectUnchanged(store: EventStore, before: StoreSnapshot): Promise<void> {
  expect(await storeSnapshot(store)).toEqual(before);
}
