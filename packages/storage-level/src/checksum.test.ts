// The CRC-32 against the published check value ("123456789" -> 0xCBF43926) and against a plain
// byte-at-a-time CRC (the slow obvious version) on seeded random inputs of every length up to
// a few slices, whole and split in two with the first part's CRC as the seed.
import { seededRandom } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { crc32 } from './checksum.js';

function slowCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32', () => {
  it('matches the published check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('matches a byte-at-a-time CRC on random inputs, whole and continued', () => {
    const random = seededRandom(Number(process.env.CAIRN_SEED ?? 1));
    for (let length = 0; length < 100; length++) {
      const bytes = Uint8Array.from({ length }, () => random.nextInt(256));
      expect(crc32(bytes), `length ${length}`).toBe(slowCrc32(bytes));
      const cut = random.nextInt(length + 1);
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(slowCrc32(bytes));
    }
  });
});
