// Stream ids in bytewise (Unicode code point) order, for listing streams by prefix with a cursor,
// read from where the streams are: the stream directory file (through the block cache) merged
// with the streams created since it was written (the stream table and unwritten flush changes,
// at most a memtable's worth). Nothing is kept between calls.

import type { StoreIndexes } from './store-indexes.js';

/**
 * Ids that start with `prefix` and sort after `after` (when given), in order, while `take`
 * returns true for fewer than `limit` of them (`take` may refuse an id: it is skipped).
 */
export function listStreamIds(indexes: StoreIndexes, prefix: string, after: string | null, limit: number, take: (id: string) => boolean): string[] {
  const prefixBytes = Buffer.from(prefix, 'utf8');
  const afterBytes = after === null ? null : Buffer.from(after, 'utf8');
  const from = afterBytes !== null && Buffer.compare(afterBytes, prefixBytes) > 0 ? afterBytes : prefixBytes;
  const file = indexes.directoryFile;
  const fileStreams = file?.streamCount ?? 0;
  // Streams numbered from fileStreams on are not in the file: the table or unwritten changes hold them.
  const fresh = indexes.residentIdsFrom(fileStreams).filter((id) => Buffer.compare(id, from) >= 0);
  for (const changes of indexes.unwrittenChanges) {
    for (let i = changes.lowerBound(from); i < changes.count; i++) if (changes.streamNoAt(i) >= fileStreams) fresh.push(changes.idAt(i));
  }
  fresh.sort(Buffer.compare);
  const fromFile = file?.entriesFrom(from)[Symbol.iterator]() ?? null;
  let fileNext = fromFile?.next();
  let freshAt = 0;
  const out: string[] = [];
  let previous: Uint8Array | null = null;
  while (out.length < limit) {
    const fileId = fileNext === undefined || fileNext.done === true ? null : fileNext.value.id;
    const freshId = freshAt < fresh.length ? fresh[freshAt] : null;
    let id: Uint8Array;
    if (fileId === null && freshId === null) break;
    if (freshId === null || (fileId !== null && Buffer.compare(fileId, freshId) <= 0)) {
      id = fileId!;
      fileNext = fromFile!.next();
    } else {
      id = freshId;
      freshAt++;
    }
    // The same new stream can be in the table and in unwritten changes.
    if (previous !== null && Buffer.compare(previous, id) === 0) continue;
    previous = id;
    if (!startsWith(id, prefixBytes)) break;
    if (afterBytes !== null && Buffer.compare(id, afterBytes) <= 0) continue;
    const streamId = Buffer.from(id.buffer, id.byteOffset, id.length).toString('utf8');
    if (take(streamId)) out.push(streamId);
  }
  return out;
}

function startsWith(id: Uint8Array, prefix: Uint8Array): boolean {
  if (id.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (id[i] !== prefix[i]) return false;
  return true;
}
