/**
 * Regression tests from a review of the core against etcd-io/raft's rules. Each test pins one
 * bug found in review with hand-crafted messages on a single core (no network), so the exact
 * interleaving that exposes it is explicit: a snapshot installed between `ready()` and
 * `advance()` must not have older conf changes re-applied over its membership; a single-voter
 * leader must not answer ReadIndex before it commits an entry of its term (its commit index can
 * lag the previous leader's); a refused batch of proposals must leave no pending conf change
 * behind.
 */
import {
  type ConfChange,
  type Entry,
  encodeConfChange,
  type LogIndex,
  MemoryStorage,
  type NodeId,
  nodeId,
  RaftCore,
  type Ready,
  seededRandom,
  type Term,
} from '@cairn/raft';
import { describe, expect, it } from 'vitest';

const n1 = nodeId(1);
const n2 = nodeId(2);
const n3 = nodeId(3);
const n4 = nodeId(4);
const voters = (...ids: number[]) => ({
  voters: ids.map(nodeId),
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
});

function newCore(id: NodeId, storage: MemoryStorage): RaftCore {
  return new RaftCore({
    electionTicks: 10,
    heartbeatTicks: 1,
    id,
    storage,
    random: seededRandom(id),
    applied: storage.snapshot().metadata.index,
  });
}

function persist(storage: MemoryStorage, ready: Ready): void {
  storage.write({
    hardState: ready.hardState ?? undefined,
    snapshot: ready.snapshot ?? undefined,
    entries: ready.entries,
  });
  if (ready.compaction !== null)
    storage.compact(ready.compaction.snapshot, ready.compaction.compactTo);
}

function handle(core: RaftCore, storage: MemoryStorage): Ready {
  const ready = core.ready();
  persist(storage, ready);
  core.advance(ready);
  return ready;
}

function confEntry(term: number, index: number, change: ConfChange): Entry {
  return {
    term: term as Term,
    index: index as LogIndex,
    type: 'confChange',
    data: encodeConfChange(change),
  };
}

function normalEntry(term: number, index: number): Entry {
  return { term: term as Term, index: index as LogIndex, type: 'normal', data: new Uint8Array(0) };
}

describe('review', () => {
  it('a snapshot installed between ready() and advance() keeps its membership', () => {
    const storage = MemoryStorage.bootstrap(voters(1, 2, 3));
    const core = newCore(n2, storage);
    // The leader commits "add learner 4" at index 2; the follower gets it as a committed entry.
    core.step({
      type: 'Append',
      from: n1,
      to: n2,
      term: 2 as Term,
      prevIndex: 1 as LogIndex,
      prevTerm: 1 as Term,
      entries: [
        confEntry(2, 2, { changes: [{ type: 'addLearner', nodeId: n4 }], transition: 'auto' }),
      ],
      commit: 2 as LogIndex,
    });
    const ready = core.ready();
    expect(ready.committedEntries.map((e) => e.index)).toEqual([2]);
    // While the runtime works on that Ready, a snapshot at 10 arrives: 4 was removed again by then.
    core.step({
      type: 'Snapshot',
      from: n1,
      to: n2,
      term: 2 as Term,
      snapshot: {
        metadata: { index: 10 as LogIndex, term: 2 as Term, confState: voters(1, 2, 3) },
        data: new Uint8Array(0),
      },
    });
    persist(storage, ready);
    core.advance(ready);
    expect(core.status().confState.learners).toEqual([]);
    while (core.hasReady()) handle(core, storage);
    expect(core.status().confState).toEqual(voters(1, 2, 3));
  });

  it('a single-voter leader answers ReadIndex only once it commits an entry of its term', () => {
    const storage = MemoryStorage.bootstrap(voters(1, 2));
    const core = newCore(n2, storage);
    // Leader 1 commits its own removal at 3; node 2 applies it and is now the only voter.
    core.step({
      type: 'Append',
      from: n1,
      to: n2,
      term: 2 as Term,
      prevIndex: 1 as LogIndex,
      prevTerm: 1 as Term,
      entries: [
        normalEntry(2, 2),
        confEntry(2, 3, { changes: [{ type: 'removeNode', nodeId: n1 }], transition: 'auto' }),
      ],
      commit: 3 as LogIndex,
    });
    while (core.hasReady()) handle(core, storage);
    expect(core.status().confState.voters).toEqual([n2]);
    // Entry 4 reaches node 2, which is a quorum of {2}: leader 1 commits it and answers the
    // client, then steps down before telling node 2 the new commit index.
    core.step({
      type: 'Append',
      from: n1,
      to: n2,
      term: 2 as Term,
      prevIndex: 3 as LogIndex,
      prevTerm: 2 as Term,
      entries: [normalEntry(2, 4)],
      commit: 3 as LogIndex,
    });
    while (core.hasReady()) handle(core, storage);
    core.campaign();
    expect(core.status().role).toBe('leader');
    expect(core.readIndex('read')).toEqual({ status: 'pending' });
    const reads = [];
    while (core.hasReady()) reads.push(...handle(core, storage).readStates);
    expect(reads.map((read) => read.context)).toEqual(['read']);
    // The write at 4 completed before the read began: the read point must cover it.
    expect(reads[0]?.index).toBeGreaterThanOrEqual(4);
  });

  it('a refused batch of conf changes leaves no pending conf change behind', () => {
    const storage = MemoryStorage.bootstrap(voters(1));
    const core = newCore(n1, storage);
    core.campaign();
    while (core.hasReady()) handle(core, storage);
    expect(core.status().role).toBe('leader');
    const add = (id: NodeId) => ({
      type: 'confChange' as const,
      data: encodeConfChange({ changes: [{ type: 'addLearner', nodeId: id }], transition: 'auto' }),
    });
    const batch = core.proposeEntries([add(n3), add(n4)]);
    expect(batch.status).toBe('refused');
    const lastIndex = core.status().lastIndex;
    // Nothing was appended, so nothing is pending: a single change goes through.
    expect(core.proposeEntries([add(n3)])).toMatchObject({
      status: 'appended',
      index: lastIndex + 1,
    });
  });
});
