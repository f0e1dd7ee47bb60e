// AnnalClient: the embedded API's calls (appendToStream, readStream, readAll, readEvent,
// deleteStream, stream metadata, headPosition, catch-up and persistent subscriptions) over one
// pipelined TCP or TLS connection to an Annal (or EventStoreDB-protocol) server. es-tcp.md §5.

import { InvalidArgumentError, InvalidEventError, StreamDeletedError } from '../util/errors.js';
import type { AppendResult } from '../store/committer.js';
import type { EventData } from '../store/event-input.js';
import type { AppendOptions, DeleteOptions, StreamMetadataResult } from '../store/event-store.js';
import type { ReadAllOptions, ReadStreamOptions } from '../store/read-options.js';
import { ClientCore } from './client-core.js';
import { resolveConnectOptions, type ConnectOptions } from './client-options.js';
import { planFilter } from './all-filter.js';
import { Subscription } from './catch-up-subscription.js';
import { expectedVersionOf, newEventsOf } from './event-encoding.js';
import { checkKeys, checkStreamId, parseDirection, parseMaxCount, parseReadFrom } from './option-checks.js';
import { readAllPaged, readStreamPaged } from './paged-reads.js';
import { readAllPageOperation, readEventOperation } from './read-operations.js';
import { PERSISTENT_BUFFER_SIZE_DEFAULT } from './client-limits.js';
import { checkGroup, createGroupOperation, deleteGroupOperation, updateGroupOperation, wireSettingsOf } from './persistent-operations.js';
import { PersistentSubscription } from './persistent-subscription.js';
import type { GroupSettings } from '../subscriptions/persistent/types.js';
import { PERSISTENT_WINDOW_EVENTS_MAX } from '../util/limits.js';
import type { RecordedEvent } from './recorded-event.js';
import { appendOperation, deleteOperation } from './write-operations.js';

/** The embedded options without `principal`: the connection's credentials say who is asking. */
export type ClientAppendOptions = Omit<AppendOptions, 'principal'>;
export type ClientDeleteOptions = Omit<DeleteOptions, 'principal'>;
export type ClientReadStreamOptions = Omit<ReadStreamOptions, 'principal'>;
export type ClientReadAllOptions = Omit<ReadAllOptions, 'principal'>;

export interface SubscribeToStreamOptions {
  /** First revision to deliver (inclusive); 'end': only events appended from now on. Default 'start'. */
  fromRevision?: 'start' | 'end' | bigint;
}

export interface SubscribeToAllOptions {
  /** First position to deliver (inclusive); 'end': only events appended from now on. Default 'start'. */
  fromPosition?: 'start' | 'end' | bigint;
  filter?: ClientReadAllOptions['filter'];
}

export interface SubscribeToPersistentSubscriptionOptions {
  /**
   * The window: how many deliveries the server lets this consumer hold unacknowledged (the
   * protocol's allowed_in_flight_messages), 1 … 10,000; default 10.
   */
  bufferSize?: number;
}

const METADATA_EVENT_TYPE = '$metadata';

function rejecting<T>(body: () => Promise<T>): Promise<T> {
  try {
    return body();
  } catch (error) {
    return Promise.reject(error);
  }
}

export class AnnalClient {
  private readonly subscriptions = new Set<{ unsubscribe(): Promise<void> }>();

  private constructor(private readonly core: ClientCore) {}

  /**
   * Connects and completes the handshake. Rejects with InvalidOptionError, ConnectionClosedError
   * (refused, TLS failure, timeout) or NotAuthenticatedError. Later losses of the connection are
   * repaired in the background: requests are resent, subscriptions resume.
   */
  static async connect(options: ConnectOptions): Promise<AnnalClient> {
    const core = new ClientCore(resolveConnectOptions(options));
    await core.start();
    return new AnnalClient(core);
  }

  /**
   * Appends events to one stream atomically; resolves with the stream's new last revision and the
   * last event's position. Event ids are fixed before the first attempt, so a retry after a lost
   * reply is recognised by the server rather than written twice. Throws WrongExpectedVersionError
   * (with `actual`), StreamDeletedError, AccessDeniedError. (The embedded appendMulti has no
   * counterpart in the protocol: one request writes to one stream.)
   */
  appendToStream(streamId: string, events: EventData[], options?: ClientAppendOptions): Promise<AppendResult> {
    return rejecting(() => {
      const o = checkKeys(options, ['expectedRevision'], 'append');
      checkStreamId(streamId);
      const expected = expectedVersionOf(o.expectedRevision);
      return this.core.execute(appendOperation(streamId, newEventsOf(events), expected));
    });
  }

  /** Events of one stream ([] when it does not exist); StreamDeletedError when hard-deleted. Pages past 4096 events. */
  readStream(streamId: string, options?: ClientReadStreamOptions): Promise<RecordedEvent[]> {
    return rejecting(() => {
      const o = checkKeys(options, ['fromRevision', 'direction', 'maxCount'], 'readStream');
      checkStreamId(streamId);
      const direction = parseDirection(o.direction);
      const from = parseReadFrom(o.fromRevision, 'fromRevision', direction === 'forwards' ? 'start' : 'end');
      return readStreamPaged(this.core, streamId, from, direction, parseMaxCount(o.maxCount));
    });
  }

  /** Events of $all in position order (or reverse), optionally filtered. Reading $all needs an admin. */
  readAll(options?: ClientReadAllOptions): Promise<RecordedEvent[]> {
    return rejecting(() => {
      const o = checkKeys(options, ['fromPosition', 'direction', 'maxCount', 'filter'], 'readAll');
      const direction = parseDirection(o.direction);
      const from = parseReadFrom(o.fromPosition, 'fromPosition', direction === 'forwards' ? 'start' : 'end');
      return readAllPaged(this.core, from, direction, parseMaxCount(o.maxCount), planFilter(o.filter));
    });
  }

  /** One event by revision ('end': the last), or null when there is none. */
  readEvent(streamId: string, revision: bigint | 'end'): Promise<RecordedEvent | null> {
    return rejecting(() => {
      checkStreamId(streamId);
      if (revision !== 'end' && (typeof revision !== 'bigint' || revision < 0n)) throw new InvalidArgumentError(`revision must be a bigint >= 0n or 'end'`);
      return this.core.execute(readEventOperation(streamId, revision));
    });
  }

  /**
   * Deletes a stream: soft (default; a later append brings it back) or hard (a tombstone). Resolves
   * with the position of the deletion. A hard delete retried after a lost reply may find its own
   * tombstone and throw StreamDeletedError.
   */
  deleteStream(streamId: string, options?: ClientDeleteOptions): Promise<{ position: bigint }> {
    return rejecting(() => {
      const o = checkKeys(options, ['expectedRevision', 'hard'], 'deleteStream');
      checkStreamId(streamId);
      if (o.hard !== undefined && typeof o.hard !== 'boolean') throw new InvalidArgumentError('hard must be a boolean');
      return this.core.execute(deleteOperation(streamId, expectedVersionOf(o.expectedRevision), o.hard === true));
    });
  }

  /** Sets the metadata of a stream: a `$metadata` event in `$$S`; `expectedRevision` is that of `$$S`. */
  setStreamMetadata(streamId: string, metadata: Record<string, unknown>, options?: ClientAppendOptions): Promise<AppendResult> {
    return rejecting(() => {
      checkStreamId(streamId);
      if (streamId.startsWith('$$')) throw new InvalidArgumentError(`'${streamId}' is a metadata stream and has no metadata of its own`);
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new InvalidEventError('stream metadata must be a JSON object');
      return this.appendToStream(`$$${streamId}`, [{ type: METADATA_EVENT_TYPE, data: metadata }], options);
    });
  }

  /**
   * The latest `$metadata` of a stream (ReadEvent of `$$S`, last event). After a hard delete,
   * `deleted` is true, `metadata` null and `metastreamRevision` -1n (the protocol does not say it).
   */
  getStreamMetadata(streamId: string): Promise<StreamMetadataResult> {
    return rejecting(async () => {
      checkStreamId(streamId);
      if (streamId.startsWith('$$')) throw new InvalidArgumentError(`'${streamId}' is a metadata stream and has no metadata of its own`);
      let event: RecordedEvent | null;
      try {
        event = await this.core.execute(readEventOperation(`$$${streamId}`, 'end'));
      } catch (error) {
        if (error instanceof StreamDeletedError) return { streamId, metadata: null, metastreamRevision: -1n, deleted: true };
        throw error;
      }
      if (event === null) return { streamId, metadata: null, metastreamRevision: -1n, deleted: false };
      if (event.type === '$streamDeleted') return { streamId, metadata: null, metastreamRevision: event.revision, deleted: true };
      const data = event.data;
      const metadata = typeof data === 'object' && data !== null && !(data instanceof Uint8Array) && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
      return { streamId, metadata, metastreamRevision: event.revision, deleted: false };
    });
  }

  /** Position of the last event in $all, -1n when there is none (a backward read of one event: needs $all access). */
  async headPosition(): Promise<bigint> {
    const page = await this.core.execute(readAllPageOperation(-1n, 1, false, null));
    return page.events[0]?.position ?? -1n;
  }

  /**
   * Every event of a stream from `fromRevision` on, then each new one as it is appended, exactly
   * once and in order, across reconnects. Iterate it (`for await`); `unsubscribe()` or `break`
   * stops it. Failures (StreamDeletedError, AccessDeniedError, retries exhausted) end the iteration
   * with that error.
   */
  subscribeToStream(streamId: string, options?: SubscribeToStreamOptions): Subscription {
    const o = checkKeys(options, ['fromRevision'], 'subscribeToStream');
    checkStreamId(streamId);
    const from = parseReadFrom(o.fromRevision, 'fromRevision', 'start');
    return this.track(new Subscription(this.core, { kind: 'stream', streamId }, from === 'end' ? null : from === 'start' ? 0n : from, (s) => this.subscriptions.delete(s)));
  }

  /** As subscribeToStream, over $all (optionally filtered). Needs $all access. */
  subscribeToAll(options?: SubscribeToAllOptions): Subscription {
    const o = checkKeys(options, ['fromPosition', 'filter'], 'subscribeToAll');
    const from = parseReadFrom(o.fromPosition, 'fromPosition', 'start');
    const filter = planFilter(o.filter);
    return this.track(new Subscription(this.core, { kind: 'all', filter }, from === 'end' ? null : from === 'start' ? 0n : from, (s) => this.subscriptions.delete(s)));
  }

  /**
   * Creates a persistent subscription group on a stream ('$all' for $all; the server needs an
   * admin for that and for every group change: `$admins` or `$ops`). Settings left out take
   * Annal's defaults (startFrom 'end', RoundRobin, …). Throws PersistentSubscriptionExistsError,
   * AccessDeniedError, InvalidArgumentError (settings the server refused, with its reason). A retry
   * after a lost reply may find the group it made and throw PersistentSubscriptionExistsError.
   */
  createPersistentSubscription(streamId: string, group: string, settings?: Partial<GroupSettings>): Promise<void> {
    return rejecting(() => this.core.execute(createGroupOperation(wireSettingsOf(streamId, group, settings))));
  }

  /**
   * Replaces a group's settings (those left out take the defaults again: the protocol carries them
   * all, as in EventStoreDB); its consumers are dropped and connect again, its checkpoint stays.
   * Throws PersistentSubscriptionNotFoundError, AccessDeniedError, InvalidArgumentError.
   */
  updatePersistentSubscription(streamId: string, group: string, settings?: Partial<GroupSettings>): Promise<void> {
    return rejecting(() => this.core.execute(updateGroupOperation(wireSettingsOf(streamId, group, settings))));
  }

  /** Deletes a group; its consumers end with PersistentSubscriptionDeletedError. Throws PersistentSubscriptionNotFoundError, AccessDeniedError. */
  deletePersistentSubscription(streamId: string, group: string): Promise<void> {
    return rejecting(() => {
      checkStreamId(streamId);
      checkGroup(group);
      return this.core.execute(deleteGroupOperation(streamId, group));
    });
  }

  /**
   * Joins a persistent subscription group as a consumer: iterate it (`for await`) for deliveries,
   * and `ack()` or `nak(action, reason)` each one (or several at once on the subscription). The
   * server holds at most `bufferSize` deliveries unacknowledged with this consumer, and redelivers
   * what it does not acknowledge in time (retryCount + 1). A lost connection, or a group update,
   * connects again (what was not acknowledged comes again). The iteration ends with
   * PersistentSubscriptionNotFoundError, PersistentSubscriptionDeletedError,
   * MaxSubscribersReachedError or AccessDeniedError; `unsubscribe()`, `break` or a nak 'stop' end it normally.
   */
  subscribeToPersistentSubscription(streamId: string, group: string, options?: SubscribeToPersistentSubscriptionOptions): PersistentSubscription {
    const o = checkKeys(options, ['bufferSize'], 'subscribeToPersistentSubscription');
    checkStreamId(streamId);
    checkGroup(group);
    const bufferSize = o.bufferSize ?? PERSISTENT_BUFFER_SIZE_DEFAULT;
    if (typeof bufferSize !== 'number' || !Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > PERSISTENT_WINDOW_EVENTS_MAX) {
      throw new InvalidArgumentError(`bufferSize must be an integer in [1, ${PERSISTENT_WINDOW_EVENTS_MAX}]`);
    }
    return this.track(new PersistentSubscription(this.core, streamId, group, bufferSize, (s) => this.subscriptions.delete(s)));
  }

  /** Whether a connection is up right now (requests wait while it is being remade). */
  get connected(): boolean {
    return this.core.connected;
  }

  /** Ends every subscription, fails requests still open with ConnectionClosedError, and closes the connection. */
  async close(): Promise<void> {
    for (const subscription of [...this.subscriptions]) await subscription.unsubscribe();
    await this.core.close();
  }

  private track<S extends { unsubscribe(): Promise<void> }>(subscription: S): S {
    this.subscriptions.add(subscription);
    return subscription;
  }
}
