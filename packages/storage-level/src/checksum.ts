/**
 * CRC-32 (IEEE 802.3, the zlib polynomial), slicing-by-8. Written here rather than taken from
 * `node:zlib` so the package uses only what STYLE §1 lists (`level`, `node:fs`, `node:path`,
 * plus `node:crypto` for the incarnation). Four bytes per record catch the bit flips, zeroed
 * bytes and torn values RELIABILITY F9 lists, which is all a record checksum is for. Slicing by
 * 8 (eight bytes per step through eight tables) rather than a byte at a time because every
 * appended byte is summed on the write path: a 256-entry segment (~43 KB) costs ~40 us instead
 * of ~100 us, out of ~1 ms for the whole synced write (bench/storage.ts).
 */
const SLICES = 8;
/** TABLES[k * 256 + n]: the CRC of byte n followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(SLICES * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c >>> 0;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(k - 1) * 256 + n] as number;
      tables[k * 256 + n] = ((previous >>> 8) ^ (tables[previous & 0xff] as number)) >>> 0;
    }
  }
  return tables;
}

/** The CRC-32 of `bytes`, continuing from `seed` (the CRC of what came before; 0 to start). */
export function crc32(bytes: Uint8Array, seed = 0): number {
  const t = TABLES;
  let crc = ~seed >>> 0;
  let i = 0;
  const whole = bytes.length - (bytes.length % SLICES);
  for (; i < whole; i += SLICES) {
    const lo =
      crc ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24));
    const hi =
      (bytes[i + 4] as number) |
      ((bytes[i + 5] as number) << 8) |
      ((bytes[i + 6] as number) << 16) |
      ((bytes[i + 7] as number) << 24);
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
  }
  for (; i < bytes.length; i++) {
    crc = (t[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
