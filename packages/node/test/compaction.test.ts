// The runtime starts a compaction and goes on without awaiting it (docs/node.md: the DurableLog
// port lets a compaction overlap later writes, and a stale one loses to a newer snapshot). One
// member runs on a memory log whose `compact` is held until the test releases it: writes issued
// after the snapshot are answered meanwhile, the next compaction waits for the held one (one at
// a time), and `close` waits for it. A compaction that fails stops the node (its `fatal` event
// fires and sessions get ConnectionLoss), as any storage failure does. Last, a follower driven by
// hand: a snapshot from the leader arrives while a write is held, and the snapshot the follower
// would take once that write completes is not newer than the core's: it is skipped (sim seed
// 77 stopped a member with SnapshotOutOfDate there), and the leader's snapshot is restored.
import { createNode, isCairnError, type NodeEvent } from '@cairn/node';
import { VirtualTime } from '@cairn/node/testing';
import {
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  type Snapshot,
  type Term,
  type Transport,
} from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';
import { describe, expect, it } from 'vitest';
import { HeldWriteLog, ONE_VOTER, turn, until } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const SNAPSHOT_ENTRIES = 10;
/** Releases held compactions and writes if the test never does, so a broken runtime fails, not hangs. */
const HOLD_FALLBACK_MS = 5_000;

/** A memory log whose compactions wait for `release` (or fail, once `failWith` is set). */
class HeldCompactionLog extends MemoryDurableLog {
  started = 0;
  completed = 0;
  running = 0;
  runningMax = 0;
  released = false;
  failWith: Error | null = null;
  /** The snapshot index of the last compaction asked for. */
  lastAsked = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly fallback = setTimeout(() => this.release(), HOLD_FALLBACK_MS);

  override compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    this.started++;
    this.lastAsked = snapshot.metadata.index;
    this.running++;
    this.runningMax = Math.max(this.runningMax, this.running);
    return new Promise<void>((resolve) => {
      if (this.released) resolve();
      else this.waiting.push(resolve);
    })
      .then(() => {
        if (this.failWith !== null) throw this.failWith;
        return super.compact(snapshot, compactTo);
      })
      .finally(() => {
        this.running--;
        this.completed++;
      });
  }

  release(): void {
    clearTimeout(this.fallback);
    this.released = true;
    for (const resume of this.waiting.splice(0)) resume();
  }
}

describe('compaction in the node runtime', () => {
  it('answers writes while a compaction is held, runs one at a time, and close waits', async () => {
    const storage = new HeldCompactionLog(MemoryStorage.bootstrap(ONE_VOTER));
    const node = await createNode({
      id: 1,
      storage,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
      snapshotRetainedEntries: 0,
    });
    let closing: Promise<void> | null = null;
    try {
      const zk = await node.session();
      const total = SNAPSHOT_ENTRIES * 3;
      for (let i = 0; i < total; i++) await zk.create(`/k${i}`, enc(String(i)));
      // Every write was answered while the first compaction is still held; later snapshots
      // were taken, but their compactions wait behind it.
      expect(storage.started).toBe(1);
      expect(storage.completed).toBe(0);
      expect(storage.firstIndex()).toBe(2);
      expect(node.metrics.snapshots.value).toBeGreaterThan(1);
      closing = node.close();
      let closed = false;
      void closing.then(() => {
        closed = true;
      });
      for (let i = 0; i < 50; i++) await turn();
      expect(closed, 'close waits for the held compaction').toBe(false);
      storage.release();
      await closing;
      expect(storage.completed).toBe(storage.started);
      expect(storage.started).toBeGreaterThan(1);
      expect(storage.runningMax).toBe(1);
      expect(storage.firstIndex()).toBeGreaterThan(2);
      expect(storage.snapshot().metadata.index).toBe(storage.lastAsked);
    } finally {
      storage.release();
      await (closing ?? node.close());
    }
  });

  it('a failed compaction stops the node', async () => {
    const storage = new HeldCompactionLog(MemoryStorage.bootstrap(ONE_VOTER));
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
      // Writes until the first compaction runs and fails.
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

  it('skips a local snapshot older than one received while a write was held', async () => {
    const time = new VirtualTime();
    const transport = new HandTransport();
    const storage = new HeldWriteLog(MemoryStorage.bootstrap(twoVoters));
    const events: NodeEvent[] = [];
    const node = await createNode({
      id: 2,
      members: [1, 2],
      storage,
      transport,
      clock: time,
      timers: time,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
      onEvent: (event) => events.push(event),
    });
    try {
      // Node 1 leads term 2: entries 2..12 become durable here, then commit 12 comes, and the
      // write recording it is held (the entries are applied meanwhile, from earlier writes).
      transport.deliver(append(1, 1, entries(2, 12), 1));
      await time.advance(1);
      expect(storage.lastIndex()).toBe(12);
      storage.holding = true;
      transport.deliver(append(12, 2, [], 12));
      await time.advance(1);
      expect(storage.held).toBe(1);
      // A snapshot at 100 from the leader: the core takes it while the write is held.
      const leaderSnapshot: Snapshot = {
        metadata: { index: 100 as LogIndex, term: 2 as Term, confState: twoVoters },
        data: new Uint8Array(0),
      };
      transport.deliver({
        type: 'Snapshot',
        from: 1 as NodeId,
        to: 2 as NodeId,
        term: 2 as Term,
        snapshot: leaderSnapshot,
      });
      storage.release();
      await time.advance(1);
      // Applied 12 is SNAPSHOT_ENTRIES past the genesis, but the core holds 100 by then.
      expect(events.filter((event) => event.type === 'fatal')).toEqual([]);
      expect(node.metrics.snapshots.value).toBe(0);
      expect(node.status().applied).toBe(100);
      expect(storage.snapshot().metadata.index).toBe(100);
    } finally {
      storage.release();
      const closing = node.close();
      await time.advance(1);
      await closing;
    }
  });
});

const twoVoters = { ...ONE_VOTER, voters: [1 as NodeId, 2 as NodeId] };

/** Entries [from, to] of term 2 with no data (no-ops to the state machine). */
function entries(from: number, to: number): Entry[] {
  const list: Entry[] = [];
  for (let index = from; index <= to; index++)
    list.push({
      index: index as LogIndex,
      term: 2 as Term,
      type: 'normal',
      data: new Uint8Array(0),
    });
  return list;
}

function append(prevIndex: number, prevTerm: number, list: Entry[], commit: number): Message {
  return {
    type: 'Append',
    from: 1 as NodeId,
    to: 2 as NodeId,
    term: 2 as Term,
    prevIndex: prevIndex as LogIndex,
    prevTerm: prevTerm as Term,
    entries: list,
    commit: commit as LogIndex,
  };
}

/** A transport the test plays the leader on: what the node sends is dropped. */
class HandTransport implements Transport {
  private handler: (message: Message) => void = () => {};
  send(_messages: readonly Message[]): void {}
  onMessage(handler: (message: Message) => void): void {
    this.handler = handler;
  }
  onUnreachable(_handler: (peer: NodeId) => void): void {}
  deliver(message: Message): void {
    this.handler(message);
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}
