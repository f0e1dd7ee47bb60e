// Answers for the persistent-subscription commands, which Annal does not serve yet (they come with
// their own issue): a clear failure the client reports at once, rather than NotHandled, which
// EventStoreDB clients retry for a minute. format-spec/protocol.md §11.

import { TcpCommand } from '../wire/commands.js';
import {
  CreatePersistentSubscriptionResult, DeletePersistentSubscriptionResult, SubscriptionDropReason, UpdatePersistentSubscriptionResult, messages,
} from '../wire/messages.js';
import type { TcpPackage } from '../wire/package.js';
import type { Reply } from './reply.js';

const REASON = 'persistent subscriptions are not supported by this Annal server yet';

/** The reply to a persistent-subscription command, or null for any other command. */
export function persistentSubscriptionReply(pkg: TcpPackage): Reply | null {
  switch (pkg.command) {
    case TcpCommand.CreatePersistentSubscription:
      return { command: TcpCommand.CreatePersistentSubscriptionCompleted, payload: messages.CreatePersistentSubscriptionCompleted.encode({ result: CreatePersistentSubscriptionResult.Fail, reason: REASON }) };
    case TcpCommand.UpdatePersistentSubscription:
      return { command: TcpCommand.UpdatePersistentSubscriptionCompleted, payload: messages.UpdatePersistentSubscriptionCompleted.encode({ result: UpdatePersistentSubscriptionResult.Fail, reason: REASON }) };
    case TcpCommand.DeletePersistentSubscription:
      return { command: TcpCommand.DeletePersistentSubscriptionCompleted, payload: messages.DeletePersistentSubscriptionCompleted.encode({ result: DeletePersistentSubscriptionResult.Fail, reason: REASON }) };
    case TcpCommand.ConnectToPersistentSubscription:
      return { command: TcpCommand.SubscriptionDropped, payload: messages.SubscriptionDropped.encode({ reason: SubscriptionDropReason.NotFound }) };
    default:
      return null;
  }
}
