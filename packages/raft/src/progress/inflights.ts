import { assert } from '../assert.js';
import type { LogIndex } from '../ids.js';

/**
 * The window of append messages sent to one follower and not yet acknowledged (etcd's
 * Inflights): a ring of (last index, bytes) per message. Replication pauses when it holds
 * `countMax` messages or `bytesMax` bytes.
 *
 * Invariant: indices in the window increase from oldest to newest.
 */
export class Inflights {
  private readonly indices: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private bytes = 0;
  readonly countMax: number;
  readonly bytesMax: number;

  constructor(countMax: number, bytesMax: number) {
    this.countMax = countMax;
    this.bytesMax = bytesMax;
    this.indices = new Array<number>(countMax).fill(0);
    this.sizes = new Array<number>(countMax).fill(0);
  }

  /** Records a message whose last entry is `index`, carrying `bytes` bytes of entries. */
  add(index: LogIndex, bytes: number): void {
    assert(this.count < this.countMax, 'inflights: add to a full window');
    const slot = (this.start + this.count) % this.countMax;
    this.indices[slot] = index;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is at or below `index` (acknowledged). */
  freeLE(index: LogIndex): void {
    while (this.count > 0 && (this.indices[this.start] as number) <= index) {
      this.bytes -= this.sizes[this.start] as number;
      this.start = (this.start + 1) % this.countMax;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest message: a heartbeat answer proves the follower is alive, and its window may be full of lost appends. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.indices[this.start] as LogIndex);
  }

  full(): boolean {
    return this.count === this.countMax || (this.bytesMax > 0 && this.bytes >= this.bytesMax);
  }

  size(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
