// End-to-end tests with the real node-eventstore-client (23.10.1) against TcpServer over plain TCP
// and TLS, part 2: soft and hard deletes, transactions, volatile and catch-up subscriptions
// (es-tcp.md §4–§5). Part 1 is real-client-1.int.test.ts.

import esc from 'node-eventstore-client';
import type { EventStoreNodeConnection, ResolvedEvent } from 'node-eventstore-client';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  appendNumbered, num, numberOf, numberedEvents, rejection, settle, streamName, waitFor,
} from './client-helpers.js';
import { compare, expectStrictlyIncreasing, ids, pair, positionOf, walkAllForward } from './position-helpers.js';
import { useRealClients } from './real-client-suite.js';
import type { Transport } from './server-fixture.js';

/**
 * Pause between the writes of the catch-up tests' writer. The client's catch-up reads until a
 * page is empty ($all) or not full (a stream) before it subscribes; a writer that never pauses
 * could keep every page full and the subscription from ever going live, in EventStoreDB as here.
 */
const WRITER_PAUSE_MS = 5;

describe.each<Transport>(['tcp', 'tls'])('real client over %s', (transport) => {
  let admin: EventStoreNodeConnection;
  let anonymous: EventStoreNodeConnection;
  const clients = useRealClients(transport);
  beforeAll(() => {
    ({ admin, anonymous } = clients);
  });

  test('soft delete - the stream reads as NoStream, its metadata stays readable with $tb, and an append brings it back numbered on', async () => {
    const stream = streamName('soft');
    await appendNumbered(anonymous, stream, 3);
    await anonymous.setStreamMetadataRaw(stream, esc.expectedVersion.any, { owner: 'ann' });
    expect(await rejection(anonymous.deleteStream(stream, 1, false))).toBeInstanceOf(esc.WrongExpectedVersionError);
    const deleted = await anonymous.deleteStream(stream, 2, false);
    expect(num(deleted.logPosition.commitPosition)).toBeGreaterThan(0);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).status).toBe('streamNotFound');
    expect((await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 10, false)).status).toBe('streamNotFound');
    expect((await anonymous.readEvent(stream, -1, false)).status).toBe('noStream');
    const meta = await anonymous.getStreamMetadataRaw(stream);
    expect(meta.isStreamDeleted).toBe(false);
    expect(meta.streamMetadata.owner).toBe('ann');
    expect(meta.streamMetadata.$tb).toBeGreaterThanOrEqual(3);
    const revived = await anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(2, 3));
    expect(num(revived.nextExpectedVersion)).toBe(4);
    const slice = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect(slice.status).toBe('success');
    expect(slice.events.map((e) => num(e.event!.eventNumber))).toEqual([3, 4]);
    expect((await anonymous.getStreamMetadataRaw(stream)).streamMetadata).toMatchObject({ owner: 'ann', $tb: 3 });
  });

  test('soft delete - the exact number of the last event re-creates the stream; other versions conflict', async () => {
    const stream = streamName('soft-exact');
    await appendNumbered(anonymous, stream, 2);
    await anonymous.deleteStream(stream, 1, false);
    expect(await rejection(anonymous.appendToStream(stream, 0, numberedEvents(1, 2)))).toBeInstanceOf(esc.WrongExpectedVersionError);
    expect(await rejection(anonymous.appendToStream(stream, esc.expectedVersion.streamExists, numberedEvents(1, 2))))
      .toBeInstanceOf(esc.WrongExpectedVersionError);
    const revived = await anonymous.appendToStream(stream, 1, numberedEvents(1, 2));
    expect(num(revived.nextExpectedVersion)).toBe(2);
    const slice = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect(slice.events.map((e) => num(e.event!.eventNumber))).toEqual([2]);
  });

  test('soft delete - a soft-deleted stream can still be hard deleted', async () => {
    const stream = streamName('soft-hard');
    await appendNumbered(anonymous, stream, 2);
    await anonymous.deleteStream(stream, esc.expectedVersion.any, false);
    await anonymous.deleteStream(stream, esc.expectedVersion.any, true);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).status).toBe('streamDeleted');
    expect((await anonymous.getStreamMetadataRaw(stream)).isStreamDeleted).toBe(true);
  });

  test('hard delete - reads, writes, metadata and another delete all report the stream deleted', async () => {
    const stream = streamName('hard');
    await appendNumbered(anonymous, stream, 2);
    const deleted = await anonymous.deleteStream(stream, esc.expectedVersion.any, true);
    expect(num(deleted.logPosition.commitPosition)).toBeGreaterThan(0);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).status).toBe('streamDeleted');
    expect((await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 10, false)).status).toBe('streamDeleted');
    expect((await anonymous.readEvent(stream, 0, false)).status).toBe('streamDeleted');
    for (const expected of [esc.expectedVersion.any, esc.expectedVersion.noStream, 1]) {
      expect(await rejection(anonymous.appendToStream(stream, expected, numberedEvents(1))), `expected ${expected}`).toBeInstanceOf(esc.StreamDeletedError);
    }
    const meta = await anonymous.getStreamMetadataRaw(stream);
    expect([meta.isStreamDeleted, meta.streamMetadata]).toEqual([true, null]);
    expect(await rejection(anonymous.setStreamMetadataRaw(stream, esc.expectedVersion.any, { owner: 'ann' }))).toBeInstanceOf(esc.StreamDeletedError);
    expect(await rejection(anonymous.deleteStream(stream, esc.expectedVersion.any, true))).toBeInstanceOf(esc.StreamDeletedError);
    expect(await rejection(anonymous.deleteStream(stream, esc.expectedVersion.any, false))).toBeInstanceOf(esc.StreamDeletedError);
  });

  // ---- transactions --------------------------------------------------------------------------

  test('transaction - events written in a transaction become visible together at commit', async () => {
    const stream = streamName('tx');
    await appendNumbered(anonymous, stream, 1);
    const transaction = await anonymous.startTransaction(stream, 0);
    await transaction.write(numberedEvents(2, 1));
    await transaction.write(numberedEvents(1, 3));
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0]);
    const before = await admin.readAllEventsBackward(esc.positions.end, 1, false);
    const result = await transaction.commit();
    expect(num(result.nextExpectedVersion)).toBe(3);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0, 1, 2, 3]);
    const committed = await admin.readAllEventsForward(before.events[0].originalPosition!, 10, false);
    expect(ids(committed.events)).toEqual([`${stream}@0`, `${stream}@1`, `${stream}@2`, `${stream}@3`]);
    expect(pair(result.logPosition)).toEqual(pair(committed.events[3].originalPosition!));
  });

  test('transaction - a commit whose expected version went stale fails with WrongExpectedVersion and writes nothing', async () => {
    const stream = streamName('tx-stale');
    const transaction = await anonymous.startTransaction(stream, esc.expectedVersion.noStream);
    await transaction.write(numberedEvents(2, 100));
    await appendNumbered(anonymous, stream, 1);
    expect(await rejection(transaction.commit())).toBeInstanceOf(esc.WrongExpectedVersionError);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0]);
  });

  // ---- volatile subscriptions ----------------------------------------------------------------

  test('volatile subscription - a stream subscription gets exactly the events appended after it, in order, with positions', async () => {
    const stream = streamName('volatile');
    await appendNumbered(anonymous, stream, 3);
    const received: ResolvedEvent[] = [];
    const drops: string[] = [];
    const subscription = await anonymous.subscribeToStream(stream, false, (_, e) => void received.push(e), (_, reason) => void drops.push(reason));
    expect(subscription.isSubscribedToAll).toBe(false);
    expect(num(subscription.lastEventNumber)).toBe(2);
    await appendNumbered(anonymous, stream, 2, 3);
    await appendNumbered(anonymous, streamName('other'), 2);
    await appendNumbered(admin, stream, 3, 5);
    await waitFor('5 events', () => received.length >= 5);
    await settle();
    expect(received.map(numberOf)).toEqual([3, 4, 5, 6, 7]);
    expect(received.map((e) => num(e.event!.eventNumber))).toEqual([3, 4, 5, 6, 7]);
    expectStrictlyIncreasing(received.map(positionOf));
    subscription.unsubscribe();
    await waitFor('the drop', () => drops.length > 0);
    expect(drops).toEqual(['userInitiated']);
    await appendNumbered(anonymous, stream, 1, 8);
    await settle();
    expect(received).toHaveLength(5);
  });

  test('volatile subscription - an $all subscription as admin gets every event appended after it, with their positions', async () => {
    const one = streamName('all-one');
    const two = streamName('all-two');
    const received: ResolvedEvent[] = [];
    const drops: string[] = [];
    const subscription = await admin.subscribeToAll(false, (_, e) => void received.push(e), (_, reason) => void drops.push(reason));
    expect(subscription.isSubscribedToAll).toBe(true);
    const head = await admin.readAllEventsBackward(esc.positions.end, 1, false);
    expect(num(subscription.lastCommitPosition)).toBe(num(head.events[0].originalPosition!.commitPosition));
    const results = [
      await anonymous.appendToStream(one, esc.expectedVersion.any, numberedEvents(2)),
      await anonymous.appendToStream(two, esc.expectedVersion.any, numberedEvents(1)),
      await admin.appendToStream(one, esc.expectedVersion.any, numberedEvents(1, 2)),
    ];
    await waitFor('4 events', () => received.length >= 4);
    await settle();
    expect(ids(received)).toEqual([`${one}@0`, `${one}@1`, `${two}@0`, `${one}@2`]);
    expectStrictlyIncreasing(received.map(positionOf));
    expect([1, 2, 3].map((k) => pair(received[k].originalPosition!))).toEqual(results.map((r) => pair(r.logPosition)));
    subscription.unsubscribe();
    await waitFor('the drop', () => drops.length > 0);
    expect(drops).toEqual(['userInitiated']);
  });

  test('volatile subscription - a subscription to a stream that does not exist yet gets its first events', async () => {
    const stream = streamName('not-yet');
    const received: ResolvedEvent[] = [];
    const subscription = await anonymous.subscribeToStream(stream, false, (_, e) => void received.push(e));
    expect(num(subscription.lastEventNumber)).toBe(-1);
    await anonymous.appendToStream(stream, esc.expectedVersion.noStream, numberedEvents(2));
    await waitFor('2 events', () => received.length >= 2);
    subscription.unsubscribe();
    expect(ids(received)).toEqual([`${stream}@0`, `${stream}@1`]);
  });

  test('volatile subscription - a subscription to a hard-deleted stream is dropped, not confirmed', async () => {
    const stream = streamName('gone');
    await appendNumbered(anonymous, stream, 1);
    await anonymous.deleteStream(stream, 0, true);
    const refused = await rejection(anonymous.subscribeToStream(stream, false, () => {}));
    expect(refused).toBeInstanceOf(Error);
  });

  test('volatile subscription - an anonymous $all subscription is refused with access denied', async () => {
    const refused = await rejection(anonymous.subscribeToAll(false, () => {}));
    expect(refused.message).toMatch(/access denied/);
  });

  // ---- catch-up subscriptions ----------------------------------------------------------------

  test('catch-up subscription - a stream subscription from the start gets every event once, in order, while a writer appends, then goes live', async () => {
    const stream = streamName('catch-up');
    await appendNumbered(anonymous, stream, 120);
    const received: number[] = [];
    const eventNumbers: number[] = [];
    let liveAt = -1;
    const drops: string[] = [];
    const subscription = anonymous.subscribeToStreamFrom(
      stream, null, false,
      (_, e) => {
        received.push(numberOf(e));
        eventNumbers.push(num(e.event!.eventNumber));
      },
      () => void (liveAt = received.length),
      (_, reason, error) => void drops.push(`${reason}${error ? `: ${error.message}` : ''}`),
      undefined, 25,
    );
    let written = 120;
    for (let afterLive = 0; afterLive < 10; ) {
      await appendNumbered(anonymous, stream, 3, written);
      written += 3;
      await settle(WRITER_PAUSE_MS);
      if (liveAt >= 0) afterLive++;
      expect(written, `the subscription never went live; drops: ${drops.join(', ')}`).toBeLessThan(5000);
    }
    await waitFor(`${written} events`, () => received.length >= written);
    await settle();
    expect(drops).toEqual([]);
    expect(received).toEqual(Array.from({ length: written }, (_, k) => k));
    expect(eventNumbers).toEqual(received);
    expect(liveAt).toBeGreaterThanOrEqual(120);
    expect(liveAt).toBeLessThan(written);
    subscription.stop();
    await waitFor('the drop', () => drops.length > 0);
    expect(drops).toEqual(['userInitiated']);
  });

  test('catch-up subscription - an $all subscription from the start gets the whole log once, in order, while a writer appends, then goes live', async () => {
    const one = streamName('all-catch-up-one');
    const two = streamName('all-catch-up-two');
    await appendNumbered(admin, one, 50);
    const received: ResolvedEvent[] = [];
    let liveAt = -1;
    const drops: string[] = [];
    const subscription = admin.subscribeToAllFrom(
      null, false,
      (_, e) => void received.push(e),
      () => void (liveAt = received.length),
      (_, reason, error) => void drops.push(`${reason}${error ? `: ${error.message}` : ''}`),
      undefined, 40,
    );
    let writes = 0;
    for (let afterLive = 0; afterLive < 10; writes++) {
      await appendNumbered(anonymous, writes % 2 === 0 ? two : one, 2, writes * 2);
      await settle(WRITER_PAUSE_MS);
      if (liveAt >= 0) afterLive++;
      expect(writes, `the subscription never went live; drops: ${drops.join(', ')}`).toBeLessThan(2500);
    }
    const last = (await admin.readAllEventsBackward(esc.positions.end, 1, false)).events[0];
    await waitFor('the last event written', () => received.some((e) => compare(e.originalPosition!, last.originalPosition!) === 0));
    await settle();
    expect(drops).toEqual([]);
    const { events: log } = await walkAllForward(admin, 500);
    expect(ids(received)).toEqual(ids(log));
    expect(received.map((e) => pair(e.originalPosition!))).toEqual(log.map((e) => pair(e.originalPosition!)));
    expect(liveAt).toBeGreaterThan(0);
    expect(liveAt).toBeLessThan(received.length);
    subscription.stop();
    await waitFor('the drop', () => drops.length > 0);
    expect(drops).toEqual(['userInitiated']);
  });

  test('catch-up subscription - from a checkpoint it starts with the event after it, for a stream and for $all', async () => {
    const stream = streamName('checkpoint');
    await appendNumbered(anonymous, stream, 10);
    const fromStream: number[] = [];
    const fromAll: ResolvedEvent[] = [];
    let live = 0;
    const streamSubscription = anonymous.subscribeToStreamFrom(stream, 6, false, (_, e) => void fromStream.push(numberOf(e)), () => void live++);
    const sixth = (await admin.readAllEventsBackward(esc.positions.end, 4, false)).events[3];
    expect(ids([sixth])).toEqual([`${stream}@6`]);
    const allSubscription = admin.subscribeToAllFrom(sixth.originalPosition!, false, (_, e) => void fromAll.push(e), () => void live++);
    await waitFor('both live', () => live === 2);
    await appendNumbered(anonymous, stream, 2, 10);
    await waitFor('the new events', () => fromStream.length >= 5 && fromAll.length >= 5);
    await settle();
    streamSubscription.stop();
    allSubscription.stop();
    expect(fromStream).toEqual([7, 8, 9, 10, 11]);
    expect(ids(fromAll)).toEqual([7, 8, 9, 10, 11].map((k) => `${stream}@${k}`));
  });
});
