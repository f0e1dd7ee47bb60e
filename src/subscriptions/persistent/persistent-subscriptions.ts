// Persistent subscriptions: server-managed consumer groups on a stream or `$all`, built only on
// EventStore's public API. format-spec/subscriptions.md describes the streams they persist.

import type { EventStore } from '../../store/event-store.js';
import type { Principal } from '../../store/access.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type {
  ConnectOptions, ConsumerHandle, ConsumerSink, GroupInfo, GroupSettings, PersistentSubscription, SubscribeOptions,
} from './types.js';

export interface PersistentSubscriptionsOptions {
  clock?: Clock;
  logger?: Logger;
}

export class PersistentSubscriptions {
  private constructor(private readonly store: EventStore) {}

  /** Loads the groups from `$persistentSubscriptionConfig` and starts them from their checkpoints. */
  static async open(store: EventStore, options?: PersistentSubscriptionsOptions): Promise<PersistentSubscriptions> {
    void options;
    void new PersistentSubscriptions(store);
    throw new Error('not yet');
  }

  /** Creates a group on a stream ('$all' for $all). PersistentSubscriptionExistsError when it exists. */
  async create(streamId: string, group: string, settings?: Partial<GroupSettings>, options?: { principal?: Principal }): Promise<void> {
    void [streamId, group, settings, options, this.store];
    throw new Error('not yet');
  }

  /** Changes a group's settings; drops its consumers ('groupUpdated') and keeps its checkpoint. */
  async update(streamId: string, group: string, settings: Partial<GroupSettings>, options?: { principal?: Principal }): Promise<void> {
    void [streamId, group, settings, options];
    throw new Error('not yet');
  }

  /** Deletes a group, its checkpoint and its parked events; drops its consumers ('groupDeleted'). */
  async delete(streamId: string, group: string, options?: { principal?: Principal }): Promise<void> {
    void [streamId, group, options];
    throw new Error('not yet');
  }

  list(options?: { streamId?: string }): GroupInfo[] {
    void options;
    throw new Error('not yet');
  }

  info(streamId: string, group: string): GroupInfo {
    void [streamId, group];
    throw new Error('not yet');
  }

  /** Joins a group as a consumer (push). windowEvents = the consumer's in-flight window. */
  connect(streamId: string, group: string, sink: ConsumerSink, options: ConnectOptions): ConsumerHandle {
    void [streamId, group, sink, options];
    throw new Error('not yet');
  }

  /** The embedded convenience: an async iterable of deliveries with ack/nak. */
  subscribe(streamId: string, group: string, options?: SubscribeOptions): PersistentSubscription {
    void [streamId, group, options];
    throw new Error('not yet');
  }

  replayParked(streamId: string, group: string, options?: { stopAt?: number }): Promise<{ replayed: number }> {
    void [streamId, group, options];
    throw new Error('not yet');
  }

  /** Writes final checkpoints and drops every consumer with 'storeClosed'. */
  async close(): Promise<void> {
    throw new Error('not yet');
  }
}
