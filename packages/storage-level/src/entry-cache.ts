import { type Entry, RaftAssertionError } from '@cairn/raft';

/** What an entry counts for in memory: the core's `entryBytes` (data plus 16). */
export function entryCost(entry: Entry): number {
  return entry.data.length + ENTRY_OVERHEAD_BYTES;
}

/** The core's per-entry overhead in its byte limits (`entryBytes` in @cairn/raft). */
const ENTRY_OVERHEAD_BYTES = 16;

/** Entries dropped from the front before the array is compacted (amortises `shift`). */
const COMPACT_AFTER_DROPPED = 1024;

/**
 * The most recent entries, in memory: a contiguous run [first, end) that always ends at the
 * log's last entry. LevelLog appends every written entry and evicts from the front.
 *
 * Invariant: entries[head + i] is the entry at index first + i; `bytes` is the sum of
 * entryCost over entries[head..].
 */
export class EntryTail {
  private entries: Entry[] = [];
  private head = 0;
  first: number;
  bytes = 0;

  constructor(first: number) {
    this.first = first;
  }

  get end(): number {
    return this.first + this.entries.length - this.head;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** Empty, the next entry appended at `first`. */
  reset(first: number): void {
    this.entries = [];
    this.head = 0;
    this.first = first;
    this.bytes = 0;
  }

  /**
   * The held entries from `index` on, as an array and the position of `index` in it (the
   * tail's own array: read it, never keep or change it), or undefined when `index` is not held.
   */
  runFrom(index: number): { entries: readonly Entry[]; offset: number } | undefined {
    if (index < this.first || index >= this.end) return undefined;
    return { entries: this.entries, offset: this.head + index - this.first };
  }

  append(entry: Entry): void {
    if (entry.index !== this.end) {
      throw new RaftAssertionError(`cached entry ${entry.index} appended at ${this.end}`);
    }
    this.entries.push(entry);
    this.bytes += entryCost(entry);
  }

  /** Drops `index` and everything after it; an index at or below `first` empties the tail there. */
  truncateFrom(index: number): void {
    if (index <= this.first) {
      this.reset(index);
      return;
    }
    while (this.end > index) this.bytes -= entryCost(this.entries.pop() as Entry);
  }

  /** Drops every entry below `index`; an empty tail moves up to start there. */
  dropBelow(index: number): void {
    if (index >= this.end) {
      this.reset(Math.max(index, this.end));
      return;
    }
    while (this.first < index) this.shift();
    this.compactArray();
  }

  /** Drops entries from the front while over `bytesMax`, never `keepFrom` or after it. */
  evict(bytesMax: number, keepFrom: number): void {
    while (this.bytes > bytesMax && this.first < keepFrom && this.length > 0) this.shift();
    this.compactArray();
  }

  /** Replaces each entry's data with a copy: loaded entries may be views into whole records. */
  copyData(): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      this.entries[i] = { ...entry, data: entry.data.slice() };
    }
  }

  private shift(): void {
    const entry = this.entries[this.head] as Entry;
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    this.first++;
    this.bytes -= entryCost(entry);
  }

  private compactArray(): void {
    if (this.head < COMPACT_AFTER_DROPPED || this.head * 2 < this.entries.length) return;
    this.entries = this.entries.slice(this.head);
    this.head = 0;
  }
}

/** A contiguous run of entries read back from disk. */
interface Range {
  first: number;
  entries: Entry[];
  bytes: number;
}

/**
 * Ranges of older entries read back from disk for a follower catching up (or entries being
 * applied), kept apart from the tail so that a catch-up read never evicts recent entries.
 * Bounded by `bytesMax` (the newest range always stays), least recently used out first.
 */
export class ReadAheadCache {
  private ranges: Range[] = [];
  private readonly bytesMax: number;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }

  get bytes(): number {
    let total = 0;
    for (const range of this.ranges) total += range.bytes;
    return total;
  }

  /** The entries of a range holding `index`, and where in them `index` is; marks it used. */
  find(index: number): { entries: readonly Entry[]; offset: number } | undefined {
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const range = this.ranges[i] as Range;
      const offset = index - range.first;
      if (offset < 0 || offset >= range.entries.length) continue;
      if (i !== this.ranges.length - 1) {
        this.ranges.splice(i, 1);
        this.ranges.push(range);
      }
      return { entries: range.entries, offset };
    }
    return undefined;
  }

  /** Adds a contiguous run; ranges it covers go, then the least recently used beyond the bound. */
  add(entries: Entry[]): void {
    const head = entries[0];
    if (head === undefined) return;
    const first = head.index;
    const end = first + entries.length;
    this.ranges = this.ranges.filter(
      (range) => range.first < first || range.first + range.entries.length > end,
    );
    let bytes = 0;
    for (const entry of entries) bytes += entryCost(entry);
    this.ranges.push({ first, entries, bytes });
    let total = this.bytes;
    while (total > this.bytesMax && this.ranges.length > 1) {
      total -= (this.ranges.shift() as Range).bytes;
    }
  }

  /** Drops `index` and everything after it (a truncation). */
  truncateFrom(index: number): void {
    for (const range of this.ranges) {
      const keep = Math.max(0, index - range.first);
      if (keep >= range.entries.length) continue;
      for (const entry of range.entries.splice(keep)) range.bytes -= entryCost(entry);
    }
    this.ranges = this.ranges.filter((range) => range.entries.length > 0);
  }

  /** Drops every entry below `index` (a compaction). */
  dropBelow(index: number): void {
    for (const range of this.ranges) {
      const drop = Math.min(range.entries.length, index - range.first);
      if (drop <= 0) continue;
      for (const entry of range.entries.splice(0, drop)) range.bytes -= entryCost(entry);
      range.first += drop;
    }
    this.ranges = this.ranges.filter((range) => range.entries.length > 0);
  }

  clear(): void {
    this.ranges = [];
  }
}
