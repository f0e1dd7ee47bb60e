// One consumer of a group and the events it holds: its in-flight window (insertion order is send
// order, so the earliest deadlines come first), whether it is paused after refusing a delivery,
// and, with the Pinned strategy, the events waiting for it. format-spec/subscriptions.md §6.

import type { RecordedEvent } from '../../store/recorded-event.js';
import type { EventOrigin } from './parked-log.js';
import type { ConsumerSink } from './types.js';

/** One event the group holds until it is done. */
export interface Entry {
  readonly event: RecordedEvent;
  /** Its event id (acks and naks name it). */
  readonly id: string;
  /** Its checkpoint key (revision or position); null for a replayed parked event. */
  readonly key: bigint | null;
  /** Where it came from; for a replay, the event the parked copy was made of. */
  readonly origin: EventOrigin;
  /** For a replayed event: the parked revision it was read from. */
  readonly parkedRevision: bigint | null;
  retryCount: number;
  state: 'waiting' | 'inFlight' | 'parking' | 'done';
  consumer: Consumer | null;
  /** When an in-flight delivery times out (clock ms); Infinity without a timeout. */
  deadlineMs: number;
}

export class Consumer {
  /** Delivered and not yet acked, naked or timed out, by event id, in send order. */
  readonly inFlight = new Map<string, Entry>();
  /** Pinned strategy: events whose stream hashes to this consumer, waiting for room in its window. */
  pinnedWaiting: Entry[] = [];
  deliveredCount = 0;
  ackedCount = 0;
  /** Still in the group (false once dropped or closed). */
  open = true;
  /** Its sink refused a delivery and it has not called resume() since: it is sent nothing. */
  paused = false;

  constructor(readonly consumerId: string, readonly name: string, readonly windowEvents: number, readonly sink: ConsumerSink) {}

  get hasRoom(): boolean {
    return this.open && this.windowHasRoom;
  }

  /** Not paused and fewer than its window in flight (whether or not it is still open). */
  get windowHasRoom(): boolean {
    return !this.paused && this.inFlight.size < this.windowEvents;
  }
}

/** FNV-1a (32-bit) of the stream id's UTF-16 code units: which consumer a stream is pinned to. */
export function pinnedIndex(streamId: string, consumerCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % consumerCount;
}
