// End-to-end tests with the real node-eventstore-client (23.10.1) against TcpServer over plain TCP
// and TLS, part 1: handshake and credentials, appends with every expected version, big events,
// stream and $all reads, metadata and ACLs (es-tcp.md §3–§4). Part 2 is real-client-2.int.test.ts.

import { randomBytes, randomUUID } from 'node:crypto';
import esc from 'node-eventstore-client';
import type { AccessDeniedError, EventStoreNodeConnection, ResolvedEvent, WrongExpectedVersionError } from 'node-eventstore-client';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  appendNumbered, binaryEvent, jsonEvent, num, numberOf, numberedEvents, rejection, settle, streamName, waitFor,
} from './client-helpers.js';
import { compare, expectStrictlyIncreasing, ids, pair, positionOf, walkAllForward } from './position-helpers.js';
import { useRealClients } from './real-client-suite.js';
import { OPERATION_TIMEOUT_MS, adminCredentials, type Client, type ServerFixture, type Transport } from './server-fixture.js';

const MiB = 1024 * 1024;
/** The largest event size es-tcp.md §1 says clients use in practice. */
const BIG_EVENT_BYTES = 3 * MiB;

describe.each<Transport>(['tcp', 'tls'])('real client over %s', (transport) => {
  let fixture: ServerFixture;
  let adminClient: Client;
  let anonymousClient: Client;
  let admin: EventStoreNodeConnection;
  let anonymous: EventStoreNodeConnection;
  const clients = useRealClients(transport);
  beforeAll(() => {
    ({ fixture, adminClient, anonymousClient, admin, anonymous } = clients);
  });

  test('connection - with default credentials the client authenticates, identifies and acts as that user', async () => {
    expect(adminClient.events).toEqual(['connected']);
    const slice = await admin.readAllEventsForward(esc.positions.start, 1, false);
    // The first event of a new store is the creation of admin in $users.
    expect(slice.events.map((e) => e.event!.eventStreamId)).toEqual(['$users']);
  });

  test('connection - without credentials the client identifies and acts as anonymous', async () => {
    expect(anonymousClient.events).toEqual(['connected']);
    const stream = streamName('anonymous');
    await appendNumbered(anonymous, stream, 1);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0]);
    expect(await rejection(anonymous.readAllEventsForward(esc.positions.start, 1, false))).toBeInstanceOf(esc.AccessDeniedError);
  });

  test('connection - wrong default credentials still connect, and the connection acts as anonymous', async () => {
    // The server answers Authenticate with NotAuthenticated; the client then identifies anyway
    // (es-tcp.md §5 step 2). Its 'authenticationFailed' event stays inside the client (the
    // connection object does not re-emit it), so the test looks at what the connection may do.
    const startedMs = Date.now();
    const client = await fixture.connect({ credentials: new esc.UserCredentials('admin', 'not-the-password'), name: 'wrong' });
    try {
      // Connected on the server's answer, not after the client gave up waiting for one.
      expect(Date.now() - startedMs).toBeLessThan(OPERATION_TIMEOUT_MS / 2);
      expect(client.events).toEqual(['connected']);
      expect(await rejection(client.connection.readAllEventsForward(esc.positions.start, 1, false))).toBeInstanceOf(esc.AccessDeniedError);
      const stream = streamName('wrong-login');
      await appendNumbered(client.connection, stream, 1);
      expect(fixture.troubleOf(client)).toEqual([]);
    } finally {
      await fixture.disconnect(client);
    }
  });

  test('connection - credentials given with one operation override the connection default', async () => {
    const slice = await anonymous.readAllEventsForward(esc.positions.start, 1, false, adminCredentials());
    expect(slice.events).toHaveLength(1);
    const wrong = await rejection(anonymous.readAllEventsForward(esc.positions.start, 1, false, new esc.UserCredentials('admin', 'nope')));
    expect(wrong.message).toMatch(/Authentication error/);
    // The connection itself stays anonymous.
    expect(await rejection(anonymous.readAllEventsForward(esc.positions.start, 1, false))).toBeInstanceOf(esc.AccessDeniedError);
  });

  test('connection - an idle connection stays up on heartbeats', async () => {
    // The client asks for a heartbeat after 750 ms of silence and gives up 1.5 s later (es-tcp.md
    // §5): 2.5 s of silence from the test outlasts that window.
    const client = await fixture.connect({ name: 'idle' });
    try {
      await settle(2_500);
      expect(client.heartbeats).toBeGreaterThanOrEqual(1);
      expect(fixture.troubleOf(client)).toEqual([]);
      await appendNumbered(client.connection, streamName('after-idle'), 1);
    } finally {
      await fixture.disconnect(client);
    }
  });

  // ---- appends -------------------------------------------------------------------------------

  test('append - expected version any appends to a new and to an existing stream', async () => {
    const stream = streamName('any');
    const first = await anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(2));
    expect(num(first.nextExpectedVersion)).toBe(1);
    expect(num(first.logPosition.commitPosition)).toBeGreaterThanOrEqual(num(first.logPosition.preparePosition));
    const second = await anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(1, 2));
    expect(num(second.nextExpectedVersion)).toBe(2);
    expect(compare(second.logPosition, first.logPosition)).toBe(1);
    const slice = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect(slice.events.map(numberOf)).toEqual([0, 1, 2]);
    expect(slice.events.map((e) => num(e.event!.eventNumber))).toEqual([0, 1, 2]);
  });

  test('append - noStream and emptyStream (-1) succeed only while the stream has no events', async () => {
    expect(esc.expectedVersion.noStream).toBe(-1);
    expect(esc.expectedVersion.emptyStream).toBe(-1);
    for (const expected of [esc.expectedVersion.noStream, esc.expectedVersion.emptyStream]) {
      const stream = streamName('no-stream');
      expect(num((await anonymous.appendToStream(stream, expected, numberedEvents(1))).nextExpectedVersion)).toBe(0);
      const conflict = await rejection(anonymous.appendToStream(stream, expected, numberedEvents(1, 1)));
      expect(conflict).toBeInstanceOf(esc.WrongExpectedVersionError);
      const wev = conflict as WrongExpectedVersionError;
      expect(wev.name).toBe('WrongExpectedVersionError');
      expect(wev.stream).toBe(stream);
      expect(num(wev.expectedVersion!)).toBe(-1);
      expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0]);
    }
  });

  test('append - an exact expected version must equal the last event number', async () => {
    const stream = streamName('exact');
    expect(await rejection(anonymous.appendToStream(stream, 0, numberedEvents(1)))).toBeInstanceOf(esc.WrongExpectedVersionError);
    await anonymous.appendToStream(stream, esc.expectedVersion.noStream, numberedEvents(3));
    expect(num((await anonymous.appendToStream(stream, 2, numberedEvents(1, 3))).nextExpectedVersion)).toBe(3);
    for (const stale of [0, 2, 4, 10]) {
      const conflict = await rejection(anonymous.appendToStream(stream, stale, numberedEvents(1, 100)));
      expect(conflict, `expected version ${stale}`).toBeInstanceOf(esc.WrongExpectedVersionError);
      expect(num((conflict as WrongExpectedVersionError).expectedVersion!)).toBe(stale);
    }
    expect(num((await anonymous.appendToStream(stream, 3, numberedEvents(1, 4))).nextExpectedVersion)).toBe(4);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0, 1, 2, 3, 4]);
  });

  test('append - streamExists (-4) fails on a missing stream and succeeds on an existing one', async () => {
    expect(esc.expectedVersion.streamExists).toBe(-4);
    const stream = streamName('exists');
    const conflict = await rejection(anonymous.appendToStream(stream, esc.expectedVersion.streamExists, numberedEvents(1)));
    expect(conflict).toBeInstanceOf(esc.WrongExpectedVersionError);
    expect(num((conflict as WrongExpectedVersionError).expectedVersion!)).toBe(-4);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).status).toBe('streamNotFound');
    await anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(1));
    expect(num((await anonymous.appendToStream(stream, esc.expectedVersion.streamExists, numberedEvents(2, 1))).nextExpectedVersion)).toBe(2);
  });

  test('append - a retry with the same event ids succeeds without writing twice', async () => {
    const stream = streamName('retry');
    const events = numberedEvents(3);
    const first = await anonymous.appendToStream(stream, esc.expectedVersion.noStream, events);
    const again = await anonymous.appendToStream(stream, esc.expectedVersion.noStream, events);
    expect(num(again.nextExpectedVersion)).toBe(2);
    expect(pair(again.logPosition)).toEqual(pair(first.logPosition));
    const anyAgain = await anonymous.appendToStream(stream, esc.expectedVersion.any, events);
    expect(num(anyAgain.nextExpectedVersion)).toBe(2);
    const more = numberedEvents(2, 3);
    expect(num((await anonymous.appendToStream(stream, 2, more)).nextExpectedVersion)).toBe(4);
    expect(num((await anonymous.appendToStream(stream, 2, more)).nextExpectedVersion)).toBe(4);
    const slice = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect(slice.events.map((e) => e.event!.eventId)).toEqual([...events, ...more].map((e) => e.eventId));
    // New ids with the stale expected version are a conflict, not a retry.
    expect(await rejection(anonymous.appendToStream(stream, esc.expectedVersion.noStream, numberedEvents(3)))).toBeInstanceOf(esc.WrongExpectedVersionError);
  });

  test('append - JSON metadata from the client is stored as JSON, binary metadata as bytes', async () => {
    const stream = streamName('meta-json');
    await anonymous.appendToStream(stream, esc.expectedVersion.any, [
      esc.createJsonEventData(randomUUID(), { a: 1 }, { causation: 'c-1' }, 'WithJson'),
      esc.createEventData(randomUUID(), 'WithBytes', false, Buffer.from([1, 2]), Buffer.from([0xff, 0])),
    ]);
    const [json, binary] = await fixture.store.readStream(stream);
    expect(json.metadata).toEqual({ causation: 'c-1' });
    expect(binary.metadata).toEqual(new Uint8Array([0xff, 0]));
    const read = await anonymous.readEvent(stream, 0, false);
    expect(JSON.parse(read.event!.event!.metadata!.toString('utf8'))).toEqual({ causation: 'c-1' });
  });

  test('append - a 3 MiB binary event round-trips byte for byte', async () => {
    const stream = streamName('big-binary');
    const data = randomBytes(BIG_EVENT_BYTES);
    const metadata = Buffer.from('binary metadata');
    const written = binaryEvent('Blob', data, metadata);
    const pushed: ResolvedEvent[] = [];
    const subscription = await admin.subscribeToStream(stream, false, (_, e) => void pushed.push(e));
    await anonymous.appendToStream(stream, esc.expectedVersion.noStream, written);
    await waitFor('the pushed event', () => pushed.length === 1);
    subscription.unsubscribe();
    expect(pushed[0].event!.data!.equals(data)).toBe(true);
    const read = await anonymous.readEvent(stream, 0, false);
    expect(read.status).toBe('success');
    const event = read.event!.event!;
    expect(event.eventId).toBe(written.eventId);
    expect(event.isJson).toBe(false);
    expect(event.data!.length).toBe(BIG_EVENT_BYTES);
    expect(event.data!.equals(data)).toBe(true);
    expect(event.metadata!.equals(metadata)).toBe(true);
    const backward = await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 1, false);
    expect(backward.events[0].event!.data!.equals(data)).toBe(true);
  });

  test('append - a 3 MiB JSON event round-trips', async () => {
    const stream = streamName('big-json');
    const rows = Array.from({ length: BIG_EVENT_BYTES / 64 }, (_, k) => ({ k, text: `row ${k}`.padEnd(48, '.') }));
    const written = jsonEvent('Rows', { rows }, { note: 'big' });
    expect(written.data.length).toBeGreaterThan(BIG_EVENT_BYTES);
    await anonymous.appendToStream(stream, esc.expectedVersion.noStream, written);
    const read = await anonymous.readStreamEventsForward(stream, 0, 1, false);
    const event = read.events[0].event!;
    expect(event.isJson).toBe(true);
    expect(event.eventType).toBe('Rows');
    expect(event.data!.equals(written.data)).toBe(true);
    expect(JSON.parse(event.data!.toString('utf8'))).toEqual({ rows });
    expect(JSON.parse(event.metadata!.toString('utf8'))).toEqual({ note: 'big' });
  });

  // ---- stream reads --------------------------------------------------------------------------

  test('read stream - forward pages report next, last and end of stream (es-tcp.md §3.4)', async () => {
    const stream = streamName('forward');
    await appendNumbered(anonymous, stream, 100);
    const whole = await anonymous.readStreamEventsForward(stream, 0, 100, false);
    expect(whole.status).toBe('success');
    expect(whole.readDirection).toBe('forward');
    expect(whole.events.map(numberOf)).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect([num(whole.nextEventNumber), num(whole.lastEventNumber), whole.isEndOfStream]).toEqual([100, 99, true]);
    // Stream reads carry no $all positions.
    expect(whole.events.every((e) => e.originalPosition === null)).toBe(true);
    const head = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect(head.events.map(numberOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([num(head.nextEventNumber), num(head.lastEventNumber), head.isEndOfStream]).toEqual([10, 99, false]);
    const tail = await anonymous.readStreamEventsForward(stream, 95, 10, false);
    expect(tail.events.map(numberOf)).toEqual([95, 96, 97, 98, 99]);
    expect([num(tail.nextEventNumber), num(tail.lastEventNumber), tail.isEndOfStream]).toEqual([100, 99, true]);
    const past = await anonymous.readStreamEventsForward(stream, 200, 10, false);
    expect(past.status).toBe('success');
    expect(past.events).toEqual([]);
    expect([num(past.lastEventNumber), past.isEndOfStream]).toEqual([99, true]);
  });

  test('read stream - backward pages come newest first and report next, last and end of stream', async () => {
    const stream = streamName('backward');
    await appendNumbered(anonymous, stream, 100);
    const whole = await anonymous.readStreamEventsBackward(stream, 99, 100, false);
    expect(whole.status).toBe('success');
    expect(whole.readDirection).toBe('backward');
    expect(whole.events.map(numberOf)).toEqual(Array.from({ length: 100 }, (_, k) => 99 - k));
    expect([num(whole.nextEventNumber), num(whole.lastEventNumber), whole.isEndOfStream]).toEqual([-1, 99, true]);
    const fromEnd = await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 10, false);
    expect(fromEnd.events.map(numberOf)).toEqual([99, 98, 97, 96, 95, 94, 93, 92, 91, 90]);
    expect([num(fromEnd.nextEventNumber), num(fromEnd.lastEventNumber), fromEnd.isEndOfStream]).toEqual([89, 99, false]);
    const oldest = await anonymous.readStreamEventsBackward(stream, 5, 10, false);
    expect(oldest.events.map(numberOf)).toEqual([5, 4, 3, 2, 1, 0]);
    expect([num(oldest.nextEventNumber), oldest.isEndOfStream]).toEqual([-1, true]);
    // EventStoreDB reads the window [from - count + 1, from]: past the end, only what of it exists.
    const past = await anonymous.readStreamEventsBackward(stream, 200, 10, false);
    expect(past.status).toBe('success');
    expect(past.events).toEqual([]);
    expect([num(past.nextEventNumber), num(past.lastEventNumber), past.isEndOfStream]).toEqual([99, 99, false]);
    const straddling = await anonymous.readStreamEventsBackward(stream, 105, 10, false);
    expect(straddling.events.map(numberOf)).toEqual([99, 98, 97, 96]);
    expect([num(straddling.nextEventNumber), num(straddling.lastEventNumber), straddling.isEndOfStream]).toEqual([95, 99, false]);
  });

  test('read stream - a stream that never existed reads as NoStream in both directions', async () => {
    const stream = streamName('missing');
    const forward = await anonymous.readStreamEventsForward(stream, 0, 10, false);
    expect([forward.status, forward.events.length]).toEqual(['streamNotFound', 0]);
    const backward = await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 10, false);
    expect([backward.status, backward.events.length]).toEqual(['streamNotFound', 0]);
  });

  test('read event - -1 reads the last event, a missing number is NotFound, a missing stream NoStream', async () => {
    const stream = streamName('read-event');
    await appendNumbered(anonymous, stream, 3);
    const last = await anonymous.readEvent(stream, -1, false);
    expect(last.status).toBe('success');
    expect([numberOf(last.event!), num(last.event!.event!.eventNumber)]).toEqual([2, 2]);
    const first = await anonymous.readEvent(stream, 0, false);
    expect(numberOf(first.event!)).toBe(0);
    expect(first.event!.event!.created.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const missingNumber = await anonymous.readEvent(stream, 3, false);
    expect([missingNumber.status, missingNumber.event]).toEqual(['notFound', null]);
    const missingStream = await anonymous.readEvent(streamName('no-such'), -1, false);
    expect([missingStream.status, missingStream.event]).toEqual(['noStream', null]);
  });

  // ---- $all ----------------------------------------------------------------------------------

  test('read all - forward pages as admin: strictly increasing positions, an empty page after the last event', async () => {
    const stream = streamName('all-forward');
    await appendNumbered(admin, stream, 7);
    const { events, pages } = await walkAllForward(admin, 3);
    expect(pages).toBeGreaterThan(2);
    expectStrictlyIncreasing(events.map(positionOf));
    for (const event of events) expect(num(event.originalPosition!.commitPosition)).toBeGreaterThanOrEqual(num(event.originalPosition!.preparePosition));
    expect(ids(events.slice(-7))).toEqual(Array.from({ length: 7 }, (_, k) => `${stream}@${k}`));
    // One big page holds the same events as the walk.
    const big = await admin.readAllEventsForward(esc.positions.start, 4096, false);
    expect(ids(big.events)).toEqual(ids(events));
    // Exactly the remaining events: the page is full and is not the end; the next one is empty.
    const fromSeventhLast = events[events.length - 7].originalPosition!;
    const exact = await admin.readAllEventsForward(fromSeventhLast, 7, false);
    expect([exact.events.length, exact.isEndOfStream]).toEqual([7, false]);
    const after = await admin.readAllEventsForward(exact.nextPosition, 7, false);
    expect([after.events.length, after.isEndOfStream]).toEqual([0, true]);
  });

  test('read all - backward from positions.end comes newest first and ends with an empty page', async () => {
    const stream = streamName('all-backward');
    await appendNumbered(admin, stream, 5);
    const newest = await admin.readAllEventsBackward(esc.positions.end, 5, false);
    expect(newest.readDirection).toBe('backward');
    expect(ids(newest.events)).toEqual([4, 3, 2, 1, 0].map((k) => `${stream}@${k}`));
    const backward: ResolvedEvent[] = [...newest.events];
    let from = newest.nextPosition;
    for (;;) {
      const slice = await admin.readAllEventsBackward(from, 4, false);
      if (slice.events.length === 0) break;
      backward.push(...slice.events);
      from = slice.nextPosition;
    }
    expectStrictlyIncreasing(backward.map(positionOf).reverse());
    const { events: forward } = await walkAllForward(admin, 100);
    expect(ids(backward).reverse()).toEqual(ids(forward));
  });

  test('read all - forward from positions.end finds nothing yet, and its next position is after the last event', async () => {
    await appendNumbered(admin, streamName('at-end'), 2);
    const slice = await admin.readAllEventsForward(esc.positions.end, 10, false);
    expect(slice.events).toEqual([]);
    expect(slice.isEndOfStream).toBe(true);
    const [last] = (await admin.readAllEventsBackward(esc.positions.end, 1, false)).events;
    expect(pair(slice.nextPosition)).toEqual(pair(positionOf(last)).map((p) => p + 1));
  });

  test('read all - anonymous reads are refused with AccessDenied in both directions', async () => {
    const forward = await rejection(anonymous.readAllEventsForward(esc.positions.start, 10, false));
    expect(forward).toBeInstanceOf(esc.AccessDeniedError);
    expect((forward as AccessDeniedError).stream).toBe('$all');
    expect(await rejection(anonymous.readAllEventsBackward(esc.positions.end, 10, false))).toBeInstanceOf(esc.AccessDeniedError);
  });

  // ---- metadata and ACLs ---------------------------------------------------------------------

  test('metadata - raw metadata round-trips and its metastream version counts the changes', async () => {
    const stream = streamName('meta');
    const none = await anonymous.getStreamMetadataRaw(stream);
    expect([none.stream, none.isStreamDeleted, num(none.metastreamVersion), none.streamMetadata]).toEqual([stream, false, -1, null]);
    await anonymous.setStreamMetadataRaw(stream, esc.expectedVersion.emptyStream, { owner: 'ann', $maxAge: 3600 });
    const first = await anonymous.getStreamMetadataRaw(stream);
    expect([num(first.metastreamVersion), first.streamMetadata]).toEqual([0, { owner: 'ann', $maxAge: 3600 }]);
    await anonymous.setStreamMetadataRaw(stream, 0, { owner: 'bob' });
    const second = await anonymous.getStreamMetadataRaw(stream);
    expect([num(second.metastreamVersion), second.streamMetadata]).toEqual([1, { owner: 'bob' }]);
    expect(await rejection(anonymous.setStreamMetadataRaw(stream, 0, { owner: 'carl' }))).toBeInstanceOf(esc.WrongExpectedVersionError);
    // The metadata lives in $$stream as $metadata events; the stream itself was never written.
    const meta = await anonymous.readStreamEventsForward(`$$${stream}`, 0, 10, false);
    expect(meta.events.map((e) => [e.event!.eventType, e.event!.isJson])).toEqual([['$metadata', true], ['$metadata', true]]);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false)).status).toBe('streamNotFound');
  });

  test('metadata - $maxCount leaves only the newest events visible to reads', async () => {
    const stream = streamName('max-count');
    await appendNumbered(anonymous, stream, 10);
    await anonymous.setStreamMetadataRaw(stream, esc.expectedVersion.any, { $maxCount: 3 });
    const forward = await anonymous.readStreamEventsForward(stream, 0, 100, false);
    expect(forward.events.map(numberOf)).toEqual([7, 8, 9]);
    expect([num(forward.nextEventNumber), num(forward.lastEventNumber), forward.isEndOfStream]).toEqual([10, 9, true]);
    const backward = await anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 100, false);
    expect(backward.events.map(numberOf)).toEqual([9, 8, 7]);
    expect((await anonymous.readEvent(stream, 0, false)).status).toBe('notFound');
    expect(numberOf((await anonymous.readEvent(stream, -1, false)).event!)).toBe(9);
  });

  test('metadata - an $acl for $admins makes anonymous writes, reads and deletes fail with AccessDenied', async () => {
    const stream = streamName('acl');
    await appendNumbered(anonymous, stream, 2);
    await admin.setStreamMetadataRaw(stream, esc.expectedVersion.any, { $acl: { $w: '$admins', $r: '$admins', $d: '$admins' } });
    const denied: Record<string, () => Promise<unknown>> = {
      append: () => anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(1)),
      readForward: () => anonymous.readStreamEventsForward(stream, 0, 10, false),
      readBackward: () => anonymous.readStreamEventsBackward(stream, esc.streamPosition.end, 10, false),
      readEvent: () => anonymous.readEvent(stream, 0, false),
      softDelete: () => anonymous.deleteStream(stream, esc.expectedVersion.any, false),
      hardDelete: () => anonymous.deleteStream(stream, esc.expectedVersion.any, true),
      transaction: async () => {
        const transaction = await anonymous.startTransaction(stream, esc.expectedVersion.any);
        await transaction.write(numberedEvents(1));
        return transaction.commit();
      },
    };
    for (const [name, call] of Object.entries(denied)) expect(await rejection(call()), name).toBeInstanceOf(esc.AccessDeniedError);
    expect(await rejection(anonymous.subscribeToStream(stream, false, () => {}))).toHaveProperty('message', expect.stringMatching(/access denied/));
    // Metadata reads are still open ($mr was not set), and admins may do everything.
    expect((await anonymous.getStreamMetadataRaw(stream)).streamMetadata).toEqual({ $acl: { $w: '$admins', $r: '$admins', $d: '$admins' } });
    await admin.appendToStream(stream, 1, numberedEvents(1, 2));
    expect((await admin.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0, 1, 2]);
    expect((await anonymous.readStreamEventsForward(stream, 0, 10, false, adminCredentials())).events.map(numberOf)).toEqual([0, 1, 2]);
    await admin.deleteStream(stream, 2, false);
  });

  test('access - system streams are for admins only', async () => {
    const stream = streamName('$e2e-system');
    expect(await rejection(anonymous.appendToStream(stream, esc.expectedVersion.any, numberedEvents(1)))).toBeInstanceOf(esc.AccessDeniedError);
    await admin.appendToStream(stream, esc.expectedVersion.any, numberedEvents(1));
    expect(await rejection(anonymous.readStreamEventsForward(stream, 0, 10, false))).toBeInstanceOf(esc.AccessDeniedError);
    expect((await admin.readStreamEventsForward(stream, 0, 10, false)).events.map(numberOf)).toEqual([0]);
    expect(await rejection(anonymous.readStreamEventsForward('$users', 0, 10, false))).toBeInstanceOf(esc.AccessDeniedError);
  });

  // ---- deletes -------------------------------------------------------------------------------

});
