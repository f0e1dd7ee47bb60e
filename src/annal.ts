// The package entry (`import { EventStore } from 'annal'`): the embedded API and its types.

export { EventStore } from './store/event-store.js';
export type { AppendOptions, AppendRequest, ListStreamsOptions, ScavengeOptions, ScavengeResult, StreamInfo } from './store/event-store.js';
export type { AppendResult } from './store/committer.js';
export type { EventData, ContentType } from './store/event-input.js';
export type { RecordedEvent } from './store/recorded-event.js';
export type { ReadAllFilter, ReadAllOptions, ReadPage, ReadStreamOptions, Direction, ReadFrom } from './store/read-options.js';
export type { StoreSubscription } from './store/store-subscription.js';
export type { SubscribeToStreamOptions, SubscribeToAllOptions, SubscribeFrom } from './store/store-subscriptions.js';
export type { SubscriptionFilter } from './store/subscription-filter.js';
export type { EventStoreOptions } from './store/options.js';
export type { FileSystem, FileHandle, OpenMode } from './log/file-system.js';
export type { Logger } from './util/logger.js';
export type { Clock } from './util/clock.js';
export {
  AnnalError, WrongExpectedVersionError, CorruptionError, InvalidStreamIdError, InvalidEventError, EventTooLargeError,
  AppendTooLargeError, InvalidOptionError, InvalidArgumentError, StoreClosedError, StoreFailedError, StoreLockedError,
  StoreOverloadedError, StreamDeletedError, AccessDeniedError, PersistentSubscriptionExistsError,
  PersistentSubscriptionNotFoundError, MaxSubscribersReachedError, type ExpectedRevision,
} from './util/errors.js';
export type { Principal } from './store/access.js';
export type { DeleteOptions, StreamMetadataResult } from './store/event-store.js';
export { verifyStore } from './store/verify.js';
export type { VerifyReport } from './store/verify.js';
export { PersistentSubscriptions } from './subscriptions/persistent/persistent-subscriptions.js';
export type { PersistentSubscriptionsOptions } from './subscriptions/persistent/persistent-subscriptions.js';
export type {
  ConsumerStrategy, GroupStartFrom, GroupSettings, NakAction, PersistentEvent, ConsumerDropReason, ConsumerSink, ConsumerHandle,
  GroupInfo, ConnectionInfo, ConnectOptions, SubscribeOptions, PersistentSubscription,
} from './subscriptions/persistent/types.js';
