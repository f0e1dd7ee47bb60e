// TcpCommand codes of EventStoreDB's TCP client protocol (format-spec/protocol.md §6.1): the first
// byte of every package. Names follow the 23.10 server enum; 0xBD is unused upstream.

export const TcpCommand = {
  HeartbeatRequestCommand: 0x01,
  HeartbeatResponseCommand: 0x02,
  Ping: 0x03,
  Pong: 0x04,

  WriteEvents: 0x82,
  WriteEventsCompleted: 0x83,
  TransactionStart: 0x84,
  TransactionStartCompleted: 0x85,
  TransactionWrite: 0x86,
  TransactionWriteCompleted: 0x87,
  TransactionCommit: 0x88,
  TransactionCommitCompleted: 0x89,
  DeleteStream: 0x8a,
  DeleteStreamCompleted: 0x8b,

  ReadEvent: 0xb0,
  ReadEventCompleted: 0xb1,
  ReadStreamEventsForward: 0xb2,
  ReadStreamEventsForwardCompleted: 0xb3,
  ReadStreamEventsBackward: 0xb4,
  ReadStreamEventsBackwardCompleted: 0xb5,
  ReadAllEventsForward: 0xb6,
  ReadAllEventsForwardCompleted: 0xb7,
  ReadAllEventsBackward: 0xb8,
  ReadAllEventsBackwardCompleted: 0xb9,
  FilteredReadAllEventsForward: 0xba,
  FilteredReadAllEventsForwardCompleted: 0xbb,
  FilteredReadAllEventsBackward: 0xbc,
  FilteredReadAllEventsBackwardCompleted: 0xbe,

  SubscribeToStream: 0xc0,
  SubscriptionConfirmation: 0xc1,
  StreamEventAppeared: 0xc2,
  UnsubscribeFromStream: 0xc3,
  SubscriptionDropped: 0xc4,
  ConnectToPersistentSubscription: 0xc5,
  PersistentSubscriptionConfirmation: 0xc6,
  PersistentSubscriptionStreamEventAppeared: 0xc7,
  CreatePersistentSubscription: 0xc8,
  CreatePersistentSubscriptionCompleted: 0xc9,
  DeletePersistentSubscription: 0xca,
  DeletePersistentSubscriptionCompleted: 0xcb,
  PersistentSubscriptionAckEvents: 0xcc,
  PersistentSubscriptionNakEvents: 0xcd,
  UpdatePersistentSubscription: 0xce,
  UpdatePersistentSubscriptionCompleted: 0xcf,

  ScavengeDatabase: 0xd0,
  ScavengeDatabaseResponse: 0xd1,
  FilteredSubscribeToStream: 0xd2,
  CheckpointReached: 0xd3,

  BadRequest: 0xf0,
  NotHandled: 0xf1,
  Authenticate: 0xf2,
  Authenticated: 0xf3,
  NotAuthenticated: 0xf4,
  IdentifyClient: 0xf5,
  ClientIdentified: 0xf6,
} as const;

export type TcpCommandName = keyof typeof TcpCommand;
export type TcpCommandCode = (typeof TcpCommand)[TcpCommandName];

/**
 * Node-to-node commands of an EventStoreDB cluster. They never arrive from a client; a server that
 * sees one on the client interface answers BadRequest. 0x80/0x81 (CreateStream) are retired.
 */
export const INTERNAL_COMMAND_NAMES: ReadonlyMap<number, string> = new Map([
  [0x05, 'PrepareAck'],
  [0x06, 'CommitAck'],
  [0x07, 'FollowerAssignment'],
  [0x08, 'CloneAssignment'],
  [0x09, 'DropSubscription'],
  [0x10, 'SubscribeReplica'],
  [0x11, 'ReplicaLogPositionAck'],
  [0x12, 'CreateChunk'],
  [0x13, 'RawChunkBulk'],
  [0x14, 'DataChunkBulk'],
  [0x15, 'ReplicaSubscriptionRetry'],
  [0x16, 'ReplicaSubscribed'],
  [0x17, 'Internal0x17'],
  [0x80, 'CreateStream(retired)'],
  [0x81, 'CreateStreamCompleted(retired)'],
]);

const NAMES = new Map<number, TcpCommandName>(
  (Object.entries(TcpCommand) as [TcpCommandName, number][]).map(([name, code]) => [code, name]),
);

/** Commands a client sends to a server and a server must accept (both-way commands included). */
const CLIENT_REQUESTS: ReadonlySet<number> = new Set<number>([
  TcpCommand.HeartbeatRequestCommand,
  TcpCommand.HeartbeatResponseCommand,
  TcpCommand.Ping,
  TcpCommand.WriteEvents,
  TcpCommand.TransactionStart,
  TcpCommand.TransactionWrite,
  TcpCommand.TransactionCommit,
  TcpCommand.DeleteStream,
  TcpCommand.ReadEvent,
  TcpCommand.ReadStreamEventsForward,
  TcpCommand.ReadStreamEventsBackward,
  TcpCommand.ReadAllEventsForward,
  TcpCommand.ReadAllEventsBackward,
  TcpCommand.FilteredReadAllEventsForward,
  TcpCommand.FilteredReadAllEventsBackward,
  TcpCommand.SubscribeToStream,
  TcpCommand.UnsubscribeFromStream,
  TcpCommand.ConnectToPersistentSubscription,
  TcpCommand.CreatePersistentSubscription,
  TcpCommand.DeletePersistentSubscription,
  TcpCommand.PersistentSubscriptionAckEvents,
  TcpCommand.PersistentSubscriptionNakEvents,
  TcpCommand.UpdatePersistentSubscription,
  TcpCommand.ScavengeDatabase,
  TcpCommand.FilteredSubscribeToStream,
  TcpCommand.BadRequest,
  TcpCommand.Authenticate,
  TcpCommand.IdentifyClient,
]);

/** The command's name for logs: "WriteEvents", "SubscribeReplica(internal)" or "Unknown(0x99)". */
export function commandName(code: number): string {
  const name = NAMES.get(code);
  if (name !== undefined) return name;
  const internal = INTERNAL_COMMAND_NAMES.get(code);
  if (internal !== undefined) return `${internal}(internal)`;
  return `Unknown(0x${(code & 0xff).toString(16).padStart(2, '0')})`;
}

/** True for a code of the client protocol (either direction); false for internal and unknown codes. */
export function isClientProtocolCommand(code: number): code is TcpCommandCode {
  return NAMES.has(code);
}

/** True for the commands a client sends and a server handles (heartbeats and BadRequest included). */
export function isClientRequest(code: number): boolean {
  return CLIENT_REQUESTS.has(code);
}

/** True for the node-to-node cluster commands (and the retired CreateStream pair). */
export function isInternalCommand(code: number): boolean {
  return INTERNAL_COMMAND_NAMES.has(code);
}
