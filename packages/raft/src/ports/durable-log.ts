import type { LogIndex } from '../ids.js';
import type { StorageWrite } from '../memory-storage.js';
import type { LogStorage } from '../storage.js';
import type { Snapshot } from '../types.js';

/** What an implementation supports; the conformance suite enables its tests accordingly. */
export interface StorageFeatures {
  /** Survives a process crash: what `write` resolved is there after reopening. */
  readonly durable: boolean;
  /**
   * Snapshots are written to a file in chunks and switched in atomically (write, fsync, rename,
   * fsync the folder), off the path of appends. The latest snapshot's bytes may still be kept
   * in memory to answer `snapshot()`, which is synchronous.
   */
  readonly snapshotsStreamed: boolean;
  /**
   * Entries live on disk with a bounded cache in memory, so `entries` may answer
   * `'unavailable'`. The conformance suite then needs `DurableLogFactory.openSmallCache`.
   */
  readonly boundedCache: boolean;
}

/**
 * The durable log as the runtime drives it: the core's read view (`LogStorage`, synchronous)
 * plus the writes a `Ready` asks for. Anyone can implement it (a storage engine the service
 * already runs); `@cairn/raft/testing` has the conformance suite every implementation passes.
 *
 * Contract:
 * - `write` persists one Ready atomically: the snapshot (which replaces the whole log), then the
 *   entries (an entry at index i discards everything stored from i on), then the hard state.
 *   When `sync` is true it resolves only once all of it is on stable storage. Writes are issued
 *   one at a time, in order. After it resolves, the read view reflects it.
 * - `entries` may answer `'unavailable'` (never for entries above the commit index of the last
 *   hard state written): the storage has started loading them and calls the `onAvailable`
 *   listener once they are in memory, or once the load failed (the next call then throws the
 *   failure). One listener call may answer several misses; a spurious call is harmless.
 * - `compact` saves a locally taken snapshot and discards entries up to `compactTo`; reads stay
 *   consistent throughout (entries above `compactTo` remain readable). It may run concurrently
 *   with later `write`s (the runtime does not await it before the next Ready, but never starts
 *   a compaction before the previous one settled), and whatever order they finish in:
 *   - a compaction whose snapshot index is at or below the snapshot the log holds when it takes
 *     effect (one a later `write` installed, or an earlier compaction's) changes nothing and
 *     resolves: that snapshot stays, and so does every entry;
 *   - it never removes an entry above `compactTo`, in particular none a later `write` appended
 *     or rewrote; `compactTo` never exceeds the snapshot index, itself at most the commit index.
 * - A failure rejects with an error whose `code` says what broke (`StorageCorrupted`,
 *   `StorageLocked`, `StorageMismatch`, `StorageFailed`); storage failure is fatal: the node
 *   stops rather than vote or acknowledge with a log it cannot trust.
 */
export interface DurableLog extends LogStorage {
  readonly features: StorageFeatures;
  write(update: StorageWrite & { readonly sync: boolean }): Promise<void>;
  /** See the contract above: concurrent with later writes, a stale compaction changes nothing. */
  compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void>;
  /**
   * Sets the listener called (asynchronously, never from inside `entries`) after entries
   * reported `'unavailable'` were loaded. The runtime calls `RaftCore.storageAvailable` from it.
   * A storage that never answers `'unavailable'` may just keep it. Replaces any earlier one.
   */
  onAvailable(listener: () => void): void;
  close(): Promise<void>;
}
