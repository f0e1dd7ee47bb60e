// Create / Update / DeletePersistentSubscription (es-tcp.md §3.6): the server's groups changed for
// a client, with EventStoreDB's results — Success, AlreadyExists / DoesNotExist, Fail with the
// reason for settings the core refuses, AccessDenied for anyone but `$admins` and `$ops`.
// format-spec/protocol.md §9.6.

import {
  AccessDeniedError, InvalidArgumentError, InvalidStreamIdError, PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError,
} from '../../util/errors.js';
import { OPS_ROLE, isAdmin, type Principal } from '../../store/access.js';
import type { PersistentSubscriptions } from '../../subscriptions/persistent/persistent-subscriptions.js';
import { TcpCommand } from '../wire/commands.js';
import {
  CreatePersistentSubscriptionResult, DeletePersistentSubscriptionResult, UpdatePersistentSubscriptionResult, messages,
  type CreatePersistentSubscription, type DeletePersistentSubscription, type UpdatePersistentSubscription,
} from '../wire/messages.js';
import { groupSettingsOf } from './persistent-settings.js';
import type { Reply } from './reply.js';

/** EventStoreDB lets `$admins` and `$ops` manage persistent subscriptions. */
export function mayManageGroups(principal: Principal): boolean {
  return isAdmin(principal) || principal.groups.includes(OPS_ROLE);
}

function accessReason(principal: Principal): string {
  return `access denied: managing persistent subscriptions needs $admins or $ops (${principal.name === null ? 'anonymous' : `user '${principal.name}'`})`;
}

/** Settings or names the core refuses: answered Fail with its message. */
function isRefused(error: unknown): error is Error {
  return error instanceof InvalidArgumentError || error instanceof InvalidStreamIdError;
}

export async function createGroup(groups: PersistentSubscriptions, principal: Principal, request: CreatePersistentSubscription): Promise<Reply> {
  const R = CreatePersistentSubscriptionResult;
  const reply = (result: number, reason = ''): Reply => ({
    command: TcpCommand.CreatePersistentSubscriptionCompleted, payload: messages.CreatePersistentSubscriptionCompleted.encode({ result, reason }),
  });
  if (!mayManageGroups(principal)) return reply(R.AccessDenied, accessReason(principal));
  try {
    await groups.create(request.eventStreamId, request.subscriptionGroupName, groupSettingsOf(request), { principal });
    return reply(R.Success);
  } catch (error) {
    if (error instanceof PersistentSubscriptionExistsError) return reply(R.AlreadyExists, error.message);
    if (error instanceof AccessDeniedError) return reply(R.AccessDenied, error.message);
    if (isRefused(error)) return reply(R.Fail, error.message);
    throw error;
  }
}

/** Replaces every setting of the group (the request carries them all); its consumers are dropped and its checkpoint kept. */
export async function updateGroup(groups: PersistentSubscriptions, principal: Principal, request: UpdatePersistentSubscription): Promise<Reply> {
  const R = UpdatePersistentSubscriptionResult;
  const reply = (result: number, reason = ''): Reply => ({
    command: TcpCommand.UpdatePersistentSubscriptionCompleted, payload: messages.UpdatePersistentSubscriptionCompleted.encode({ result, reason }),
  });
  if (!mayManageGroups(principal)) return reply(R.AccessDenied, accessReason(principal));
  try {
    await groups.update(request.eventStreamId, request.subscriptionGroupName, groupSettingsOf(request), { principal });
    return reply(R.Success);
  } catch (error) {
    if (error instanceof PersistentSubscriptionNotFoundError) return reply(R.DoesNotExist, error.message);
    if (error instanceof AccessDeniedError) return reply(R.AccessDenied, error.message);
    if (isRefused(error)) return reply(R.Fail, error.message);
    throw error;
  }
}

export async function deleteGroup(groups: PersistentSubscriptions, principal: Principal, request: DeletePersistentSubscription): Promise<Reply> {
  const R = DeletePersistentSubscriptionResult;
  const reply = (result: number, reason = ''): Reply => ({
    command: TcpCommand.DeletePersistentSubscriptionCompleted, payload: messages.DeletePersistentSubscriptionCompleted.encode({ result, reason }),
  });
  if (!mayManageGroups(principal)) return reply(R.AccessDenied, accessReason(principal));
  try {
    await groups.delete(request.eventStreamId, request.subscriptionGroupName, { principal });
    return reply(R.Success);
  } catch (error) {
    if (error instanceof PersistentSubscriptionNotFoundError) return reply(R.DoesNotExist, error.message);
    if (error instanceof AccessDeniedError) return reply(R.AccessDenied, error.message);
    if (isRefused(error)) return reply(R.Fail, error.message);
    throw error;
  }
}
