import { TransportError } from './errors.js';

/** Bytes of the big-endian length prefix in front of every frame. */
export const FRAME_HEADER_BYTES = 4;

/**
 * Splits a byte stream into length-prefixed frames. A length of zero or above `frameBytesMax`
 * throws `FrameTooLarge` as soon as the 4-byte prefix is read, before any of the claimed bytes
 * are buffered (RELIABILITY.md §3.5: never allocate the claimed length).
 *
 * Frames are views into the socket's chunks when a frame sits inside one chunk; socket chunks
 * are never reused by Node, so the views stay valid (the codec keeps views, see codec.ts).
 */
export class FrameDecoder {
  /** Raised once a handshake is done: handshake frames are tiny, later frames may not be. */
  frameBytesMax: number;
  private chunks: Buffer[] = [];
  /** Invariant: the sum of `chunks` lengths. */
  private buffered = 0;
  /** Length of the frame being read, once its prefix is in; -1 before. */
  private expected = -1;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  /** Feeds one chunk; then call `next()` until it returns null. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete frame, or null. Pull-style, so a caller can raise `frameBytesMax` after a
   * handshake frame before the prefix of the frame behind it (often in the same chunk) is read.
   * Throws `TransportError` `FrameTooLarge`.
   */
  next(): Buffer | null {
    if (this.expected === -1) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
      if (length === 0 || length > this.frameBytesMax) {
        throw new TransportError(
          'FrameTooLarge',
          `frame length ${length} outside 1..${this.frameBytesMax} bytes`,
        );
      }
      this.expected = length;
    }
    if (this.buffered < this.expected) return null;
    const frame = this.take(this.expected);
    this.expected = -1;
    return frame;
  }

  /** Bytes held for a frame not yet complete (bounded by `frameBytesMax` + one chunk). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  private take(length: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= length) {
      const out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      this.buffered -= length;
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new Error('FrameDecoder: buffered count out of sync');
      const n = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.buffered -= length;
    return out;
  }
}
