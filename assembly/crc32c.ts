// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8.
// format-spec/log.md §1 "Checksums". Matches the reference in test/reference/crc32c.ts.

const POLY_REFLECTED: u32 = 0x82f63b78;
// Eight 256-entry tables of u32: table t maps a byte to its CRC contribution t bytes further on.
const TABLE_BYTES: usize = 8 * 256 * 4;
const table: usize = heap.alloc(TABLE_BYTES);

function buildTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    store<u32>(table + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(table + (<usize>i << 2));
    for (let t: u32 = 1; t < 8; t++) {
      c = load<u32>(table + (<usize>(c & 0xff) << 2)) ^ (c >>> 8);
      store<u32>(table + (<usize>t << 10) + (<usize>i << 2), c);
    }
  }
}
buildTables();

// @ts-ignore: decorator
@inline function entry(t: usize, byte: u32): u32 {
  return load<u32>(table + (t << 10) + (<usize>(byte & 0xff) << 2));
}

/** Continues a CRC32C: `crc` is the value returned for the preceding bytes (0 to start). */
export function crc32cUpdate(crc: u32, ptr: usize, length: usize): u32 {
  let c = ~crc;
  while (length >= 8) {
    const lo = load<u32>(ptr) ^ c;
    const hi = load<u32>(ptr, 4);
    c =
      entry(7, lo) ^ entry(6, lo >>> 8) ^ entry(5, lo >>> 16) ^ entry(4, lo >>> 24) ^
      entry(3, hi) ^ entry(2, hi >>> 8) ^ entry(1, hi >>> 16) ^ entry(0, hi >>> 24);
    ptr += 8;
    length -= 8;
  }
  while (length > 0) {
    c = entry(0, c ^ load<u8>(ptr)) ^ (c >>> 8);
    ptr++;
    length--;
  }
  return ~c;
}
