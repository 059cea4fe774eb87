/**
 * A `LogStorage` over a `MemoryStorage` whose `entries` answers `'unavailable'` the way a
 * storage with a bounded cache may: at random (seeded), or always while `blocked`, but only where
 * the contract allows it, for a range starting at or below the commit index of the hard state
 * written (the uncommitted tail is always served). Each miss leaves a notification pending; the
 * harness delivers it (`notify`) whenever it likes, later, which calls the listener, as a real
 * storage does once its load completes. Reads themselves come from the memory storage, so what
 * a retry gets is always right: only the timing is the storage's.
 */
import type {
  Entry,
  InitialState,
  LogIndex,
  LogStorage,
  MemoryStorage,
  Random,
  Snapshot,
  Term,
} from '@cairn/raft';

export class FlakyReads implements LogStorage {
  /** `'unavailable'` answers so far. */
  misses = 0;
  /** While set, every read that may miss does; notifications wait until it is cleared. */
  blocked = false;
  private pending = false;
  private listener: (() => void) | null = null;

  constructor(
    readonly storage: MemoryStorage,
    private readonly random: Random,
    /** The chance that a read which may miss does, in percent. */
    private readonly missPercent: number,
  ) {}

  onAvailable(listener: () => void): void {
    this.listener = listener;
  }

  /** Whether a notification waits for delivery (none while blocked). */
  hasPending(): boolean {
    return this.pending && !this.blocked;
  }

  /** Drops the pending notification: the storage recovered but never says so. */
  forget(): void {
    this.pending = false;
  }

  /** Delivers the pending notification, if any: the listener runs now. */
  notify(): boolean {
    if (!this.hasPending()) return false;
    this.pending = false;
    this.listener?.();
    return true;
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null | 'unavailable' {
    const mayMiss =
      lo >= this.storage.firstIndex() &&
      lo < hi &&
      lo <= this.storage.initialState().hardState.commit;
    if (mayMiss && (this.blocked || this.drawMiss())) {
      this.misses++;
      this.pending = true;
      return 'unavailable';
    }
    return this.storage.entries(lo, hi, bytesMax);
  }

  private drawMiss(): boolean {
    return this.missPercent > 0 && this.random.nextInt(100) < this.missPercent;
  }

  initialState(): InitialState {
    return this.storage.initialState();
  }

  term(index: LogIndex): Term | null {
    return this.storage.term(index);
  }

  firstIndex(): LogIndex {
    return this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    return this.storage.lastIndex();
  }

  snapshot(): Snapshot {
    return this.storage.snapshot();
  }
}
