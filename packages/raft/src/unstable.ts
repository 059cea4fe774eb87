import { assert } from './assert.js';
import type { LogIndex, Term } from './ids.js';
import type { Entry, Snapshot } from './types.js';

/**
 * The tail of the log not yet known to be durable, plus a received snapshot not yet persisted.
 *
 * Invariant: `entries[i].index === offset + i`; when `snapshot` is set, `offset` is its index + 1.
 */
export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset: LogIndex;

  constructor(offset: LogIndex) {
    this.offset = offset;
  }

  maybeFirstIndex(): LogIndex | null {
    return this.snapshot === null ? null : ((this.snapshot.metadata.index + 1) as LogIndex);
  }

  maybeLastIndex(): LogIndex | null {
    if (this.entries.length > 0) return (this.offset + this.entries.length - 1) as LogIndex;
    return this.snapshot === null ? null : this.snapshot.metadata.index;
  }

  maybeTerm(index: LogIndex): Term | null {
    if (index < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === index)
        return this.snapshot.metadata.term;
      return null;
    }
    const entry = this.entries[index - this.offset];
    return entry === undefined ? null : entry.term;
  }

  /** Entries up to (index, term) are durable; drops them unless they were replaced meanwhile. */
  stableTo(index: LogIndex, term: Term): void {
    if (this.maybeTerm(index) !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = (index + 1) as LogIndex;
  }

  stableSnapshotTo(index: LogIndex): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(snapshot: Snapshot): void {
    this.offset = (snapshot.metadata.index + 1) as LogIndex;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /**
   * Appends `entries`, first discarding whatever sits at or after the first one's index. The
   * entries are copied: the caller's array is never kept (it may belong to a message).
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    const end = this.offset + this.entries.length;
    if (first === end) {
      // After a Ready the tail is usually empty: one exact-size copy beats growing an empty array.
      if (this.entries.length === 0) this.entries = entries.slice();
      else for (const entry of entries) this.entries.push(entry);
    } else if (first <= this.offset) {
      // Replaces the whole unstable tail; the stable suffix at or after `first` is overwritten
      // when this Ready is persisted (storage truncates on append).
      this.offset = first;
      this.entries = entries.slice();
    } else {
      assert(first < end, () => `unstable append at ${first} leaves a gap after ${end - 1}`);
      this.entries = this.entries.slice(0, first - this.offset);
      for (const entry of entries) this.entries.push(entry);
    }
  }

  /** Entries [lo, hi), all of which must be in this tail. */
  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    assert(lo >= this.offset, () => `unstable slice from ${lo} below offset ${this.offset}`);
    assert(hi <= this.offset + this.entries.length, () => `unstable slice to ${hi} beyond tail`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
