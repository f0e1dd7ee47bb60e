import { describe, expect, test } from 'vitest';
import { RecentEventIds, RecentIdRing } from '../../src/store/recent-event-ids.js';
import { uuidFromBytes } from '../../src/util/bytes.js';

describe('recent event ids', () => {
  test('recent event ids - the oldest id leaves the window first', () => {
    const ids = new RecentEventIds(2);
    ids.remember('a', 's', 0);
    ids.remember('b', 's', 1);
    ids.remember('c', 's', 2);
    expect(ids.lookup('a')).toBeUndefined();
    expect(ids.lookup('c')).toEqual({ streamId: 's', revision: 2 });
    expect(ids.size).toBe(2);
  });

  test('recent id ring - replays only the newest ids, oldest first', () => {
    const ring = new RecentIdRing(3);
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 5; i++) {
      bytes[15] = i;
      ring.add(bytes, 0, `stream-${i % 2}`, i);
    }
    const target = new RecentEventIds(10);
    ring.replayInto(target, uuidFromBytes);
    expect(target.size).toBe(3);
    expect(target.lookup('00000000-0000-0000-0000-000000000001')).toBeUndefined();
    expect(target.lookup('00000000-0000-0000-0000-000000000004')).toEqual({ streamId: 'stream-0', revision: 4 });
  });

  test('recent event ids - the persisted window keeps durable ids, oldest first, and refuses malformed bytes', () => {
    const ids = new RecentEventIds(10);
    ids.remember('00000000-0000-0000-0000-000000000001', 'order-1', 0);
    ids.remember('00000000-0000-0000-0000-000000000002', 'Zürich-ü', 3);
    ids.remember('00000000-0000-0000-0000-000000000003', 'order-1', 1);
    const bytes = ids.export((event) => event.revision !== 1);
    const back = new RecentEventIds(10);
    expect(back.import(bytes)).toBe(true);
    expect(back.size).toBe(2);
    expect(back.lookup('00000000-0000-0000-0000-000000000002')).toEqual({ streamId: 'Zürich-ü', revision: 3 });
    expect(back.lookup('00000000-0000-0000-0000-000000000003')).toBeUndefined();
    expect(new RecentEventIds(10).import(bytes.subarray(0, bytes.length - 1))).toBe(false);
    const ring = new RecentIdRing(2);
    ring.add(new Uint8Array(16).fill(7), 0, 'ring-stream', 9);
    const merged = new RecentEventIds(10);
    // The ring keeps the newest `capacity` of the older window and its own ids together.
    expect(merged.import(ring.export(bytes))).toBe(true);
    expect(merged.size).toBe(2);
    expect(merged.lookup('00000000-0000-0000-0000-000000000001')).toBeUndefined();
    expect(merged.lookup('07070707-0707-0707-0707-070707070707')).toEqual({ streamId: 'ring-stream', revision: 9 });
  });
});
