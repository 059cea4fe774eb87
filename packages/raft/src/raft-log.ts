import { assert } from './assert.js';
import type { LogIndex, Term } from './ids.js';
import { type LogStorage, limitBytes } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

/**
 * The log as the core sees it: the durable part through `LogStorage`, the rest in `Unstable`.
 *
 * Invariant: snapshot index <= applied <= committed <= last index, and committed entries are
 * never truncated.
 */
export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  committed: LogIndex;
  applied: LogIndex;
  /**
   * Set when the storage answered `'unavailable'` for committed entries; cleared by
   * `storageAvailable`. While set, no committed entries are handed out, so `hasReady` does not
   * report the same unavailable entries again and again (a busy loop).
   */
  waitingForStorage = false;
  /**
   * The stored snapshot's index, read from storage the first time it is needed and then kept
   * up to date by `noteSnapshot`: `storage.snapshot()` may read the whole image from disk.
   */
  private storedSnapshotIndex: LogIndex | null = null;

  constructor(storage: LogStorage, applied: LogIndex | null) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable((last + 1) as LogIndex);
    this.committed = (first - 1) as LogIndex;
    this.applied = (first - 1) as LogIndex;
    const commit = storage.initialState().hardState.commit;
    if (commit > this.committed) this.committed = commit;
    if (applied !== null) this.appliedTo(applied);
  }

  firstIndex(): LogIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): Term {
    const lastTerm = this.term(this.lastIndex());
    assert(lastTerm !== null, () => `no term for last index ${this.lastIndex()}`);
    return lastTerm;
  }

  /** The term at `index`, or null when it is compacted away or beyond the last index. */
  term(index: LogIndex): Term | null {
    const fromUnstable = this.unstable.maybeTerm(index);
    if (fromUnstable !== null) return fromUnstable;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return null;
    return this.storage.term(index);
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Figure 2's voting rule: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries. Returns the index of the last new entry, or null when
   * (prevIndex, prevTerm) does not match. Commit moves to min(leaderCommit, last new entry),
   * never further (a stale entry past the verified prefix must not be committed).
   */
  maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    leaderCommit: LogIndex,
    entries: readonly Entry[],
  ): LogIndex | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = (prevIndex + entries.length) as LogIndex;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        () => `entry ${conflict} conflicts with committed ${this.committed}`,
      );
      // Usually every entry is new: pass the message's array itself (append copies it).
      const firstNew = conflict - prevIndex - 1;
      this.append(firstNew === 0 ? entries : entries.slice(firstNew));
    }
    this.commitTo(Math.min(leaderCommit, lastNew) as LogIndex);
    return lastNew;
  }

  /** The index of the first entry that is new or conflicts with ours, or 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`: the fast back-off probe.
   * Stops at a compacted index (its term is unknown) and returns it.
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    let at = Math.min(index, this.lastIndex()) as LogIndex;
    for (;;) {
      const atTerm = this.term(at);
      if (atTerm === null) return { index: at, term: 0 as Term };
      if (atTerm <= term) return { index: at, term: atTerm };
      at = (at - 1) as LogIndex;
    }
  }

  append(entries: readonly Entry[]): LogIndex {
    if (entries.length === 0) return this.lastIndex();
    const first = (entries[0] as Entry).index;
    assert(
      first > this.committed,
      () => `append at ${first} would overwrite committed ${this.committed}`,
    );
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * Entries from `lo` to the end within `bytesMax`; null when `lo` is compacted, `'unavailable'`
   * when the storage is loading them (see `LogStorage.entries`).
   */
  entriesFrom(lo: LogIndex, bytesMax: number): Entry[] | null | 'unavailable' {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, (this.lastIndex() + 1) as LogIndex, bytesMax);
  }

  /**
   * Entries [lo, hi) within `bytesMax` (at least one, possibly a shorter prefix); null when `lo`
   * is compacted, `'unavailable'` when the storage is loading them.
   */
  slice(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null | 'unavailable' {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    assert(
      hi <= this.lastIndex() + 1,
      () => `slice to ${hi} beyond last index ${this.lastIndex()}`,
    );
    const unstableFrom = this.unstable.offset;
    if (lo >= unstableFrom) return limitBytes(this.unstable.slice(lo, hi), bytesMax);
    const stableHi = Math.min(hi, unstableFrom) as LogIndex;
    const stable = this.storage.entries(lo, stableHi, bytesMax);
    if (stable === null || stable === 'unavailable') return stable;
    if (hi <= unstableFrom || stable.length < stableHi - lo) return stable;
    return limitBytes(stable.concat(this.unstable.slice(unstableFrom, hi)), bytesMax);
  }

  /** Leader commit rule (Figure 2, §5.4.2): only an entry of the current term commits by counting. */
  maybeCommit(index: LogIndex, term: Term): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) return;
    assert(
      index <= this.lastIndex(),
      () => `commit ${index} beyond last index ${this.lastIndex()}: log lost or corrupted`,
    );
    this.committed = index;
  }

  appliedTo(index: LogIndex): void {
    assert(index <= this.committed, () => `applied ${index} beyond committed ${this.committed}`);
    assert(index >= this.applied, () => `applied ${index} moves back from ${this.applied}`);
    this.applied = index;
  }

  /** Whether committed entries can be handed out now (false while waiting for storage). */
  hasNextCommittedEntries(): boolean {
    return (
      this.unstable.snapshot === null && this.committed > this.applied && !this.waitingForStorage
    );
  }

  /**
   * Committed, not yet applied entries within `bytesMax` (at least one when any are ready).
   * None while the storage loads them: `waitingForStorage` is set until `storageAvailable`.
   */
  nextCommittedEntries(bytesMax: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex()) as LogIndex;
    const entries = this.slice(lo, (this.committed + 1) as LogIndex, bytesMax);
    assert(entries !== null, () => `committed entries from ${lo} are compacted but not applied`);
    if (entries === 'unavailable') {
      this.waitingForStorage = true;
      return [];
    }
    return entries;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** The newest snapshot's index (pending or stored), without asking storage for its data. */
  snapshotIndex(): LogIndex {
    const pending = this.unstable.snapshot;
    if (pending !== null) return pending.metadata.index;
    this.storedSnapshotIndex ??= this.storage.snapshot().metadata.index;
    return this.storedSnapshotIndex;
  }

  /** A snapshot at `index` was handed to storage (installed or taken locally). */
  noteSnapshot(index: LogIndex): void {
    // Not through snapshotIndex(): that may read storage's snapshot. Any snapshot noted here is
    // newer than the one storage held when this log was built (compact refuses older ones).
    if (this.storedSnapshotIndex === null || index > this.storedSnapshotIndex)
      this.storedSnapshotIndex = index;
  }

  /** Replaces the log with a snapshot that is ahead of it (or disagrees with it). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  assertInvariants(): void {
    const snapshotIndex = this.firstIndex() - 1;
    assert(
      this.applied >= Math.min(snapshotIndex, this.committed) || this.unstable.snapshot !== null,
      () => `applied ${this.applied} below snapshot ${snapshotIndex}`,
    );
    assert(
      this.applied <= this.committed,
      () => `applied ${this.applied} beyond committed ${this.committed}`,
    );
    assert(
      this.committed <= this.lastIndex(),
      () => `committed ${this.committed} beyond last ${this.lastIndex()}`,
    );
  }
}
