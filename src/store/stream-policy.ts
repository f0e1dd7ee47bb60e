// What a stream's metadata makes of it: deleted (soft or hard), truncated, aged out, and who may
// read or write it. Metadata is the latest event of `$$S`; it and the `$settings` defaults are
// cached and re-read only when those streams grew.

import { AccessDeniedError, StreamDeletedError } from '../util/errors.js';
import {
  DEFAULT_SYSTEM_STREAM_ACL, DEFAULT_USER_STREAM_ACL, hasRole, rolesFor, type Principal, type StreamOperation,
} from './access.js';
import type { LogQueries } from './log-queries.js';
import type { RecordedEvent } from './recorded-event.js';
import { SOFT_DELETED_TB, parseAcl, parseStreamMetadata, type StreamAcl, type StreamMetadata } from './stream-metadata.js';
import {
  ALL_STREAM, SETTINGS_STREAM, STREAM_DELETED_EVENT_TYPE, isMetastream, isSystemStream, metastreamOf, streamOfMetastream,
} from './stream-names.js';

/** What the metastream of a stream says, as of its last event. */
export interface StreamState {
  /** The metadata JSON object of the last `$metadata` event, or null. */
  readonly raw: Record<string, unknown> | null;
  readonly metadata: StreamMetadata | null;
  /** Events in `$$S` (its last revision + 1). */
  readonly metastreamCount: number;
  /** A tombstone ends `$$S`: the stream is hard-deleted. */
  readonly hardDeleted: boolean;
  readonly softDeleted: boolean;
}

interface Settings {
  readonly userStreamAcl: StreamAcl;
  readonly systemStreamAcl: StreamAcl;
}

const NO_METADATA = { raw: null, metadata: null, hardDeleted: false, softDeleted: false };
/** The state of every stream whose `$$S` has no events (shared: states are never changed). */
const NO_METASTREAM: StreamState = Object.freeze({ ...NO_METADATA, metastreamCount: 0 });

export class StreamPolicy {
  private readonly states = new Map<string, StreamState>();
  private settings: { count: number; value: Settings } = { count: 0, value: { userStreamAcl: {}, systemStreamAcl: {} } };

  constructor(private readonly queries: LogQueries, private readonly allowAnonymousStreamAccess: boolean) {}

  /** The metadata state of stream S (not of a metastream). */
  stateOf(streamId: string): StreamState {
    // Most streams never had metadata; this check runs on every append and read.
    if (!this.queries.hasMetastream(streamId)) return NO_METASTREAM;
    const metastream = metastreamOf(streamId);
    const count = this.queries.eventCount(metastream);
    const cached = this.states.get(streamId);
    if (cached !== undefined && cached.metastreamCount === count) return cached;
    const state = count === 0 ? { ...NO_METADATA, metastreamCount: 0 } : this.parse(this.queries.lastEvent(metastream), count);
    // Only streams that have metadata are remembered: the cache stays as large as $$ streams are many.
    if (count > 0) this.states.set(streamId, state);
    return state;
  }

  private parse(last: RecordedEvent | null, count: number): StreamState {
    if (last === null) return { ...NO_METADATA, metastreamCount: count };
    if (last.type === STREAM_DELETED_EVENT_TYPE) return { ...NO_METADATA, hardDeleted: true, metastreamCount: count };
    let raw: Record<string, unknown> | null = null;
    let metadata: StreamMetadata | null = null;
    try {
      // Metadata appended as bytes is validated as JSON (stream-writes.ts) but stored as binary:
      // parse it here too, or metadata the append accepted would be ignored.
      const data = last.data instanceof Uint8Array ? JSON.parse(Buffer.from(last.data).toString('utf8')) as unknown : last.data;
      if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
        raw = data as Record<string, unknown>;
        metadata = parseStreamMetadata(raw);
      }
    } catch {
      // Metadata written before validation existed, or by hand: treated as none rather than fatal.
      metadata = null;
    }
    const softDeleted = metadata?.truncateBefore !== undefined && metadata.truncateBefore >= SOFT_DELETED_TB;
    return { raw, metadata, metastreamCount: count, hardDeleted: false, softDeleted };
  }

  /** Throws StreamDeletedError when S (or, for `$$S`, S) is hard-deleted. */
  checkNotDeleted(streamId: string): void {
    const target = isMetastream(streamId) ? streamOfMetastream(streamId) : streamId;
    if (this.stateOf(target).hardDeleted) throw new StreamDeletedError(target);
  }

  /**
   * Throws AccessDeniedError unless the principal may perform the operation. No principal means
   * the embedding process itself, which may do anything. On `$$S`, reads and writes are S's
   * metadata-read and metadata-write.
   */
  checkAccess(principal: Principal | undefined, streamId: string, operation: StreamOperation): void {
    if (principal === undefined) return;
    let target = streamId;
    let op = operation;
    if (isMetastream(streamId)) {
      target = streamOfMetastream(streamId);
      op = operation === 'read' || operation === 'metaRead' ? 'metaRead' : 'metaWrite';
    }
    const system = isSystemStream(target);
    const settings = this.currentSettings();
    const own = target === ALL_STREAM ? undefined : this.stateOf(target).metadata?.acl;
    const roles = rolesFor(op, own, system ? settings.systemStreamAcl : settings.userStreamAcl, system ? DEFAULT_SYSTEM_STREAM_ACL : DEFAULT_USER_STREAM_ACL);
    if (!hasRole(principal, roles, this.allowAnonymousStreamAccess)) throw new AccessDeniedError(streamId, operation);
  }

  /** The lowest revision of S a reader may see (truncate-before and `$maxCount`). */
  firstVisibleRevision(state: StreamState, eventCount: number): number {
    const metadata = state.metadata;
    if (metadata === null) return 0;
    let first = metadata.truncateBefore !== undefined ? Math.min(metadata.truncateBefore, eventCount) : 0;
    if (metadata.maxCount !== undefined) first = Math.max(first, eventCount - metadata.maxCount);
    return first;
  }

  /** Drops events older than `$maxAge` (events are read with their timestamps). */
  withoutExpired(state: StreamState, events: RecordedEvent[], nowMs: number): RecordedEvent[] {
    const maxAge = state.metadata?.maxAge;
    if (maxAge === undefined) return events;
    const oldest = nowMs - maxAge * 1000;
    return events.filter((e) => e.created.getTime() >= oldest);
  }

  private currentSettings(): Settings {
    const count = this.queries.eventCount(SETTINGS_STREAM);
    if (count !== this.settings.count) {
      let value: Settings = { userStreamAcl: {}, systemStreamAcl: {} };
      try {
        const data = this.queries.lastEvent(SETTINGS_STREAM)?.data as Record<string, unknown> | undefined;
        value = {
          userStreamAcl: data?.$userStreamAcl ? parseAcl(data.$userStreamAcl, '$userStreamAcl') : {},
          systemStreamAcl: data?.$systemStreamAcl ? parseAcl(data.$systemStreamAcl, '$systemStreamAcl') : {},
        };
      } catch {
        // Unreadable settings fall back to the built-in defaults.
      }
      this.settings = { count, value };
    }
    return this.settings.value;
  }
}
