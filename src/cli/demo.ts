// `annal demo`: a tour of the embedded API that doubles as a smoke test of the machine's disk.

import { EventStore } from '../annal.js';

const BATCH_EVENTS = 100;
const WRITERS = 64;

function rate(events: number, ms: number): string {
  return `${Math.round(events / (ms / 1000)).toLocaleString('en-US')} events/s`;
}

export async function runDemo(dataDir: string, events: number): Promise<void> {
  let started = performance.now();
  const store = await EventStore.open(dataDir);
  const before = (await store.headPosition()) + 1n;
  console.log(`opened ${dataDir} in ${(performance.now() - started).toFixed(0)} ms: ${before} events already stored`);
  try {
    const data = { orderId: 'order-1', customer: 'customer-42', amount: 99.5, currency: 'EUR', lines: [{ sku: 'sku-1', quantity: 2 }] };
    const run = Date.now().toString(36);

    started = performance.now();
    let appended = 0;
    const batch = Array.from({ length: BATCH_EVENTS }, () => ({ type: 'OrderPlaced', data }));
    const pipelines = Array.from({ length: 8 }, async (_, p) => {
      while (appended < events) {
        appended += BATCH_EVENTS;
        await store.appendToStream(`order-${run}-${p}`, batch);
      }
    });
    await Promise.all(pipelines);
    console.log(`appended ${appended} events in batches of ${BATCH_EVENTS}: ${rate(appended, performance.now() - started)} (each batch fdatasync'd before it was acknowledged)`);

    started = performance.now();
    let single = 0;
    const deadline = started + 2000;
    await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
      while (performance.now() < deadline) {
        await store.appendToStream(`account-${run}-${w}`, [{ type: 'Deposited', data: { amount: 10 } }]);
        single++;
      }
    }));
    console.log(`${WRITERS} concurrent writers, one event per append: ${rate(single, performance.now() - started)}`);

    started = performance.now();
    let read = 0;
    for await (const event of store.iterateAll({ fromPosition: before })) {
      if (event.type.length > 0) read++;
    }
    console.log(`read ${read} events back from $all with CRC checks: ${rate(read, performance.now() - started)}`);

    const stream = await store.readStream(`order-${run}-0`, { maxCount: 3 });
    for (const event of stream) console.log(`  ${event.streamId}@${event.revision} position ${event.position} ${event.type} ${JSON.stringify(event.data)}`);
    const info = await store.streamInfo(`order-${run}-0`);
    console.log(`stream order-${run}-0 holds ${info.eventCount} events; the store holds ${(await store.headPosition()) + 1n}`);
  } finally {
    await store.close();
  }
}
