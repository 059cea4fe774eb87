// Proves the segment record layout (format 1) and the checksum seal around it: random segments
// survive encode → seal → open → decode unchanged, with entry data as views into the record; a
// payload from encodeSegment is sealed in place (no copy) and any other payload by copying,
// both opening under their own key only. A segment written before the format byte (msgpack
// entries behind 4-byte lengths) still decodes. Damaged payloads (another format byte, a
// short head, an entry count or data length past the end, bytes left over, a bad type, an index
// above 2^53 - 1) are StorageCorrupted naming the record, and a mutated payload that does decode
// must be the one encoding of what it decodes to; a sibling plants a decoder that ignores bytes
// left over and expects fc.check to catch it. Invalid entries from the caller are assertions.
import { type Entry, encodeEntry, type LogIndex, type Term } from '@cairn/raft';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSegment,
  encodeSegment,
  openRecord,
  SEGMENT_FORMAT_VERSION,
  sealRecord,
  segmentKey,
} from './records.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const entries = fc.record({
  term: fc.maxSafeNat().map((value) => value as Term),
  index: fc.maxSafeNat().map((value) => value as LogIndex),
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 200 }),
});

const segments = fc.array(entries, { minLength: 1, maxLength: 8 });

function entry(index: number, data: number[] = []): Entry {
  return { term: 2 as Term, index: index as LogIndex, type: 'normal', data: Uint8Array.from(data) };
}

/** Entries with their data as plain arrays, so views and copies compare equal. */
function plain(list: readonly Entry[]): unknown[] {
  return list.map((e) => ({ ...e, data: [...e.data] }));
}

function expectCorrupted(action: () => unknown, where: string): void {
  expect(action).toThrow(expect.objectContaining({ code: 'StorageCorrupted', key: where }));
}

/** A payload from `segments`, then byte edits past the format byte and maybe a cut or extra. */
const mutatedPayloads = fc
  .record({
    list: segments,
    edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
    cut: fc.nat(6),
    extra: fc.uint8Array({ maxLength: 3 }),
  })
  .map(({ list, edits, cut, extra }) => {
    const payload = encodeSegment(list);
    const kept = payload.length - Math.min(cut, payload.length - 1);
    const mutated = new Uint8Array(kept + extra.length);
    mutated.set(payload.subarray(0, kept));
    mutated.set(extra, kept);
    for (const [position, value] of edits) mutated[1 + (position % (mutated.length - 1))] = value;
    return mutated;
  });

function mutatedPayloadsAreCanonicalOrCorrupted(decode: typeof decodeSegment) {
  return fc.property(mutatedPayloads, (payload) => {
    let decoded: Entry[];
    try {
      decoded = decode(payload, 'entries from 1');
    } catch (error) {
      expect(error).toMatchObject({ code: 'StorageCorrupted', key: 'entries from 1' });
      return;
    }
    expect([...encodeSegment(decoded)]).toEqual([...payload]);
  });
}

/** Planted bug: decodes the longest prefix that decodes, ignoring the bytes after it. */
function decodeIgnoringLeftovers(payload: Uint8Array, where: string): Entry[] {
  for (let length = payload.length; length > 0; length--) {
    try {
      return decodeSegment(payload.subarray(0, length), where);
    } catch {
      // try a shorter prefix
    }
  }
  return [];
}

describe(`segment records (seed ${seed})`, () => {
  it('round-trips random segments through seal and open', () => {
    fc.assert(
      fc.property(segments, (list) => {
        const key = segmentKey(list[0]?.index ?? 0);
        const value = sealRecord(key, encodeSegment(list));
        expect(plain(decodeSegment(openRecord(key, value), 'segment'))).toEqual(plain(list));
      }),
      { seed, numRuns: 200 },
    );
  });

  it('starts with the format byte and the entry count, then a 21-byte head per entry', () => {
    const payload = encodeSegment([entry(7, [1, 2, 3]), entry(8)]);
    expect(payload[0]).toBe(SEGMENT_FORMAT_VERSION);
    expect(payload.length).toBe(5 + (21 + 3) + 21);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
    expect(view.getUint32(1)).toBe(2);
    expect(view.getUint32(5 + 4)).toBe(7);
    expect(view.getUint32(5 + 17)).toBe(3);
  });

  it('seals a segment payload in place and any other payload by copying', () => {
    const key = segmentKey(7);
    const payload = encodeSegment([entry(7, [1, 2, 3])]);
    const sealed = sealRecord(key, payload);
    expect(sealed.buffer).toBe(payload.buffer);
    expect(sealed.length).toBe(payload.length + 4);
    // Sealed again (no room left to claim): a copy, equally valid.
    const copied = sealRecord(key, payload);
    expect(copied.buffer).not.toBe(payload.buffer);
    expect([...copied]).toEqual([...sealed]);
    const foreign = Uint8Array.of(9, 9, 9);
    expect([...openRecord(key, sealRecord(key, foreign))]).toEqual([9, 9, 9]);
  });

  it('opens a sealed value only under its own key', () => {
    const value = sealRecord(segmentKey(7), encodeSegment([entry(7)]));
    expectCorrupted(() => openRecord(segmentKey(8), value), 'entries from 8');
  });

  it('decodes entry data as views into the payload', () => {
    const payload = encodeSegment([entry(7, [1, 2, 3])]);
    const [decoded] = decodeSegment(payload, 'segment');
    expect(decoded?.data.buffer).toBe(payload.buffer);
    expect(decoded?.data).not.toBeInstanceOf(Buffer);
  });

  it('still reads a segment written before the format byte', () => {
    const list = [entry(3, [4, 5]), { ...entry(4), type: 'confChange' as const }];
    const frames = list.map(encodeEntry);
    const legacy = new Uint8Array(frames.reduce((sum, frame) => sum + 4 + frame.length, 0));
    const view = new DataView(legacy.buffer);
    let at = 0;
    for (const frame of frames) {
      view.setUint32(at, frame.length);
      legacy.set(frame, at + 4);
      at += 4 + frame.length;
    }
    expect(plain(decodeSegment(legacy, 'segment'))).toEqual(plain(list));
  });

  it('refuses damaged payloads as StorageCorrupted naming the record', () => {
    const where = 'entries from 7';
    const good = encodeSegment([entry(7, [1, 2, 3])]);
    const damaged = (edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array => {
      const bytes = Uint8Array.from(good);
      edit(bytes, new DataView(bytes.buffer));
      return bytes;
    };
    expectCorrupted(() => decodeSegment(new Uint8Array(0), where), where);
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((b) => b.fill(SEGMENT_FORMAT_VERSION + 1, 0, 1)),
          where,
        ),
      where,
    );
    expectCorrupted(() => decodeSegment(good.subarray(0, 3), where), where);
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((_, v) => v.setUint32(1, 0xffff_ffff)),
          where,
        ),
      where,
    );
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((_, v) => v.setUint32(1, 2)),
          where,
        ),
      where,
    );
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((_, v) => v.setUint32(5 + 17, 4)),
          where,
        ),
      where,
    );
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((b) => b.fill(2, 5 + 16, 5 + 17)),
          where,
        ),
      where,
    );
    expectCorrupted(
      () =>
        decodeSegment(
          damaged((_, v) => v.setUint32(5, 0x20_0000)),
          where,
        ),
      where,
    );
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expectCorrupted(() => decodeSegment(longer, where), where);
  });

  it('refuses a mutated payload unless it is the one encoding of what it decodes to', () => {
    fc.assert(mutatedPayloadsAreCanonicalOrCorrupted(decodeSegment), { seed, numRuns: 500 });
  });

  it('the mutated-payload property catches a decoder that ignores bytes left over', () => {
    const result = fc.check(mutatedPayloadsAreCanonicalOrCorrupted(decodeIgnoringLeftovers), {
      seed,
      numRuns: 500,
    });
    expect(result.failed).toBe(true);
  });

  it('asserts on an entry the layout cannot hold', () => {
    for (const index of [-1, 1.5, 2 ** 53]) {
      expect(() => encodeSegment([entry(index)])).toThrow(
        expect.objectContaining({ code: 'AssertionFailed' }),
      );
    }
    expect(() => encodeSegment([{ ...entry(1), type: 'noop' as 'normal' }])).toThrow(
      expect.objectContaining({ code: 'AssertionFailed' }),
    );
  });
});
