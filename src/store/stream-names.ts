// Stream naming rules shared with EventStoreDB: `$`-prefixed system streams, `$$S` metastreams
// holding the metadata of stream S, and the virtual `$all`.

export const ALL_STREAM = '$all';
export const SETTINGS_STREAM = '$settings';
export const METADATA_EVENT_TYPE = '$metadata';
export const SETTINGS_EVENT_TYPE = '$settings';
/** Event type of the tombstone written to `$$S` when S is hard-deleted. */
export const STREAM_DELETED_EVENT_TYPE = '$streamDeleted';

export function isSystemStream(streamId: string): boolean {
  return streamId.startsWith('$');
}

export function isMetastream(streamId: string): boolean {
  return streamId.startsWith('$$');
}

/** `$$S` for S. */
export function metastreamOf(streamId: string): string {
  return `$$${streamId}`;
}

/** S for `$$S`. */
export function streamOfMetastream(metastreamId: string): string {
  return metastreamId.slice(2);
}
