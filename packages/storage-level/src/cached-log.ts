import { type Entry, RaftAssertionError, type StorageWrite } from '@cairn/raft';
import { type EntryTail, entryCost, ReadAheadCache } from './entry-cache.js';
import { decodeSegment, describeKey, segmentKey } from './records.js';
import {
  corrupted,
  type Db,
  decodeRecord,
  getRecord,
  type LoadedLog,
  readRange,
} from './segment-reads.js';
import type { TermRuns } from './term-runs.js';

/** The read-ahead cache holds this many reads' worth of entries. */
const READ_AHEAD_READS_KEPT = 4;

/** What a write does to the list of segments: all of them go, or the last `dropped`; then `added`. */
export interface SegmentsChange {
  cleared: boolean;
  dropped: number;
  readonly added: number[];
}

/** A read from disk in flight, and what happened to its range meanwhile. */
interface Load {
  readonly lo: number;
  /** Lowered by truncations while it runs: entries from here on may be stale. */
  validBelow: number;
  /** Set by a snapshot install while it runs: everything it read is stale. */
  cancelled: boolean;
}

/**
 * LevelLog's entries as it serves them: the log's bounds, the terms of all retained entries
 * (runs, term-runs.ts), the most recent entries in memory (`EntryTail`: every one above the
 * commit index, then back to `cacheBytes`), older ones read back from disk on a miss into a
 * read-ahead cache of their own, and where each segment record starts.
 *
 * A miss answers `'unavailable'` and starts one read of about `readAheadBytes` from the entry
 * asked for, unless a read is in flight (misses meanwhile are answered by asking again after
 * it). When the read settles, `onLoaded` runs with its failure or null.
 *
 * Invariant: this reflects exactly what the database holds after the last completed write:
 * entries (offset, last], their terms in `terms`, the newest in `tail` (tail.end === last + 1,
 * tail.first > offset), and `segments` as described there.
 */
export class CachedLog {
  offset: number;
  offsetTerm: number;
  last: number;
  /**
   * The first index of every stored segment, ascending. Invariant: segments are contiguous, so
   * segment i holds [segments[i], segments[i + 1] - 1] and the last one ends at `last`; only the
   * first may begin at or below the log start (a compaction inside it).
   */
  segments: number[];
  private readonly db: Db;
  private readonly cacheBytes: number;
  private readonly readAheadBytes: number;
  /** The commit index of the last hard state written: entries above it always stay. */
  private commit: number;
  private readonly terms: TermRuns;
  private readonly tail: EntryTail;
  private readonly readAhead: ReadAheadCache;
  private load: Load | null = null;
  /** Settles when the read in flight is done (never rejects). */
  private loading: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly onLoaded: (failure: unknown) => void;

  constructor(
    db: Db,
    options: { cacheBytes: number; readAheadBytes: number },
    loaded: LoadedLog,
    onLoaded: (failure: unknown) => void,
  ) {
    this.db = db;
    this.cacheBytes = options.cacheBytes;
    this.readAheadBytes = options.readAheadBytes;
    this.readAhead = new ReadAheadCache(options.readAheadBytes * READ_AHEAD_READS_KEPT);
    this.offset = loaded.start.index;
    this.offsetTerm = loaded.start.term;
    this.last = loaded.last;
    this.commit = loaded.hardState?.commit ?? 0;
    this.terms = loaded.terms;
    this.tail = loaded.tail;
    this.segments = loaded.segments;
    this.onLoaded = onLoaded;
  }

  /** `LogStorage.entries`, for lo > offset and hi <= last + 1. */
  entries(lo: number, hi: number, bytesMax: number): Entry[] | 'unavailable' {
    const found: Entry[] = [];
    let bytes = 0;
    let index = lo;
    while (index < hi) {
      const run = this.cachedFrom(index);
      if (run === undefined) break;
      for (let at = run.offset; at < run.entries.length && index < hi; at++, index++) {
        const entry = run.entries[at] as Entry;
        bytes += entryCost(entry);
        if (found.length > 0 && bytes > bytesMax) return found;
        found.push(entry);
      }
    }
    // Nothing held from `lo`: read it. Stopped short of `hi` at the end of a read-ahead range:
    // read on, so a follower catching up finds its next entries in memory.
    if (found.length === 0 || index < hi) this.startLoad(index);
    return found.length === 0 ? 'unavailable' : found;
  }

  /** `LogStorage.term`. */
  term(index: number): number | null {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.last) return null;
    return this.terms.term(index);
  }

  /** Entries [keepFrom, from) of the segment at `start` (a truncation rewrites them). */
  async keptEntries(start: number, keepFrom: number, from: number): Promise<Entry[]> {
    const kept: Entry[] = [];
    for (let i = keepFrom; i < from; i++) {
      const run = this.cachedFrom(i);
      const entry = run?.entries[run.offset];
      if (entry === undefined) break;
      kept.push(entry);
    }
    if (kept.length === from - keepFrom) return kept;
    // Evicted: read the segment's record back.
    const key = segmentKey(start);
    const payload = await getRecord(this.db, key);
    const where = describeKey(key);
    if (payload === undefined) throw corrupted(where, 'missing');
    const stored = decodeRecord(key, payload, (bytes) => decodeSegment(bytes, where));
    const wanted = stored.filter((entry) => entry.index >= keepFrom && entry.index < from);
    if (wanted.length !== from - keepFrom || wanted[0]?.index !== keepFrom) {
      throw corrupted(where, `lacks entries ${keepFrom} to ${from - 1}`);
    }
    return wanted.map((entry) => ({ ...entry, data: entry.data.slice() }));
  }

  /** Brings the view up to a write the database now holds. */
  applyWrite(update: StorageWrite, change: SegmentsChange): void {
    const snapshot = update.snapshot;
    if (snapshot !== undefined) {
      const { index, term } = snapshot.metadata;
      this.offset = index;
      this.offsetTerm = term;
      this.last = index;
      this.terms.reset(index + 1);
      this.tail.reset(index + 1);
      this.readAhead.clear();
      if (this.load !== null) this.load.cancelled = true;
    }
    const first = update.entries[0];
    if (first !== undefined) {
      if (first.index <= this.last) {
        this.terms.truncateFrom(first.index);
        this.tail.truncateFrom(first.index);
        this.readAhead.truncateFrom(first.index);
        if (this.load !== null) this.load.validBelow = Math.min(this.load.validBelow, first.index);
      }
      for (const entry of update.entries) {
        this.terms.append(entry.index, entry.term);
        this.tail.append(entry);
      }
      this.last = (update.entries[update.entries.length - 1] as Entry).index;
    }
    if (update.hardState !== undefined) this.commit = update.hardState.commit;
    if (change.cleared) this.segments = [];
    else this.segments.length -= change.dropped;
    for (const start of change.added) this.segments.push(start);
    this.tail.evict(this.cacheBytes, this.commit + 1);
  }

  /** Brings the view up to a compaction to `compactTo` that dropped the first `dropped` segments. */
  applyCompaction(compactTo: number, compactTerm: number, dropped: number): void {
    this.offset = compactTo;
    this.offsetTerm = compactTerm;
    this.terms.dropThrough(compactTo);
    this.tail.dropBelow(compactTo + 1);
    this.readAhead.dropBelow(compactTo + 1);
    if (dropped > 0) this.segments.splice(0, dropped);
  }

  /** Starts no more reads and waits for the one in flight. */
  close(): Promise<void> {
    this.closing = true;
    return this.loading;
  }

  get closed(): boolean {
    return this.closing;
  }

  status(): { tailBytes: number; readAheadBytes: number; termRuns: number } {
    return {
      tailBytes: this.tail.bytes,
      readAheadBytes: this.readAhead.bytes,
      termRuns: this.terms.runCount,
    };
  }

  assertInvariants(): void {
    const tail = this.tail;
    check(tail.end === this.last + 1, () => `tail ends at ${tail.end}, last is ${this.last}`);
    check(tail.first > this.offset, () => `tail from ${tail.first} at log start ${this.offset}`);
    // Over the bound only with entries above the commit index, which are always kept.
    check(
      tail.bytes <= this.cacheBytes || tail.first > this.commit,
      () => `tail of ${tail.bytes} bytes from ${tail.first} beyond cacheBytes ${this.cacheBytes}`,
    );
    for (const i of [this.offset + 1, tail.first - 1, this.last]) {
      if (i <= this.offset || i > this.last) continue;
      check(this.terms.term(i) !== null, () => `no term for retained entry ${i}`);
    }
  }

  /** The held entries from `index` on: a run of the tail or of a read-ahead range. */
  private cachedFrom(index: number): { entries: readonly Entry[]; offset: number } | undefined {
    if (index >= this.tail.first) return this.tail.runFrom(index);
    return this.readAhead.find(index);
  }

  /** Starts reading entries from `lo` unless a read is in flight (a later miss asks again). */
  private startLoad(lo: number): void {
    if (this.load !== null || this.closing || lo > this.last || lo <= this.offset) return;
    const load: Load = { lo, validBelow: Number.POSITIVE_INFINITY, cancelled: false };
    this.load = load;
    const read = readRange(this.db, {
      segmentStart: this.segmentOf(lo),
      lo,
      stopAt: this.tail.first,
      bytesMax: this.readAheadBytes,
    });
    let failure: unknown = null;
    const done = read
      .then((entries) => this.finishLoad(load, entries))
      .catch((error: unknown) => {
        failure = error;
      })
      .finally(() => {
        this.load = null;
      });
    this.loading = done;
    // After the chain settled: an error thrown by the callback is not swallowed here.
    void done.then(() => {
      if (!this.closing) this.onLoaded(failure);
    });
  }

  /** Keeps what a read brought that is still current; a current entry it lacks is damage. */
  private finishLoad(load: Load, read: Entry[]): void {
    if (load.cancelled) return;
    const below = Math.min(load.validBelow, this.tail.first);
    const fresh = read.filter((entry) => entry.index > this.offset && entry.index < below);
    const wanted = load.lo > this.offset && load.lo < below;
    if (wanted && fresh[0]?.index !== load.lo) {
      throw corrupted(describeKey(segmentKey(this.segmentOf(load.lo))), `entry ${load.lo} missing`);
    }
    this.readAhead.add(fresh);
  }

  /** The first index of the segment holding `index`. */
  private segmentOf(index: number): number {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((segments[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo] ?? index;
  }
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftAssertionError(message());
}
