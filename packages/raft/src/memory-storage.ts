import { assert } from './assert.js';
import type { LogIndex, Term } from './ids.js';
import { EMPTY_CONF_STATE, type InitialState, type LogStorage, limitBytes } from './storage.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

const GENESIS_INDEX = 1 as LogIndex;
const GENESIS_TERM = 1 as Term;

/** What one `Ready` asks storage to make durable, in one atomic write. */
export interface StorageWrite {
  readonly hardState?: HardState | undefined;
  readonly snapshot?: Snapshot | undefined;
  readonly entries: readonly Entry[];
}

/**
 * The log in memory: the reference implementation of {@link LogStorage} for tests, the
 * simulator and benchmarks. It is "durable" the moment `write` returns.
 *
 * Invariant: `entries[0]` is the entry at `offset + 1`; `offsetTerm` is the term at `offset`
 * (the snapshot's, or the last compacted entry's).
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };
  private latestSnapshot: Snapshot = {
    metadata: { index: 0 as LogIndex, term: 0 as Term, confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
  private offset = 0;
  private offsetTerm = 0;
  private log: Entry[] = [];

  /**
   * A storage for a founding member of a new cluster: its genesis is a snapshot at index 1,
   * term 1, holding the initial membership and an empty state machine. Every founding member
   * starts from the same genesis; a node added later starts empty and receives the genesis (or
   * a later snapshot) from the leader, so it learns the membership from the cluster itself.
   */
  static bootstrap(confState: ConfState): MemoryStorage {
    const storage = new MemoryStorage();
    storage.installSnapshot({
      metadata: { index: GENESIS_INDEX, term: GENESIS_TERM, confState },
      data: new Uint8Array(0),
    });
    storage.hardState = { term: GENESIS_TERM, vote: null, commit: GENESIS_INDEX };
    return storage;
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.latestSnapshot.metadata.confState };
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null {
    if (lo <= this.offset) return null;
    assert(
      hi <= this.lastIndex() + 1,
      () => `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`,
    );
    return limitBytes(this.log.slice(lo - this.offset - 1, hi - this.offset - 1), bytesMax);
  }

  term(index: LogIndex): Term | null {
    if (index === this.offset) return this.offsetTerm as Term;
    if (index < this.offset || index > this.lastIndex()) return null;
    return (this.log[index - this.offset - 1] as Entry).term;
  }

  firstIndex(): LogIndex {
    return (this.offset + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    return (this.offset + this.log.length) as LogIndex;
  }

  snapshot(): Snapshot {
    return this.latestSnapshot;
  }

  /** Persists one Ready: snapshot first, then entries (truncating any conflicting suffix), then hard state. */
  write(update: StorageWrite): void {
    if (update.snapshot !== undefined) this.installSnapshot(update.snapshot);
    if (update.entries.length > 0) this.append(update.entries);
    if (update.hardState !== undefined) this.hardState = update.hardState;
  }

  /**
   * Saves a locally taken snapshot and discards entries up to `compactTo` (which may be below
   * the snapshot index, to keep a tail for slow followers). A snapshot at or below the one held
   * (a newer one was installed or saved meanwhile) changes nothing (the `DurableLog` promise).
   */
  compact(snapshot: Snapshot, compactTo: LogIndex): void {
    const index = snapshot.metadata.index;
    if (index <= this.latestSnapshot.metadata.index) return;
    assert(
      index <= this.lastIndex(),
      () => `snapshot ${index} beyond last index ${this.lastIndex()}`,
    );
    assert(compactTo <= index, () => `compaction to ${compactTo} beyond snapshot ${index}`);
    this.latestSnapshot = snapshot;
    this.discardEntriesTo(compactTo);
  }

  /**
   * Discards the entries up to `compactTo` (at most the held snapshot's index), keeping the
   * snapshot: the second half of a compaction, for a storage that records the snapshot and the
   * new log start separately (the simulator's disk, where a crash may fall between the two).
   */
  discardEntriesTo(compactTo: LogIndex): void {
    if (compactTo <= this.offset) return;
    const index = this.latestSnapshot.metadata.index;
    assert(compactTo <= index, () => `compaction to ${compactTo} beyond snapshot ${index}`);
    const compactTerm = this.term(compactTo);
    assert(compactTerm !== null, () => `no term for ${compactTo}`);
    this.log = this.log.slice(compactTo - this.offset);
    this.offset = compactTo;
    this.offsetTerm = compactTerm;
  }

  private installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    assert(index >= this.latestSnapshot.metadata.index, 'snapshot older than the one stored');
    this.latestSnapshot = snapshot;
    this.log = [];
    this.offset = index;
    this.offsetTerm = term;
  }

  private append(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    assert(first > this.offset, () => `append at ${first} below first index ${this.offset + 1}`);
    assert(
      first <= this.lastIndex() + 1,
      () => `append at ${first} leaves a gap after ${this.lastIndex()}`,
    );
    // Invariant: an append at index i discards everything at or after i (no resurrected suffix).
    if (first <= this.lastIndex()) this.log.length = first - this.offset - 1;
    for (const entry of entries) this.log.push(entry);
  }
}
