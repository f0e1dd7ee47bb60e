// `annal info <dir>`: opens a store (recovering it if needed) and prints its size.

import { EventStore } from '../annal.js';

export async function runInfo(dir: string): Promise<void> {
  const started = performance.now();
  const store = await EventStore.open(dir);
  try {
    const events = (await store.headPosition()) + 1n;
    console.log(`${dir}: ${events} events, opened in ${(performance.now() - started).toFixed(0)} ms`);
  } finally {
    await store.close();
  }
}
