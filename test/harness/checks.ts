// The oracles of RELIABILITY.md applied to a store recovered after a fault: no acknowledged event
// lost (P1), nothing that was not appended (P2), per-stream and global order (P4, P5), no
// duplicates (P6), atomic appends, and a store that keeps working (P8).

import { isDeepStrictEqual } from 'node:util';
import type { EventStore, RecordedEvent } from '../../src/annal.js';
import type { HistoryEntry, WorkEvent } from './workload.js';

interface Origin {
  readonly entry: HistoryEntry;
  readonly part: number;
  readonly index: number;
  readonly event: WorkEvent;
}

/** Every violation found, as readable lines (empty when the store is consistent with the history). */
export async function checkRecovered(store: EventStore, history: readonly HistoryEntry[]): Promise<string[]> {
  const problems: string[] = [];
  const all = await store.readAll();
  const origins = new Map<string, Origin[]>();
  for (const entry of history) {
    entry.append.parts.forEach((part, p) => part.events.forEach((event, index) => {
      const list = origins.get(event.id) ?? [];
      list.push({ entry, part: p, index, event });
      origins.set(event.id, list);
    }));
  }
  // P4, P5, P6: dense positions, contiguous revisions per stream, unique ids.
  const seen = new Map<string, RecordedEvent>();
  const nextRevision = new Map<string, bigint>();
  all.forEach((e, i) => {
    if (e.position !== BigInt(i)) problems.push(`P5: event ${i} has position ${e.position}`);
    const expected = nextRevision.get(e.streamId) ?? 0n;
    if (e.revision !== expected) problems.push(`P4: ${e.streamId} revision ${e.revision} at position ${e.position}, expected ${expected}`);
    nextRevision.set(e.streamId, e.revision + 1n);
    if (seen.has(e.id)) problems.push(`P6: event id ${e.id} at positions ${seen.get(e.id)!.position} and ${e.position}`);
    seen.set(e.id, e);
    // P2: written by an append that was acknowledged or whose fate is unknown, with this content.
    const from = origins.get(e.id) ?? [];
    const origin = from.find((o) => o.entry.status !== 'failed');
    if (!origin) {
      problems.push(`P2: ${e.id} at ${e.position} was ${from.length === 0 ? 'never appended' : 'appended only by failed requests'}`);
    } else if (origin.entry.append.parts[origin.part].streamId !== e.streamId || origin.event.type !== e.type || JSON.stringify(origin.event.data) !== JSON.stringify(e.data)) {
      problems.push(`P2: ${e.id} at ${e.position} differs from what was appended`);
    }
  });
  // P1: acknowledged events at the positions and revisions the append returned.
  for (const entry of history) {
    if (entry.status !== 'ok') continue;
    entry.append.parts.forEach((part, p) => {
      const result = entry.results![p];
      part.events.forEach((event, k) => {
        const back = BigInt(part.events.length - 1 - k);
        const found = seen.get(event.id);
        if (!found) problems.push(`P1: acknowledged ${event.id} (${part.streamId}) is missing`);
        else if (found.position !== result.position - back || found.revision !== result.nextExpectedRevision - back || found.streamId !== part.streamId) {
          problems.push(`P1: acknowledged ${event.id} is at ${found.streamId}@${found.revision} position ${found.position}, was told ${part.streamId}@${result.nextExpectedRevision - back} position ${result.position - back}`);
        }
      });
    });
  }
  // Atomicity: every append is wholly present or wholly absent.
  for (const entry of history) {
    const ids = entry.append.parts.flatMap((p) => p.events.map((e) => e.id));
    const present = ids.filter((id) => seen.has(id)).length;
    if (present > 0 && present < ids.length) problems.push(`atomicity: ${present} of ${ids.length} events of one ${entry.append.multi ? 'appendMulti' : 'append'} survived`);
  }
  // Stream reads agree with $all.
  for (const streamId of nextRevision.keys()) {
    const stream = await store.readStream(streamId);
    const expected = all.filter((e) => e.streamId === streamId).map((e) => e.id);
    if (!isDeepStrictEqual(stream.map((e) => e.id), expected)) problems.push(`readStream(${streamId}) disagrees with readAll`);
  }
  return problems;
}

/** The store accepts an append after recovery and keeps it across a reopen. */
export async function checkStillWorks(open: () => Promise<EventStore>, store: EventStore): Promise<string[]> {
  const head = await store.headPosition();
  const info = await store.streamInfo('after-recovery');
  await store.appendToStream('after-recovery', [{ type: 'Checked', data: { head: String(head) } }], { expectedRevision: info.exists ? info.lastRevision : 'no_stream' });
  await store.close();
  const again = await open();
  try {
    const after = await again.headPosition();
    return after === head + 1n ? [] : [`append after recovery: head ${head} became ${after} after a reopen`];
  } finally {
    await again.close();
  }
}
