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

/** The result codes every *Completed message shares the shape of (EventStoreDB numbers them alike). */
interface Results {
  readonly Success: number;
  readonly AccessDenied: number;
  readonly Fail: number;
}

/**
 * Runs one management call for a client: AccessDenied before anything for a principal outside
 * `$admins` / `$ops`; `known` maps the call's own errors (exists / does not exist) to a result;
 * settings or names the core refuses are Fail with its message. Anything else is a server error.
 */
async function manage(
  principal: Principal, results: Results, completed: (result: number, reason: string) => Reply,
  known: (error: unknown) => number | null, call: () => Promise<void>,
): Promise<Reply> {
  if (!mayManageGroups(principal)) return completed(results.AccessDenied, accessReason(principal));
  try {
    await call();
    return completed(results.Success, '');
  } catch (error) {
    const result = known(error);
    if (result !== null) return completed(result, (error as Error).message);
    if (error instanceof AccessDeniedError) return completed(results.AccessDenied, error.message);
    if (isRefused(error)) return completed(results.Fail, error.message);
    throw error;
  }
}

export function createGroup(groups: PersistentSubscriptions, principal: Principal, request: CreatePersistentSubscription): Promise<Reply> {
  const R = CreatePersistentSubscriptionResult;
  return manage(
    principal, R,
    (result, reason) => ({ command: TcpCommand.CreatePersistentSubscriptionCompleted, payload: messages.CreatePersistentSubscriptionCompleted.encode({ result, reason }) }),
    (error) => (error instanceof PersistentSubscriptionExistsError ? R.AlreadyExists : null),
    () => groups.create(request.eventStreamId, request.subscriptionGroupName, groupSettingsOf(request), { principal }),
  );
}

/** Replaces every setting of the group (the request carries them all); its consumers are dropped and its checkpoint kept. */
export function updateGroup(groups: PersistentSubscriptions, principal: Principal, request: UpdatePersistentSubscription): Promise<Reply> {
  const R = UpdatePersistentSubscriptionResult;
  return manage(
    principal, R,
    (result, reason) => ({ command: TcpCommand.UpdatePersistentSubscriptionCompleted, payload: messages.UpdatePersistentSubscriptionCompleted.encode({ result, reason }) }),
    (error) => (error instanceof PersistentSubscriptionNotFoundError ? R.DoesNotExist : null),
    () => groups.update(request.eventStreamId, request.subscriptionGroupName, groupSettingsOf(request), { principal }),
  );
}

export function deleteGroup(groups: PersistentSubscriptions, principal: Principal, request: DeletePersistentSubscription): Promise<Reply> {
  const R = DeletePersistentSubscriptionResult;
  return manage(
    principal, R,
    (result, reason) => ({ command: TcpCommand.DeletePersistentSubscriptionCompleted, payload: messages.DeletePersistentSubscriptionCompleted.encode({ result, reason }) }),
    (error) => (error instanceof PersistentSubscriptionNotFoundError ? R.DoesNotExist : null),
    () => groups.delete(request.eventStreamId, request.subscriptionGroupName, { principal }),
  );
}
