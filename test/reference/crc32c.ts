// A plain CRC32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup per byte: the
// reference that the slicing-by-16 kernel in assembly/crc32c.ts is proven equal to.

const POLY_REFLECTED = 0x82f63b78;

// TABLE[b] is the CRC register after shifting byte b through eight rounds of the polynomial.
const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    table[b] = c >>> 0;
  }
  return table;
})();

/**
 * CRC32C of `bytes`, continuing from `crc`: the value this function returned for the bytes that
 * precede them (0 to start), so crc32c(a ‖ b) === crc32c(b, crc32c(a)). Returns an unsigned u32.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
