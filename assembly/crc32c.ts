// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-16.
// format-spec/log.md §1 "Checksums". Matches the reference in test/reference/crc32c.ts.

const POLY_REFLECTED: u32 = 0x82f63b78;
// Sixteen 256-entry tables of u32: table t maps a byte to its CRC contribution t bytes further on.
const TABLES: u32 = 16;
const TABLE_BYTES: usize = <usize>TABLES * 256 * 4;
const table: usize = heap.alloc(TABLE_BYTES);

function buildTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    store<u32>(table + (<usize>i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(table + (<usize>i << 2));
    for (let t: u32 = 1; t < TABLES; t++) {
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
  while (length >= 16) {
    const a = load<u32>(ptr) ^ c;
    const b = load<u32>(ptr, 4);
    const d = load<u32>(ptr, 8);
    const e = load<u32>(ptr, 12);
    c =
      entry(15, a) ^ entry(14, a >>> 8) ^ entry(13, a >>> 16) ^ entry(12, a >>> 24) ^
      entry(11, b) ^ entry(10, b >>> 8) ^ entry(9, b >>> 16) ^ entry(8, b >>> 24) ^
      entry(7, d) ^ entry(6, d >>> 8) ^ entry(5, d >>> 16) ^ entry(4, d >>> 24) ^
      entry(3, e) ^ entry(2, e >>> 8) ^ entry(1, e >>> 16) ^ entry(0, e >>> 24);
    ptr += 16;
    length -= 16;
  }
  while (length > 0) {
    c = entry(0, c ^ load<u8>(ptr)) ^ (c >>> 8);
    ptr++;
    length--;
  }
  return ~c;
}
