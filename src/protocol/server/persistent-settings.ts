// The settings of a persistent-subscription group as Create/UpdatePersistentSubscription carry them,
// turned into the core's GroupSettings, and the wire's NakAction into the core's. Bounds are the
// core's (src/util/limits.ts): a value out of them is its InvalidArgumentError, answered Fail.
// format-spec/protocol.md §9.6.

import { InvalidArgumentError } from '../../util/errors.js';
import type { ConsumerStrategy, GroupSettings, NakAction as CoreNakAction } from '../../subscriptions/persistent/types.js';
import { NakAction, type PersistentSubscriptionSettingsFields } from '../wire/messages.js';

/** The strategies a client may name in `named_consumer_strategy` (EventStoreDB's three and Annal's Ordered). */
export const CONSUMER_STRATEGIES: readonly ConsumerStrategy[] = ['RoundRobin', 'DispatchToSingle', 'Pinned', 'Ordered'];

/** EventStoreDB's `start_from`: -1 is "from the current end". */
const START_FROM_END = -1n;

/**
 * Every setting of a Create/UpdatePersistentSubscription request, as GroupSettings. `start_from`
 * -1 is 'end', 0 'start', N > 0 the first revision (stream group) or position ($all group) delivered; an
 * empty `named_consumer_strategy` is RoundRobin when `prefer_round_robin`, else DispatchToSingle.
 * Throws InvalidArgumentError for a start below -1 or a strategy it does not know; the core checks
 * the other bounds.
 */
export function groupSettingsOf(request: PersistentSubscriptionSettingsFields): GroupSettings {
  const startFrom = request.startFrom;
  if (startFrom < START_FROM_END) throw new InvalidArgumentError(`start_from must be -1 (the end) or a revision / position >= 0, got ${startFrom}`);
  return {
    startFrom: startFrom === START_FROM_END ? 'end' : startFrom === 0n ? 'start' : startFrom,
    resolveLinks: request.resolveLinkTos,
    messageTimeoutMs: request.messageTimeoutMilliseconds,
    maxRetryCount: request.maxRetryCount,
    liveBufferEvents: request.liveBufferSize,
    readBatchEvents: request.readBatchSize,
    historyBufferEvents: request.bufferSize,
    checkpointAfterMs: request.checkpointAfterTime,
    checkpointMinCount: request.checkpointMinCount,
    checkpointMaxCount: request.checkpointMaxCount,
    maxSubscriberCount: request.subscriberMaxCount,
    consumerStrategy: strategyOf(request.namedConsumerStrategy ?? '', request.preferRoundRobin),
    extraStatistics: request.recordStatistics,
  };
}

function strategyOf(named: string, preferRoundRobin: boolean): ConsumerStrategy {
  if (named === '') return preferRoundRobin ? 'RoundRobin' : 'DispatchToSingle';
  const strategy = CONSUMER_STRATEGIES.find((s) => s === named);
  if (strategy === undefined) {
    throw new InvalidArgumentError(`named_consumer_strategy must be one of ${CONSUMER_STRATEGIES.join(', ')}, got ${JSON.stringify(named.slice(0, 64))}`);
  }
  return strategy;
}

/**
 * The core's action for a wire NakAction. Unknown (0) retries, as EventStoreDB does; a value
 * outside the enum is an InvalidArgumentError.
 */
export function nakActionOf(action: number): CoreNakAction {
  switch (action) {
    case NakAction.Unknown:
    case NakAction.Retry:
      return 'retry';
    case NakAction.Park:
      return 'park';
    case NakAction.Skip:
      return 'skip';
    case NakAction.Stop:
      return 'stop';
    default:
      throw new InvalidArgumentError(`action must be a NakAction (0–4), got ${action}`);
  }
}
