// `$persistentSubscriptionConfig`: each create, update or delete appends one `$PersistentConfig`
// event whose JSON data lists every group, so the last event is the whole state.
// format-spec/subscriptions.md §2.

import type { EventStore } from '../../store/event-store.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { PERSISTENT_CONFIG_EVENTS_KEPT, PERSISTENT_GROUPS_MAX } from '../../util/limits.js';
import { settingsFromJson, settingsToJson } from './settings.js';
import { CONFIG_EVENT_TYPE, CONFIG_STREAM, CONFIG_VERSION } from './stream-names.js';
import type { GroupSettings } from './types.js';

/** One group as the config stores it. */
export interface GroupDefinition {
  readonly streamId: string;
  readonly group: string;
  readonly settings: GroupSettings;
  /** The first key the group delivers when it has no checkpoint (startFrom resolved at creation). */
  readonly startKey: bigint;
}

export class ConfigLog {
  /** Revision of the last config event; -1n when there is none. */
  private revision = -1n;

  constructor(private readonly store: EventStore) {}

  /** The groups of the last config event ([] when there is none). A layout it cannot read is refused. */
  async load(): Promise<GroupDefinition[]> {
    const last = await this.store.readEvent(CONFIG_STREAM, 'end');
    if (last === null) return [];
    this.revision = last.revision;
    return parseConfig(last.data);
  }

  /** Appends the new state; resolves once it is durable. The first write also sets `$maxCount`. */
  async save(groups: readonly GroupDefinition[]): Promise<void> {
    if (this.revision < 0n) await this.store.setStreamMetadata(CONFIG_STREAM, { $maxCount: PERSISTENT_CONFIG_EVENTS_KEPT });
    const data = {
      version: CONFIG_VERSION,
      groups: groups.map((g) => ({ streamId: g.streamId, group: g.group, startKey: g.startKey.toString(), settings: settingsToJson(g.settings) })),
    };
    // The expected revision makes a second writer (another PersistentSubscriptions on this store) fail loudly.
    const result = await this.store.appendToStream(CONFIG_STREAM, [{ type: CONFIG_EVENT_TYPE, data }], {
      expectedRevision: this.revision < 0n ? 'any' : this.revision,
    });
    this.revision = result.nextExpectedRevision;
  }
}

function parseConfig(data: unknown): GroupDefinition[] {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`${CONFIG_STREAM}: ${why}`);
  };
  if (typeof data !== 'object' || data === null) return bad('the last event is not a JSON object');
  const { version, groups } = data as { version?: unknown; groups?: unknown };
  if (version !== CONFIG_VERSION) return bad(`layout version ${String(version)}; this Annal reads version ${CONFIG_VERSION}`);
  if (!Array.isArray(groups) || groups.length > PERSISTENT_GROUPS_MAX) return bad(`groups must be an array of at most ${PERSISTENT_GROUPS_MAX}`);
  return groups.map((g: unknown, i) => {
    const entry = g as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null || typeof entry.streamId !== 'string' || typeof entry.group !== 'string'
      || typeof entry.startKey !== 'string' || !/^[0-9]+$/.test(entry.startKey)) return bad(`group ${i} is malformed`);
    return { streamId: entry.streamId, group: entry.group, startKey: BigInt(entry.startKey), settings: settingsFromJson(entry.settings) };
  });
}
