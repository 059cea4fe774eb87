// The runtime does not block its Ready loop on a compaction (issue 4: "compaction deletes
// entries below the snapshot in the background without blocking appends"). One member runs on a
// memory log whose `compact` is held until the test releases it: writes issued after snapshots
// were taken keep committing and answering while every compaction is still held, and the held
// compactions then complete, compacting the log. A compaction that fails stops the node (its
// `fatal` event fires and sessions get ConnectionLoss), as any storage failure does.
import { createNode, isCairnError, type NodeEvent } from '@cairn/node';
import { type LogIndex, MemoryStorage, type NodeId, type Snapshot } from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';
import { describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Writes issued while compactions are held: several snapshots' worth at SNAPSHOT_ENTRIES. */
const WRITES = 60;
const SNAPSHOT_ENTRIES = 10;
/** Releases held compactions if the test never does, so a broken runtime fails, not hangs. */
const HOLD_FALLBACK_MS = 5_000;

/** A memory log whose compactions wait for `release` (or fail, once `failWith` is set). */
class HeldCompactionLog extends MemoryDurableLog {
  started = 0;
  released = false;
  failWith: Error | null = null;
  private readonly waiting: Array<() => void> = [];
  private readonly fallback = setTimeout(() => this.release(), HOLD_FALLBACK_MS);

  override compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    this.started++;
    return new Promise<void>((resolve) => {
      if (this.released) resolve();
      else this.waiting.push(resolve);
    }).then(() => {
      if (this.failWith !== null) throw this.failWith;
      return super.compact(snapshot, compactTo);
    });
  }

  release(): void {
    clearTimeout(this.fallback);
    this.released = true;
    for (const resume of this.waiting.splice(0)) resume();
  }
}

function founding(): HeldCompactionLog {
  const confState = {
    voters: [1 as NodeId],
    votersOutgoing: [],
    learners: [],
    learnersNext: [],
    autoLeave: false,
  };
  return new HeldCompactionLog(MemoryStorage.bootstrap(confState));
}

/** Turns of the event loop a condition may take before the test gives up on it. */
const TURNS_MAX = 10_000;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < TURNS_MAX; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

describe('compaction in the node runtime', () => {
  it('writes commit while compactions are still held', async () => {
    const storage = founding();
    const node = await createNode({
      id: 1,
      storage,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
    });
    try {
      const zk = await node.session();
      let answeredWhileHeld = 0;
      for (let i = 0; i < WRITES; i++) {
        await zk.create(`/k${i}`, enc(String(i)));
        if (!storage.released) answeredWhileHeld++;
      }
      expect(storage.started).toBeGreaterThan(1);
      expect(answeredWhileHeld).toBe(WRITES);
      storage.release();
      await zk.create('/after', enc(''));
      expect(storage.firstIndex()).toBeGreaterThan(1);
      expect((await zk.getChildren('/')).children).toHaveLength(WRITES + 2);
    } finally {
      storage.release();
      await node.close();
    }
  });

  it('a failed compaction stops the node', async () => {
    const storage = founding();
    const events: NodeEvent[] = [];
    const node = await createNode({
      id: 1,
      storage,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
      onEvent: (event) => events.push(event),
    });
    try {
      const zk = await node.session();
      for (let i = 0; i <= SNAPSHOT_ENTRIES; i++) await zk.create(`/k${i}`, enc(String(i)));
      expect(storage.started).toBeGreaterThan(0);
      const failure = Object.assign(new Error('disk full'), { code: 'StorageFailed' });
      storage.failWith = failure;
      storage.release();
      await until(() => events.some((event) => event.type === 'fatal'), 'the fatal event');
      const outcome = await zk.create('/next', enc('')).then(
        () => 'Ok',
        (error: unknown) => (isCairnError(error) ? error.code : String(error)),
      );
      expect(outcome).toBe('ConnectionLoss');
      expect(events).toContainEqual({ type: 'fatal', error: failure });
    } finally {
      storage.release();
      await node.close();
    }
  });
});
