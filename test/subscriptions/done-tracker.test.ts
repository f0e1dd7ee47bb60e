// The checkpoint rule in isolation: random adds, skips and completions against a model that
// recomputes "every key up to C is done" from scratch.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DoneTracker } from '../../src/subscriptions/persistent/done-tracker.js';
import { propertyParams } from '../support/random.js';

describe('persistent done tracker', () => {
  test('persistent done tracker - the checkpoint stops before the first key not done', () => {
    const tracker = new DoneTracker(10n);
    expect(tracker.checkpoint()).toBe(9n);
    for (const key of [10n, 12n, 13n]) tracker.add(key);
    tracker.markDone(12n);
    tracker.markDone(13n);
    expect(tracker.checkpoint()).toBe(9n);
    tracker.markDone(10n);
    expect(tracker.checkpoint()).toBe(13n);
    tracker.passed(20n);
    expect(tracker.checkpoint()).toBe(20n);
    tracker.add(21n);
    expect(tracker.checkpoint()).toBe(20n);
    expect(tracker.outstanding).toBe(1);
    expect(() => tracker.markDone(13n)).toThrow(/not added or is already behind/);
  });

  test('persistent done tracker - matches a model over random reads and completions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.boolean(), fc.nat(40)), { maxLength: 300, size: 'max' }), (steps) => {
        const tracker = new DoneTracker(0n);
        const added: bigint[] = [];
        const done = new Set<bigint>();
        let next = 0n;
        for (const [gap, deliver, pick] of steps) {
          next += BigInt(gap);
          if (deliver) {
            tracker.add(next);
            added.push(next);
          } else {
            tracker.passed(next);
          }
          next++;
          const open = added.filter((k) => !done.has(k));
          if (open.length > 0 && pick % 3 === 0) {
            const key = open[pick % open.length];
            tracker.markDone(key);
            done.add(key);
          }
          const firstOpen = added.find((k) => !done.has(k));
          expect(tracker.checkpoint()).toBe(firstOpen === undefined ? next - 1n : firstOpen - 1n);
        }
      }),
      propertyParams(50),
    );
  });
});
