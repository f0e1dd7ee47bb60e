// TypeScript shapes of the ClientMessageDtos messages (format-spec/protocol.md §7) and their enums.
// int64 fields are bigint (event numbers reach 2^63-1, expected versions go down to -4); int32 and
// enum fields are number; bytes are Uint8Array; GUID bytes are in .NET wire order (§4).

// ---- Enums (values as on the wire; messages.test.ts checks them against the parsed .proto) ----

export const OperationResult = {
  Success: 0, PrepareTimeout: 1, CommitTimeout: 2, ForwardTimeout: 3,
  WrongExpectedVersion: 4, StreamDeleted: 5, InvalidTransaction: 6, AccessDenied: 7,
} as const;
export const ReadEventResult = { Success: 0, NotFound: 1, NoStream: 2, StreamDeleted: 3, Error: 4, AccessDenied: 5 } as const;
export const ReadStreamResult = { Success: 0, NoStream: 1, StreamDeleted: 2, NotModified: 3, Error: 4, AccessDenied: 5 } as const;
export const ReadAllResult = { Success: 0, NotModified: 1, Error: 2, AccessDenied: 3 } as const;
export const FilteredReadAllResult = { Success: 0, NotModified: 1, Error: 2, AccessDenied: 3 } as const;
export const FilterContext = { StreamId: 0, EventType: 1 } as const;
export const FilterType = { Regex: 0, Prefix: 1 } as const;
export const CreatePersistentSubscriptionResult = { Success: 0, AlreadyExists: 1, Fail: 2, AccessDenied: 3 } as const;
export const UpdatePersistentSubscriptionResult = { Success: 0, DoesNotExist: 1, Fail: 2, AccessDenied: 3 } as const;
export const DeletePersistentSubscriptionResult = { Success: 0, DoesNotExist: 1, Fail: 2, AccessDenied: 3 } as const;
export const NakAction = { Unknown: 0, Park: 1, Retry: 2, Skip: 3, Stop: 4 } as const;
export const SubscriptionDropReason = {
  Unsubscribed: 0, AccessDenied: 1, NotFound: 2, PersistentSubscriptionDeleted: 3, SubscriberMaxCountReached: 4,
} as const;
export const NotHandledReason = { NotReady: 0, TooBusy: 1, NotLeader: 2, IsReadOnly: 3 } as const;
export const ScavengeResult = { Started: 0, InProgress: 1, Unauthorized: 2 } as const;
export const ScavengeCompletedResult = { Success: 0, InProgress: 1, Failed: 2 } as const;

// ---- Shared event messages (§7.2). `?` marks fields that were optional in 5.x. ----

export interface NewEvent {
  eventId: Uint8Array;
  eventType: string;
  dataContentType: number;
  metadataContentType: number;
  data: Uint8Array;
  metadata?: Uint8Array;
}

export interface EventRecord {
  eventStreamId: string;
  eventNumber: bigint;
  eventId: Uint8Array;
  eventType: string;
  dataContentType: number;
  metadataContentType: number;
  data: Uint8Array;
  metadata?: Uint8Array;
  /** .NET DateTime.ToBinary(): 100-ns ticks since 0001-01-01 with the UTC kind bit (bit 62). */
  created?: bigint;
  /** Milliseconds since the Unix epoch (the node client reads only this). */
  createdEpoch?: bigint;
}

export interface ResolvedIndexedEvent {
  event?: EventRecord;
  link?: EventRecord;
}

export interface ResolvedEvent {
  event?: EventRecord;
  link?: EventRecord;
  commitPosition: bigint;
  preparePosition: bigint;
}

// ---- Writes, deletes, transactions (§7.3) ----

export interface WriteEvents {
  eventStreamId: string;
  expectedVersion: bigint;
  events: readonly NewEvent[];
  requireLeader: boolean;
}
export interface WriteEventsCompleted {
  result: number;
  message?: string;
  firstEventNumber: bigint;
  lastEventNumber: bigint;
  preparePosition?: bigint;
  commitPosition?: bigint;
  currentVersion?: bigint;
}
export interface DeleteStream {
  eventStreamId: string;
  expectedVersion: bigint;
  requireLeader: boolean;
  hardDelete?: boolean;
}
export interface DeleteStreamCompleted {
  result: number;
  message?: string;
  preparePosition?: bigint;
  commitPosition?: bigint;
  currentVersion?: bigint;
}
export interface TransactionStart {
  eventStreamId: string;
  expectedVersion: bigint;
  requireLeader: boolean;
}
export interface TransactionStartCompleted {
  transactionId: bigint;
  result: number;
  message?: string;
}
export interface TransactionWrite {
  transactionId: bigint;
  events: readonly NewEvent[];
  requireLeader: boolean;
}
export interface TransactionWriteCompleted {
  transactionId: bigint;
  result: number;
  message?: string;
}
export interface TransactionCommit {
  transactionId: bigint;
  requireLeader: boolean;
}
export interface TransactionCommitCompleted {
  transactionId: bigint;
  result: number;
  message?: string;
  firstEventNumber: bigint;
  lastEventNumber: bigint;
  preparePosition?: bigint;
  commitPosition?: bigint;
}

// ---- Reads (§7.4) ----

export interface ReadEvent {
  eventStreamId: string;
  /** -1 = the last event. */
  eventNumber: bigint;
  resolveLinkTos: boolean;
  requireLeader: boolean;
}
export interface ReadEventCompleted {
  result: number;
  /** Required in 5.x: written as an empty message when omitted. */
  event: ResolvedIndexedEvent;
  error?: string;
}
export interface ReadStreamEvents {
  eventStreamId: string;
  fromEventNumber: bigint;
  maxCount: number;
  resolveLinkTos: boolean;
  requireLeader: boolean;
}
export interface ReadStreamEventsCompleted {
  events: readonly ResolvedIndexedEvent[];
  result: number;
  nextEventNumber: bigint;
  lastEventNumber: bigint;
  isEndOfStream: boolean;
  lastCommitPosition: bigint;
  error?: string;
}
export interface ReadAllEvents {
  commitPosition: bigint;
  preparePosition: bigint;
  maxCount: number;
  resolveLinkTos: boolean;
  requireLeader: boolean;
}
export interface ReadAllEventsCompleted {
  commitPosition: bigint;
  preparePosition: bigint;
  events: readonly ResolvedEvent[];
  nextCommitPosition: bigint;
  nextPreparePosition: bigint;
  /** Optional in 5.x (default Success); always pass it. */
  result: number;
  error?: string;
}
/** 20.x+ only. */
export interface Filter {
  context: number;
  type: number;
  data: readonly string[];
}
/** 20.x+ only. */
export interface FilteredReadAllEvents {
  commitPosition: bigint;
  preparePosition: bigint;
  maxCount: number;
  /** ≤ 0 means "use maxCount". */
  maxSearchWindow: number;
  resolveLinkTos: boolean;
  requireLeader: boolean;
  filter?: Filter;
}
/** 20.x+ only. */
export interface FilteredReadAllEventsCompleted {
  commitPosition: bigint;
  preparePosition: bigint;
  events: readonly ResolvedEvent[];
  nextCommitPosition: bigint;
  nextPreparePosition: bigint;
  isEndOfStream: boolean;
  result: number;
  error?: string;
}

// ---- Persistent subscriptions (§7.6) ----

export interface PersistentSubscriptionSettingsFields {
  subscriptionGroupName: string;
  eventStreamId: string;
  resolveLinkTos: boolean;
  /** -1 = from the current end, 0 = from the start. */
  startFrom: bigint;
  messageTimeoutMilliseconds: number;
  recordStatistics: boolean;
  liveBufferSize: number;
  readBatchSize: number;
  bufferSize: number;
  maxRetryCount: number;
  preferRoundRobin: boolean;
  checkpointAfterTime: number;
  checkpointMaxCount: number;
  checkpointMinCount: number;
  /** 0 = unlimited. */
  subscriberMaxCount: number;
  /** "DispatchToSingle", "RoundRobin", "Pinned"; empty = derive from preferRoundRobin. */
  namedConsumerStrategy?: string;
}
export type CreatePersistentSubscription = PersistentSubscriptionSettingsFields;
export type UpdatePersistentSubscription = PersistentSubscriptionSettingsFields;
export interface DeletePersistentSubscription {
  subscriptionGroupName: string;
  eventStreamId: string;
}
export interface PersistentSubscriptionCompleted {
  result: number;
  reason?: string;
}
export type CreatePersistentSubscriptionCompleted = PersistentSubscriptionCompleted;
export type UpdatePersistentSubscriptionCompleted = PersistentSubscriptionCompleted;
export type DeletePersistentSubscriptionCompleted = PersistentSubscriptionCompleted;
export interface ConnectToPersistentSubscription {
  /** The group name. */
  subscriptionId: string;
  eventStreamId: string;
  allowedInFlightMessages: number;
}
export interface PersistentSubscriptionAckEvents {
  subscriptionId: string;
  processedEventIds: readonly Uint8Array[];
}
export interface PersistentSubscriptionNakEvents {
  subscriptionId: string;
  processedEventIds: readonly Uint8Array[];
  message?: string;
  action: number;
}
export interface PersistentSubscriptionConfirmation {
  lastCommitPosition: bigint;
  /** `<stream>::<group>`. */
  subscriptionId: string;
  lastEventNumber?: bigint;
}
export interface PersistentSubscriptionStreamEventAppeared {
  event: ResolvedIndexedEvent;
  retryCount?: number;
}

// ---- Volatile and filtered subscriptions (§7.5) ----

export interface SubscribeToStream {
  /** "" = $all. */
  eventStreamId: string;
  resolveLinkTos: boolean;
}
/** 20.x+ only. */
export interface FilteredSubscribeToStream {
  eventStreamId: string;
  resolveLinkTos: boolean;
  filter?: Filter;
  checkpointInterval: number;
}
/** 20.x+ only. */
export interface CheckpointReached {
  commitPosition: bigint;
  preparePosition: bigint;
}
export interface SubscriptionConfirmation {
  lastCommitPosition: bigint;
  lastEventNumber?: bigint;
}
export interface StreamEventAppeared {
  event: ResolvedEvent;
}
export type UnsubscribeFromStream = Record<string, never>;
export interface SubscriptionDropped {
  /** Optional in 5.x (default Unsubscribed); always pass it. */
  reason: number;
}

// ---- NotHandled, handshake, scavenge (§7.7–7.9) ----

export interface NotHandled {
  reason: number;
  /** An encoded LeaderInfo when reason is NotLeader. */
  additionalInfo?: Uint8Array;
}
export interface LeaderInfo {
  externalTcpAddress: string;
  externalTcpPort: number;
  httpAddress: string;
  httpPort: number;
  externalSecureTcpAddress?: string;
  externalSecureTcpPort?: number;
}
export type ScavengeDatabase = Record<string, never>;
/** 20.x+ answer on 0xD1. */
export interface ScavengeDatabaseResponse {
  result: number;
  scavengeId: string;
}
/** 5.x / esjc answer on 0xD1. */
export interface ScavengeDatabaseCompleted {
  result: number;
  error?: string;
  totalTimeMs: number;
  totalSpaceSaved: bigint;
}
export interface IdentifyClient {
  version: number;
  connectionName?: string;
}
export type ClientIdentified = Record<string, never>;

/** Every message, by the name used in messages.ts (nested LeaderInfo by its short name). */
export interface MessageTypes {
  NewEvent: NewEvent;
  EventRecord: EventRecord;
  ResolvedIndexedEvent: ResolvedIndexedEvent;
  ResolvedEvent: ResolvedEvent;
  WriteEvents: WriteEvents;
  WriteEventsCompleted: WriteEventsCompleted;
  DeleteStream: DeleteStream;
  DeleteStreamCompleted: DeleteStreamCompleted;
  TransactionStart: TransactionStart;
  TransactionStartCompleted: TransactionStartCompleted;
  TransactionWrite: TransactionWrite;
  TransactionWriteCompleted: TransactionWriteCompleted;
  TransactionCommit: TransactionCommit;
  TransactionCommitCompleted: TransactionCommitCompleted;
  ReadEvent: ReadEvent;
  ReadEventCompleted: ReadEventCompleted;
  ReadStreamEvents: ReadStreamEvents;
  ReadStreamEventsCompleted: ReadStreamEventsCompleted;
  ReadAllEvents: ReadAllEvents;
  ReadAllEventsCompleted: ReadAllEventsCompleted;
  Filter: Filter;
  FilteredReadAllEvents: FilteredReadAllEvents;
  FilteredReadAllEventsCompleted: FilteredReadAllEventsCompleted;
  CreatePersistentSubscription: CreatePersistentSubscription;
  DeletePersistentSubscription: DeletePersistentSubscription;
  UpdatePersistentSubscription: UpdatePersistentSubscription;
  UpdatePersistentSubscriptionCompleted: UpdatePersistentSubscriptionCompleted;
  CreatePersistentSubscriptionCompleted: CreatePersistentSubscriptionCompleted;
  DeletePersistentSubscriptionCompleted: DeletePersistentSubscriptionCompleted;
  ConnectToPersistentSubscription: ConnectToPersistentSubscription;
  PersistentSubscriptionAckEvents: PersistentSubscriptionAckEvents;
  PersistentSubscriptionNakEvents: PersistentSubscriptionNakEvents;
  PersistentSubscriptionConfirmation: PersistentSubscriptionConfirmation;
  PersistentSubscriptionStreamEventAppeared: PersistentSubscriptionStreamEventAppeared;
  SubscribeToStream: SubscribeToStream;
  FilteredSubscribeToStream: FilteredSubscribeToStream;
  CheckpointReached: CheckpointReached;
  SubscriptionConfirmation: SubscriptionConfirmation;
  StreamEventAppeared: StreamEventAppeared;
  UnsubscribeFromStream: UnsubscribeFromStream;
  SubscriptionDropped: SubscriptionDropped;
  NotHandled: NotHandled;
  LeaderInfo: LeaderInfo;
  ScavengeDatabase: ScavengeDatabase;
  ScavengeDatabaseResponse: ScavengeDatabaseResponse;
  ScavengeDatabaseCompleted: ScavengeDatabaseCompleted;
  IdentifyClient: IdentifyClient;
  ClientIdentified: ClientIdentified;
}
export type MessageName = keyof MessageTypes;

type Scalar = string | number | bigint | boolean | Uint8Array;
type DecodedValue<V> = V extends Scalar
  ? V
  : V extends ReadonlyArray<infer E>
    ? (E extends Scalar ? E : Decoded<E>)[]
    : Decoded<V> | undefined;

/**
 * What decoding yields (proto3 semantics): every scalar field is present, holding its default (0,
 * 0n, false, "", empty bytes) when it was not on the wire; repeated fields are arrays; a message
 * field is undefined when absent.
 */
export type Decoded<T> = { [K in keyof T]-?: DecodedValue<NonNullable<T[K]>> };
