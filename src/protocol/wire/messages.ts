// Typed encode/decode of every ClientMessageDtos message, and which payload each TcpCommand carries
// (format-spec/protocol.md §6.1, §7). int64 fields are bigint throughout.

import { TcpCommand, commandName, isInternalCommand } from './commands.js';
import { messageCodec, type MessageCodec } from './messages-codec.js';
import type { Decoded, MessageName, MessageTypes } from './messages-types.js';
import { REQUIRED_FIELDS_5X } from './required-fields.js';
import { WireError } from './wire-error.js';

export type { MessageCodec } from './messages-codec.js';
export * from './messages-types.js';

type Codecs = { readonly [K in MessageName]: MessageCodec<MessageTypes[K]> };

function buildCodecs(): Codecs {
  const codecs: Partial<Record<MessageName, unknown>> = {};
  for (const name of Object.keys(REQUIRED_FIELDS_5X) as MessageName[]) codecs[name] = messageCodec(name);
  return codecs as Codecs;
}

/** `messages.WriteEvents.decode(payload)`, `messages.WriteEventsCompleted.encode({...})`, … */
export const messages: Codecs = buildCodecs();

/** What a command's payload is: a protobuf message, nothing, UTF-8 text, or opaque bytes (Ping/Pong). */
export type PayloadKind = { readonly kind: 'message'; readonly name: MessageName } | { readonly kind: 'empty' | 'text' | 'bytes' };

const message = (name: MessageName): PayloadKind => ({ kind: 'message', name });
const EMPTY: PayloadKind = { kind: 'empty' };

/** §6.1: the payload of every client-protocol command. 0xD1 uses the 20.x+ ScavengeDatabaseResponse. */
export const COMMAND_PAYLOADS: ReadonlyMap<number, PayloadKind> = new Map<number, PayloadKind>([
  [TcpCommand.HeartbeatRequestCommand, EMPTY],
  [TcpCommand.HeartbeatResponseCommand, EMPTY],
  [TcpCommand.Ping, { kind: 'bytes' }],
  [TcpCommand.Pong, { kind: 'bytes' }],
  [TcpCommand.WriteEvents, message('WriteEvents')],
  [TcpCommand.WriteEventsCompleted, message('WriteEventsCompleted')],
  [TcpCommand.TransactionStart, message('TransactionStart')],
  [TcpCommand.TransactionStartCompleted, message('TransactionStartCompleted')],
  [TcpCommand.TransactionWrite, message('TransactionWrite')],
  [TcpCommand.TransactionWriteCompleted, message('TransactionWriteCompleted')],
  [TcpCommand.TransactionCommit, message('TransactionCommit')],
  [TcpCommand.TransactionCommitCompleted, message('TransactionCommitCompleted')],
  [TcpCommand.DeleteStream, message('DeleteStream')],
  [TcpCommand.DeleteStreamCompleted, message('DeleteStreamCompleted')],
  [TcpCommand.ReadEvent, message('ReadEvent')],
  [TcpCommand.ReadEventCompleted, message('ReadEventCompleted')],
  [TcpCommand.ReadStreamEventsForward, message('ReadStreamEvents')],
  [TcpCommand.ReadStreamEventsForwardCompleted, message('ReadStreamEventsCompleted')],
  [TcpCommand.ReadStreamEventsBackward, message('ReadStreamEvents')],
  [TcpCommand.ReadStreamEventsBackwardCompleted, message('ReadStreamEventsCompleted')],
  [TcpCommand.ReadAllEventsForward, message('ReadAllEvents')],
  [TcpCommand.ReadAllEventsForwardCompleted, message('ReadAllEventsCompleted')],
  [TcpCommand.ReadAllEventsBackward, message('ReadAllEvents')],
  [TcpCommand.ReadAllEventsBackwardCompleted, message('ReadAllEventsCompleted')],
  [TcpCommand.FilteredReadAllEventsForward, message('FilteredReadAllEvents')],
  [TcpCommand.FilteredReadAllEventsForwardCompleted, message('FilteredReadAllEventsCompleted')],
  [TcpCommand.FilteredReadAllEventsBackward, message('FilteredReadAllEvents')],
  [TcpCommand.FilteredReadAllEventsBackwardCompleted, message('FilteredReadAllEventsCompleted')],
  [TcpCommand.SubscribeToStream, message('SubscribeToStream')],
  [TcpCommand.SubscriptionConfirmation, message('SubscriptionConfirmation')],
  [TcpCommand.StreamEventAppeared, message('StreamEventAppeared')],
  [TcpCommand.UnsubscribeFromStream, message('UnsubscribeFromStream')],
  [TcpCommand.SubscriptionDropped, message('SubscriptionDropped')],
  [TcpCommand.ConnectToPersistentSubscription, message('ConnectToPersistentSubscription')],
  [TcpCommand.PersistentSubscriptionConfirmation, message('PersistentSubscriptionConfirmation')],
  [TcpCommand.PersistentSubscriptionStreamEventAppeared, message('PersistentSubscriptionStreamEventAppeared')],
  [TcpCommand.CreatePersistentSubscription, message('CreatePersistentSubscription')],
  [TcpCommand.CreatePersistentSubscriptionCompleted, message('CreatePersistentSubscriptionCompleted')],
  [TcpCommand.DeletePersistentSubscription, message('DeletePersistentSubscription')],
  [TcpCommand.DeletePersistentSubscriptionCompleted, message('DeletePersistentSubscriptionCompleted')],
  [TcpCommand.PersistentSubscriptionAckEvents, message('PersistentSubscriptionAckEvents')],
  [TcpCommand.PersistentSubscriptionNakEvents, message('PersistentSubscriptionNakEvents')],
  [TcpCommand.UpdatePersistentSubscription, message('UpdatePersistentSubscription')],
  [TcpCommand.UpdatePersistentSubscriptionCompleted, message('UpdatePersistentSubscriptionCompleted')],
  [TcpCommand.ScavengeDatabase, message('ScavengeDatabase')],
  [TcpCommand.ScavengeDatabaseResponse, message('ScavengeDatabaseResponse')],
  [TcpCommand.FilteredSubscribeToStream, message('FilteredSubscribeToStream')],
  [TcpCommand.CheckpointReached, message('CheckpointReached')],
  [TcpCommand.BadRequest, { kind: 'text' }],
  [TcpCommand.NotHandled, message('NotHandled')],
  [TcpCommand.Authenticate, EMPTY],
  [TcpCommand.Authenticated, EMPTY],
  [TcpCommand.NotAuthenticated, { kind: 'text' }],
  [TcpCommand.IdentifyClient, message('IdentifyClient')],
  [TcpCommand.ClientIdentified, message('ClientIdentified')],
]);

export type DecodedPayload =
  | { readonly kind: 'empty' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly [K in MessageName]: { readonly kind: 'message'; readonly name: K; readonly message: Decoded<MessageTypes[K]> } }[MessageName];

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Decodes the payload of a package by its command. An 'empty' command ignores any bytes it
 * carries (as EventStoreDB does); text is UTF-8 with U+FFFD for invalid sequences. Throws only
 * WireError: UNKNOWN_COMMAND, UNSUPPORTED_COMMAND (internal cluster commands), BAD_PROTOBUF,
 * PROTOBUF_LIMIT.
 */
export function decodePayload(command: number, payload: Uint8Array): DecodedPayload {
  const kind = COMMAND_PAYLOADS.get(command);
  if (kind === undefined) {
    if (isInternalCommand(command)) throw new WireError('UNSUPPORTED_COMMAND', `${commandName(command)} is not accepted from clients`);
    throw new WireError('UNKNOWN_COMMAND', commandName(command));
  }
  switch (kind.kind) {
    case 'empty':
      return { kind: 'empty' };
    case 'text':
      return { kind: 'text', text: lenientUtf8.decode(payload) };
    case 'bytes':
      return { kind: 'bytes', bytes: payload };
    case 'message': {
      const codec = messages[kind.name] as MessageCodec<unknown>;
      return { kind: 'message', name: kind.name, message: codec.decode(payload) } as DecodedPayload;
    }
  }
}
