/**
 * The jute codec: round trips of every primitive, null buffers, strings and vectors as -1, and
 * a reader that refuses to read past its frame (a short record is malformed, never a crash).
 */
import { describe, expect, it } from 'vitest';
import { JuteReader, JuteWriter, MalformedRecordError } from './jute.js';

const payload = (frame: Buffer): Buffer => frame.subarray(4);

describe('jute', () => {
  it('round-trips ints, longs (64-bit, as bigint), booleans, buffers, strings and vectors', () => {
    const frame = new JuteWriter()
      .int(-2)
      .long(-(2n ** 63n))
      .long(0x7fff_ffff_ffff_ffffn)
      .boolean(true)
      .buffer(Buffer.from('data'))
      .buffer(null)
      .string('päth')
      .string(null)
      .vector(['a', 'b'], (w, v) => w.string(v))
      .vector(null, (w, v: string) => w.string(v))
      .finish();
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    const r = new JuteReader(payload(frame));
    expect(r.int()).toBe(-2);
    expect(r.long()).toBe(-(2n ** 63n));
    expect(r.long()).toBe(0x7fff_ffff_ffff_ffffn);
    expect(r.boolean()).toBe(true);
    expect(r.buffer()?.toString()).toBe('data');
    expect(r.buffer()).toBeNull();
    expect(r.string()).toBe('päth');
    expect(r.string()).toBeNull();
    expect(r.vector((e) => e.text(), 4)).toEqual(['a', 'b']);
    expect(r.vector((e) => e.text(), 4)).toEqual([]);
    expect(r.remaining).toBe(0);
  });

  it('refuses to read past the frame, negative lengths and vector counts that cannot fit', () => {
    expect(() => new JuteReader(Buffer.from([0, 0, 0])).int()).toThrow(MalformedRecordError);
    expect(() => new JuteReader(Buffer.from([0, 0, 0, 9, 1])).buffer()).toThrow(
      MalformedRecordError,
    );
    expect(() => new JuteReader(Buffer.from([0xff, 0xff, 0xff, 0xfe])).buffer()).toThrow(
      MalformedRecordError,
    );
    expect(() =>
      new JuteReader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).vector((e) => e.int(), 4),
    ).toThrow(MalformedRecordError);
    expect(() => new JuteReader(new JuteWriter().string(null).finish().subarray(4)).text()).toThrow(
      MalformedRecordError,
    );
  });

  it('reads a zxid long as a number, clamping what Cairn never produces', () => {
    const r = new JuteReader(
      payload(
        new JuteWriter()
          .long(42)
          .long(-1)
          .long(2n ** 60n)
          .finish(),
      ),
    );
    expect(r.zxid()).toBe(42);
    expect(r.zxid()).toBe(0);
    expect(r.zxid()).toBe(Number.MAX_SAFE_INTEGER);
  });
});
