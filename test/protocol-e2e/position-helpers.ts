// Positions and $all walks for the node-eventstore-client end-to-end tests: positions as (commit,
// prepare) pairs, their order, and the whole log read forward page by page.

import esc from 'node-eventstore-client';
import type { EventStoreNodeConnection, Position, ResolvedEvent } from 'node-eventstore-client';
import { expect } from 'vitest';
import { num } from './client-helpers.js';
export function positionOf(event: ResolvedEvent): Position {
  expect(event.originalPosition).not.toBeNull();
  return event.originalPosition!;
}

/** (commit, prepare) as numbers, for comparisons that print well. */
export function pair(position: Position): [number, number] {
  return [num(position.commitPosition), num(position.preparePosition)];
}

/** Like the client's Position.compareTo (es-tcp.md §4): commit first, then prepare. */
export function compare(a: Position, b: Position): number {
  const [ca, pa] = pair(a);
  const [cb, pb] = pair(b);
  return Math.sign(ca - cb || pa - pb);
}

export function expectStrictlyIncreasing(positions: Position[]): void {
  for (let k = 1; k < positions.length; k++) {
    expect(compare(positions[k], positions[k - 1]), `position ${k} ${pair(positions[k])} after ${pair(positions[k - 1])}`).toBe(1);
  }
}

/** Stream and event number of each event, e.g. "orders-1a2b@3". */
export function ids(events: ResolvedEvent[]): string[] {
  return events.map((e) => `${e.originalEvent!.eventStreamId}@${num(e.originalEvent!.eventNumber)}`);
}

/** Every event of $all, walking forward from the start in pages of `pageSize` until an empty page. */
export async function walkAllForward(connection: EventStoreNodeConnection, pageSize: number): Promise<{ events: ResolvedEvent[]; pages: number }> {
  const events: ResolvedEvent[] = [];
  let from = esc.positions.start;
  for (let pages = 1; ; pages++) {
    const slice = await connection.readAllEventsForward(from, pageSize, false);
    expect(slice.readDirection).toBe('forward');
    if (slice.events.length === 0) {
      expect(slice.isEndOfStream).toBe(true);
      return { events, pages };
    }
    expect(slice.isEndOfStream).toBe(false);
    events.push(...slice.events);
    expect(compare(slice.nextPosition, positionOf(slice.events[slice.events.length - 1]))).toBe(1);
    from = slice.nextPosition;
  }
}
