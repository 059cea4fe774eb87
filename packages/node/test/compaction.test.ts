// The runtime waits for a compaction before its next Ready (docs/node.md: the DurableLog port
// does not promise that a compaction still running loses to a newer snapshot that a later write
// installs, and sim seed 77 showed what happens when the loop does not wait). One member runs on
// a memory log whose `compact` is held until the test releases it: a write issued after the
// snapshot is answered only once the held compaction completes, and the log is then compacted.
// A compaction that fails stops the node (its `fatal` event fires and sessions get
// ConnectionLoss), as any storage failure does.
import { createNode, isCairnError, type NodeEvent } from '@cairn/node';
import { type LogIndex, MemoryStorage, type NodeId, type Snapshot } from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';
import { describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
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
  it('answers the next write only once a held compaction completes', async () => {
    const storage = founding();
    const node = await createNode({
      id: 1,
      storage,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
    });
    try {
      const zk = await node.session();
      const total = SNAPSHOT_ENTRIES * 3;
      let answered = 0;
      const writer = (async () => {
        for (let i = 0; i < total; i++) {
          await zk.create(`/k${i}`, enc(String(i)));
          answered++;
        }
      })();
      await until(() => storage.started > 0, 'a compaction');
      const atHold = answered;
      for (let turn = 0; turn < 200; turn++) await new Promise((r) => setImmediate(r));
      expect(answered, 'writes answered while the compaction was held').toBe(atHold);
      expect(answered).toBeLessThan(total);
      storage.release();
      await writer;
      expect(answered).toBe(total);
      expect(storage.firstIndex()).toBeGreaterThan(1);
      expect((await zk.getChildren('/')).children).toHaveLength(total + 1);
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
      const failure = Object.assign(new Error('disk full'), { code: 'StorageFailed' });
      storage.failWith = failure;
      storage.release();
      // Writes until the first compaction runs and fails; the one waiting on it fails too.
      for (let i = 0; i <= SNAPSHOT_ENTRIES * 2 && storage.started === 0; i++)
        await zk.create(`/k${i}`, enc(String(i))).catch(() => {});
      expect(storage.started).toBeGreaterThan(0);
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
