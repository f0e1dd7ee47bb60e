// Hostile clients against the real TCP server (RELIABILITY.md F19, P15): each bad input gets its
// exact reaction — BadRequest with a named correlation id, or a closed connection with a logged
// reason — and a well-behaved connection still round-trips afterwards. Also slow readers,
// slowloris peers and 5,000 idle connections. format-spec/protocol.md §1–§3, §6.2.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { TcpServer } from '../../src/protocol/server/tcp-server.js';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import { ZERO_GUID, uuidToWire } from '../../src/protocol/wire/guid.js';
import { OperationResult, ReadStreamResult, messages } from '../../src/protocol/wire/messages.js';
import { TcpFlags, type TcpPackage } from '../../src/protocol/wire/package.js';
import { FRAME_BYTES_MAX } from '../../src/protocol/wire/wire-limits.js';
import { seededRandom, withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import { RawClient, concat, frameOf, lengthPrefix } from './raw-client.js';
import { ADMIN_LOGIN, ADMIN_PASSWORD, CapturingLogger, RawServer, rawServersClosedAfterEach, expectStillInStep, newEvent, wellBehavedRoundTrip } from './raw-server.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const text = (pkg: TcpPackage): string => Buffer.from(pkg.payload).toString('utf8');

const startServer = rawServersClosedAfterEach();

function writeEventsPayload(stream: string, data = 'x'): Uint8Array {
  return messages.WriteEvents.encode({ eventStreamId: stream, expectedVersion: -2n, events: [newEvent('Hostile', utf8(data))], requireLeader: false });
}

function readStreamPayload(stream: string, maxCount = 10): Uint8Array {
  return messages.ReadStreamEvents.encode({ eventStreamId: stream, fromEventNumber: 0n, maxCount, resolveLinkTos: false, requireLeader: false });
}

/** A package's bytes after its header, written by hand: `header` is command, flags and correlation id. */
function rawPackage(command: number, flags: number, correlationId: string, rest: Uint8Array): Uint8Array {
  return concat(new Uint8Array([command, flags]), uuidToWire(correlationId), rest);
}

function framed(pkg: Uint8Array): Uint8Array {
  return concat(lengthPrefix(pkg.length), pkg);
}

/** Whether `stream` exists, asked over a fresh connection. */
async function streamExists(server: RawServer, stream: string): Promise<boolean> {
  const client = await server.connect();
  try {
    const answer = await client.request(TcpCommand.ReadStreamEventsForward, readStreamPayload(stream));
    return messages.ReadStreamEventsCompleted.decode(answer.payload).result !== ReadStreamResult.NoStream;
  } finally {
    await client.close();
  }
}

/**
 * Sends `bytes`, then expects: the connection closed by the server, exactly one BadRequest with
 * `correlationId` whose text matches `answer` (or no package at all when `answer` is null), one
 * logged close whose reason matches `reason`, and a well-behaved round trip afterwards.
 */
async function expectClosed(server: RawServer, bytes: Uint8Array, answer: RegExp | null, reason: RegExp, correlationId = ZERO_GUID): Promise<void> {
  // A hostile peer does not answer heartbeats: an answer would land inside an unfinished frame.
  const client = await server.connect({ answerHeartbeats: false });
  client.write(bytes);
  await client.waitForClose();
  const answers = client.answers();
  if (answer === null) {
    expect(answers).toEqual([]);
  } else {
    expect(answers.map((p) => [p.command, p.correlationId])).toEqual([[TcpCommand.BadRequest, correlationId]]);
    expect(text(answers[0])).toMatch(answer);
  }
  const reasons = await server.waitForCloseReasons(1);
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toMatch(reason);
  expect(server.logger.otherWarnings()).toEqual([]);
  expect(client.decodeError).toBeNull();
  await wellBehavedRoundTrip(server);
}

/**
 * Sends one package and expects a BadRequest with its correlation id whose text matches `answer`;
 * the connection stays open and in step (a Ping on it is answered), nothing is logged, and a
 * well-behaved round trip works.
 */
async function expectBadRequest(server: RawServer, command: number, payload: Uint8Array, answer: RegExp): Promise<void> {
  const client = await server.connect();
  const correlationId = randomUUID();
  const reply = await client.request(command, payload, { correlationId });
  expect([reply.command, reply.correlationId]).toEqual([TcpCommand.BadRequest, correlationId]);
  expect(text(reply)).toMatch(answer);
  await expectStillInStep(server, client);
  await client.close();
  await wellBehavedRoundTrip(server);
}

describe('hostile input - frame lengths', () => {
  const badLength = (length: number) => new RegExp(`^BAD_FRAME_LENGTH: frame length ${length} is outside 1\\.\\.${FRAME_BYTES_MAX}`);
  for (const length of [FRAME_BYTES_MAX + 1, 0x7fffffff, 0, -1, -0x80000000]) {
    it(`hostile input - a length prefix of ${length} gets BadRequest with the zero id and a close`, async () => {
      const server = await startServer();
      await expectClosed(server, concat(lengthPrefix(length), new Uint8Array(32)), badLength(length), new RegExp(`^framing error: ${badLength(length).source.slice(1)}`));
    });
  }

  it('hostile input - frames before a bad length in the same write are still answered, in order', async () => {
    const server = await startServer();
    const client = await server.connect();
    const ping = frameOf(TcpCommand.Ping, utf8('first'));
    client.write(concat(ping.frame, lengthPrefix(-5)));
    await client.waitForClose();
    expect(client.answers().map((p) => [p.command, p.correlationId])).toEqual([
      [TcpCommand.Pong, ping.correlationId],
      [TcpCommand.BadRequest, ZERO_GUID],
    ]);
    expect(await server.waitForCloseReasons(1)).toEqual([expect.stringMatching(/^framing error: BAD_FRAME_LENGTH: frame length -5/)]);
    await wellBehavedRoundTrip(server);
  });
});

describe('hostile input - garbage bytes', () => {
  it('hostile input - an HTTP request on the TCP port is a 517 MiB length: BadRequest and close', async () => {
    const server = await startServer();
    const http = utf8('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const length = Buffer.from(http).readInt32LE(0);
    expect(length).toBe(542393671);
    await expectClosed(server, http, new RegExp(`^BAD_FRAME_LENGTH: frame length ${length}`), /^framing error: BAD_FRAME_LENGTH/);
  });

  it('hostile input - a TLS ClientHello on the plain port announces a 32 MiB frame and is closed by the frame timeout', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: 300 } });
    // The start of a TLS 1.2 ClientHello record: type 0x16, version 0x0301, length, handshake type 1.
    const hello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Uint8Array(200)]);
    expect(Buffer.from(hello).readInt32LE(0)).toBeLessThanOrEqual(FRAME_BYTES_MAX);
    await expectClosed(server, hello, null, /^a frame was not completed within 300 ms \(FRAME_COMPLETION_MS_MAX\)$/);
  });

  it('hostile input - unknown flag bits get BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    const pkg = rawPackage(TcpCommand.WriteEvents, 0x40, randomUUID(), writeEventsPayload('never-written'));
    await expectClosed(server, framed(pkg), /^BAD_FLAGS: flags 0x40 has bits other than 0x01 and 0x02/, /^bad package: BAD_FLAGS/);
    expect(await streamExists(server, 'never-written')).toBe(false);
  });

  it('hostile input - random bytes after a valid header get BadRequest with the request id', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
      garbage[0] = 0xff; // an invalid tag (field 31, wire type 7): whatever follows, not protobuf
      const server = await startServer();
      await expectBadRequest(server, TcpCommand.WriteEvents, garbage, /^WriteEvents: BAD_PROTOBUF/);
    });
  });
});

describe('hostile input - truncated frames', () => {
  it('hostile input - a package shorter than its 18-byte header gets BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    await expectClosed(server, framed(new Uint8Array([TcpCommand.Ping, 0, 1, 2, 3, 4, 5, 6, 7, 8])), /^TRUNCATED: package of 10 bytes is shorter than the 18-byte header/, /^bad package: TRUNCATED/);
  });

  it('hostile input - a credentials block cut short gets BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    const pkg = rawPackage(TcpCommand.Authenticate, TcpFlags.Authenticated, randomUUID(), concat(new Uint8Array([50]), utf8('admin')));
    await expectClosed(server, framed(pkg), /^TRUNCATED: login of 50 bytes runs past the package end/, /^bad package: TRUNCATED/);
  });

  it('hostile input - a peer that hangs up in the middle of a frame is logged with what it left', async () => {
    const server = await startServer();
    const client = await server.connect();
    const { frame } = frameOf(TcpCommand.WriteEvents, writeEventsPayload('half-written'));
    client.write(frame.subarray(0, 20));
    client.socket.end();
    await client.waitForClose();
    expect(client.answers()).toEqual([]);
    expect(await server.waitForCloseReasons(1)).toEqual(['the peer closed the connection in the middle of a frame (20 bytes of it received)']);
    expect(await streamExists(server, 'half-written')).toBe(false);
    await wellBehavedRoundTrip(server);
  });
});

describe('hostile input - invalid protobuf and invalid values', () => {
  const cases: [string, number, Uint8Array, RegExp][] = [
    ['a length-delimited field running past the end', TcpCommand.WriteEvents, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x61]), /^WriteEvents: BAD_PROTOBUF/],
    ['a varint cut short', TcpCommand.ReadStreamEventsForward, new Uint8Array([0x0a, 0x01, 0x61, 0x10, 0xff]), /^ReadStreamEventsForward: BAD_PROTOBUF/],
    ['a field of the wrong wire type', TcpCommand.ReadEvent, new Uint8Array([0x0d, 1, 2, 3, 4]), /^ReadEvent: BAD_PROTOBUF/],
    ['wire type 7', TcpCommand.DeleteStream, new Uint8Array([0x0f]), /^DeleteStream: BAD_PROTOBUF/],
    ['100,001 empty events (more elements than PROTOBUF_ELEMENTS_MAX)', TcpCommand.WriteEvents,
      concat(new Uint8Array([0x0a, 0x01, 0x73]), new Uint8Array(200_002).map((_, i) => (i % 2 === 0 ? 0x1a : 0x00))), /^WriteEvents: PROTOBUF_LIMIT/],
    ['expected version -3', TcpCommand.WriteEvents,
      messages.WriteEvents.encode({ eventStreamId: 's', expectedVersion: -3n, events: [newEvent('T', utf8('x'))], requireLeader: false }), /^WriteEvents: .*expected version -3 is not valid/],
    ['max count 5000 (over READ_PAGE_EVENTS_MAX)', TcpCommand.ReadStreamEventsForward, readStreamPayload('s', 5000), /^ReadStreamEventsForward: .*max count 5000 is outside 0\.\.4096/],
    ['an event id of 3 bytes', TcpCommand.WriteEvents,
      messages.WriteEvents.encode({ eventStreamId: 's', expectedVersion: -2n, events: [{ ...newEvent('T', utf8('x')), eventId: new Uint8Array(3) }], requireLeader: false }), /^WriteEvents: BAD_GUID/],
  ];
  for (const [name, command, payload, answer] of cases) {
    it(`hostile input - ${name} gets BadRequest with the request id and the connection stays`, async () => {
      const server = await startServer();
      await expectBadRequest(server, command, payload, answer);
    });
  }
});

describe('hostile input - commands', () => {
  const cases: [string, number, RegExp][] = [
    ['an unknown command byte (0x99)', 0x99, /^unknown or unexpected command Unknown\(0x99\)$/],
    ['an internal cluster command (0x12 CreateChunk)', 0x12, /^unknown or unexpected command CreateChunk\(internal\)$/],
    ['a server-to-client command (0x83 WriteEventsCompleted)', TcpCommand.WriteEventsCompleted, /^unknown or unexpected command WriteEventsCompleted$/],
    ['the retired CreateStream (0x80)', 0x80, /^unknown or unexpected command CreateStream\(retired\)\(internal\)$/],
  ];
  for (const [name, command, answer] of cases) {
    it(`hostile input - ${name} gets BadRequest with the request id and the connection stays`, async () => {
      const server = await startServer();
      await expectBadRequest(server, command, utf8('whatever'), answer);
    });
  }

  it('hostile input - the TrustedWrite flag gets BadRequest with the request id, a close, and nothing is written', async () => {
    const server = await startServer();
    const correlationId = randomUUID();
    const { frame } = frameOf(TcpCommand.WriteEvents, writeEventsPayload('trusted'), { correlationId, flags: TcpFlags.TrustedWrite });
    await expectClosed(server, frame, /^the TrustedWrite flag is for node-to-node traffic only$/, /^a client sent the TrustedWrite flag$/, correlationId);
    expect(await streamExists(server, 'trusted')).toBe(false);
  });

  it('hostile input - requests behind a TrustedWrite frame in the same write are not executed', async () => {
    const server = await startServer();
    const trusted = frameOf(TcpCommand.WriteEvents, writeEventsPayload('trusted-first'), { flags: TcpFlags.TrustedWrite | TcpFlags.Authenticated, credentials: { login: ADMIN_LOGIN, password: ADMIN_PASSWORD } });
    const after = frameOf(TcpCommand.WriteEvents, writeEventsPayload('behind-trusted'));
    await expectClosed(server, concat(trusted.frame, after.frame), /TrustedWrite/, /^a client sent the TrustedWrite flag$/, trusted.correlationId);
    expect(await streamExists(server, 'trusted-first')).toBe(false);
    expect(await streamExists(server, 'behind-trusted')).toBe(false);
  });
});

describe('hostile input - credentials', () => {
  const credentialsPackage = (login: Uint8Array, password: Uint8Array, correlationId = randomUUID()): Uint8Array =>
    framed(rawPackage(TcpCommand.Authenticate, TcpFlags.Authenticated, correlationId, concat(new Uint8Array([login.length]), login, new Uint8Array([password.length]), password)));

  it('hostile input - a login of 200 bytes (over 127) gets BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    await expectClosed(server, credentialsPackage(new Uint8Array(200).fill(0x61), utf8('changeit')), /^BAD_CREDENTIALS: login length 200 exceeds 127/, /^bad package: BAD_CREDENTIALS/);
  });

  it('hostile input - 255-byte login and password (a 512-byte block) get BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    await expectClosed(server, credentialsPackage(new Uint8Array(255).fill(0x61), new Uint8Array(255).fill(0x62)), /^BAD_CREDENTIALS: login length 255 exceeds 127/, /^bad package: BAD_CREDENTIALS/);
  });

  it('hostile input - a bearer-token credentials block (negative int16) gets BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    const token = utf8('eyJhbGciOiJIUzI1NiJ9.e30.sig');
    const block = concat(new Uint8Array([(-token.length) & 0xff, 0xff]), token);
    await expectClosed(server, framed(rawPackage(TcpCommand.Authenticate, TcpFlags.Authenticated, randomUUID(), block)), /^BAD_CREDENTIALS: login length 228 exceeds 127/, /^bad package: BAD_CREDENTIALS/);
  });

  it('hostile input - a password that is not UTF-8 gets BadRequest with the zero id and a close', async () => {
    const server = await startServer();
    await expectClosed(server, credentialsPackage(utf8('admin'), new Uint8Array([0xc3, 0x28])), /^BAD_CREDENTIALS: password is not valid UTF-8/, /^bad package: BAD_CREDENTIALS/);
  });

  it('hostile input - 127-byte login and password (a 256-byte block, the most allowed) are checked: NotAuthenticated, the connection stays', async () => {
    const server = await startServer();
    const client = await server.connect();
    const correlationId = randomUUID();
    client.write(credentialsPackage(new Uint8Array(127).fill(0x61), new Uint8Array(127).fill(0x62), correlationId));
    const reply = await client.waitForPackage('NotAuthenticated', (p) => p.correlationId === correlationId);
    expect([reply.command, text(reply)]).toEqual([TcpCommand.NotAuthenticated, 'not authenticated']);
    const ok = await client.request(TcpCommand.Authenticate, undefined, { credentials: { login: ADMIN_LOGIN, password: ADMIN_PASSWORD } });
    expect(ok.command).toBe(TcpCommand.Authenticated);
    expect(client.closed).toBe(false);
    expect(server.logger.closeReasons()).toEqual([]);
    await client.close();
    await wellBehavedRoundTrip(server);
  });
});

describe('hostile input - slowloris', () => {
  const FRAME_MS = 300;

  it('hostile input - half a frame that is never finished is closed after FRAME_COMPLETION_MS_MAX', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: FRAME_MS } });
    const { frame } = frameOf(TcpCommand.WriteEvents, writeEventsPayload('slowloris'));
    const started = Date.now();
    await expectClosed(server, frame.subarray(0, frame.length >> 1), null, new RegExp(`^a frame was not completed within ${FRAME_MS} ms \\(FRAME_COMPLETION_MS_MAX\\)$`));
    const elapsedMs = Date.now() - started;
    console.log(`slowloris: half a frame was closed after ${elapsedMs} ms (FRAME_COMPLETION_MS_MAX ${FRAME_MS})`);
    expect(elapsedMs).toBeGreaterThanOrEqual(FRAME_MS);
    expect(await streamExists(server, 'slowloris')).toBe(false);
  });

  it('hostile input - a length prefix and nothing more is a frame begun: closed after FRAME_COMPLETION_MS_MAX', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: FRAME_MS } });
    await expectClosed(server, lengthPrefix(39), null, /^a frame was not completed within 300 ms/);
  });

  it('hostile input - a peer that hangs up right after a length prefix is logged as mid-frame', async () => {
    const server = await startServer();
    const client = await server.connect();
    client.write(lengthPrefix(39));
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.socket.end();
    await client.waitForClose();
    expect(await server.waitForCloseReasons(1)).toEqual(['the peer closed the connection in the middle of a frame (4 bytes of it received)']);
    await wellBehavedRoundTrip(server);
  });

  it('hostile input - two bytes of a length prefix are a frame begun: closed after FRAME_COMPLETION_MS_MAX', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: FRAME_MS } });
    await expectClosed(server, new Uint8Array([0x20, 0x00]), null, /^a frame was not completed within 300 ms/);
  });

  it('hostile input - a frame trickled one byte at a time is closed although bytes keep coming', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: FRAME_MS, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200 } });
    const client = await server.connect();
    const { frame } = frameOf(TcpCommand.WriteEvents, writeEventsPayload('trickled'));
    let at = 0;
    const trickle = setInterval(() => client.write(frame.subarray(at, ++at)), 20);
    try {
      await client.waitForClose();
    } finally {
      clearInterval(trickle);
    }
    expect(at).toBeLessThan(frame.length);
    expect(await server.waitForCloseReasons(1)).toEqual([`a frame was not completed within ${FRAME_MS} ms (FRAME_COMPLETION_MS_MAX)`]);
    await wellBehavedRoundTrip(server);
  });

  it('hostile input - a client streaming whole frames whose chunks all end mid-frame is never taken for a slowloris', async () => {
    const server = await startServer({ limits: { frameCompletionMsMax: FRAME_MS } });
    const client = await server.connect();
    // Frames of 4,096 bytes written as chunks of 4,095, 25 ms apart: no chunk ends on a frame
    // boundary (the buffer is never empty between reads), yet nearly every chunk completes a
    // frame, far inside FRAME_COMPLETION_MS_MAX; the whole stream takes 2 s.
    const pings = Array.from({ length: 80 }, (_, i) => frameOf(TcpCommand.Ping, new Uint8Array(4096 - 22).fill(i)));
    const stream = concat(...pings.map((p) => p.frame));
    const CHUNK_BYTES = 4095;
    for (let at = 0; at < stream.length; at += CHUNK_BYTES) {
      client.write(stream.subarray(at, at + CHUNK_BYTES));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await client.waitForPackage('the last Pong', (p) => p.correlationId === pings[pings.length - 1].correlationId);
    expect(client.answers().map((p) => p.correlationId)).toEqual(pings.map((p) => p.correlationId));
    expect(client.closed).toBe(false);
    expect(server.logger.closeReasons()).toEqual([]);
  });
});

/** Samples heapUsed + arrayBuffers (where queued frames live) every 20 ms; `stop` returns the peak. */
function memorySampler(): { stop: () => number } {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  let peak = used();
  const timer = setInterval(() => (peak = Math.max(peak, used())), 20);
  return { stop: () => (clearInterval(timer), Math.max(peak, used())) };
}

const MiB = 1024 * 1024;

describe('hostile input - slow readers', () => {
  it('hostile input - a client that never reads while asking for big pages is dropped at SEND_QUEUE_BYTES_MAX', async () => {
    const SEND_QUEUE_BYTES = 8 * MiB;
    const server = await startServer({ limits: { sendQueueBytesMax: SEND_QUEUE_BYTES }, chunkSizeBytes: 4 * MiB });
    // Four events of 512 KiB: each read of the stream answers with about 2 MiB.
    const writer = await server.connect();
    for (let i = 0; i < 4; i++) {
      const event = newEvent('Big', new Uint8Array(512 * 1024).fill(i));
      const reply = await writer.request(TcpCommand.WriteEvents, messages.WriteEvents.encode({ eventStreamId: 'big', expectedVersion: -2n, events: [event], requireLeader: false }));
      expect(reply.command).toBe(TcpCommand.WriteEventsCompleted);
    }
    await writer.close();
    const baseline = process.memoryUsage();
    const sampler = memorySampler();
    const slow = await server.connect({ read: false });
    // 400 reads would be 800 MiB of answers if the server kept them all.
    const READS = 400;
    const read = frameOf(TcpCommand.ReadStreamEventsForward, readStreamPayload('big', 4)).frame;
    // Paced (20 reads every 5 ms), as a client that merely reads slowly would be; see
    // 'pipelined reads' below for what a burst does.
    for (let i = 0; i < READS && server.logger.closeReasons().length === 0; i++) {
      slow.write(read);
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The server's log, not our socket, says when it hung up: a client that never reads may not
    // notice the reset until it writes again.
    const reasons = await server.waitForCloseReasons(1, 20_000);
    const peakMiB = (sampler.stop() - baseline.heapUsed - baseline.arrayBuffers) / MiB;
    console.log(`slow reader (bytes): dropped with "${reasons[0]}"; peak memory growth ${peakMiB.toFixed(1)} MiB`);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^send queue over its bounds: \\d+ packages, \\d+ bytes \\(SEND_QUEUE_PACKAGES_MAX 50000, SEND_QUEUE_BYTES_MAX ${SEND_QUEUE_BYTES}\\)$`))]);
    const queued = Number(/, (\d+) bytes/.exec(reasons[0])![1]);
    expect(queued).toBeGreaterThan(SEND_QUEUE_BYTES);
    expect(queued).toBeLessThan(SEND_QUEUE_BYTES + 3 * MiB);
    expect(peakMiB).toBeLessThan(256);
    await wellBehavedRoundTrip(server);
  });

  it('hostile input - slow readers together past SEND_QUEUES_BYTES_MAX: the one holding the most is dropped, the others go on', async () => {
    const SERVER_BYTES = 12 * MiB;
    const server = await startServer({ limits: { sendQueueBytesMax: 32 * MiB, sendQueuesBytesMax: SERVER_BYTES }, chunkSizeBytes: 4 * MiB });
    const writer = await server.connect();
    for (let i = 0; i < 4; i++) {
      const event = newEvent('Big', new Uint8Array(512 * 1024).fill(i));
      const reply = await writer.request(TcpCommand.WriteEvents, messages.WriteEvents.encode({ eventStreamId: 'big', expectedVersion: -2n, events: [event], requireLeader: false }));
      expect(reply.command).toBe(TcpCommand.WriteEventsCompleted);
    }
    const read = frameOf(TcpCommand.ReadStreamEventsForward, readStreamPayload('big', 4)).frame;
    // Each slow client asks for ~2 MiB pages and never reads: first one up to 8 MiB queued, then
    // the other until the server's queues pass 12 MiB. Neither reaches its own 32 MiB bound.
    const first = await server.connect({ read: false });
    const second = await server.connect({ read: false });
    const fill = async (client: RawClient, untilBytes: number): Promise<void> => {
      for (let i = 0; i < 200 && server.server.sendQueueBytes < untilBytes && server.logger.closeReasons().length === 0; i++) {
        client.write(read);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await fill(first, 8 * MiB);
    expect(server.server.sendQueueBytes).toBeGreaterThanOrEqual(8 * MiB);
    await fill(second, Number.MAX_SAFE_INTEGER);
    const reasons = await server.waitForCloseReasons(1, 20_000);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^send queues of all connections over SEND_QUEUES_BYTES_MAX ${SERVER_BYTES} \\(\\d+ bytes\\); this connection held the most, \\d+ bytes$`))]);
    const closed = server.logger.lines.find((l) => l.fields.reason === reasons[0])!;
    expect(closed.fields.remote).toBe(`127.0.0.1:${first.socket.localPort}`);
    // The server's queues are back within the budget, and the other connections still work.
    expect(server.server.sendQueueBytes).toBeLessThanOrEqual(SERVER_BYTES);
    expect(messages.ReadStreamEventsCompleted.decode((await writer.request(TcpCommand.ReadStreamEventsForward, readStreamPayload('big', 1))).payload).events).toHaveLength(1);
    await wellBehavedRoundTrip(server);
    await writer.close();
  });

  it('hostile input - a client that never reads while sending many small requests is dropped at SEND_QUEUE_PACKAGES_MAX', async () => {
    const PACKAGES = 500;
    const server = await startServer({ limits: { sendQueuePackagesMax: PACKAGES } });
    const slow = await server.connect({ read: false });
    // Pongs of ~1 KiB: the kernel's socket buffers take a few MiB before the queue starts to grow.
    const ping = frameOf(TcpCommand.Ping, new Uint8Array(1000)).frame;
    const batch = concat(...Array.from({ length: 100 }, () => ping));
    for (let i = 0; i < 2000 && server.logger.closeReasons().length === 0; i++) {
      slow.write(batch);
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const reasons = await server.waitForCloseReasons(1, 20_000);
    console.log(`slow reader (packages): dropped with "${reasons[0]}"`);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^send queue over its bounds: ${PACKAGES + 1} packages, \\d+ bytes \\(SEND_QUEUE_PACKAGES_MAX ${PACKAGES}, SEND_QUEUE_BYTES_MAX ${96 * MiB}\\)$`))]);
    await wellBehavedRoundTrip(server);
  });

});

/** Polls `condition` every 5 ms; resolves once it holds or `timeoutMs` has passed (the caller's expectations then say what was missing). */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Writes `count` events of `dataBytes` each to `stream`, `perRequest` to a WriteEvents. */
async function writeEvents(server: RawServer, stream: string, count: number, dataBytes: number, perRequest: number): Promise<void> {
  const writer = await server.connect();
  try {
    for (let written = 0; written < count; written += perRequest) {
      const events = Array.from({ length: Math.min(perRequest, count - written) }, (_, i) => newEvent('Big', new Uint8Array(dataBytes).fill((written + i) & 0xff)));
      const reply = await writer.request(TcpCommand.WriteEvents, messages.WriteEvents.encode({ eventStreamId: stream, expectedVersion: -2n, events, requireLeader: false }), {}, 30_000);
      expect(messages.WriteEventsCompleted.decode(reply.payload).result).toBe(OperationResult.Success);
    }
  } finally {
    await writer.close();
  }
}

function readAllPayload(maxCount: number): Uint8Array {
  return messages.ReadAllEvents.encode({ commitPosition: 0n, preparePosition: 0n, maxCount, resolveLinkTos: false, requireLeader: false });
}

const ADMIN = { credentials: { login: ADMIN_LOGIN, password: ADMIN_PASSWORD } };

/** `count` read frames in one buffer, ReadStreamEventsForward and ReadAllEventsForward (as admin: $all is not for anonymous) by turns. */
function pipelinedReads(stream: string, maxCount: number, count: number): Uint8Array {
  const streamRead = frameOf(TcpCommand.ReadStreamEventsForward, readStreamPayload(stream, maxCount)).frame;
  const allRead = frameOf(TcpCommand.ReadAllEventsForward, readAllPayload(maxCount), ADMIN).frame;
  return concat(...Array.from({ length: count }, (_, i) => (i % 2 === 0 ? streamRead : allRead)));
}

describe('hostile input - pipelined reads', () => {
  // Before READS_IN_FLIGHT_MAX every request of the burst (all dispatched from one socket read)
  // built its whole page before the send queue saw it: this test then measured a peak heap +
  // ArrayBuffers growth of ~1 GiB (~2 GiB in an earlier run) before the connection was dropped.
  it('hostile input - a burst of 1,000 pipelined 2 MiB reads from a client that never reads is dropped at SEND_QUEUE_BYTES_MAX within a memory bound', async () => {
    const SEND_QUEUE_BYTES = 8 * MiB;
    const server = await startServer({ limits: { sendQueueBytesMax: SEND_QUEUE_BYTES }, chunkSizeBytes: 4 * MiB });
    // Four events of 512 KiB, the only ones in the store: every read of the stream or of $all
    // answers with about 2 MiB.
    await writeEvents(server, 'big', 4, 512 * 1024, 1);
    const baseline = process.memoryUsage();
    const sampler = memorySampler();
    const slow = await server.connect({ read: false });
    slow.write(pipelinedReads('big', 4, 1000));
    const reasons = await server.waitForCloseReasons(1, 60_000);
    const peakMiB = (sampler.stop() - baseline.heapUsed - baseline.arrayBuffers) / MiB;
    const rssMiB = (process.memoryUsage().rss - baseline.rss) / MiB;
    console.log(`pipelined reads (never read): dropped with "${reasons[0]}"; peak heap + ArrayBuffers growth ${peakMiB.toFixed(1)} MiB, RSS growth ${rssMiB.toFixed(1)} MiB`);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^send queue over its bounds: \\d+ packages, \\d+ bytes \\(SEND_QUEUE_PACKAGES_MAX 50000, SEND_QUEUE_BYTES_MAX ${SEND_QUEUE_BYTES}\\)$`))]);
    // The send queue (8 MiB) plus at most READS_IN_FLIGHT_MAX (8) pages of 2 MiB being built, each
    // held as events, payload and frame: well under 96 MiB. Without the bound: ~2 GiB.
    expect(peakMiB).toBeLessThan(96);
    await wellBehavedRoundTrip(server);
  });

  it('hostile input - pipelined reads stop being built while the send queue is over READ_START_QUEUE_BYTES_MAX; a peer that takes nothing is closed', async () => {
    const START_QUEUE_BYTES = 4 * MiB;
    const server = await startServer({ limits: { readStartQueueBytesMax: START_QUEUE_BYTES, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200 }, chunkSizeBytes: 4 * MiB });
    await writeEvents(server, 'big', 4, 512 * 1024, 1);
    const baseline = process.memoryUsage();
    const sampler = memorySampler();
    const slow = await server.connect({ read: false });
    slow.write(pipelinedReads('big', 4, 1000));
    // The queue stops short of SEND_QUEUE_BYTES_MAX (96 MiB): the reads wait at the gate, the
    // server stops reading the socket, and the peer, taking no bytes, is closed as not reading.
    const reasons = await server.waitForCloseReasons(1, 20_000);
    const peakMiB = (sampler.stop() - baseline.heapUsed - baseline.arrayBuffers) / MiB;
    console.log(`pipelined reads (gate): closed with "${reasons[0]}"; peak heap + ArrayBuffers growth ${peakMiB.toFixed(1)} MiB`);
    expect(reasons).toEqual([expect.stringMatching(/^the peer took no bytes for \d+ ms while the server waited for it to read \(HEARTBEAT_INTERVAL_MS \+ HEARTBEAT_TIMEOUT_MS\)$/)]);
    expect(peakMiB).toBeLessThan(96);
    await wellBehavedRoundTrip(server);
  });

  it('hostile input - at most READS_IN_FLIGHT_MAX reads of a connection read the store at once; every pipelined read is answered', async () => {
    const READS = 3;
    const server = await startServer({ limits: { readsInFlightMax: READS } });
    await writeEvents(server, 'small', 10, 100, 10);
    // Each store read takes 5 ms, so without the gate all 60 would overlap.
    let reading = 0;
    let readingMax = 0;
    const slowed = <A extends unknown[], R>(read: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      readingMax = Math.max(readingMax, ++reading);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await read(...args);
      } finally {
        reading--;
      }
    };
    const store = server.store;
    store.readStream = slowed(store.readStream.bind(store));
    store.readAll = slowed(store.readAll.bind(store));
    const client = await server.connect();
    const frames = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? frameOf(TcpCommand.ReadStreamEventsForward, readStreamPayload('small', 10))
        : i % 3 === 1 ? frameOf(TcpCommand.ReadAllEventsForward, readAllPayload(10), ADMIN)
          : frameOf(TcpCommand.Ping, utf8(`ping ${i}`)));
    client.write(concat(...frames.map((f) => f.frame)));
    await waitFor(() => client.answers().length >= frames.length || client.closed, 10_000);
    const answered = client.answers();
    expect(answered.map((p) => p.correlationId).sort()).toEqual(frames.map((f) => f.correlationId).sort());
    for (const p of answered) {
      if (p.command === TcpCommand.ReadStreamEventsForwardCompleted) expect(messages.ReadStreamEventsCompleted.decode(p.payload).events).toHaveLength(10);
      else if (p.command === TcpCommand.ReadAllEventsForwardCompleted) expect(messages.ReadAllEventsCompleted.decode(p.payload).events.length).toBeGreaterThanOrEqual(10);
      else expect(p.command).toBe(TcpCommand.Pong);
    }
    console.log(`pipelined reads: at most ${readingMax} of 40 reads read the store at once (READS_IN_FLIGHT_MAX ${READS})`);
    expect(readingMax).toBe(READS);
    expect(server.logger.closeReasons()).toEqual([]);
  });

  it('hostile input - a client pipelining 200 reads of 4096 events of 1 KiB that reads its socket is served completely under the default limits', async () => {
    const server = await startServer({ chunkSizeBytes: 8 * MiB });
    await writeEvents(server, 'pages', 4096, 1024, 512);
    const READS = 200;
    let answered = 0;
    let answeredBytes = 0;
    const wrong: string[] = [];
    const check = (pkg: TcpPackage): void => {
      if (pkg.command === TcpCommand.HeartbeatRequestCommand) return;
      answered++;
      answeredBytes += pkg.payload.length;
      // Decoding 200 pages of 4,096 events would dominate the test: check the size of every page
      // and decode the first and the last.
      if (pkg.command !== TcpCommand.ReadStreamEventsForwardCompleted && pkg.command !== TcpCommand.ReadAllEventsForwardCompleted) wrong.push(`command ${pkg.command}`);
      else if (pkg.payload.length < 4096 * 1024) wrong.push(`a page of ${pkg.payload.length} bytes`);
      if (answered === 1 || answered === READS) {
        const events = pkg.command === TcpCommand.ReadStreamEventsForwardCompleted ? messages.ReadStreamEventsCompleted.decode(pkg.payload).events : messages.ReadAllEventsCompleted.decode(pkg.payload).events;
        if (events.length !== 4096) wrong.push(`a page of ${events.length} events`);
      }
    };
    const baseline = process.memoryUsage();
    const sampler = memorySampler();
    const started = performance.now();
    const client = await server.connect({ keepPackages: false, onPackage: check });
    client.write(pipelinedReads('pages', 4096, READS));
    await waitFor(() => answered >= READS || client.closed, 50_000);
    const elapsedMs = performance.now() - started;
    const peakMiB = (sampler.stop() - baseline.heapUsed - baseline.arrayBuffers) / MiB;
    console.log(
      `pipelined reads (reading client): ${answered} of ${READS} pages, ${(answeredBytes / MiB).toFixed(0)} MiB, in ${Math.round(elapsedMs)} ms; ` +
        `peak heap + ArrayBuffers growth ${peakMiB.toFixed(1)} MiB (server and client)`,
    );
    expect(server.logger.closeReasons()).toEqual([]);
    expect(client.closed).toBe(false);
    expect(answered).toBe(READS);
    expect(wrong).toEqual([]);
  });

  it('hostile input - a client that reads slowly while its pipelined reads wait is not taken for silent', async () => {
    // The server stops reading the socket while reads wait, so it cannot hear this client's
    // heartbeats; the client pauses its reading for 100 ms at a time, well under the 1 s of
    // HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS (server and client share one event loop, so
    // while the server builds pages a pause lasts longer than asked), but the whole transfer
    // takes several seconds.
    const server = await startServer({ limits: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 800 }, chunkSizeBytes: 8 * MiB });
    await writeEvents(server, 'pages', 4096, 1024, 512);
    const READS = 32;
    let answered = 0;
    const client = await server.connect({ keepPackages: false, onPackage: (p) => void (p.command !== TcpCommand.HeartbeatRequestCommand && answered++) });
    const started = performance.now();
    const throttle = setInterval(() => {
      client.socket.pause();
      setTimeout(() => client.socket.resume(), 100);
    }, 120);
    try {
      client.write(pipelinedReads('pages', 4096, READS));
      await waitFor(() => answered >= READS || client.closed, 50_000);
    } finally {
      clearInterval(throttle);
    }
    console.log(`pipelined reads (slow reader): ${answered} of ${READS} pages in ${Math.round(performance.now() - started)} ms`);
    expect(server.logger.closeReasons()).toEqual([]);
    expect(answered).toBe(READS);
  });
});

describe('hostile input - frame assembly budget', () => {
  it('hostile input - the connection whose unfinished frame would pass FRAME_ASSEMBLY_BYTES_MAX is closed; the others go on', async () => {
    const BUDGET = 1 * MiB;
    const server = await startServer({ limits: { frameAssemblyBytesMax: BUDGET } });
    const tcp = server.server;
    // A holds 300 KiB of a 400 KiB Ping: its assembly buffer is at most 400 KiB.
    const a = await server.connect();
    const aPing = frameOf(TcpCommand.Ping, new Uint8Array(400 * 1024 - 18).fill(1));
    a.write(aPing.frame.subarray(0, 300 * 1024));
    await waitFor(() => tcp.frameAssemblyBytes > 256 * 1024, 10_000);
    // B sends 900 KiB of a 1000 KiB frame: more than the 1 MiB budget leaves beside A.
    const b = await server.connect({ answerHeartbeats: false });
    const bPing = frameOf(TcpCommand.Ping, new Uint8Array(1000 * 1024 - 18).fill(2));
    b.write(bPing.frame.subarray(0, 900 * 1024));
    await b.waitForClose();
    const reasons = await server.waitForCloseReasons(1);
    console.log(`frame assembly budget: ${reasons[0]}`);
    expect(reasons).toEqual([expect.stringMatching(new RegExp(`^unfinished frames of all connections would pass ${BUDGET} bytes \\(FRAME_ASSEMBLY_BYTES_MAX; \\d+ held by the others\\): ASSEMBLY_REFUSED: no room to assemble a frame of ${1000 * 1024} bytes`))]);
    expect(b.answers()).toEqual([]);
    expect(tcp.frameAssemblyBytes).toBeLessThanOrEqual(400 * 1024);
    // A finishes its frame and is answered; the budget is free again for a frame as big as B's.
    a.write(aPing.frame.subarray(300 * 1024));
    const pong = await a.waitForPackage('A\'s Pong', (p) => p.correlationId === aPing.correlationId);
    expect(pong.payload.length).toBe(400 * 1024 - 18);
    expect(tcp.frameAssemblyBytes).toBe(0);
    const c = await server.connect();
    const cPing = frameOf(TcpCommand.Ping, new Uint8Array(1000 * 1024 - 18).fill(3));
    for (let at = 0; at < cPing.frame.length; at += 100 * 1024) {
      c.write(cPing.frame.subarray(at, at + 100 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect((await c.waitForPackage('C\'s Pong', (p) => p.correlationId === cPing.correlationId)).payload.length).toBe(1000 * 1024 - 18);
    await wellBehavedRoundTrip(server);
    expect(server.logger.closeReasons()).toHaveLength(1);
    expect(server.logger.otherWarnings()).toEqual([]);
  });

  it('hostile input - a connection that ends mid-frame gives its assembly bytes back', async () => {
    const server = await startServer({ limits: { frameAssemblyBytesMax: 1 * MiB, frameCompletionMsMax: 200 } });
    const tcp = server.server;
    const ping = frameOf(TcpCommand.Ping, new Uint8Array(600 * 1024).fill(1));
    // One hangs up, one is cut off by the frame timeout, one is refused at the budget.
    const hangsUp = await server.connect();
    hangsUp.write(ping.frame.subarray(0, 500 * 1024));
    await waitFor(() => tcp.frameAssemblyBytes > 0, 10_000);
    await hangsUp.close();
    await server.waitForCloseReasons(1);
    expect(tcp.frameAssemblyBytes).toBe(0);
    const stalls = await server.connect({ answerHeartbeats: false });
    stalls.write(ping.frame.subarray(0, 500 * 1024));
    await stalls.waitForClose();
    expect(tcp.frameAssemblyBytes).toBe(0);
    const reasons = await server.waitForCloseReasons(2);
    expect(reasons[0]).toMatch(/^the peer closed the connection in the middle of a frame/);
    expect(reasons[1]).toMatch(/^a frame was not completed within 200 ms/);
    await wellBehavedRoundTrip(server);
  });
});

describe('hostile input - answers too big for one frame', () => {
  it('hostile input - a read whose page would pass FRAME_BYTES_MAX comes back a page of READ_PAGE_BYTES_MAX at a time, never built whole', async () => {
    // A real directory: the events are 13.5 MiB each, too big for a simulated disk to hold cheaply.
    const store = await EventStore.open(tempDir('annal-hostile-'), {});
    const logger = new CapturingLogger();
    const server = await TcpServer.start(store, { host: '127.0.0.1', port: 0, logger, authenticator: { authenticate: async () => null } });
    const client = await RawClient.connect(server.port);
    try {
      // Five events of 13.5 MiB: one page of all five would be 67.5 MiB, over the 64 MiB frame limit.
      for (let i = 0; i < 5; i++) {
        const event = newEvent('Huge', new Uint8Array(13.5 * MiB).fill(i));
        const reply = await client.request(TcpCommand.WriteEvents, messages.WriteEvents.encode({ eventStreamId: 'huge', expectedVersion: -2n, events: [event], requireLeader: false }), {}, 30_000);
        expect(messages.WriteEventsCompleted.decode(reply.payload).result).toBe(0);
      }
      // Each page holds one event (13.5 MiB is over the 8 MiB budget, and a page holds at least one):
      // the client pages on from next_event_number until the end.
      const seen: number[] = [];
      for (let from = 0n, end = false; !end;) {
        const reply = await client.request(TcpCommand.ReadStreamEventsForward, messages.ReadStreamEvents.encode({ eventStreamId: 'huge', fromEventNumber: from, maxCount: 5, resolveLinkTos: false, requireLeader: false }), {}, 30_000);
        const page = messages.ReadStreamEventsCompleted.decode(reply.payload);
        expect(page.result).toBe(ReadStreamResult.Success);
        expect(page.events).toHaveLength(1);
        seen.push(page.events[0].event!.data![0]);
        from = page.nextEventNumber;
        end = page.isEndOfStream;
        expect(seen.length).toBeLessThanOrEqual(5);
      }
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      expect(client.closed).toBe(false);
    } finally {
      await client.close();
      await server.close();
      await store.close();
    }
  });

  it('hostile input - pages cut by readPageBytesMax: stream forwards and backwards, $all, filtered $all; short pages at the real end still end', async () => {
    const server = await startServer({ limits: { readPageBytesMax: 64 * 1024 } });
    const client = await server.connect();
    // 40 events of 10 KiB in 'big' (6 fit 64 KiB), then 'small' with 3 tiny ones.
    for (let i = 0; i < 40; i++) {
      const reply = await client.request(TcpCommand.WriteEvents, messages.WriteEvents.encode({ eventStreamId: 'big', expectedVersion: -2n, events: [newEvent('Big', new Uint8Array(10 * 1024).fill(i))], requireLeader: false }));
      expect(messages.WriteEventsCompleted.decode(reply.payload).result).toBe(OperationResult.Success);
    }
    for (let i = 0; i < 3; i++) await client.request(TcpCommand.WriteEvents, writeEventsPayload('small'));
    const readStream = async (stream: string, from: bigint, maxCount: number, forwards: boolean) => messages.ReadStreamEventsCompleted.decode((await client.request(
      forwards ? TcpCommand.ReadStreamEventsForward : TcpCommand.ReadStreamEventsBackward,
      messages.ReadStreamEvents.encode({ eventStreamId: stream, fromEventNumber: from, maxCount, resolveLinkTos: false, requireLeader: false }),
    )).payload);
    const forwards = await readStream('big', 0n, 100, true);
    expect([forwards.events.length, forwards.nextEventNumber, forwards.isEndOfStream]).toEqual([6, 6n, false]);
    const tail = await readStream('big', 36n, 100, true);
    expect([tail.events.length, tail.nextEventNumber, tail.isEndOfStream]).toEqual([4, 40n, true]);
    const backwards = await readStream('big', -1n, 100, false);
    expect([backwards.events.length, backwards.nextEventNumber, backwards.isEndOfStream]).toEqual([6, 33n, false]);
    const head = await readStream('big', 3n, 100, false);
    expect([head.events.length, head.nextEventNumber, head.isEndOfStream]).toEqual([4, -1n, true]);
    const small = await readStream('small', 0n, 100, true);
    expect([small.events.length, small.isEndOfStream]).toEqual([3, true]);
    const all = messages.ReadAllEventsCompleted.decode((await client.request(TcpCommand.ReadAllEventsForward, readAllPayload(4096), ADMIN)).payload);
    expect(all.events.length).toBe(6);
    const filtered = messages.FilteredReadAllEventsCompleted.decode((await client.request(TcpCommand.FilteredReadAllEventsForward, messages.FilteredReadAllEvents.encode({
      commitPosition: 0n, preparePosition: 0n, maxCount: 4096, maxSearchWindow: 4096, resolveLinkTos: false, requireLeader: false,
      filter: { context: 0, type: 1, data: ['big'] },
    }), ADMIN)).payload);
    // Found events stop once they reach the budget: the seventh takes them past 64 KiB.
    expect(filtered.events.length).toBe(7);
    expect(filtered.isEndOfStream).toBe(false);
    await client.close();
  });
});

/** The soft and hard limits on open files of this process (Linux), or null where unknown. */
function openFileLimits(): { soft: number; hard: number } | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.slice('Max open files'.length).trim().split(/\s+/);
    const value = (v: string) => (v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v));
    return { soft: value(soft), hard: value(hard) };
  } catch {
    return null;
  }
}

/**
 * How many idle connections this machine lets the test open: each costs two descriptors (both
 * ends live in this process). Node cannot call setrlimit, so a soft limit below what is needed is
 * raised with util-linux `prlimit` where the hard limit allows; otherwise the count is scaled down.
 */
function idleConnectionBudget(wanted: number): number {
  const needed = 2 * wanted + 1000;
  let limits = openFileLimits();
  if (limits === null) return wanted;
  if (limits.soft < needed && limits.hard > limits.soft) {
    try {
      const raised = Math.min(limits.hard, needed);
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${raised}:${limits.hard}`], { stdio: 'pipe' });
      limits = openFileLimits() ?? limits;
    } catch (error) {
      console.log(`idle connections: could not raise the open-file limit: ${(error as Error).message}`);
    }
  }
  if (limits.soft >= needed) return wanted;
  const scaled = Math.max(100, Math.floor((limits.soft - 1000) / 2));
  console.log(`idle connections: the open-file limit is ${limits.soft} (hard ${limits.hard}); scaled down from ${wanted} to ${scaled} connections`);
  return scaled;
}

describe('hostile input - many idle connections', () => {
  it('hostile input - 5,000 idle connections do not slow a well-behaved client', async () => {
    const count = idleConnectionBudget(5000);
    const server = await startServer();
    const alone = await wellBehavedRoundTrip(server);
    const idle: RawClient[] = [];
    const openStarted = performance.now();
    // In waves, so the listen backlog (511) never overflows into SYN retries.
    const WAVE = 250;
    while (idle.length < count) {
      idle.push(...(await Promise.all(Array.from({ length: Math.min(WAVE, count - idle.length) }, () => server.connect()))));
    }
    const openMs = performance.now() - openStarted;
    const deadline = Date.now() + 10_000;
    while (server.server.connectionCount < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.server.connectionCount).toBe(count);
    const fresh: number[] = [];
    for (let i = 0; i < 3; i++) fresh.push(await wellBehavedRoundTrip(server));
    // Past HEARTBEAT_INTERVAL_MS every idle connection gets a HeartbeatRequest (and answers it):
    // measure again while that traffic flows.
    await Promise.all(idle.map((c) => c.waitForPackage('a heartbeat request', (p) => p.command === TcpCommand.HeartbeatRequestCommand, 15_000)));
    const heartbeating: number[] = [];
    for (let i = 0; i < 3; i++) heartbeating.push(await wellBehavedRoundTrip(server));
    const rounded = (values: number[]) => values.map((v) => Math.round(v)).join(', ');
    console.log(
      `idle connections: ${count} opened in ${Math.round(openMs)} ms; round trip alone ${Math.round(alone)} ms, ` +
        `with them idle [${rounded(fresh)}] ms, while they exchange heartbeats [${rounded(heartbeating)}] ms`,
    );
    expect(Math.max(...fresh, ...heartbeating)).toBeLessThan(5_000);
    expect(idle.filter((c) => c.closed)).toHaveLength(0);
    expect(server.logger.closeReasons()).toEqual([]);
  }, 120_000);
});

describe('hostile input - server limits', () => {
  it('hostile input - TcpServer.start refuses limits that are not positive integers or not limits', async () => {
    const { store } = await startServer();
    const start = (limits: object) => TcpServer.start(store, { port: 0, logger: new CapturingLogger(), authenticator: { authenticate: async () => null }, limits });
    await expect(start({ frameCompletionMsMax: 0 })).rejects.toThrow(/limits\.frameCompletionMsMax must be a positive integer, got 0/);
    await expect(start({ sendQueueBytesMax: 1.5 })).rejects.toThrow(/limits\.sendQueueBytesMax must be a positive integer/);
    await expect(start({ connectionsMax: 5 })).rejects.toThrow(/limits\.connectionsMax is not a server limit/);
    await expect(start({ readsInFlightMax: 0 })).rejects.toThrow(/limits\.readsInFlightMax must be a positive integer, got 0/);
    await expect(start({ readStartQueueBytesMax: -1 })).rejects.toThrow(/limits\.readStartQueueBytesMax must be a positive integer/);
    await expect(start({ frameAssemblyBytesMax: 2 ** 60 })).rejects.toThrow(/limits\.frameAssemblyBytesMax must be a positive integer/);
  });
});
