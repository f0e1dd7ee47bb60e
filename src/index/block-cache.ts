// A least-recently-used cache of verified index blocks, bounded in bytes and shared by every open
// index file. Each file reads through its own BlockCacheSpace; eviction picks the least recently
// used block of any file. Blocks enter the cache only after their CRC and order checks passed.

import { assert } from '../util/assert.js';

/** One cached block in the cache's recency list (internal to this module and its spaces). */
export class BlockCacheNode {
  prev: BlockCacheNode = this;
  next: BlockCacheNode = this;
  constructor(readonly space: BlockCacheSpace | null, readonly blockIndex: number, readonly words: Uint32Array) {}
}

export interface BlockCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly sizeBytes: number;
  readonly blocks: number;
}

export class BlockCache {
  // A circular list around a sentinel: sentinel.next is the most recently used block, sentinel.prev
  // the least. Moving a node costs four pointer writes and allocates nothing, unlike re-inserting
  // into a Map to refresh its order.
  private readonly sentinel: BlockCacheNode;
  private sizeBytes = 0;
  private blockCount = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** `capacityBytes` bounds the bytes of all cached blocks together (0 disables caching). */
  constructor(readonly capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, () => `block cache capacity ${capacityBytes} is a non-negative integer`);
    this.sentinel = new BlockCacheNode(null, -1, new Uint32Array(0));
  }

  /** A fresh space for the blocks of one file. */
  space(): BlockCacheSpace {
    return new BlockCacheSpace(this);
  }

  stats(): BlockCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, sizeBytes: this.sizeBytes, blocks: this.blockCount };
  }

  /** @internal Marks `node` most recently used. */
  touch(node: BlockCacheNode): void {
    this.hits++;
    if (this.sentinel.next === node) return;
    this.unlink(node);
    this.linkFirst(node);
  }

  /** @internal Counts a lookup that found nothing. */
  miss(): void {
    this.misses++;
  }

  /** @internal Adds `node` as most recently used, evicting others until the capacity holds. False when it cannot fit at all. */
  insert(node: BlockCacheNode): boolean {
    const bytes = node.words.byteLength;
    if (bytes > this.capacityBytes) return false;
    while (this.sizeBytes + bytes > this.capacityBytes) {
      const victim = this.sentinel.prev;
      assert(victim !== this.sentinel, 'an over-full cache holds a block to evict');
      victim.space!.forget(victim.blockIndex);
      this.remove(victim);
      this.evictions++;
    }
    this.linkFirst(node);
    this.sizeBytes += bytes;
    this.blockCount++;
    return true;
  }

  /** @internal Takes `node` out of the cache. */
  remove(node: BlockCacheNode): void {
    this.unlink(node);
    this.sizeBytes -= node.words.byteLength;
    this.blockCount--;
  }

  private unlink(node: BlockCacheNode): void {
    node.prev.next = node.next;
    node.next.prev = node.prev;
  }

  private linkFirst(node: BlockCacheNode): void {
    node.prev = this.sentinel;
    node.next = this.sentinel.next;
    this.sentinel.next.prev = node;
    this.sentinel.next = node;
  }
}

/** The cached blocks of one file, keyed by block index. */
export class BlockCacheSpace {
  private readonly nodes = new Map<number, BlockCacheNode>();

  constructor(private readonly cache: BlockCache) {}

  /** The block's words if cached (and marks it most recently used), else undefined. */
  get(blockIndex: number): Uint32Array | undefined {
    const node = this.nodes.get(blockIndex);
    if (node === undefined) {
      this.cache.miss();
      return undefined;
    }
    this.cache.touch(node);
    return node.words;
  }

  /**
   * Caches a verified block. The cache keeps `words` (the caller must not change it) until it is
   * evicted or the space is cleared; a block larger than the whole capacity is not kept.
   */
  put(blockIndex: number, words: Uint32Array): void {
    assert(!this.nodes.has(blockIndex), () => `block ${blockIndex} is cached once`);
    const node = new BlockCacheNode(this, blockIndex, words);
    if (this.cache.insert(node)) this.nodes.set(blockIndex, node);
  }

  /** Drops every block of this file (when it is closed or deleted). */
  clear(): void {
    for (const node of this.nodes.values()) this.cache.remove(node);
    this.nodes.clear();
  }

  /** @internal Called by the cache when it evicts one of this space's blocks. */
  forget(blockIndex: number): void {
    this.nodes.delete(blockIndex);
  }

  get cachedBlocks(): number {
    return this.nodes.size;
  }
}
