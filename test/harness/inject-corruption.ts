// One random piece of bit rot (RELIABILITY.md F7) in a store on a simulated disk: 1..k bit flips
// within one 4 KiB region, or one zeroed 512-byte sector, aimed (by weight) at a kind of region.

import { join } from 'node:path';
import type { SimDisk } from './sim-disk.js';
import type { Region, RegionKind, StoreLayout } from './store-layout.js';

const PAGE_BYTES = 4096;
const SECTOR_BYTES = 512;
const FLIPS_MAX = 16;
const BURST_BYTES = 8;

/** How often each kind of region is aimed at (relative weights). */
export const TARGET_WEIGHTS: Readonly<Record<RegionKind, number>> = {
  'sealed-record': 20,
  'second-to-last-record': 15,
  'active-record': 15,
  'chunk-header': 10,
  'footer-fixed': 7,
  'footer-map': 8,
  'footer-trailer': 5,
  'active-tail': 7,
  'checkpoint-slot': 9,
  'checkpoint-unused': 4,
};

export interface Injection {
  readonly kind: RegionKind;
  readonly file: string;
  readonly mode: 'flip' | 'zero';
  /** Bits flipped (mode 'flip') as [offset, bit]. */
  readonly flips: readonly (readonly [number, number])[];
  /** The zeroed sector (mode 'zero'). */
  readonly sector: number;
  /** File offsets whose byte changed. */
  readonly changed: readonly number[];
}

export function describeInjection(injection: Injection): string {
  const what = injection.mode === 'flip'
    ? `flipped ${injection.flips.map(([offset, bit]) => `${offset}:${bit}`).join(' ')}`
    : `zeroed sector ${injection.sector} (${injection.changed.length} non-zero bytes, ${injection.changed[0]}..${injection.changed[injection.changed.length - 1]})`;
  return `${injection.kind} in ${injection.file}: ${what}`;
}

/** Whether the injection changed a byte of committed records (which every reader must then refuse). */
export function hitsRecords(layout: StoreLayout, injection: Injection): boolean {
  const range = layout.recordRanges.get(injection.file);
  return range !== undefined && injection.changed.some((offset) => offset >= range[0] && offset < range[1]);
}

function pickKind(layout: StoreLayout, random: () => number): RegionKind {
  const present = (Object.keys(TARGET_WEIGHTS) as RegionKind[]).filter((kind) => layout.regions.some((r) => r.kind === kind));
  const total = present.reduce((sum, kind) => sum + TARGET_WEIGHTS[kind], 0);
  let r = random() * total;
  for (const kind of present) {
    r -= TARGET_WEIGHTS[kind];
    if (r < 0) return kind;
  }
  return present[present.length - 1];
}

/** A region of `kind`, chosen with probability proportional to its size. */
function pickRegion(layout: StoreLayout, kind: RegionKind, random: () => number): Region {
  const candidates = layout.regions.filter((r) => r.kind === kind);
  const total = candidates.reduce((sum, r) => sum + (r.to - r.from), 0);
  let at = Math.floor(random() * total);
  for (const region of candidates) {
    if (at < region.to - region.from) return region;
    at -= region.to - region.from;
  }
  return candidates[candidates.length - 1];
}

function flipBits(disk: SimDisk, path: string, target: number, fileBytes: number, random: () => number): (readonly [number, number])[] {
  const count = random() < 0.4 ? 1 : 2 + Math.floor(random() * (FLIPS_MAX - 1));
  // A burst (adjacent bytes, what a bad bus or a torn sector looks like) or bits spread over the page.
  const burst = random() < 0.5;
  const from = burst ? target : Math.floor(target / PAGE_BYTES) * PAGE_BYTES;
  const to = Math.min(fileBytes, burst ? target + BURST_BYTES : from + PAGE_BYTES);
  const flips = new Map<string, readonly [number, number]>();
  const first = [target, Math.floor(random() * 8)] as const;
  flips.set(first.join(':'), first);
  for (let attempt = 0; flips.size < count && attempt < 4 * FLIPS_MAX; attempt++) {
    const flip = [from + Math.floor(random() * (to - from)), Math.floor(random() * 8)] as const;
    flips.set(flip.join(':'), flip);
  }
  const list = [...flips.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [offset, bit] of list) disk.flipBit(path, offset, bit);
  return list;
}

/** Damages one spot of the store described by `layout` and says what changed. */
export function injectCorruption(disk: SimDisk, layout: StoreLayout, random: () => number): Injection {
  const kind = pickKind(layout, random);
  const region = pickRegion(layout, kind, random);
  const path = join(layout.dir, region.file);
  const fileBytes = layout.fileSizes.get(region.file)!;
  const target = region.from + Math.floor(random() * (region.to - region.from));
  if (random() < 0.3) {
    const sector = Math.floor(target / SECTOR_BYTES);
    const before = disk.durableBytes(path).slice(sector * SECTOR_BYTES, Math.min((sector + 1) * SECTOR_BYTES, fileBytes));
    const changed = [...before.keys()].filter((i) => before[i] !== 0).map((i) => sector * SECTOR_BYTES + i);
    // Zeroing a sector of zeros changes nothing: such a draw becomes bit flips instead.
    if (changed.length > 0) {
      disk.zeroSector(path, sector);
      return { kind, file: region.file, mode: 'zero', flips: [], sector, changed };
    }
  }
  const flips = flipBits(disk, path, target, fileBytes, random);
  return { kind, file: region.file, mode: 'flip', flips, sector: -1, changed: [...new Set(flips.map(([offset]) => offset))] };
}
