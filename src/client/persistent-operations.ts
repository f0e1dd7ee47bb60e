// The persistent-subscription requests of the client (es-tcp.md §3.6): Create / Update /
// DeletePersistentSubscription with their results as the embedded API's errors, and the group
// settings as the wire carries them (every field, always). format-spec/protocol.md §9.6.

import {
  AccessDeniedError, InvalidArgumentError, PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError,
} from '../util/errors.js';
import type { ConsumerStrategy, GroupSettings } from '../subscriptions/persistent/types.js';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import {
  CreatePersistentSubscriptionResult, DeletePersistentSubscriptionResult, UpdatePersistentSubscriptionResult, messages,
  type PersistentSubscriptionSettingsFields,
} from '../protocol/wire/messages.js';
import { ProtocolError, ServerError } from './client-errors.js';
import { done, fail, type Operation, type Outcome } from './client-core.js';
import { checkKeys, checkStreamId } from './option-checks.js';
import { DEFAULT_SETTINGS } from '../subscriptions/persistent/settings.js';

/**
 * What a setting left out is sent as: the server's own defaults (format-spec/protocol.md §9.6),
 * from the same table. The wire carries every setting, so an update replaces them all, as in
 * EventStoreDB.
 */
export const GROUP_SETTINGS_DEFAULTS: Readonly<GroupSettings> = DEFAULT_SETTINGS;

const SETTING_KEYS = Object.keys(GROUP_SETTINGS_DEFAULTS) as (keyof GroupSettings)[];
const STRATEGIES: readonly ConsumerStrategy[] = ['RoundRobin', 'DispatchToSingle', 'Pinned', 'Ordered'];
const INT32_MAX = 0x7fffffff;
const INT64_MAX = (1n << 63n) - 1n;
/** The three *Completed enums share these values (es-tcp.md §3.1). */
const RESULT_SUCCESS = 0;
const RESULT_FAIL = CreatePersistentSubscriptionResult.Fail;
const RESULT_ACCESS_DENIED = CreatePersistentSubscriptionResult.AccessDenied;

/** Throws InvalidArgumentError unless `group` is a non-empty, well-formed string. */
export function checkGroup(group: unknown): string {
  if (typeof group !== 'string' || group.length === 0) throw new InvalidArgumentError('group must be a non-empty string');
  if (!group.isWellFormed()) throw new InvalidArgumentError('group is not well-formed Unicode (lone surrogate)');
  return group;
}

function int32Setting(settings: GroupSettings, key: keyof GroupSettings): number {
  const value = settings[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > INT32_MAX) {
    throw new InvalidArgumentError(`${key} must be an integer in [0, ${INT32_MAX}], got ${String(value)}`);
  }
  return value;
}

function boolSetting(settings: GroupSettings, key: keyof GroupSettings): boolean {
  const value = settings[key];
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${key} must be a boolean, got ${String(value)}`);
  return value;
}

/**
 * The wire form of a group's settings: those given, over the defaults. Checks only what the wire
 * needs (keys, types, int32 ranges); the server checks the bounds and answers Fail
 * (InvalidArgumentError here) for values out of them.
 */
export function wireSettingsOf(streamId: string, group: string, settings: unknown): PersistentSubscriptionSettingsFields {
  checkStreamId(streamId);
  checkGroup(group);
  const given = checkKeys(settings, SETTING_KEYS, 'persistent subscription settings') as Partial<GroupSettings>;
  const s: GroupSettings = { ...GROUP_SETTINGS_DEFAULTS };
  for (const key of SETTING_KEYS) if (given[key] !== undefined) (s as unknown as Record<string, unknown>)[key] = given[key];
  const startFrom = s.startFrom;
  if (startFrom !== 'start' && startFrom !== 'end' && !(typeof startFrom === 'bigint' && startFrom >= 0n && startFrom <= INT64_MAX)) {
    throw new InvalidArgumentError(`startFrom must be 'start', 'end' or a bigint >= 0n`);
  }
  if (!STRATEGIES.includes(s.consumerStrategy)) throw new InvalidArgumentError(`consumerStrategy must be one of ${STRATEGIES.join(', ')}`);
  return {
    subscriptionGroupName: group,
    eventStreamId: streamId,
    resolveLinkTos: boolSetting(s, 'resolveLinks'),
    startFrom: startFrom === 'end' ? -1n : startFrom === 'start' ? 0n : startFrom,
    messageTimeoutMilliseconds: int32Setting(s, 'messageTimeoutMs'),
    recordStatistics: boolSetting(s, 'extraStatistics'),
    liveBufferSize: int32Setting(s, 'liveBufferEvents'),
    readBatchSize: int32Setting(s, 'readBatchEvents'),
    bufferSize: int32Setting(s, 'historyBufferEvents'),
    maxRetryCount: int32Setting(s, 'maxRetryCount'),
    preferRoundRobin: s.consumerStrategy === 'RoundRobin',
    checkpointAfterTime: int32Setting(s, 'checkpointAfterMs'),
    checkpointMaxCount: int32Setting(s, 'checkpointMaxCount'),
    checkpointMinCount: int32Setting(s, 'checkpointMinCount'),
    subscriberMaxCount: int32Setting(s, 'maxSubscriberCount'),
    namedConsumerStrategy: s.consumerStrategy,
  };
}

interface GroupRequest {
  readonly description: string;
  readonly streamId: string;
  readonly group: string;
  /** The result meaning "exists" (create) or "does not exist" (update, delete). */
  readonly conflict: { readonly result: number; readonly error: () => Error };
}

/** A *Completed result: Success, the conflict's error, AccessDenied, or Fail (the server refused the settings or names). */
function outcomeOf(request: GroupRequest, result: number, reason: string): Outcome<void> {
  const { description, streamId } = request;
  if (result === RESULT_SUCCESS) return done(undefined);
  if (result === request.conflict.result) return fail(request.conflict.error());
  if (result === RESULT_FAIL) return fail(new InvalidArgumentError(`${description}: the server refused it: ${reason || 'no reason given'}`));
  if (result === RESULT_ACCESS_DENIED) return fail(new AccessDeniedError(streamId, 'manage persistent subscriptions'));
  return fail(new ServerError(`${description}: unknown result ${result}${reason ? ` (${reason})` : ''}`));
}

function groupOperation(request: GroupRequest, command: number, payload: Uint8Array, replyCommand: number): Operation<void> {
  return {
    description: request.description,
    command,
    payload,
    interpret(pkg) {
      if (pkg.command !== replyCommand) return fail(new ProtocolError(`${request.description}: unexpected reply ${commandName(pkg.command)}`));
      // The three *Completed messages have the same fields.
      const { result, reason } = messages.CreatePersistentSubscriptionCompleted.decode(pkg.payload);
      return outcomeOf(request, result, reason);
    },
  };
}

export function createGroupOperation(settings: PersistentSubscriptionSettingsFields): Operation<void> {
  const { eventStreamId: streamId, subscriptionGroupName: group } = settings;
  const request: GroupRequest = {
    description: `createPersistentSubscription('${streamId}', '${group}')`, streamId, group,
    conflict: { result: CreatePersistentSubscriptionResult.AlreadyExists, error: () => new PersistentSubscriptionExistsError(streamId, group) },
  };
  return groupOperation(request, TcpCommand.CreatePersistentSubscription, messages.CreatePersistentSubscription.encode(settings), TcpCommand.CreatePersistentSubscriptionCompleted);
}

export function updateGroupOperation(settings: PersistentSubscriptionSettingsFields): Operation<void> {
  const { eventStreamId: streamId, subscriptionGroupName: group } = settings;
  const request: GroupRequest = {
    description: `updatePersistentSubscription('${streamId}', '${group}')`, streamId, group,
    conflict: { result: UpdatePersistentSubscriptionResult.DoesNotExist, error: () => new PersistentSubscriptionNotFoundError(streamId, group) },
  };
  return groupOperation(request, TcpCommand.UpdatePersistentSubscription, messages.UpdatePersistentSubscription.encode(settings), TcpCommand.UpdatePersistentSubscriptionCompleted);
}

export function deleteGroupOperation(streamId: string, group: string): Operation<void> {
  const request: GroupRequest = {
    description: `deletePersistentSubscription('${streamId}', '${group}')`, streamId, group,
    conflict: { result: DeletePersistentSubscriptionResult.DoesNotExist, error: () => new PersistentSubscriptionNotFoundError(streamId, group) },
  };
  const payload = messages.DeletePersistentSubscription.encode({ subscriptionGroupName: group, eventStreamId: streamId });
  return groupOperation(request, TcpCommand.DeletePersistentSubscription, payload, TcpCommand.DeletePersistentSubscriptionCompleted);
}
