// The CRC-32 against the published check value ("123456789" -> 0xCBF43926) and against a plain
// byte-at-a-time CRC (the slow obvious version) on seeded random inputs of every length up to
// a few 16-byte blocks, whole and split in two with the first part's CRC as the seed, and on
// views that start at an odd offset of a larger buffer (the word reads go through a DataView).
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

  it('reads only its own view of a larger buffer, at any offset', () => {
    const random = seededRandom(Number(process.env.CAIRN_SEED ?? 1) + 1);
    const buffer = Uint8Array.from({ length: 200 }, () => random.nextInt(256));
    for (let offset = 0; offset < 20; offset++) {
      const length = random.nextInt(150);
      const view = buffer.subarray(offset, offset + length);
      expect(crc32(view), `offset ${offset}`).toBe(slowCrc32(Uint8Array.from(view)));
    }
  });
});
