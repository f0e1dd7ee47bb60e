// The client entry (`import { AnnalClient } from 'annal/client'`): the embedded API's calls over
// EventStoreDB's TCP protocol (all but appendMulti, which the protocol cannot express), with their types and errors.

export { AnnalClient } from './annal-client.js';
export type {
  ClientAppendOptions, ClientDeleteOptions, ClientReadAllOptions, ClientReadStreamOptions, SubscribeToAllOptions, SubscribeToStreamOptions,
  SubscribeToPersistentSubscriptionOptions,
} from './annal-client.js';
export type { ConnectOptions, ClientCredentials, ClientTlsOptions } from './client-options.js';
export { Subscription } from './catch-up-subscription.js';
export { PersistentSubscription, type PersistentDelivery } from './persistent-subscription.js';
export { GROUP_SETTINGS_DEFAULTS } from './persistent-operations.js';
export type { GroupSettings, GroupStartFrom, ConsumerStrategy, NakAction } from '../subscriptions/persistent/types.js';
export { RecordedEvent, POSITION_UNKNOWN } from './recorded-event.js';
export {
  BadRequestError, ClientOverloadedError, ConnectionClosedError, NotAuthenticatedError, ProtocolError, RequestTimeoutError, ServerError,
  SubscriptionDroppedError, PersistentSubscriptionDeletedError,
} from './client-errors.js';
export {
  AnnalError, WrongExpectedVersionError, StreamDeletedError, AccessDeniedError, InvalidArgumentError, InvalidEventError, InvalidOptionError,
  InvalidStreamIdError, PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError, MaxSubscribersReachedError, type ExpectedRevision,
} from '../util/errors.js';
export type { AppendResult } from '../store/committer.js';
export type { EventData, ContentType } from '../store/event-input.js';
export type { ReadAllFilter, Direction, ReadFrom } from '../store/read-options.js';
export type { StreamMetadataResult } from '../store/event-store.js';
