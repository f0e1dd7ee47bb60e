// The checkpoint stream of a group, `$persistentsubscription-<stream>::<group>-checkpoint`: one
// `$SubscriptionCheckpoint` event per checkpoint, its JSON data the key as a decimal string; the
// stream keeps only the last (`$maxCount: 1`). format-spec/subscriptions.md §4.

import type { EventStore } from '../../store/event-store.js';
import type { Logger } from '../../util/logger.js';
import { StreamDeletedError } from '../../util/errors.js';
import { CHECKPOINT_EVENT_TYPE, checkpointStreamOf } from './stream-names.js';

export class CheckpointLog {
  readonly checkpointStream: string;

  constructor(private readonly store: EventStore, streamId: string, group: string) {
    this.checkpointStream = checkpointStreamOf(streamId, group);
  }

  /**
   * The last checkpoint, or null when there is none. A checkpoint that does not parse is logged
   * and ignored: starting earlier only redelivers (at-least-once), guessing could skip events.
   */
  async read(logger: Logger): Promise<bigint | null> {
    let last;
    try {
      last = await this.store.readEvent(this.checkpointStream, 'end');
    } catch (error) {
      if (!(error instanceof StreamDeletedError)) throw error;
      logger.warn('persistent subscription checkpoint stream is hard-deleted; starting from the group start', { stream: this.checkpointStream });
      return null;
    }
    if (last === null) return null;
    let data: unknown;
    try {
      data = last.data;
    } catch {
      data = undefined;
    }
    if (typeof data === 'string' && /^[0-9]+$/.test(data)) return BigInt(data);
    logger.warn('persistent subscription checkpoint does not parse; starting from the group start', { stream: this.checkpointStream, revision: String(last.revision) });
    return null;
  }

  /** Appends a checkpoint; resolves once it is durable. */
  async write(key: bigint): Promise<void> {
    await this.store.appendToStream(this.checkpointStream, [{ type: CHECKPOINT_EVENT_TYPE, data: key.toString() }]);
  }

  /**
   * Makes the stream ready for a new group of this name: hides whatever an earlier group of the
   * same name left (`$tb` at its end, which also undoes a soft delete's marker) and keeps one event.
   */
  async reset(): Promise<void> {
    const info = await this.store.streamInfo(this.checkpointStream);
    await this.store.setStreamMetadata(this.checkpointStream, { $maxCount: 1, $tb: Number(info.eventCount) });
  }
}
