import type { LogIndex, Term } from './ids.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/** What a node starts from: the durable hard state and the membership of its snapshot. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * The core's read-only view of the durable log (etcd's `Storage`). The core never writes
 * through it: writes arrive as `Ready` contents that the runtime persists, after which this
 * view must reflect them. Reads are synchronous (the core never awaits), but `entries` may
 * answer `'unavailable'` for entries the storage holds on disk only; see docs/raft-core.md.
 *
 * Ranges: the log holds entries [firstIndex(), lastIndex()]; the snapshot covers everything up
 * to firstIndex() - 1, whose term must still be answerable (it is the `prevTerm` of the first
 * retained entry). A fresh log has firstIndex() = 1, lastIndex() = 0, term(0) = 0.
 */
export interface LogStorage {
  initialState(): InitialState;
  /**
   * Entries [lo, hi): a prefix of that range starting at `lo`, with at most `bytesMax` bytes of
   * entry data but always at least one entry when lo < hi. Returns null when lo < firstIndex()
   * (compacted). Callers guarantee hi <= lastIndex() + 1.
   *
   * Returns `'unavailable'` when the entries exist but are not in memory now: the storage has
   * started loading them and calls its `onAvailable` listener (`DurableLog`) once they are, and
   * the caller asks again then. Never for an entry above the commit index of the last hard state
   * written (the uncommitted tail): the core reads those without a way to wait.
   */
  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null | 'unavailable';
  /** The term of entry `index` for index in [firstIndex() - 1, lastIndex()], else null. Always answers. */
  term(index: LogIndex): Term | null;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /**
   * The newest durable snapshot (index 0 and empty data when there is none yet). The core asks
   * for it only to send it to a lagging follower, so an adapter may read the data from disk here.
   */
  snapshot(): Snapshot;
}

/** The bytes an entry counts for against message and batch limits. */
export function entryBytes(entry: { readonly data: Uint8Array }): number {
  return entry.data.length + ENTRY_OVERHEAD_BYTES;
}

/** What an entry's index, term and type count for, on top of its data. */
const ENTRY_OVERHEAD_BYTES = 16;

/** The longest prefix of `entries` within `bytesMax`, but at least one entry. */
export function limitBytes(entries: Entry[], bytesMax: number): Entry[] {
  if (entries.length <= 1) return entries;
  let bytes = entryBytes(entries[0] as Entry);
  for (let i = 1; i < entries.length; i++) {
    bytes += entryBytes(entries[i] as Entry);
    if (bytes > bytesMax) return entries.slice(0, i);
  }
  return entries;
}

export const EMPTY_CONF_STATE: ConfState = {
  voters: [],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};
