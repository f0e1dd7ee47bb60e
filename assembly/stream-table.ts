// Stream table: open addressing over 64-bit xxhash64 stream-id hashes. Each stream keeps its
// revision count and the positions of its newest revisions [base, base + tail length): the
// memtable part of the stream index. Older positions live in index files (src/index); a flush
// copies the tails out and resets them (base moves up, the tail empties), so the table's size
// follows the stream count, not the event count. Hash collisions are resolved by comparing the
// stored stream-id bytes (the table keeps them).

import { xxhash64 } from './xxhash64';

// Table header (40 bytes).
const T_SLOTS: usize = 0; // u32 pointer to slots
const T_SLOT_CAPACITY: usize = 4; // u32, a power of two
const T_STREAMS: usize = 8; // u32 pointer to stream records
const T_STREAM_CAPACITY: usize = 12; // u32
const T_STREAM_COUNT: usize = 16; // u32
const T_TAIL_ENTRIES: usize = 20; // u32: positions held in all tails
const T_HASH_MASK: usize = 24; // u64: hashes are masked to this width (tests force collisions)
const T_ID_BLOCK: usize = 32; // u32 pointer to the directory bytes tableLoadStreams took over (0: none)
const T_ID_BLOCK_BYTES: usize = 36; // u32 its length: ids inside it are not allocated one by one
const T_BYTES: usize = 40;

// Slot (16 bytes): u64 masked hash, u32 stream number + 1 (0 = empty), u32 unused.
const S_HASH: usize = 0;
const S_STREAM: usize = 8;
const SLOT_BYTES: usize = 16;

// Stream record (24 bytes).
const R_ID_PTR: usize = 0;
const R_ID_LEN: usize = 4;
const R_LIST_PTR: usize = 8; // f64 positions, index = revision - base (0: none allocated)
const R_LIST_LEN: usize = 12;
const R_LIST_CAP: usize = 16;
const R_BASE: usize = 20; // u32: revision of the tail's first entry
const R_BYTES: usize = 24;

const MIN_SLOTS: u32 = 16;
const MIN_LIST: u32 = 4;
const HASH_SEED: u64 = 0;

// Decoded record descriptor fields used by indexRecords (see record.ts).
const DEC_OFFSET: usize = 0;
const DEC_POSITION: usize = 8;
const DEC_REVISION: usize = 16;
const DEC_STREAM_LEN: usize = 34;
const DEC_STREAM_NO: usize = 48;
const DEC_DESC_BYTES: usize = 56;
const RECORD_STREAM_ID_AT: usize = 64;

export function tableCreate(hashBits: u32, initialSlots: u32): usize {
  let slots = MIN_SLOTS;
  while (slots < initialSlots) slots <<= 1;
  const t = heap.alloc(T_BYTES);
  const slotPtr = heap.alloc(<usize>slots * SLOT_BYTES);
  memory.fill(slotPtr, 0, <usize>slots * SLOT_BYTES);
  store<u32>(t, <u32>slotPtr, T_SLOTS);
  store<u32>(t, slots, T_SLOT_CAPACITY);
  store<u32>(t, 0, T_STREAMS);
  store<u32>(t, 0, T_STREAM_CAPACITY);
  store<u32>(t, 0, T_STREAM_COUNT);
  store<u32>(t, 0, T_TAIL_ENTRIES);
  store<u32>(t, 0, T_ID_BLOCK);
  store<u32>(t, 0, T_ID_BLOCK_BYTES);
  store<u64>(t, hashBits >= 64 ? 0xffffffffffffffff : (<u64>1 << hashBits) - 1, T_HASH_MASK);
  return t;
}

export function tableDestroy(t: usize): void {
  const streams = <usize>load<u32>(t, T_STREAMS);
  const count = load<u32>(t, T_STREAM_COUNT);
  const idBlock = <usize>load<u32>(t, T_ID_BLOCK);
  const idBlockEnd = idBlock + <usize>load<u32>(t, T_ID_BLOCK_BYTES);
  for (let i: u32 = 0; i < count; i++) {
    const r = streams + <usize>i * R_BYTES;
    const id = <usize>load<u32>(r, R_ID_PTR);
    if (id < idBlock || id >= idBlockEnd) heap.free(id);
    const list = <usize>load<u32>(r, R_LIST_PTR);
    if (list != 0) heap.free(list);
  }
  if (streams != 0) heap.free(streams);
  if (idBlock != 0) heap.free(idBlock);
  heap.free(<usize>load<u32>(t, T_SLOTS));
  heap.free(t);
}

export function tableStreamCount(t: usize): u32 {
  return load<u32>(t, T_STREAM_COUNT);
}

export function tableSlotCapacity(t: usize): u32 {
  return load<u32>(t, T_SLOT_CAPACITY);
}

export function hashStreamId(t: usize, keyPtr: usize, keyLen: usize): u64 {
  return xxhash64(keyPtr, keyLen, HASH_SEED) & load<u64>(t, T_HASH_MASK);
}

// @ts-ignore: decorator
@inline function slotIndex(hash: u64, capacity: u32): u32 {
  return <u32>(hash ^ (hash >> 32)) & (capacity - 1);
}

// @ts-ignore: decorator
@inline function streamRecord(t: usize, streamNo: u32): usize {
  return <usize>load<u32>(t, T_STREAMS) + <usize>streamNo * R_BYTES;
}

function findWithHash(t: usize, hash: u64, keyPtr: usize, keyLen: usize): i32 {
  const slots = <usize>load<u32>(t, T_SLOTS);
  const capacity = load<u32>(t, T_SLOT_CAPACITY);
  let i = slotIndex(hash, capacity);
  while (true) {
    const s = slots + <usize>i * SLOT_BYTES;
    const stored = load<u32>(s, S_STREAM);
    if (stored == 0) return -1;
    if (load<u64>(s, S_HASH) == hash) {
      const r = streamRecord(t, stored - 1);
      if (
        <usize>load<u32>(r, R_ID_LEN) == keyLen &&
        memory.compare(<usize>load<u32>(r, R_ID_PTR), keyPtr, keyLen) == 0
      ) return <i32>(stored - 1);
    }
    i = (i + 1) & (capacity - 1);
  }
}

/** The stream number of the id in [keyPtr, keyPtr+keyLen), or -1 when the table lacks it. */
export function tableFind(t: usize, keyPtr: usize, keyLen: usize): i32 {
  return findWithHash(t, hashStreamId(t, keyPtr, keyLen), keyPtr, keyLen);
}

function placeSlot(slots: usize, capacity: u32, hash: u64, streamNo: u32): void {
  let i = slotIndex(hash, capacity);
  while (load<u32>(slots + <usize>i * SLOT_BYTES, S_STREAM) != 0) i = (i + 1) & (capacity - 1);
  const s = slots + <usize>i * SLOT_BYTES;
  store<u64>(s, hash, S_HASH);
  store<u32>(s, streamNo + 1, S_STREAM);
}

/** Rehashes into `capacity` slots (a power of two above the current capacity). */
function growSlots(t: usize, capacity: u32): void {
  const oldSlots = <usize>load<u32>(t, T_SLOTS);
  const oldCapacity = load<u32>(t, T_SLOT_CAPACITY);
  const slots = heap.alloc(<usize>capacity * SLOT_BYTES);
  memory.fill(slots, 0, <usize>capacity * SLOT_BYTES);
  for (let i: u32 = 0; i < oldCapacity; i++) {
    const s = oldSlots + <usize>i * SLOT_BYTES;
    const stored = load<u32>(s, S_STREAM);
    if (stored != 0) placeSlot(slots, capacity, load<u64>(s, S_HASH), stored - 1);
  }
  heap.free(oldSlots);
  store<u32>(t, <u32>slots, T_SLOTS);
  store<u32>(t, capacity, T_SLOT_CAPACITY);
}

// Keep the load factor at or below 0.7 so probe chains stay short.
// @ts-ignore: decorator
@inline function slotsFit(streams: u32, capacity: u32): bool {
  return <u64>streams * 10 <= <u64>capacity * 7;
}

/** Makes room for `streams` streams in all: slots within the load factor, stream records. */
function reserveStreams(t: usize, streams: u32): void {
  let capacity = load<u32>(t, T_SLOT_CAPACITY);
  if (!slotsFit(streams, capacity)) {
    while (!slotsFit(streams, capacity)) capacity <<= 1;
    growSlots(t, capacity);
  }
  let streamCapacity = load<u32>(t, T_STREAM_CAPACITY);
  if (streams > streamCapacity) {
    streamCapacity = streamCapacity == 0 ? 64 : streamCapacity;
    while (streamCapacity < streams) streamCapacity <<= 1;
    const old = <usize>load<u32>(t, T_STREAMS);
    const grown = old == 0 ? heap.alloc(<usize>streamCapacity * R_BYTES) : heap.realloc(old, <usize>streamCapacity * R_BYTES);
    store<u32>(t, <u32>grown, T_STREAMS);
    store<u32>(t, streamCapacity, T_STREAM_CAPACITY);
  }
}

function insertWithHash(t: usize, hash: u64, keyPtr: usize, keyLen: usize, base: u32): u32 {
  const count = load<u32>(t, T_STREAM_COUNT);
  reserveStreams(t, count + 1);
  const idPtr = heap.alloc(keyLen);
  memory.copy(idPtr, keyPtr, keyLen);
  placeSlot(<usize>load<u32>(t, T_SLOTS), load<u32>(t, T_SLOT_CAPACITY), hash, count);
  addStream(t, idPtr, keyLen, base);
  return count;
}

/** Appends stream record number `count` (its slot is already placed). */
function addStream(t: usize, idPtr: usize, keyLen: usize, base: u32): void {
  const count = load<u32>(t, T_STREAM_COUNT);
  const r = streamRecord(t, count);
  store<u32>(r, <u32>idPtr, R_ID_PTR);
  store<u32>(r, <u32>keyLen, R_ID_LEN);
  store<u32>(r, 0, R_LIST_PTR);
  store<u32>(r, 0, R_LIST_LEN);
  store<u32>(r, 0, R_LIST_CAP);
  store<u32>(r, base, R_BASE);
  store<u32>(t, count + 1, T_STREAM_COUNT);
}

/** The stream number of the id, inserting an empty stream when the table lacks it. */
export function tableFindOrInsert(t: usize, keyPtr: usize, keyLen: usize): u32 {
  const hash = hashStreamId(t, keyPtr, keyLen);
  const found = findWithHash(t, hash, keyPtr, keyLen);
  return found >= 0 ? <u32>found : insertWithHash(t, hash, keyPtr, keyLen, 0);
}

/**
 * Loads streams persisted by an index flush: `count` entries at `ptr`, each a u32 revision count,
 * a u16 id length and the id's UTF-8 bytes, in stream-number order, `bytes` long. Each stream
 * enters with an empty tail based at its revision count. The table takes over the block at `ptr`
 * (allocated with alloc(), freed by tableDestroy) and keeps the ids where they lie in it, in
 * success and failure alike; one load per table. Returns the index of the first entry whose id is
 * already in the table (a corrupt directory), or `count`.
 */
export function tableLoadStreams(t: usize, ptr: usize, bytes: u32, count: u32): u32 {
  assert(load<u32>(t, T_ID_BLOCK) == 0, 'one directory load per table');
  store<u32>(t, <u32>ptr, T_ID_BLOCK);
  store<u32>(t, bytes, T_ID_BLOCK_BYTES);
  // Room for every stream first: growing as they come would rehash the table about twenty times.
  reserveStreams(t, load<u32>(t, T_STREAM_COUNT) + count);
  const slots = <usize>load<u32>(t, T_SLOTS);
  const capacity = load<u32>(t, T_SLOT_CAPACITY);
  let at = ptr;
  for (let i: u32 = 0; i < count; i++) {
    const revisions = load<u32>(at);
    const keyLen = <usize>load<u16>(at, 4);
    const keyPtr = at + 6;
    const hash = hashStreamId(t, keyPtr, keyLen);
    // One probe serves the duplicate check and the insert: the empty slot that ends the search
    // for the id is where it goes.
    let slot = slotIndex(hash, capacity);
    while (true) {
      const s = slots + <usize>slot * SLOT_BYTES;
      const stored = load<u32>(s, S_STREAM);
      if (stored == 0) break;
      if (load<u64>(s, S_HASH) == hash) {
        const r = streamRecord(t, stored - 1);
        if (<usize>load<u32>(r, R_ID_LEN) == keyLen && memory.compare(<usize>load<u32>(r, R_ID_PTR), keyPtr, keyLen) == 0) return i;
      }
      slot = (slot + 1) & (capacity - 1);
    }
    const s = slots + <usize>slot * SLOT_BYTES;
    store<u64>(s, hash, S_HASH);
    store<u32>(s, load<u32>(t, T_STREAM_COUNT) + 1, S_STREAM);
    addStream(t, keyPtr, keyLen, revisions);
    at = keyPtr + keyLen;
  }
  return count;
}

export function streamIdPtr(t: usize, streamNo: u32): usize {
  return <usize>load<u32>(streamRecord(t, streamNo), R_ID_PTR);
}

export function streamIdLen(t: usize, streamNo: u32): u32 {
  return load<u32>(streamRecord(t, streamNo), R_ID_LEN);
}

/** How many revisions the stream has (its last revision + 1). */
export function streamRevisionCount(t: usize, streamNo: u32): u32 {
  const r = streamRecord(t, streamNo);
  return load<u32>(r, R_BASE) + load<u32>(r, R_LIST_LEN);
}

/** The first revision whose position the table holds (older ones are in index files). */
export function streamBaseRevision(t: usize, streamNo: u32): u32 {
  return load<u32>(streamRecord(t, streamNo), R_BASE);
}

/** Positions held in all tails: the memtable's entry count. */
export function tableTailEntries(t: usize): u32 {
  return load<u32>(t, T_TAIL_ENTRIES);
}

/** Forgets a stream's tail after a flush wrote it to an index file: base moves past it. */
function streamResetTail(t: usize, streamNo: u32): void {
  const r = streamRecord(t, streamNo);
  const len = load<u32>(r, R_LIST_LEN);
  const list = <usize>load<u32>(r, R_LIST_PTR);
  if (list != 0) heap.free(list);
  store<u32>(r, 0, R_LIST_PTR);
  store<u32>(r, 0, R_LIST_LEN);
  store<u32>(r, 0, R_LIST_CAP);
  store<u32>(r, load<u32>(r, R_BASE) + len, R_BASE);
  store<u32>(t, load<u32>(t, T_TAIL_ENTRIES) - len, T_TAIL_ENTRIES);
}

function push(t: usize, streamNo: u32, position: f64): void {
  const r = streamRecord(t, streamNo);
  const len = load<u32>(r, R_LIST_LEN);
  let cap = load<u32>(r, R_LIST_CAP);
  let list = <usize>load<u32>(r, R_LIST_PTR);
  if (len == cap) {
    cap = cap == 0 ? MIN_LIST : cap << 1;
    list = list == 0 ? heap.alloc(<usize>cap * 8) : heap.realloc(list, <usize>cap * 8);
    store<u32>(r, <u32>list, R_LIST_PTR);
    store<u32>(r, cap, R_LIST_CAP);
  }
  store<f64>(list + <usize>len * 8, position);
  store<u32>(r, len + 1, R_LIST_LEN);
  store<u32>(t, load<u32>(t, T_TAIL_ENTRIES) + 1, T_TAIL_ENTRIES);
}

/** Appends the next revision's position to a stream. */
export function streamPush(t: usize, streamNo: u32, position: f64): void {
  push(t, streamNo, position);
}

/**
 * Copies `count` positions starting at revision `fromRevision` (at least the base revision) into
 * outPtr (f64 each). Returns how many were copied (fewer at the end of the stream; 0 below base).
 */
export function streamPositions(t: usize, streamNo: u32, fromRevision: u32, count: u32, outPtr: usize): u32 {
  const r = streamRecord(t, streamNo);
  const base = load<u32>(r, R_BASE);
  const len = load<u32>(r, R_LIST_LEN);
  if (fromRevision < base || fromRevision - base >= len) return 0;
  const n = min<u32>(count, len - (fromRevision - base));
  memory.copy(outPtr, <usize>load<u32>(r, R_LIST_PTR) + <usize>(fromRevision - base) * 8, <usize>n * 8);
  return n;
}

/**
 * Indexes decoded records (descriptors from scanRecords / validateRecordsAt over the region at
 * `base`): finds or inserts each record's stream, checks that its revision is the stream's next,
 * appends its position and writes the stream number into the descriptor. Returns the count
 * indexed; fewer than `count` means record [return value] broke revision contiguity.
 */
export function indexRecords(t: usize, base: usize, descPtr: usize, count: u32): u32 {
  // Consecutive records mostly belong to the same stream: compare bytes before hashing.
  let lastKeyPtr: usize = 0;
  let lastKeyLen: usize = 0;
  let lastStreamNo: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = descPtr + <usize>i * DEC_DESC_BYTES;
    const keyPtr = base + <usize>load<u32>(d, DEC_OFFSET) + RECORD_STREAM_ID_AT;
    const keyLen = <usize>load<u16>(d, DEC_STREAM_LEN);
    const same = lastKeyPtr != 0 && keyLen == lastKeyLen && memory.compare(keyPtr, lastKeyPtr, keyLen) == 0;
    const revision = load<f64>(d, DEC_REVISION);
    let streamNo = lastStreamNo;
    if (!same) {
      const hash = hashStreamId(t, keyPtr, keyLen);
      const found = findWithHash(t, hash, keyPtr, keyLen);
      // A stream enters the table only with its first revision: a rejected record leaves no trace.
      if (found < 0 && revision != 0) return i;
      streamNo = found >= 0 ? <u32>found : insertWithHash(t, hash, keyPtr, keyLen, 0);
    }
    lastKeyPtr = keyPtr;
    lastKeyLen = keyLen;
    lastStreamNo = streamNo;
    if (<f64>streamRevisionCount(t, streamNo) != revision) return i;
    push(t, streamNo, load<f64>(d, DEC_POSITION));
    store<u32>(d, streamNo, DEC_STREAM_NO);
  }
  return count;
}

/**
 * Moves every tail into index entries at outPtr (room for tableTailEntries() entries of 24
 * bytes: u64 key = stream number, u64 seq = revision, u64 value = position, little-endian), in
 * stream-number then revision order, and resets the tails. Returns the entries written.
 */
export function tableDrainTails(t: usize, outPtr: usize): u32 {
  const count = load<u32>(t, T_STREAM_COUNT);
  let out = outPtr;
  let written: u32 = 0;
  for (let streamNo: u32 = 0; streamNo < count; streamNo++) {
    const r = streamRecord(t, streamNo);
    const len = load<u32>(r, R_LIST_LEN);
    if (len == 0) continue;
    const base = load<u32>(r, R_BASE);
    const list = <usize>load<u32>(r, R_LIST_PTR);
    for (let i: u32 = 0; i < len; i++) {
      store<u64>(out, <u64>streamNo);
      store<u64>(out, <u64>(base + i), 8);
      store<u64>(out, <u64>load<f64>(list + <usize>i * 8), 16);
      out += 24;
    }
    written += len;
    streamResetTail(t, streamNo);
  }
  return written;
}

/**
 * Writes the stream directory entries of streams [fromStreamNo, fromStreamNo + count) at outPtr
 * in the format tableLoadStreams reads (u32 revision count, u16 id length, id bytes). Returns
 * the bytes written; the caller sizes the output with tableDirectoryBytes.
 */
export function tableExportStreams(t: usize, fromStreamNo: u32, count: u32, outPtr: usize): usize {
  let out = outPtr;
  for (let streamNo = fromStreamNo; streamNo < fromStreamNo + count; streamNo++) {
    const r = streamRecord(t, streamNo);
    const keyLen = <usize>load<u32>(r, R_ID_LEN);
    store<u32>(out, load<u32>(r, R_BASE) + load<u32>(r, R_LIST_LEN));
    store<u16>(out, <u16>keyLen, 4);
    memory.copy(out + 6, <usize>load<u32>(r, R_ID_PTR), keyLen);
    out += 6 + keyLen;
  }
  return out - outPtr;
}

/** Bytes tableExportStreams writes for streams [fromStreamNo, fromStreamNo + count). */
export function tableDirectoryBytes(t: usize, fromStreamNo: u32, count: u32): usize {
  let bytes: usize = 0;
  for (let streamNo = fromStreamNo; streamNo < fromStreamNo + count; streamNo++) {
    bytes += 6 + <usize>load<u32>(streamRecord(t, streamNo), R_ID_LEN);
  }
  return bytes;
}
