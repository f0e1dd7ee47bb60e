// A bounded memory of recently appended event ids, so that a retried 'any'/'stream_exists'
// append with the same ids is recognised as a duplicate. Exact expected revisions do not need
// it: they compare ids at the expected revisions directly.

import { uuidFromBytes, uuidToBytes } from '../util/bytes.js';

// The persisted window (the stream directory file keeps it, format-spec/index.md §13), oldest
// first, one entry per event: 16-byte event id, u32 revision, u16 stream id length L, L bytes of
// UTF-8 stream id, little-endian.
const ENTRY_FIXED_BYTES = 22;

function encodeWindow(entries: readonly { idBytes: Uint8Array; idAt: number; streamId: string; revision: number }[]): Uint8Array {
  const ids = entries.map((e) => Buffer.from(e.streamId, 'utf8'));
  const bytes = new Uint8Array(ids.reduce((sum, id) => sum + ENTRY_FIXED_BYTES + id.length, 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  entries.forEach((e, i) => {
    bytes.set(e.idBytes.subarray(e.idAt, e.idAt + 16), at);
    view.setUint32(at + 16, e.revision, true);
    view.setUint16(at + 20, ids[i].length, true);
    bytes.set(ids[i], at + ENTRY_FIXED_BYTES);
    at += ENTRY_FIXED_BYTES + ids[i].length;
  });
  return bytes;
}

/** Calls `visit` for each entry of a persisted window, oldest first; false when the bytes are malformed. */
function forEachEntry(bytes: Uint8Array, visit: (idAt: number, streamId: string, revision: number) => void): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (let at = 0; at < bytes.length;) {
    if (at + ENTRY_FIXED_BYTES > bytes.length) return false;
    const length = view.getUint16(at + 20, true);
    if (length === 0 || at + ENTRY_FIXED_BYTES + length > bytes.length) return false;
    let streamId: string;
    try {
      streamId = utf8.decode(bytes.subarray(at + ENTRY_FIXED_BYTES, at + ENTRY_FIXED_BYTES + length));
    } catch {
      return false;
    }
    visit(at, streamId, view.getUint32(at + 16, true));
    at += ENTRY_FIXED_BYTES + length;
  }
  return true;
}

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
   * The remembered ids of durable events (`durable` tells; events of appends still in flight are
   * remembered too, a retry may race its original, but not exported), oldest first, in the
   * persisted window format: what an index flush keeps so that a reopen that reads no log still
   * recognises retries.
   */
  export(durable: (event: RememberedEvent) => boolean): Uint8Array {
    const entries: { idBytes: Uint8Array; idAt: number; streamId: string; revision: number }[] = [];
    for (const [idText, event] of this.ids) {
      if (!durable(event)) continue;
      const bytes = new Uint8Array(16);
      uuidToBytes(idText, bytes, 0);
      entries.push({ idBytes: bytes, idAt: 0, streamId: event.streamId, revision: event.revision });
    }
    return encodeWindow(entries);
  }

  /** Remembers a persisted window's entries (oldest first) again; false when the bytes are malformed. */
  import(bytes: Uint8Array): boolean {
    const entries: [string, string, number][] = [];
    if (!forEachEntry(bytes, (idAt, streamId, revision) => entries.push([uuidFromBytes(bytes, idAt), streamId, revision]))) return false;
    for (const [idText, streamId, revision] of entries) this.remember(idText, streamId, revision);
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
  private streams: string[] = [];
  private revisions = new Float64Array(0);
  private next = 0;
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(idBytes: Uint8Array, idAt: number, streamId: string, revision: number): void {
    if (this.capacity === 0) return;
    if (this.total < this.capacity && this.next === this.revisions.length) this.grow();
    this.ids.set(idBytes.subarray(idAt, idAt + 16), 16 * this.next);
    this.streams[this.next] = streamId;
    this.revisions[this.next] = revision;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  private grow(): void {
    const size = Math.min(this.capacity, Math.max(1024, this.revisions.length * 2));
    const ids = new Uint8Array(16 * size);
    ids.set(this.ids);
    const revisions = new Float64Array(size);
    revisions.set(this.revisions);
    this.ids = ids;
    this.revisions = revisions;
  }

  /** Ring indexes of the collected entries, oldest first. */
  private order(): number[] {
    const count = Math.min(this.total, this.capacity);
    const first = this.total > this.capacity ? this.next : 0;
    return Array.from({ length: count }, (_, k) => (first + k) % this.capacity);
  }

  /**
   * The collected ids, oldest first, in the persisted window format, after `before` (a persisted
   * window, older), keeping the newest `capacity` of them all.
   */
  export(before: Uint8Array): Uint8Array {
    const mine = this.order();
    const older: { idBytes: Uint8Array; idAt: number; streamId: string; revision: number }[] = [];
    forEachEntry(before, (idAt, streamId, revision) => older.push({ idBytes: before, idAt, streamId, revision }));
    const keepBefore = Math.min(older.length, this.capacity - mine.length);
    return encodeWindow([
      ...older.slice(older.length - keepBefore),
      ...mine.map((i) => ({ idBytes: this.ids, idAt: 16 * i, streamId: this.streams[i], revision: this.revisions[i] })),
    ]);
  }

  /** Replays the collected ids, oldest first, into `target`. */
  replayInto(target: RecentEventIds, idText: (bytes: Uint8Array, at: number) => string): void {
    for (const i of this.order()) target.remember(idText(this.ids, 16 * i), this.streams[i], this.revisions[i]);
  }
}
