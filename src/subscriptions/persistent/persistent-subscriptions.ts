// Persistent subscriptions: server-managed consumer groups on a stream or `$all`, built only on
// EventStore's public API. format-spec/subscriptions.md describes the streams they persist.

import type { EventStore } from '../../store/event-store.js';
import { isAdmin, validatePrincipal, type Principal } from '../../store/access.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { stderrLogger, type Logger } from '../../util/logger.js';
import {
  AccessDeniedError, InvalidArgumentError, PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError, StoreClosedError,
} from '../../util/errors.js';
import {
  PERSISTENT_CONSUMER_NAME_BYTES_MAX, PERSISTENT_GROUPS_MAX, PERSISTENT_WINDOW_EVENTS_DEFAULT, PERSISTENT_WINDOW_EVENTS_MAX,
} from '../../util/limits.js';
import { CheckpointLog } from './checkpoint-log.js';
import { ConfigLog, type GroupDefinition } from './config-log.js';
import { Group, type GroupEnv } from './group.js';
import { ParkedLog, cutUtf8 } from './parked-log.js';
import { resolveSettings } from './settings.js';
import { ALL_STREAM_ID, groupKey, validateGroupName } from './stream-names.js';
import { SubscriptionIterator } from './subscription-iterator.js';
import type {
  ConnectOptions, ConsumerHandle, ConsumerSink, GroupInfo, GroupSettings, GroupStartFrom, PersistentSubscription, SubscribeOptions,
} from './types.js';

export interface PersistentSubscriptionsOptions {
  /** Deadlines (messageTimeoutMs) and checkpoint timing (checkpointAfterMs); default the wall clock. */
  clock?: Clock;
  logger?: Logger;
}

/**
 * The groups of one store. One instance per store: the config stream is written with expected
 * revisions, so a second instance's change fails with WrongExpectedVersionError rather than
 * silently overwriting the first's.
 */
export class PersistentSubscriptions {
  private readonly groups = new Map<string, Group>();
  /** create, update, delete and close run one at a time, in call order. */
  private serial: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly env: GroupEnv, private readonly config: ConfigLog) {}

  /**
   * Loads the groups from `$persistentSubscriptionConfig` and starts each from its checkpoint
   * (events after it are delivered again: at-least-once).
   */
  static async open(store: EventStore, options?: PersistentSubscriptionsOptions): Promise<PersistentSubscriptions> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('options must be an object');
    for (const key of Object.keys(options ?? {})) {
      if (key !== 'clock' && key !== 'logger') throw new InvalidArgumentError(`unknown PersistentSubscriptions option '${key}'`);
    }
    const env: GroupEnv = { store, clock: options?.clock ?? systemClock, logger: options?.logger ?? stderrLogger };
    const config = new ConfigLog(store);
    const subscriptions = new PersistentSubscriptions(env, config);
    for (const definition of await config.load()) {
      subscriptions.groups.set(groupKey(definition.streamId, definition.group), await Group.start(definition, env));
    }
    return subscriptions;
  }

  /**
   * Creates a group on a stream ('$all' for $all) and resolves once its definition is durable.
   * PersistentSubscriptionExistsError when it exists; InvalidArgumentError for bad settings.
   * With a principal: it must be authenticated and may read the stream.
   */
  create(streamId: string, group: string, settings?: Partial<GroupSettings>, options?: { principal?: Principal }): Promise<void> {
    return this.run(async () => {
      checkNames(streamId, group);
      const resolved = resolveSettings(settings);
      await this.checkManage(streamId, principalOf(options));
      const key = groupKey(streamId, group);
      if (this.groups.has(key)) throw new PersistentSubscriptionExistsError(streamId, group);
      if (this.groups.size >= PERSISTENT_GROUPS_MAX) throw new InvalidArgumentError(`the store already has PERSISTENT_GROUPS_MAX = ${PERSISTENT_GROUPS_MAX} groups`);
      const definition: GroupDefinition = { streamId, group, settings: resolved, startKey: await this.resolveStart(streamId, resolved.startFrom) };
      // Whatever an earlier group of this name left (a crash between its delete's steps) is hidden first.
      await new CheckpointLog(this.env.store, streamId, group).reset();
      const parked = new ParkedLog(this.env.store, streamId, group);
      const parkedLast = await parked.lastRevision();
      if (parkedLast >= 0n) await parked.truncateBefore(parkedLast + 1n);
      await this.config.save([...this.definitions(), definition]);
      this.groups.set(key, await Group.start(definition, this.env));
    });
  }

  /**
   * Changes a group's settings (those not given keep their values). Its consumers are dropped
   * with 'groupUpdated'; the checkpoint is written first and kept, and the group restarts from it.
   */
  update(streamId: string, group: string, settings: Partial<GroupSettings>, options?: { principal?: Principal }): Promise<void> {
    return this.run(async () => {
      checkNames(streamId, group);
      const old = this.existing(streamId, group);
      const resolved = resolveSettings(settings, old.definition.settings);
      await this.checkManage(streamId, principalOf(options));
      const startKey = resolved.startFrom === old.definition.settings.startFrom
        ? old.definition.startKey : await this.resolveStart(streamId, resolved.startFrom);
      const definition: GroupDefinition = { streamId, group, settings: resolved, startKey };
      await old.stop('groupUpdated', true);
      try {
        await this.config.save(this.definitions().map((d) => (d === old.definition ? definition : d)));
      } catch (error) {
        this.groups.set(groupKey(streamId, group), await Group.start(old.definition, this.env));
        throw error;
      }
      this.groups.set(groupKey(streamId, group), await Group.start(definition, this.env));
    });
  }

  /**
   * Deletes a group: drops its consumers ('groupDeleted'), removes it from the config and
   * soft-deletes its checkpoint and parked streams.
   */
  delete(streamId: string, group: string, options?: { principal?: Principal }): Promise<void> {
    return this.run(async () => {
      checkNames(streamId, group);
      const old = this.existing(streamId, group);
      await this.checkManage(streamId, principalOf(options));
      await old.stop('groupDeleted', false);
      try {
        await this.config.save(this.definitions().filter((d) => d !== old.definition));
      } catch (error) {
        this.groups.set(groupKey(streamId, group), await Group.start(old.definition, this.env));
        throw error;
      }
      this.groups.delete(groupKey(streamId, group));
      for (const stream of [new CheckpointLog(this.env.store, streamId, group).checkpointStream, new ParkedLog(this.env.store, streamId, group).parkedStream]) {
        const info = await this.env.store.streamInfo(stream);
        if (info.exists) await this.env.store.deleteStream(stream);
      }
    });
  }

  /** Every group (or those on one stream), ordered by stream then group. */
  list(options?: { streamId?: string }): GroupInfo[] {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('list options must be an object');
    const streamId = options?.streamId;
    return [...this.groups.values()]
      .filter((g) => streamId === undefined || g.streamId === streamId)
      .sort((a, b) => compare(a.streamId, b.streamId) || compare(a.group, b.group))
      .map((g) => g.info());
  }

  /** One group's settings, state and connections. PersistentSubscriptionNotFoundError when absent. */
  info(streamId: string, group: string): GroupInfo {
    return this.existing(streamId, group).info();
  }

  /**
   * Joins a group as a consumer (push). windowEvents = the consumer's in-flight window (TCP
   * allowed_in_flight_messages). Throws PersistentSubscriptionNotFoundError,
   * MaxSubscribersReachedError, InvalidArgumentError. A principal's read access to the stream is
   * checked before the first delivery (the store's check is asynchronous): when denied, the
   * consumer is dropped with 'accessDenied'. Deliveries start after the current task.
   */
  connect(streamId: string, group: string, sink: ConsumerSink, options: ConnectOptions): ConsumerHandle {
    if (this.closed) throw new StoreClosedError();
    if (typeof sink !== 'object' || sink === null || typeof sink.deliver !== 'function' || typeof sink.dropped !== 'function') {
      throw new InvalidArgumentError('sink must have deliver() and dropped()');
    }
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('connect options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'windowEvents' && key !== 'name' && key !== 'principal') throw new InvalidArgumentError(`unknown connect option '${key}'`);
    }
    const { windowEvents } = options;
    if (typeof windowEvents !== 'number' || !Number.isInteger(windowEvents) || windowEvents < 1 || windowEvents > PERSISTENT_WINDOW_EVENTS_MAX) {
      throw new InvalidArgumentError(`windowEvents = ${String(windowEvents)} must be an integer in [1, ${PERSISTENT_WINDOW_EVENTS_MAX}] (PERSISTENT_WINDOW_EVENTS_MAX)`);
    }
    if (options.name !== undefined && typeof options.name !== 'string') throw new InvalidArgumentError('consumer name must be a string');
    const principal = validatePrincipal(options.principal);
    const target = this.existing(streamId, group);
    const name = cutUtf8(options.name ?? '', PERSISTENT_CONSUMER_NAME_BYTES_MAX);
    const admission = principal === undefined || isAdmin(principal) ? null : this.readAccess(streamId, principal);
    // A rejection is handled by the group (the consumer is dropped); this keeps it from being reported as unhandled meanwhile.
    admission?.catch(() => undefined);
    return target.connect(sink, windowEvents, name, admission);
  }

  /** The embedded convenience: an async iterable of deliveries with ack/nak (errors as connect). */
  subscribe(streamId: string, group: string, options?: SubscribeOptions): PersistentSubscription {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('subscribe options must be an object');
    const subscription = new SubscriptionIterator();
    const handle = this.connect(streamId, group, subscription.sink, {
      windowEvents: options?.windowEvents ?? PERSISTENT_WINDOW_EVENTS_DEFAULT,
      ...(options?.name !== undefined ? { name: options.name } : {}),
      ...(options?.principal !== undefined ? { principal: options.principal } : {}),
    });
    subscription.attach(handle);
    return subscription;
  }

  /**
   * Delivers the group's parked events again (the first `stopAt`, default all), as their original
   * events with retryCount 0, and truncates the parked stream past them once all are done.
   * Resolves at once with how many were selected.
   */
  replayParked(streamId: string, group: string, options?: { stopAt?: number }): Promise<{ replayed: number }> {
    return this.run(async () => {
      const stopAt = options?.stopAt;
      if (stopAt !== undefined && (typeof stopAt !== 'number' || !Number.isInteger(stopAt) || stopAt < 0)) {
        throw new InvalidArgumentError(`stopAt = ${String(stopAt)} must be an integer >= 0 (how many parked events to replay)`);
      }
      return this.existing(streamId, group).replayParked(stopAt);
    });
  }

  /** Writes every group's final checkpoint and drops every consumer with 'storeClosed'. Closing twice is harmless. */
  close(): Promise<void> {
    if (this.closed) return this.serial.then(() => undefined);
    this.closed = true;
    const stopping = this.serial.catch(() => undefined).then(async () => {
      await Promise.all([...this.groups.values()].map((g) => g.stop('storeClosed', true)));
    });
    this.serial = stopping;
    return stopping;
  }

  private run<T>(body: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    const result = this.serial.catch(() => undefined).then(() => {
      if (this.closed) throw new StoreClosedError();
      return body();
    });
    this.serial = result;
    return result;
  }

  private definitions(): GroupDefinition[] {
    return [...this.groups.values()].map((g) => g.definition);
  }

  private existing(streamId: string, group: string): Group {
    const found = this.groups.get(groupKey(streamId, group));
    if (found === undefined) throw new PersistentSubscriptionNotFoundError(String(streamId), String(group));
    return found;
  }

  /** The first key a new group delivers: 'end' is resolved now and stored, so a restart before the first checkpoint loses nothing. */
  private async resolveStart(streamId: string, startFrom: GroupStartFrom): Promise<bigint> {
    if (startFrom === 'start') return 0n;
    if (typeof startFrom === 'bigint') return startFrom;
    if (streamId === ALL_STREAM_ID) return (await this.env.store.headPosition()) + 1n;
    return (await this.env.store.streamInfo(streamId)).eventCount;
  }

  /** Managing a group takes an authenticated principal (or none: the embedding process) that may read the stream. */
  private async checkManage(streamId: string, principal: Principal | undefined): Promise<void> {
    if (principal === undefined || isAdmin(principal)) return;
    if (principal.name === null) throw new AccessDeniedError(streamId, 'manage persistent subscriptions');
    await this.readAccess(streamId, principal);
  }

  private async readAccess(streamId: string, principal: Principal): Promise<void> {
    if (streamId === ALL_STREAM_ID) await this.env.store.readAll({ maxCount: 0, principal });
    else await this.env.store.streamInfo(streamId, { principal });
  }
}

function principalOf(options: { principal?: Principal } | undefined): Principal | undefined {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new InvalidArgumentError('options must be an object');
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'principal') throw new InvalidArgumentError(`unknown option '${key}'`);
  }
  return validatePrincipal(options?.principal);
}

function checkNames(streamId: string, group: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || !streamId.isWellFormed()) throw new InvalidArgumentError('streamId must be a non-empty, well-formed string');
  validateGroupName(streamId, group);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
