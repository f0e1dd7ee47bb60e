import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TcpCommand } from '../../../src/protocol/wire/commands.js';
import { protoRoot } from '../../../src/protocol/wire/messages-codec.js';
import { MESSAGES_PROTO_TEXT } from '../../../src/protocol/wire/messages-proto.js';
import * as wire from '../../../src/protocol/wire/messages.js';
import { COMMAND_PAYLOADS, decodePayload, messages, type MessageCodec, type MessageName } from '../../../src/protocol/wire/messages.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { PROTOBUF_ELEMENTS_MAX } from '../../../src/protocol/wire/wire-limits.js';
import { propertyParams } from '../../support/random.js';
import { fieldNumbers, readRawFields, subMessage } from './protobuf-tags.js';
import { INT64_MAX, INT64_MIN, MESSAGE_NAMES, expectedDecoded, messageArbitrary, protoTypeOf } from './wire-arbitraries.js';

const codec = (name: MessageName): MessageCodec<unknown> => messages[name] as MessageCodec<unknown>;
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));

function wireCode(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

/**
 * The fields each message must carry on the wire even when empty: the `required` labels of the 5.x
 * proto2 file as shipped in esjc (written out here independently of src/.../required-fields.ts).
 */
const REQUIRED_ON_WIRE: Partial<Record<MessageName, number[]>> = {
  NewEvent: [1, 2, 3, 4, 5],
  EventRecord: [1, 2, 3, 4, 5, 6, 7],
  ResolvedEvent: [3, 4],
  WriteEvents: [1, 2, 4],
  WriteEventsCompleted: [1, 3, 4],
  DeleteStream: [1, 2, 3],
  DeleteStreamCompleted: [1],
  TransactionStart: [1, 2, 3],
  TransactionStartCompleted: [1, 2],
  TransactionWrite: [1, 3],
  TransactionWriteCompleted: [1, 2],
  TransactionCommit: [1, 2],
  TransactionCommitCompleted: [1, 2, 4, 5],
  ReadEvent: [1, 2, 3, 4],
  ReadEventCompleted: [1, 2],
  ReadStreamEvents: [1, 2, 3, 4, 5],
  ReadStreamEventsCompleted: [2, 3, 4, 5, 6],
  ReadAllEvents: [1, 2, 3, 4, 5],
  ReadAllEventsCompleted: [1, 2, 4, 5],
  CreatePersistentSubscription: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  UpdatePersistentSubscription: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  DeletePersistentSubscription: [1, 2],
  CreatePersistentSubscriptionCompleted: [1],
  UpdatePersistentSubscriptionCompleted: [1],
  DeletePersistentSubscriptionCompleted: [1],
  ConnectToPersistentSubscription: [1, 2, 3],
  PersistentSubscriptionAckEvents: [1],
  PersistentSubscriptionNakEvents: [1, 4],
  PersistentSubscriptionConfirmation: [1, 2],
  PersistentSubscriptionStreamEventAppeared: [1],
  SubscribeToStream: [1, 2],
  SubscriptionConfirmation: [1],
  StreamEventAppeared: [1],
  NotHandled: [1],
  LeaderInfo: [1, 2, 3, 4],
  ScavengeDatabaseCompleted: [1, 3, 4],
  IdentifyClient: [1],
};

/** A value with every field explicitly set to its default (what a careless proto3 encoder omits). */
function allDefaults(name: MessageName): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of protoTypeOf(name).fieldsArray) {
    if (field.repeated || field.resolvedType !== null && !('values' in field.resolvedType)) continue;
    value[field.name] = field.type === 'int64' ? 0n : field.type === 'bool' ? false : field.type === 'string' ? '' : field.type === 'bytes' ? new Uint8Array(0) : 0;
  }
  return value;
}

describe('messages', () => {
  test('messages - messages.proto and the constant protobufjs parses are the same text', () => {
    const file = readFileSync(new URL('../../../src/protocol/wire/messages.proto', import.meta.url), 'utf8');
    expect(MESSAGES_PROTO_TEXT).toBe(file);
  });

  test('messages - the exported enums match the .proto', () => {
    const pairs: [Record<string, number>, string][] = [
      [wire.OperationResult, 'OperationResult'],
      [wire.ReadEventResult, 'ReadEventCompleted.ReadEventResult'],
      [wire.ReadStreamResult, 'ReadStreamEventsCompleted.ReadStreamResult'],
      [wire.ReadAllResult, 'ReadAllEventsCompleted.ReadAllResult'],
      [wire.FilteredReadAllResult, 'FilteredReadAllEventsCompleted.FilteredReadAllResult'],
      [wire.FilterContext, 'Filter.FilterContext'],
      [wire.FilterType, 'Filter.FilterType'],
      [wire.CreatePersistentSubscriptionResult, 'CreatePersistentSubscriptionCompleted.CreatePersistentSubscriptionResult'],
      [wire.UpdatePersistentSubscriptionResult, 'UpdatePersistentSubscriptionCompleted.UpdatePersistentSubscriptionResult'],
      [wire.DeletePersistentSubscriptionResult, 'DeletePersistentSubscriptionCompleted.DeletePersistentSubscriptionResult'],
      [wire.NakAction, 'PersistentSubscriptionNakEvents.NakAction'],
      [wire.SubscriptionDropReason, 'SubscriptionDropped.SubscriptionDropReason'],
      [wire.NotHandledReason, 'NotHandled.NotHandledReason'],
      [wire.ScavengeResult, 'ScavengeDatabaseResponse.ScavengeResult'],
      [wire.ScavengeCompletedResult, 'ScavengeDatabaseCompleted.ScavengeResult'],
    ];
    for (const [constants, path] of pairs) {
      expect(constants, path).toEqual(protoRoot().lookupEnum(`EventStore.Client.Messages.${path}`).values);
    }
  });

  test('messages - every command with a protobuf payload names a message that has a codec', () => {
    for (const [command, kind] of COMMAND_PAYLOADS) {
      if (kind.kind === 'message') expect(messages[kind.name].name, `command 0x${command.toString(16)}`).toBe(kind.name);
    }
    expect(Object.keys(messages).sort()).toEqual([...MESSAGE_NAMES].sort());
  });

  for (const name of MESSAGE_NAMES) {
    test(`messages - ${name}: decode(encode(value)) gives the value back, with defaults for absent fields`, () => {
      const type = protoTypeOf(name);
      fc.assert(
        fc.property(messageArbitrary(type), (value) => {
          const decoded = codec(name).decode(codec(name).encode(value));
          expect(decoded).toEqual(expectedDecoded(type, value));
        }),
        propertyParams(150),
      );
    });
  }

  test('messages - int64 extremes survive: int64 max, -1, -2, -4 and int64 min', () => {
    for (const n of [INT64_MAX, -1n, -2n, -4n, INT64_MIN, 2n ** 53n + 1n]) {
      const bytes = messages.WriteEvents.encode({ eventStreamId: 's', expectedVersion: n, events: [], requireLeader: true });
      expect(messages.WriteEvents.decode(bytes).expectedVersion).toBe(n);
      const raw = readRawFields(bytes).find((f) => f.field === 2);
      expect(BigInt.asIntN(64, raw?.value as bigint)).toBe(n);
    }
  });

  test('messages - 5.x-required fields are on the wire even when they hold defaults or are left out', () => {
    for (const name of MESSAGE_NAMES) {
      const expected = REQUIRED_ON_WIRE[name] ?? [];
      // Left out entirely: exactly the required fields appear.
      expect(fieldNumbers(codec(name).encode({})), `${name} from {}`).toEqual(expected);
      // Set to defaults explicitly: the required ones are among them.
      const present = fieldNumbers(codec(name).encode(allDefaults(name)));
      for (const field of expected) expect(present, `${name} with defaults`).toContain(field);
    }
  });

  test('messages - nested required fields are written too (events inside responses)', () => {
    const emptyRecord = {
      eventStreamId: '', eventNumber: 0n, eventId: new Uint8Array(0), eventType: '', dataContentType: 0, metadataContentType: 0, data: new Uint8Array(0),
    };
    const appeared = messages.StreamEventAppeared.encode({ event: { event: emptyRecord, commitPosition: 0n, preparePosition: 0n } });
    const resolved = subMessage(appeared, 1);
    expect(fieldNumbers(resolved)).toEqual([1, 3, 4]);
    expect(fieldNumbers(subMessage(resolved, 1))).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const page = messages.ReadStreamEventsCompleted.encode({
      events: [{ event: emptyRecord }], result: 0, nextEventNumber: 0n, lastEventNumber: 0n, isEndOfStream: false, lastCommitPosition: 0n,
    });
    expect(fieldNumbers(page)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fieldNumbers(subMessage(subMessage(page, 1), 1))).toEqual([1, 2, 3, 4, 5, 6, 7]);

    // ReadEventCompleted without an event carries an empty ResolvedIndexedEvent (field 2, length 0).
    const notFound = messages.ReadEventCompleted.encode({ result: wire.ReadEventResult.NotFound, event: {} });
    expect(Buffer.from(notFound).toString('hex')).toBe('08011200');

    const leader = messages.LeaderInfo.encode({ externalTcpAddress: '', externalTcpPort: 0, httpAddress: '', httpPort: 0 });
    const notLeader = messages.NotHandled.encode({ reason: wire.NotHandledReason.NotLeader, additionalInfo: leader });
    expect(fieldNumbers(subMessage(notLeader, 2))).toEqual([1, 2, 3, 4]);
  });

  test('messages - worked example bytes: WriteEventsCompleted', () => {
    const bytes = messages.WriteEventsCompleted.encode({ result: 0, firstEventNumber: 0n, lastEventNumber: 1n, preparePosition: 5n, commitPosition: 5n });
    expect(Buffer.from(bytes).toString('hex')).toBe('0800' + '1800' + '2001' + '2805' + '3005');
  });

  test('messages - decoded bytes fields are views of the payload', () => {
    const payload = messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: 's::g', processedEventIds: [new Uint8Array(16).fill(7)] });
    const decoded = messages.PersistentSubscriptionAckEvents.decode(payload);
    expect(decoded.processedEventIds[0].buffer).toBe(payload.buffer);
    expect(decoded.processedEventIds[0]).toEqual(new Uint8Array(16).fill(7));
  });

  test('messages - malformed protobuf is BAD_PROTOBUF, never another error', () => {
    const cases: [string, string][] = [
      ['0a05 01', 'length past the end'],
      ['10', 'varint cut'],
      ['1080808080808080808080 01', 'varint over 10 bytes'],
      ['0b 0c', 'group wire type 3'],
      ['0c', 'group end wire type 4'],
      ['0e 00', 'wire type 6'],
      ['00 00', 'field number 0'],
      ['12 01 00', 'known int64 field with wire type 2'],
      ['0801', 'known string field with wire type 0'],
    ];
    for (const [hex, why] of cases) expect(wireCode(() => messages.WriteEvents.decode(fromHex(hex))), why).toBe('BAD_PROTOBUF');
    // A 32-bit varint may have 1–5 bytes or 10 (a negative int32); 6 to 9 bytes is refused.
    expect(messages.ReadStreamEvents.decode(fromHex('18 ffffffffffffffffff01')).maxCount).toBe(-1);
    expect(messages.ReadStreamEvents.decode(fromHex('18 8180808000')).maxCount).toBe(1);
    expect(wireCode(() => messages.ReadStreamEvents.decode(fromHex('18 818080808000')))).toBe('BAD_PROTOBUF');
    // A tag whose varint exceeds 32 bits.
    expect(wireCode(() => messages.ReadStreamEvents.decode(fromHex('8080808010 00')))).toBe('BAD_PROTOBUF');
    // Malformed nested message.
    expect(wireCode(() => messages.WriteEvents.decode(fromHex('1a03 0a0501')))).toBe('BAD_PROTOBUF');
  });

  test('messages - unknown fields are skipped (varint, fixed64, fixed32, bytes)', () => {
    const known = messages.SubscribeToStream.encode({ eventStreamId: 'abc', resolveLinkTos: true });
    const unknown = fromHex('f801 05' + '99 01 0102030405060708' + 'a5 01 01020304' + 'aa01 02 ffff');
    const decoded = messages.SubscribeToStream.decode(new Uint8Array([...unknown, ...known]));
    expect(decoded).toEqual({ eventStreamId: 'abc', resolveLinkTos: true });
  });

  test('messages - more than PROTOBUF_ELEMENTS_MAX nested messages and repeated elements is PROTOBUF_LIMIT', () => {
    const ids = (n: number): Uint8Array => {
      const out = new Uint8Array(n * 2);
      for (let i = 0; i < n; i++) out[2 * i] = 0x12; // field 2, wire type 2, length 0
      return out;
    };
    expect(messages.PersistentSubscriptionAckEvents.decode(ids(PROTOBUF_ELEMENTS_MAX)).processedEventIds.length).toBe(PROTOBUF_ELEMENTS_MAX);
    expect(wireCode(() => messages.PersistentSubscriptionAckEvents.decode(ids(PROTOBUF_ELEMENTS_MAX + 1)))).toBe('PROTOBUF_LIMIT');
    const events = new Uint8Array(2 * (PROTOBUF_ELEMENTS_MAX + 1));
    for (let i = 0; i < PROTOBUF_ELEMENTS_MAX + 1; i++) events[2 * i] = 0x1a; // WriteEvents.events, empty
    expect(wireCode(() => messages.WriteEvents.decode(events))).toBe('PROTOBUF_LIMIT');
  });

  test('messages - random bytes into every decoder yield a message or a WireError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_NAMES), fc.uint8Array({ maxLength: 64 }), (name, bytes) => {
        try {
          codec(name).decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(WireError);
        }
      }),
      propertyParams(3000),
    );
  });

  test('messages - on protobuf-shaped random input the scan and protobufjs agree (no safety-net errors)', () => {
    const varint = fc.tuple(fc.integer({ min: 1, max: 11 }), fc.boolean()).chain(([length, terminated]) =>
      fc.uint8Array({ minLength: length, maxLength: length }).map((bytes) => bytes.map((b, i) => (i < length - 1 || !terminated ? b | 0x80 : b & 0x7f))));
    const tag = (field: number, wireType: number): Uint8Array => {
      const out: number[] = [];
      let v = field * 8 + wireType;
      while (v >= 0x80) {
        out.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      out.push(v);
      return new Uint8Array(out);
    };
    const message = fc.letrec<{ message: Uint8Array }>((tie) => ({
      message: fc
        .array(
          fc.oneof(
            fc.tuple(fc.integer({ min: 1, max: 18 }), varint).map(([f, v]) => [tag(f, 0), v]),
            fc.tuple(fc.integer({ min: 1, max: 18 }), fc.constantFrom(1, 5)).map(([f, w]) => [tag(f, w), new Uint8Array(w === 1 ? 8 : 4)]),
            fc.tuple(fc.integer({ min: 1, max: 18 }), fc.uint8Array({ maxLength: 12 })).map(([f, b]) => [tag(f, 2), new Uint8Array([b.length]), b]),
            fc.tuple(fc.integer({ min: 1, max: 18 }), tie('message')).map(([f, b]) => [tag(f, 2), new Uint8Array([b.length & 0x7f]), b]),
            fc.tuple(fc.integer({ min: 0, max: 2 ** 29 - 1 }), fc.integer({ min: 0, max: 7 })).map(([f, w]) => [tag(f, w)]),
          ),
          { maxLength: 6 },
        )
        .map((parts) => new Uint8Array(parts.flat().flatMap((p) => [...p]))),
    })).message;
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_NAMES), message, (name, bytes) => {
        try {
          codec(name).decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(WireError);
          expect((error as WireError).cause, (error as Error).message).toBeUndefined();
        }
      }),
      propertyParams(5000),
    );
  });

  test('messages - decodePayload by command: empty, text, bytes, messages, unknown and internal codes', () => {
    expect(decodePayload(TcpCommand.HeartbeatRequestCommand, new Uint8Array([1, 2]))).toEqual({ kind: 'empty' });
    expect(decodePayload(TcpCommand.BadRequest, new Uint8Array(Buffer.from('bad ✓')))).toEqual({ kind: 'text', text: 'bad ✓' });
    expect(decodePayload(TcpCommand.NotAuthenticated, new Uint8Array([0xff]))).toEqual({ kind: 'text', text: '\ufffd' });
    expect(decodePayload(TcpCommand.Ping, new Uint8Array([9]))).toEqual({ kind: 'bytes', bytes: new Uint8Array([9]) });
    const identify = decodePayload(TcpCommand.IdentifyClient, messages.IdentifyClient.encode({ version: 1, connectionName: 'ES-1' }));
    expect(identify).toEqual({ kind: 'message', name: 'IdentifyClient', message: { version: 1, connectionName: 'ES-1' } });
    expect(decodePayload(TcpCommand.ReadStreamEventsBackward, new Uint8Array(0))).toMatchObject({ kind: 'message', name: 'ReadStreamEvents' });
    expect(wireCode(() => decodePayload(0x99, new Uint8Array(0)))).toBe('UNKNOWN_COMMAND');
    expect(wireCode(() => decodePayload(0xbd, new Uint8Array(0)))).toBe('UNKNOWN_COMMAND');
    expect(wireCode(() => decodePayload(0x10, new Uint8Array(0)))).toBe('UNSUPPORTED_COMMAND');
  });
});
