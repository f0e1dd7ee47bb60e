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
      ring.add(bytes, 0, i % 2, i);
    }
    const target = new RecentEventIds(10);
    ring.replayInto(target, (streamNo) => `stream-${streamNo}`, uuidFromBytes);
    expect(target.size).toBe(3);
    expect(target.lookup('00000000-0000-0000-0000-000000000001')).toBeUndefined();
    expect(target.lookup('00000000-0000-0000-0000-000000000004')).toEqual({ streamId: 'stream-0', revision: 4 });
  });
});
