// Fields that were `required` in the 5.x proto2 ClientMessageDtos (as shipped in esjc), which Annal's
// encoder writes even when they hold the default value (format-spec/protocol.md §7.1): proto2
// decoders (esjc, the 5.x .NET client) reject a message that lacks one.

import type { MessageName, MessageTypes } from './messages-types.js';

type RequiredTable = { readonly [K in MessageName]: readonly (keyof MessageTypes[K] & string)[] };

const PERSISTENT_SETTINGS = [
  'subscriptionGroupName', 'eventStreamId', 'resolveLinkTos', 'startFrom', 'messageTimeoutMilliseconds',
  'recordStatistics', 'liveBufferSize', 'readBatchSize', 'bufferSize', 'maxRetryCount', 'preferRoundRobin',
  'checkpointAfterTime', 'checkpointMaxCount', 'checkpointMinCount', 'subscriberMaxCount',
] as const;

/**
 * Messages that exist only from 20.x (Filter*, CheckpointReached, ScavengeDatabaseResponse) had no
 * proto2 labels; their clients are proto3 and need nothing. ResolvedIndexedEvent.event and
 * ResolvedEvent.event are optional in esjc's 5.x file (ReadEventCompleted carries an empty
 * ResolvedIndexedEvent when there is no event), so they are not listed.
 */
export const REQUIRED_FIELDS_5X: RequiredTable = {
  NewEvent: ['eventId', 'eventType', 'dataContentType', 'metadataContentType', 'data'],
  EventRecord: ['eventStreamId', 'eventNumber', 'eventId', 'eventType', 'dataContentType', 'metadataContentType', 'data'],
  ResolvedIndexedEvent: [],
  ResolvedEvent: ['commitPosition', 'preparePosition'],
  WriteEvents: ['eventStreamId', 'expectedVersion', 'requireLeader'],
  WriteEventsCompleted: ['result', 'firstEventNumber', 'lastEventNumber'],
  DeleteStream: ['eventStreamId', 'expectedVersion', 'requireLeader'],
  DeleteStreamCompleted: ['result'],
  TransactionStart: ['eventStreamId', 'expectedVersion', 'requireLeader'],
  TransactionStartCompleted: ['transactionId', 'result'],
  TransactionWrite: ['transactionId', 'requireLeader'],
  TransactionWriteCompleted: ['transactionId', 'result'],
  TransactionCommit: ['transactionId', 'requireLeader'],
  TransactionCommitCompleted: ['transactionId', 'result', 'firstEventNumber', 'lastEventNumber'],
  ReadEvent: ['eventStreamId', 'eventNumber', 'resolveLinkTos', 'requireLeader'],
  ReadEventCompleted: ['result', 'event'],
  ReadStreamEvents: ['eventStreamId', 'fromEventNumber', 'maxCount', 'resolveLinkTos', 'requireLeader'],
  ReadStreamEventsCompleted: ['result', 'nextEventNumber', 'lastEventNumber', 'isEndOfStream', 'lastCommitPosition'],
  ReadAllEvents: ['commitPosition', 'preparePosition', 'maxCount', 'resolveLinkTos', 'requireLeader'],
  ReadAllEventsCompleted: ['commitPosition', 'preparePosition', 'nextCommitPosition', 'nextPreparePosition'],
  Filter: [],
  FilteredReadAllEvents: [],
  FilteredReadAllEventsCompleted: [],
  CreatePersistentSubscription: PERSISTENT_SETTINGS,
  DeletePersistentSubscription: ['subscriptionGroupName', 'eventStreamId'],
  UpdatePersistentSubscription: PERSISTENT_SETTINGS,
  UpdatePersistentSubscriptionCompleted: ['result'],
  CreatePersistentSubscriptionCompleted: ['result'],
  DeletePersistentSubscriptionCompleted: ['result'],
  ConnectToPersistentSubscription: ['subscriptionId', 'eventStreamId', 'allowedInFlightMessages'],
  PersistentSubscriptionAckEvents: ['subscriptionId'],
  PersistentSubscriptionNakEvents: ['subscriptionId', 'action'],
  PersistentSubscriptionConfirmation: ['lastCommitPosition', 'subscriptionId'],
  PersistentSubscriptionStreamEventAppeared: ['event'],
  SubscribeToStream: ['eventStreamId', 'resolveLinkTos'],
  FilteredSubscribeToStream: [],
  CheckpointReached: [],
  SubscriptionConfirmation: ['lastCommitPosition'],
  StreamEventAppeared: ['event'],
  UnsubscribeFromStream: [],
  SubscriptionDropped: [],
  NotHandled: ['reason'],
  LeaderInfo: ['externalTcpAddress', 'externalTcpPort', 'httpAddress', 'httpPort'],
  ScavengeDatabase: [],
  ScavengeDatabaseResponse: [],
  ScavengeDatabaseCompleted: ['result', 'totalTimeMs', 'totalSpaceSaved'],
  IdentifyClient: ['version'],
  ClientIdentified: [],
};
