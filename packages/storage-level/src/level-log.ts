import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConfState,
  type DurableLog,
  EMPTY_CONF_STATE,
  type Entry,
  encodeHardState,
  encodeSnapshotMetadata,
  type HardState,
  type InitialState,
  type LogIndex,
  type NodeId,
  RaftAssertionError,
  type Snapshot,
  type SnapshotMetadata,
  type StorageFeatures,
  type StorageWrite,
  type Term,
} from '@cairn/raft';
import { Level } from 'level';
import { CachedLog, type SegmentsChange } from './cached-log.js';
import { StorageError } from './errors.js';
import { loadIdentity, type StorageIdentity } from './identity.js';
import {
  encodeLogStart,
  encodeSegment,
  HARD_STATE_KEY,
  LOG_START_KEY,
  SEGMENT_ENTRIES_MAX,
  SNAPSHOT_KEY,
  sealRecord,
  segmentKey,
} from './records.js';
import { type Db, type LoadedLog, loadLog } from './segment-reads.js';
import {
  removeStaleSnapshotFiles,
  removeUnrecordedSnapshotFiles,
  writeSnapshotFile,
} from './snapshot-files.js';

export type { StorageIdentity } from './identity.js';

/** The database's sub-folder; snapshot files sit beside it in `dir`. */
const DB_FOLDER = 'db';
const MIB = 1024 * 1024;
const CACHE_BYTES_DEFAULT = 64 * MIB;
const READ_AHEAD_BYTES_DEFAULT = 4 * MIB;
const NO_SNAPSHOT: SnapshotMetadata = {
  index: 0 as LogIndex,
  term: 0 as Term,
  confState: EMPTY_CONF_STATE,
};

export interface LevelLogOptions {
  /** The node's data folder: the database in `db/`, snapshot files beside it. Created if absent. */
  readonly dir: string;
  /** Recorded when the folder is initialised; a later open with another value is refused. */
  readonly clusterId: string;
  readonly nodeId: NodeId;
  /**
   * For a founding member of a new cluster: an empty folder starts from the genesis snapshot
   * (index 1, term 1, this membership). Ignored when the folder already holds a log.
   */
  readonly bootstrap?: ConfState;
  /**
   * Bytes of the most recent entries kept in memory (data plus 16 per entry), beyond the
   * entries above the commit index, which are always kept. Older entries are read back from
   * disk in ranges when asked for. An integer >= 0; default 64 MiB.
   */
  readonly cacheBytes?: number;
  /**
   * Bytes of entries one read from disk brings in, from the entry asked for on; the last
   * READ_AHEAD_READS_KEPT (4) reads stay in a cache of their own. An integer >= 1; default 4 MiB.
   */
  readonly readAheadBytes?: number;
}

type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/**
 * The Raft log, hard state and snapshots on LevelDB (`level`), one folder per node.
 *
 * - Every `write` is one atomic `db.batch` (synced when asked): the snapshot record, the removal
 *   of any suffix the new entries replace, the entries and the hard state land together or not
 *   at all, so a restart can never resurrect a truncated entry (RELIABILITY §2.1 bug 11).
 *   The entries of one write are one segment record (see records.ts), so a batch costs one
 *   LevelDB record and one fsync however many entries it carries.
 * - Every record carries a CRC-32 over key and value, checked when the folder is loaded and on
 *   every read from disk; a damaged record, a gap in the entries or a missing snapshot file is
 *   `StorageCorrupted` naming the record. It is never taken for the end of the log (F9).
 * - Memory does not grow with the log: the terms of all retained entries (as runs, see
 *   term-runs.ts), every entry above the commit index of the last hard state written, and the
 *   most recent entries within `cacheBytes`. Older entries answer `'unavailable'`: one read of
 *   about `readAheadBytes` from the entry asked for starts (misses meanwhile wait for it), lands
 *   in a read-ahead cache of its own, and the `onAvailable` listener is called.
 * - The latest snapshot's data stays in memory (one image: read asynchronously on open, or the
 *   bytes just written), because `snapshot()` is synchronous and must neither block the event
 *   loop on a file read nor fail; a newer snapshot replaces it. Its file is written in chunks.
 * - `compact` runs in the background: the snapshot file is written and fsynced outside the write
 *   queue, and only then is the small batch that records it and deletes the entries below it
 *   queued, so appends issued meanwhile do not wait for the file. Until that batch, the previous
 *   snapshot and every entry stay in force (and readable); a crash before it keeps them.
 * - After any storage failure, a failed read from disk included, the log refuses to serve:
 *   every call throws that failure (a failed read still calls the listener, so the runtime's
 *   next call finds out).
 */
export class LevelLog implements DurableLog {
  readonly features: StorageFeatures = {
    durable: true,
    snapshotsStreamed: true,
    boundedCache: true,
  };
  readonly identity: StorageIdentity;
  private readonly db: Db;
  private readonly dir: string;
  // Invariant: these fields (and `log`) reflect exactly what the database holds after the
  // last completed write.
  private hardState: HardState;
  private snapshotMetadata: SnapshotMetadata;
  /** The recorded snapshot's data (empty when none is recorded). */
  private snapshotData: Uint8Array;
  /** The entries: bounds, terms, what is in memory, reads from disk. */
  private readonly log: CachedLog;
  /** A storage failure (StorageError) or a broken invariant met off the caller's stack. */
  private failure: Error | null = null;
  /**
   * Writes, one at a time in call order (the DurableLog contract), and the recording batches of
   * compactions whose file is durable, in the order their files became durable.
   */
  private queue: Promise<void> = Promise.resolve();
  /** Compactions not yet settled (file still being written, or batch queued): close waits. */
  private readonly compactions = new Set<Promise<void>>();
  /** Set by `close`: a compaction asked for afterwards is refused (close would not wait for it). */
  private closing = false;
  private listener: (() => void) | null = null;

  private constructor(
    db: Db,
    options: LevelLogOptions,
    identity: StorageIdentity,
    loaded: LoadedLog,
  ) {
    this.db = db;
    this.dir = options.dir;
    this.identity = identity;
    this.hardState = loaded.hardState ?? { term: 0 as Term, vote: null, commit: 0 as LogIndex };
    this.snapshotMetadata = loaded.snapshot ?? NO_SNAPSHOT;
    this.snapshotData = loaded.snapshotData;
    const cache = {
      cacheBytes: options.cacheBytes ?? CACHE_BYTES_DEFAULT,
      readAheadBytes: options.readAheadBytes ?? READ_AHEAD_BYTES_DEFAULT,
    };
    this.log = new CachedLog(db, cache, loaded, (failure) => {
      // A failed read is fatal like any storage failure; the listener still runs, so the
      // runtime's next call finds out.
      if (failure !== null) this.failure ??= asStorageError(failure, `read ${this.dir}`);
      this.listener?.();
    });
  }

  /**
   * Opens (or initialises) the folder. Rejects with `StorageLocked` when another handle holds it
   * (LevelDB's lock error as `cause`), `StorageMismatch` when it belongs to another cluster or
   * node, `StorageCorrupted` when a record or the snapshot file is damaged. Invalid options are
   * a programmer error (`RaftAssertionError`).
   */
  static async open(options: LevelLogOptions): Promise<LevelLog> {
    const cacheBytes = options.cacheBytes ?? CACHE_BYTES_DEFAULT;
    const readAheadBytes = options.readAheadBytes ?? READ_AHEAD_BYTES_DEFAULT;
    check(Number.isSafeInteger(cacheBytes) && cacheBytes >= 0, () => `cacheBytes ${cacheBytes}`);
    check(
      Number.isSafeInteger(readAheadBytes) && readAheadBytes >= 1,
      () => `readAheadBytes ${readAheadBytes}`,
    );
    await mkdir(options.dir, { recursive: true });
    const db: Db = new Level<Uint8Array, Uint8Array>(join(options.dir, DB_FOLDER), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    try {
      await db.open();
    } catch (error) {
      throw openFailure(options.dir, error);
    }
    try {
      const identity = await loadIdentity(db, options);
      const loaded = await loadLog(db, options.dir, cacheBytes);
      const { index, term } = loaded.snapshot ?? NO_SNAPSHOT;
      await removeUnrecordedSnapshotFiles(options.dir, index, term);
      await removeStaleSnapshotFiles(options.dir, index, term, true);
      return new LevelLog(db, options, identity, loaded);
    } catch (error) {
      await db.close();
      throw asStorageError(error, `open ${options.dir}`);
    }
  }

  initialState(): InitialState {
    this.checkServing();
    return { hardState: this.hardState, confState: this.snapshotMetadata.confState };
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null | 'unavailable' {
    this.checkServing();
    const log = this.log;
    if (lo <= log.offset) return null;
    check(hi <= log.last + 1, () => `entries(${lo}, ${hi}) beyond last index ${log.last}`);
    if (lo >= hi) return [];
    return log.entries(lo, hi, bytesMax);
  }

  term(index: LogIndex): Term | null {
    this.checkServing();
    return this.log.term(index) as Term | null;
  }

  firstIndex(): LogIndex {
    this.checkServing();
    return (this.log.offset + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    this.checkServing();
    return this.log.last as LogIndex;
  }

  /** The recorded snapshot, from memory (until a compaction's batch lands, the previous one). */
  snapshot(): Snapshot {
    this.checkServing();
    return { metadata: this.snapshotMetadata, data: this.snapshotData };
  }

  onAvailable(listener: () => void): void {
    this.listener = listener;
  }

  /** What the caches hold now, in bytes as the core counts them, and how many term runs. */
  cacheStatus(): { tailBytes: number; readAheadBytes: number; termRuns: number } {
    return this.log.status();
  }

  write(update: StorageWrite & { readonly sync: boolean }): Promise<void> {
    return this.enqueue(async () => {
      this.checkServing();
      const ops: BatchOp[] = [];
      // How `segments` changes once the batch is written (not copied: it has one number per
      // write, and a copy per write would cost more than the write itself at batch size 1).
      const change: SegmentsChange = { cleared: false, dropped: 0, added: [] };
      let offset = this.log.offset;
      let last = this.log.last;
      const snapshot = update.snapshot;
      if (snapshot !== undefined) {
        const { index, term } = snapshot.metadata;
        check(
          index >= this.snapshotMetadata.index,
          () => `snapshot ${index} older than the stored one`,
        );
        await this.guard(() => writeSnapshotFile(this.dir, index, term, snapshot.data));
        ops.push(put(SNAPSHOT_KEY, encodeSnapshotMetadata(snapshot.metadata)));
        ops.push(put(LOG_START_KEY, encodeLogStart(index, term)));
        // The snapshot replaces the whole log.
        for (const first of this.log.segments) ops.push({ type: 'del', key: segmentKey(first) });
        change.cleared = true;
        offset = index;
        last = index;
      }
      const first = update.entries[0];
      if (first !== undefined) {
        const from = first.index;
        check(from > offset, () => `append at ${from} below log start ${offset}`);
        check(from <= last + 1, () => `append at ${from} leaves a gap after ${last}`);
        // A snapshot covers committed entries only, and committed entries are never replaced;
        // an append below it would also leave the recorded snapshot beyond the last entry.
        const snapshotIndex = snapshot?.metadata.index ?? this.snapshotMetadata.index;
        check(from > snapshotIndex, () => `append at ${from} replaces snapshot ${snapshotIndex}`);
        // Invariant: an append at index i discards everything from i on, in the same batch.
        let kept: Entry[] = [];
        // Walks back over the segments that hold entries at or after `from`; `end` is the last
        // index of the segment under consideration.
        let end = last;
        const segments = change.cleared ? [] : this.log.segments;
        while (change.dropped < segments.length && end >= from) {
          const start = segments[segments.length - 1 - change.dropped] as number;
          change.dropped++;
          if (start >= from) {
            ops.push({ type: 'del', key: segmentKey(start) });
            end = start - 1;
            continue;
          }
          // The append lands inside this segment: it is rewritten with the part below `from`
          // (and above the log start) plus the new entries.
          const keepFrom = Math.max(start, offset + 1);
          if (keepFrom !== start) ops.push({ type: 'del', key: segmentKey(start) });
          kept = await this.guard(() => this.log.keptEntries(start, keepFrom, from));
          break;
        }
        const appended = kept.length > 0 ? [...kept, ...update.entries] : update.entries;
        for (let i = 0; i < appended.length; i += SEGMENT_ENTRIES_MAX) {
          const chunk = appended.slice(i, i + SEGMENT_ENTRIES_MAX);
          const start = (chunk[0] as Entry).index;
          change.added.push(start);
          ops.push(put(segmentKey(start), encodeSegment(chunk)));
        }
      }
      if (update.hardState !== undefined) {
        ops.push(put(HARD_STATE_KEY, encodeHardState(update.hardState)));
      }
      if (ops.length === 0) return;
      await this.guard(() => this.db.batch(ops, { sync: update.sync }));
      if (snapshot !== undefined) {
        this.snapshotMetadata = snapshot.metadata;
        this.snapshotData = snapshot.data;
      }
      if (update.hardState !== undefined) this.hardState = update.hardState;
      this.log.applyWrite(update, change);
      if (snapshot !== undefined) await this.removeOldSnapshots();
    });
  }

  /**
   * Saves a local snapshot and drops the entries up to `compactTo`, in the background: the file
   * is written, fsynced and renamed outside the write queue (writes issued meanwhile go ahead),
   * then one synced batch switches the snapshot record and the log start and deletes the whole
   * segments at or below `compactTo`. Until that batch the previous snapshot and all entries
   * are in force, on disk and in memory. A snapshot not newer than the recorded one (or than a
   * newer one recorded while this file was written) writes no file, records nothing and drops
   * no entry.
   */
  compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    const { index, term } = snapshot.metadata;
    const run = (async () => {
      this.checkServing();
      if (this.closing) throw new StorageError('StorageFailed', `${this.dir}: closing`);
      if (index > this.snapshotMetadata.index) {
        await this.guard(() => writeSnapshotFile(this.dir, index, term, snapshot.data));
      }
      // Queued only now that the file is durable: the batch is small and never holds appends
      // behind a file write.
      await this.enqueue(() => this.switchSnapshot(snapshot, compactTo));
    })();
    this.compactions.add(run);
    const settled = (): void => {
      this.compactions.delete(run);
    };
    run.then(settled, settled);
    return run;
  }

  /** The queued half of `compact`: its file is durable; re-checks what writes changed meanwhile. */
  private async switchSnapshot(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    this.checkServing();
    const { index } = snapshot.metadata;
    // Re-checked here: a Ready may have installed a newer snapshot (or a newer compaction's file
    // may have been durable first) meanwhile. Then this compaction changes nothing, not even
    // the retained tail (the DurableLog promise); a file it wrote goes with the old ones.
    if (index <= this.snapshotMetadata.index) {
      await this.removeOldSnapshots();
      return;
    }
    const log = this.log;
    check(index <= log.last, () => `snapshot ${index} beyond the last index`);
    const ops: BatchOp[] = [put(SNAPSHOT_KEY, encodeSnapshotMetadata(snapshot.metadata))];
    let dropped = 0;
    const compacts = compactTo > log.offset;
    const compactTerm = compacts ? this.term(compactTo) : null;
    if (compacts) {
      check(compactTo <= index, () => `compaction to ${compactTo} beyond snapshot ${index}`);
      check(compactTerm !== null, () => `no term for ${compactTo}`);
      ops.push(put(LOG_START_KEY, encodeLogStart(compactTo, compactTerm)));
      // Whole segments at or below compactTo go; one straddling it stays (load skips its
      // entries up to the log start).
      const segments = log.segments;
      while (dropped < segments.length) {
        const next = segments[dropped + 1] ?? log.last + 1;
        if (next - 1 > compactTo) break;
        dropped++;
      }
    }
    // The switch record is small: the segments it leaves behind are deleted afterwards by a
    // native range clear, off the event loop. Deleting them in this batch built one operation
    // per segment on the main thread (~300 ms for 100,000 entries in 15,000 segments, a stall
    // every snapshot). A crash before the clear leaves segments wholly below the log start,
    // which load skips and the next clear removes.
    await this.guard(() => this.db.batch(ops, { sync: true }));
    this.snapshotMetadata = snapshot.metadata;
    this.snapshotData = snapshot.data;
    // The first segment kept (or, all dropped, where the next append's segment will start).
    const keptFrom = log.segments[dropped] ?? log.last + 1;
    if (compacts && compactTerm !== null) log.applyCompaction(compactTo, compactTerm, dropped);
    if (dropped > 0)
      await this.guard(() =>
        this.db.clear({
          gte: segmentKey(0),
          lt: segmentKey(keptFrom),
        }),
      );
    await this.removeOldSnapshots();
  }

  /** Waits for compactions, queued writes and any read in flight, then closes the database. */
  async close(): Promise<void> {
    this.closing = true;
    const reading = this.log.close();
    // A compaction's batch is queued only once its file is durable: wait for that first.
    await Promise.allSettled([...this.compactions]);
    await this.queue;
    await reading;
    if (this.db.status === 'closed') return;
    this.failure ??= new StorageError('StorageFailed', `${this.dir}: closed`);
    await this.db.close();
  }

  /** Throws a `RaftAssertionError` if the in-memory view is inconsistent (tests call it). */
  assertInvariants(): void {
    this.log.assertInvariants();
  }

  private checkServing(): void {
    if (this.failure !== null) throw this.failure;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs one I/O step; any failure becomes this log's failure, so it stops serving. */
  private async guard<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const failure = asStorageError(error, `write ${this.dir}`);
      if (failure instanceof StorageError) this.failure ??= failure;
      throw failure;
    }
  }

  private async removeOldSnapshots(): Promise<void> {
    const { index, term } = this.snapshotMetadata;
    // Best effort: an old file left behind wastes space but misleads nothing (never recorded
    // again, and removed on the next open).
    await removeStaleSnapshotFiles(this.dir, index, term, false).catch(() => undefined);
  }
}

/** A programmer error in the caller's Ready (STYLE §7): stop, do not touch the disk. */
function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftAssertionError(message());
}

function put(key: Uint8Array, payload: Uint8Array): BatchOp {
  return { type: 'put', key, value: sealRecord(key, payload) };
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

function errorCause(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}

function openFailure(dir: string, error: unknown): StorageError {
  const cause = errorCause(error);
  if (errorCode(cause) === 'LEVEL_LOCKED') {
    return new StorageError('StorageLocked', `${dir}: already open in another handle or process`, {
      cause,
    });
  }
  return new StorageError('StorageFailed', `${dir}: cannot open the database`, { cause: error });
}

/** Storage and assertion errors pass through; anything else (I/O, codec) is wrapped. */
function asStorageError(error: unknown, what: string): Error {
  if (error instanceof StorageError || error instanceof RaftAssertionError) return error;
  if (errorCode(error) === 'MarshallingError') {
    return new StorageError('StorageCorrupted', `${what}: a record does not decode`, {
      cause: error,
    });
  }
  return new StorageError('StorageFailed', `${what}: ${String(error)}`, { cause: error });
}
