import {
  type ConfState,
  type DurableLog,
  type Entry,
  type InitialState,
  type LogIndex,
  MemoryStorage,
  type Snapshot,
  type StorageFeatures,
  type StorageWrite,
  type Term,
} from '@cairn/raft';

/**
 * The memory twin of `LevelLog`: the same `DurableLog` port over a `MemoryStorage`, for tests
 * and for several nodes in one process. Writes resolve at once and nothing survives the
 * process (`durable: false`), so the conformance suite skips its reopen checks for it. Every
 * entry is in memory: `entries` never answers `'unavailable'` and the listener is never called.
 */
export class MemoryDurableLog implements DurableLog {
  readonly features: StorageFeatures = {
    durable: false,
    snapshotsStreamed: false,
    boundedCache: false,
  };
  private readonly storage: MemoryStorage;

  constructor(storage: MemoryStorage = new MemoryStorage()) {
    this.storage = storage;
  }

  /** A founding member's log: the genesis snapshot of `MemoryStorage.bootstrap`. */
  static bootstrap(confState: ConfState): MemoryDurableLog {
    return new MemoryDurableLog(MemoryStorage.bootstrap(confState));
  }

  initialState(): InitialState {
    return this.storage.initialState();
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null {
    return this.storage.entries(lo, hi, bytesMax);
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

  write(update: StorageWrite & { readonly sync: boolean }): Promise<void> {
    // A failed assertion rejects the promise rather than throwing from the call.
    return new Promise((resolve) => {
      this.storage.write(update);
      resolve();
    });
  }

  compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    return new Promise((resolve) => {
      this.storage.compact(snapshot, compactTo);
      resolve();
    });
  }

  /** Nothing is ever unavailable here, so the listener is never called and need not be kept. */
  onAvailable(_listener: () => void): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}
