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
// u32, 1 while the table holds every stream of the store, so an id it lacks is a new stream; 0
// once streams live elsewhere too (the stream directory file), so indexRecords stops at an id it
// lacks and leaves the JavaScript side to look it up there.
const T_COMPLETE: usize = 32;
// u32 pointer to the stream filter's bits (0: none) and u32 log2 of its bit count: a Bloom filter
// of every stream id of the store, so an incomplete table can still tell most new streams from
// ones it does not hold without asking the JavaScript side (format-spec/index.md §13.6).
const T_FILTER: usize = 36;
const T_FILTER_LOG2_BITS: usize = 40;
const T_BYTES: usize = 48;

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
  store<u32>(t, 1, T_COMPLETE);
  store<u32>(t, 0, T_FILTER);
  store<u32>(t, 0, T_FILTER_LOG2_BITS);
  store<u64>(t, hashBits >= 64 ? 0xffffffffffffffff : (<u64>1 << hashBits) - 1, T_HASH_MASK);
  return t;
}

export function tableDestroy(t: usize): void {
  const streams = <usize>load<u32>(t, T_STREAMS);
  const count = load<u32>(t, T_STREAM_COUNT);
  for (let i: u32 = 0; i < count; i++) freeStream(streams + <usize>i * R_BYTES);
  if (streams != 0) heap.free(streams);
  const filter = <usize>load<u32>(t, T_FILTER);
  if (filter != 0) heap.free(filter);
  heap.free(<usize>load<u32>(t, T_SLOTS));
  heap.free(t);
}

function freeStream(r: usize): void {
  heap.free(<usize>load<u32>(r, R_ID_PTR));
  const list = <usize>load<u32>(r, R_LIST_PTR);
  if (list != 0) heap.free(list);
}

/** Whether every stream of the store is in the table (see T_COMPLETE). */
export function tableSetComplete(t: usize, complete: u32): void {
  store<u32>(t, complete != 0 ? 1 : 0, T_COMPLETE);
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

/**
 * Like tableFind, but also says where else to look when the table lacks the id: -1 when no
 * stream has it (the table is complete, or the filter rules it out), -2 when one may exist
 * outside the table. One hash for both questions.
 */
export function tableLocate(t: usize, keyPtr: usize, keyLen: usize): i32 {
  const hash = hashStreamId(t, keyPtr, keyLen);
  const found = findWithHash(t, hash, keyPtr, keyLen);
  if (found >= 0 || load<u32>(t, T_COMPLETE) != 0) return found;
  return filterMayContain(t, hash, keyPtr, keyLen) ? -2 : -1;
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

// ---- stream filter: a split-block Bloom filter (as Parquet's) over the id's unmasked xxhash64
// (seed 0), so that each add or test touches one 32-byte block, one cache line, rather than six
// random places of a filter of megabytes: block = low 32 bits mod the block count (a power of
// two); in it, word w (of 8 u32 words) gets bit (high 32 bits × SALT[w]) >> 27 (u32 product).

const FILTER_BLOCK_BYTES: u32 = 32;
const SALT0: u32 = 0x47b6137b;
const SALT1: u32 = 0x44974d91;
const SALT2: u32 = 0x8824ad5b;
const SALT3: u32 = 0xa2b7289d;
const SALT4: u32 = 0x705495c7;
const SALT5: u32 = 0x2df1424b;
const SALT6: u32 = 0x9efc4947;
const SALT7: u32 = 0x5c6bfb31;

/** The unmasked 64-bit hash the filter uses, from the table's (masked) one when that is whole. */
function filterHashOf(t: usize, hash: u64, keyPtr: usize, keyLen: usize): u64 {
  return load<u64>(t, T_HASH_MASK) == 0xffffffffffffffff ? hash : xxhash64(keyPtr, keyLen, HASH_SEED);
}

// @ts-ignore: decorator
@inline function filterBlock(bits: usize, log2Bits: u32, h: u64): usize {
  const blocks: u32 = <u32>1 << (log2Bits - 8);
  return bits + <usize>((<u32>h) & (blocks - 1)) * FILTER_BLOCK_BYTES;
}

// @ts-ignore: decorator
@inline function saltBit(key: u32, salt: u32): u32 {
  return <u32>1 << ((key * salt) >> 27);
}

function filterAdd(bits: usize, log2Bits: u32, h: u64): void {
  const block = filterBlock(bits, log2Bits, h);
  const key = <u32>(h >> 32);
  store<u32>(block, load<u32>(block, 0) | saltBit(key, SALT0), 0);
  store<u32>(block, load<u32>(block, 4) | saltBit(key, SALT1), 4);
  store<u32>(block, load<u32>(block, 8) | saltBit(key, SALT2), 8);
  store<u32>(block, load<u32>(block, 12) | saltBit(key, SALT3), 12);
  store<u32>(block, load<u32>(block, 16) | saltBit(key, SALT4), 16);
  store<u32>(block, load<u32>(block, 20) | saltBit(key, SALT5), 20);
  store<u32>(block, load<u32>(block, 24) | saltBit(key, SALT6), 24);
  store<u32>(block, load<u32>(block, 28) | saltBit(key, SALT7), 28);
}

function filterHas(bits: usize, log2Bits: u32, h: u64): bool {
  const block = filterBlock(bits, log2Bits, h);
  const key = <u32>(h >> 32);
  return (load<u32>(block, 0) & saltBit(key, SALT0)) != 0 &&
    (load<u32>(block, 4) & saltBit(key, SALT1)) != 0 &&
    (load<u32>(block, 8) & saltBit(key, SALT2)) != 0 &&
    (load<u32>(block, 12) & saltBit(key, SALT3)) != 0 &&
    (load<u32>(block, 16) & saltBit(key, SALT4)) != 0 &&
    (load<u32>(block, 20) & saltBit(key, SALT5)) != 0 &&
    (load<u32>(block, 24) & saltBit(key, SALT6)) != 0 &&
    (load<u32>(block, 28) & saltBit(key, SALT7)) != 0;
}

/** Whether the table's filter may hold the id with this (masked) hash: true without a filter. */
function filterMayContain(t: usize, hash: u64, keyPtr: usize, keyLen: usize): bool {
  const bits = <usize>load<u32>(t, T_FILTER);
  return bits == 0 || filterHas(bits, load<u32>(t, T_FILTER_LOG2_BITS), filterHashOf(t, hash, keyPtr, keyLen));
}

/**
 * Installs a stream filter of 2^log2Bits bits at `bits` (allocated with alloc(); the table owns
 * it from now and frees the one it had). bits 0: none.
 */
export function tableFilterInstall(t: usize, bits: usize, log2Bits: u32): void {
  const old = <usize>load<u32>(t, T_FILTER);
  if (old != 0 && old != bits) heap.free(old);
  store<u32>(t, <u32>bits, T_FILTER);
  store<u32>(t, bits == 0 ? 0 : log2Bits, T_FILTER_LOG2_BITS);
}

export function tableFilterPtr(t: usize): usize {
  return <usize>load<u32>(t, T_FILTER);
}

export function tableFilterLog2Bits(t: usize): u32 {
  return load<u32>(t, T_FILTER_LOG2_BITS);
}

/** Whether the table's filter may hold the id in [keyPtr, keyPtr + keyLen): 1 or 0 (1 without a filter). */
export function tableFilterMayContain(t: usize, keyPtr: usize, keyLen: usize): u32 {
  return filterMayContain(t, hashStreamId(t, keyPtr, keyLen), keyPtr, keyLen) ? 1 : 0;
}

/** Adds the id of every stream the table holds to the filter at `bits` (2^log2Bits bits). */
export function tableFilterAddStreams(t: usize, bits: usize, log2Bits: u32): void {
  const count = load<u32>(t, T_STREAM_COUNT);
  for (let streamNo: u32 = 0; streamNo < count; streamNo++) {
    const r = streamRecord(t, streamNo);
    const keyPtr = <usize>load<u32>(r, R_ID_PTR);
    const keyLen = <usize>load<u32>(r, R_ID_LEN);
    filterAdd(bits, log2Bits, xxhash64(keyPtr, keyLen, HASH_SEED));
  }
}

/** Adds `count` ids, each a u16 length then its bytes back to back at listPtr, to the filter at `bits`. */
export function filterAddIds(bits: usize, log2Bits: u32, listPtr: usize, count: u32): void {
  let at = listPtr;
  for (let i: u32 = 0; i < count; i++) {
    const keyLen = <usize>load<u16>(at);
    filterAdd(bits, log2Bits, xxhash64(at + 2, keyLen, HASH_SEED));
    at += 2 + keyLen;
  }
}

function insertWithHash(t: usize, hash: u64, keyPtr: usize, keyLen: usize, base: u32): u32 {
  // A complete table asks no filter; the caller builds one from it before it stops being complete.
  const filter = <usize>load<u32>(t, T_FILTER);
  if (filter != 0 && load<u32>(t, T_COMPLETE) == 0) filterAdd(filter, load<u32>(t, T_FILTER_LOG2_BITS), filterHashOf(t, hash, keyPtr, keyLen));
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
 * Inserts a stream the table lacks, known elsewhere with `base` revisions (0 for a new stream):
 * its tail starts empty at revision `base`. Returns its table number.
 */
export function tableInsert(t: usize, keyPtr: usize, keyLen: usize, base: u32): u32 {
  const hash = hashStreamId(t, keyPtr, keyLen);
  assert(findWithHash(t, hash, keyPtr, keyLen) < 0, 'a stream is inserted once');
  return insertWithHash(t, hash, keyPtr, keyLen, base);
}

/**
 * Keeps only the streams whose byte in keepPtr[0 .. streamCount) is non-zero, renumbered 0, 1, …
 * in their old order; the others (whose tails must be empty) are freed and their slots dropped.
 * The slots are rebuilt for the survivors. Returns the new stream count.
 */
export function tableCompact(t: usize, keepPtr: usize): u32 {
  const count = load<u32>(t, T_STREAM_COUNT);
  const streams = <usize>load<u32>(t, T_STREAMS);
  const newNumbers = heap.alloc(<usize>max<u32>(count, 1) * 4);
  let kept: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = streams + <usize>i * R_BYTES;
    if (load<u8>(keepPtr + <usize>i) != 0) {
      store<u32>(newNumbers + <usize>i * 4, kept);
      if (kept != i) memory.copy(streams + <usize>kept * R_BYTES, r, R_BYTES);
      kept++;
    } else {
      assert(load<u32>(r, R_LIST_LEN) == 0, 'a dropped stream has an empty tail');
      store<u32>(newNumbers + <usize>i * 4, 0xffffffff);
      freeStream(r);
    }
  }
  const oldSlots = <usize>load<u32>(t, T_SLOTS);
  const oldCapacity = load<u32>(t, T_SLOT_CAPACITY);
  let capacity = MIN_SLOTS;
  while (!slotsFit(kept * 2, capacity)) capacity <<= 1;
  const slots = heap.alloc(<usize>capacity * SLOT_BYTES);
  memory.fill(slots, 0, <usize>capacity * SLOT_BYTES);
  for (let i: u32 = 0; i < oldCapacity; i++) {
    const s = oldSlots + <usize>i * SLOT_BYTES;
    const stored = load<u32>(s, S_STREAM);
    if (stored == 0) continue;
    const renumbered = load<u32>(newNumbers + <usize>(stored - 1) * 4);
    if (renumbered != 0xffffffff) placeSlot(slots, capacity, load<u64>(s, S_HASH), renumbered);
  }
  heap.free(oldSlots);
  heap.free(newNumbers);
  store<u32>(t, <u32>slots, T_SLOTS);
  store<u32>(t, capacity, T_SLOT_CAPACITY);
  store<u32>(t, kept, T_STREAM_COUNT);
  return kept;
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
      // An incomplete table takes a new stream only when the filter says no stream has its id;
      // otherwise the caller looks for it where the other streams are.
      if (found < 0 && (revision != 0 || (load<u32>(t, T_COMPLETE) == 0 && filterMayContain(t, hash, keyPtr, keyLen)))) return i;
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
 * bytes: u64 key, u64 seq = revision, u64 value = position, little-endian), in table-number then
 * revision order, and resets the tails. The key is the stream's table number, or, when keysPtr
 * is not 0, keysPtr[table number] (a u32 each: the caller's numbering). Returns the entries written.
 */
export function tableDrainTails(t: usize, outPtr: usize, keysPtr: usize): u32 {
  const count = load<u32>(t, T_STREAM_COUNT);
  let out = outPtr;
  let written: u32 = 0;
  for (let streamNo: u32 = 0; streamNo < count; streamNo++) {
    const r = streamRecord(t, streamNo);
    const len = load<u32>(r, R_LIST_LEN);
    if (len == 0) continue;
    const base = load<u32>(r, R_BASE);
    const list = <usize>load<u32>(r, R_LIST_PTR);
    const key: u64 = keysPtr == 0 ? <u64>streamNo : <u64>load<u32>(keysPtr + <usize>streamNo * 4);
    for (let i: u32 = 0; i < len; i++) {
      store<u64>(out, key);
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
 * Writes an entry for each stream whose byte in selectPtr[0 .. streamCount) is non-zero, in table
 * order, at outPtr: u32 table number, u16 id length, id bytes. Returns the bytes written; the
 * caller sizes the output with tableSelectedIdBytes.
 */
export function tableExportIds(t: usize, selectPtr: usize, outPtr: usize): usize {
  const count = load<u32>(t, T_STREAM_COUNT);
  let out = outPtr;
  for (let streamNo: u32 = 0; streamNo < count; streamNo++) {
    if (load<u8>(selectPtr + <usize>streamNo) == 0) continue;
    const r = streamRecord(t, streamNo);
    const keyLen = <usize>load<u32>(r, R_ID_LEN);
    store<u32>(out, streamNo);
    store<u16>(out, <u16>keyLen, 4);
    memory.copy(out + 6, <usize>load<u32>(r, R_ID_PTR), keyLen);
    out += 6 + keyLen;
  }
  return out - outPtr;
}

/** Bytes tableExportIds writes for the same selection. */
export function tableSelectedIdBytes(t: usize, selectPtr: usize): usize {
  const count = load<u32>(t, T_STREAM_COUNT);
  let bytes: usize = 0;
  for (let streamNo: u32 = 0; streamNo < count; streamNo++) {
    if (load<u8>(selectPtr + <usize>streamNo) != 0) bytes += 6 + <usize>load<u32>(streamRecord(t, streamNo), R_ID_LEN);
  }
  return bytes;
}

/** Bytewise order of the ids of two exported entries (u32 tag, u16 length, bytes): <0, 0, >0. */
function compareEntryIds(a: usize, b: usize): i32 {
  const lengthA = <usize>load<u16>(a, 4);
  const lengthB = <usize>load<u16>(b, 4);
  const common = lengthA < lengthB ? lengthA : lengthB;
  const byBytes = memory.compare(a + 6, b + 6, common);
  if (byBytes != 0) return byBytes;
  return <i32>lengthA - <i32>lengthB;
}

/**
 * Sorts `count` u32 byte offsets at offsetsPtr (each naming an entry of tableExportIds' format
 * at basePtr + offset) into bytewise id order: a bottom-up merge sort, stable, with room for
 * `count` offsets at tmpPtr. A stream directory is written in this order.
 */
export function sortEntryOffsets(basePtr: usize, offsetsPtr: usize, tmpPtr: usize, count: u32): void {
  let from = offsetsPtr;
  let to = tmpPtr;
  for (let width: u32 = 1; width < count; width <<= 1) {
    for (let lo: u32 = 0; lo < count; lo += width << 1) {
      const mid = min<u32>(lo + width, count);
      const hi = min<u32>(lo + (width << 1), count);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const a = load<u32>(from + <usize>i * 4);
        const b = load<u32>(from + <usize>j * 4);
        if (compareEntryIds(basePtr + <usize>a, basePtr + <usize>b) <= 0) {
          store<u32>(to + <usize>k * 4, a);
          i++;
        } else {
          store<u32>(to + <usize>k * 4, b);
          j++;
        }
        k++;
      }
      while (i < mid) store<u32>(to + <usize>(k++) * 4, load<u32>(from + <usize>(i++) * 4));
      while (j < hi) store<u32>(to + <usize>(k++) * 4, load<u32>(from + <usize>(j++) * 4));
    }
    const swap = from;
    from = to;
    to = swap;
  }
  if (from != offsetsPtr) memory.copy(offsetsPtr, from, <usize>count * 4);
}
