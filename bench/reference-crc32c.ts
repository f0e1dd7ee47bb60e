// A plain TypeScript CRC32C (Castagnoli, reflected 0x82F63B78), slicing-by-8: the benchmark's
// yardstick for the WASM kernel (assembly/crc32c.ts, format-spec/log.md §1).

const POLY_REFLECTED = 0x82f63b78;
const TABLES = 8;

// Table t maps a byte to its CRC contribution t bytes further on; table 0 is the classic one.
const TABLE = new Int32Array(TABLES * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
  TABLE[i] = c;
}
for (let i = 0; i < 256; i++) {
  let c = TABLE[i];
  for (let t = 1; t < TABLES; t++) {
    c = TABLE[c & 0xff] ^ (c >>> 8);
    TABLE[t * 256 + i] = c;
  }
}

/** CRC32C of bytes[from, to), continuing from `crc` (0 to start). */
export function crc32cSlicing8(bytes: Uint8Array, crc = 0, from = 0, to = bytes.length): number {
  const T = TABLE;
  let c = ~crc;
  let i = from;
  const end8 = to - ((to - from) & 7);
  while (i < end8) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ c;
    const b = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c =
      T[1792 + (a & 0xff)] ^ T[1536 + ((a >>> 8) & 0xff)] ^ T[1280 + ((a >>> 16) & 0xff)] ^ T[1024 + (a >>> 24)] ^
      T[768 + (b & 0xff)] ^ T[512 + ((b >>> 8) & 0xff)] ^ T[256 + ((b >>> 16) & 0xff)] ^ T[b >>> 24];
    i += 8;
  }
  while (i < to) c = T[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
