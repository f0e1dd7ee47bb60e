// A bounded memory of recently appended event ids, so that a retried 'any'/'stream_exists'
// append with the same ids is recognised as a duplicate. Exact expected revisions do not need
// it: they compare ids at the expected revisions directly.

import { uuidFromBytes, uuidToBytes } from '../util/bytes.js';
import { DIRECTORY_RECENT_ID_BYTES as RECENT_ID_ENTRY_BYTES } from '../index/index-directory-file.js';

export interface RememberedEvent {
  readonly streamId: string;
  readonly revision: number;
}

export class RecentEventIds {
  // Map iteration order is insertion order, so the first key is the oldest.
  private readonly ids = new Map<string, RememberedEvent>();

  constructor(private readonly capacity: number) {}

  remember(idText: string, streamId: string, revision: number): void {
    if (this.capacity === 0) return;
    this.ids.delete(idText);
    this.ids.set(idText, { streamId, revision });
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string);
  }

  /**
   * The remembered ids of durable events (`durableStreamNo` gives their stream number, or -1 for
   * an event not yet durable), oldest first, as entries of the stream directory file (16 id bytes, u32 stream
   * number, u32 revision, little-endian): what an index flush persists so that a reopen that
   * reads no log still recognises retries.
   */
  export(durableStreamNo: (event: RememberedEvent) => number): Uint8Array {
    const bytes = new Uint8Array(this.ids.size * RECENT_ID_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    let at = 0;
    for (const [idText, event] of this.ids) {
      // Events of appends still in flight are remembered too (a retry may race its original);
      // they are not durable yet, so not exported.
      const streamNo = durableStreamNo(event);
      if (streamNo < 0) continue;
      uuidToBytes(idText, bytes, at);
      view.setUint32(at + 16, streamNo, true);
      view.setUint32(at + 20, event.revision, true);
      at += RECENT_ID_ENTRY_BYTES;
    }
    return bytes.slice(0, at);
  }

  /** Remembers exported entries (oldest first) again; false when a stream number is unknown. */
  import(bytes: Uint8Array, streamIdOf: (streamNo: number) => string | null): boolean {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let at = 0; at + RECENT_ID_ENTRY_BYTES <= bytes.length; at += RECENT_ID_ENTRY_BYTES) {
      const streamId = streamIdOf(view.getUint32(at + 16, true));
      if (streamId === null) return false;
      this.remember(uuidFromBytes(bytes, at), streamId, view.getUint32(at + 20, true));
    }
    return true;
  }

  lookup(idText: string): RememberedEvent | undefined {
    return this.ids.get(idText);
  }

  get size(): number {
    return this.ids.size;
  }
}

/**
 * Collects the ids of the last `capacity` records seen by recovery, so that the idempotency window
 * survives a restart (a client retrying after a crash is the case it exists for).
 */
export class RecentIdRing {
  // Grown on demand up to `capacity`, so a small store does not pay for a large window.
  private ids = new Uint8Array(0);
  private streams = new Uint32Array(0);
  private revisions = new Float64Array(0);
  private next = 0;
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(idBytes: Uint8Array, idAt: number, streamNo: number, revision: number): void {
    if (this.capacity === 0) return;
    if (this.total < this.capacity && this.next === this.streams.length) this.grow();
    this.ids.set(idBytes.subarray(idAt, idAt + 16), 16 * this.next);
    this.streams[this.next] = streamNo;
    this.revisions[this.next] = revision;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  private grow(): void {
    const size = Math.min(this.capacity, Math.max(1024, this.streams.length * 2));
    const ids = new Uint8Array(16 * size);
    ids.set(this.ids);
    const streams = new Uint32Array(size);
    streams.set(this.streams);
    const revisions = new Float64Array(size);
    revisions.set(this.revisions);
    this.ids = ids;
    this.streams = streams;
    this.revisions = revisions;
  }

  /**
   * The collected ids, oldest first, in the stream directory's window format (16 id bytes, u32
   * stream number, u32 revision), after `before` (entries of the same format, older), keeping the
   * newest `capacity` of them all.
   */
  export(before: Uint8Array): Uint8Array {
    const count = Math.min(this.total, this.capacity);
    const first = this.total > this.capacity ? this.next : 0;
    const keepBefore = Math.min(before.length / RECENT_ID_ENTRY_BYTES, this.capacity - count);
    const out = new Uint8Array((keepBefore + count) * RECENT_ID_ENTRY_BYTES);
    out.set(before.subarray(before.length - keepBefore * RECENT_ID_ENTRY_BYTES));
    const view = new DataView(out.buffer);
    let at = keepBefore * RECENT_ID_ENTRY_BYTES;
    for (let k = 0; k < count; k++, at += RECENT_ID_ENTRY_BYTES) {
      const i = (first + k) % this.capacity;
      out.set(this.ids.subarray(16 * i, 16 * i + 16), at);
      view.setUint32(at + 16, this.streams[i], true);
      view.setUint32(at + 20, this.revisions[i], true);
    }
    return out;
  }

  /** Replays the collected ids, oldest first, into `target`. */
  replayInto(target: RecentEventIds, streamIdOf: (streamNo: number) => string, idText: (bytes: Uint8Array, at: number) => string): void {
    const count = Math.min(this.total, this.capacity);
    const first = this.total > this.capacity ? this.next : 0;
    // Stream ids are decoded once each: a window holds many events of few streams.
    const names = new Map<number, string>();
    for (let k = 0; k < count; k++) {
      const i = (first + k) % this.capacity;
      const streamNo = this.streams[i];
      let streamId = names.get(streamNo);
      if (streamId === undefined) {
        streamId = streamIdOf(streamNo);
        names.set(streamNo, streamId);
      }
      target.remember(idText(this.ids, 16 * i), streamId, this.revisions[i]);
    }
  }
}
