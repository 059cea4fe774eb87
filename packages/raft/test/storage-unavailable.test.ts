/**
 * The core with a storage that answers `'unavailable'` (a bounded cache missing): a leader
 * whose storage cannot read a lagging follower's entries sends that follower nothing (above
 * all not a snapshot: the entries exist) and leaves its progress alone, then sends once the
 * storage notifies (`storageAvailable`) or a heartbeat response asks again; committed entries
 * are handed out only after `storageAvailable`, and while waiting `hasReady` stays false (no
 * busy loop); a node does not campaign while committed entries it cannot read may hold a conf
 * change. Storage reads go through `FlakyReads`, blocked and released by hand.
 */
import {
  type ConfState,
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  nodeId,
  RaftCore,
  seededRandom,
  type Term,
} from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { FlakyReads } from './flaky-reads.js';

const n1 = nodeId(1);
const n3 = nodeId(3);

/** Leader 1 commits a, b, c while 3 is cut off; then 1's storage stops serving old entries. */
function laggingFollower(): { cluster: Cluster; delivered: Message[]; reads: FlakyReads } {
  const delivered: Message[] = [];
  const cluster = new Cluster({
    voters: 3,
    seed: 1,
    mutateOnDelivery: (message) => {
      delivered.push(message);
      return message;
    },
  });
  cluster.elect(n1);
  cluster.isolate(n3);
  for (const data of ['a', 'b', 'c']) cluster.propose(data);
  cluster.tick(2);
  expect(cluster.appliedData(n1)).toEqual(['a', 'b', 'c']);
  const reads = cluster.member(n1).reads;
  reads.blocked = true;
  return { cluster, delivered, reads };
}

function toFollower(delivered: readonly Message[]): Message[] {
  return delivered.filter((message) => message.from === n1 && message.to === n3);
}

function sentEntries(messages: readonly Message[]): boolean {
  return messages.some((message) => message.type === 'Append' && message.entries.length > 0);
}

describe('a leader whose storage answers unavailable', () => {
  it('sends the follower nothing, not a snapshot, and leaves its progress alone', () => {
    const { cluster, delivered, reads } = laggingFollower();
    cluster.heal();
    cluster.tick(3);
    const progress = cluster.core(n1).status().progress.get(n3);
    delivered.length = 0;
    cluster.tick(5);
    const sent = toFollower(delivered);
    expect(reads.misses).toBeGreaterThan(0);
    expect(sent.some((message) => message.type === 'Heartbeat')).toBe(true);
    expect(sent.some((message) => message.type === 'Snapshot')).toBe(false);
    expect(sentEntries(sent)).toBe(false);
    const after = cluster.core(n1).status().progress.get(n3);
    expect([after?.match, after?.next]).toEqual([progress?.match, progress?.next]);
    expect(cluster.appliedData(n3)).toEqual([]);
  });

  it('sends the entries once the storage notifies (storageAvailable)', () => {
    const { cluster, delivered, reads } = laggingFollower();
    cluster.heal();
    cluster.tick(3);
    delivered.length = 0;
    // No tick: the notification alone (delivered while settling) must get the append out.
    reads.blocked = false;
    cluster.settle();
    expect(sentEntries(toFollower(delivered))).toBe(true);
    expect(cluster.appliedData(n3)).toEqual(['a', 'b', 'c']);
    expect(delivered.some((message) => message.type === 'Snapshot')).toBe(false);
  });

  it('sends them on the next heartbeat response when the storage never notifies', () => {
    const { cluster, delivered, reads } = laggingFollower();
    cluster.heal();
    cluster.tick(3);
    reads.blocked = false;
    reads.forget();
    delivered.length = 0;
    cluster.tick(2);
    expect(sentEntries(toFollower(delivered))).toBe(true);
    expect(cluster.appliedData(n3)).toEqual(['a', 'b', 'c']);
  });
});

const CONF: ConfState = {
  voters: [1, 2, 3].map(nodeId),
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

function entry(index: number, data: string): Entry {
  return {
    index: index as LogIndex,
    term: 2 as Term,
    type: 'normal',
    data: new TextEncoder().encode(data),
  };
}

/** Node 1 restarting with 2 and 3 committed but not applied, its storage blocked. */
function restartedWithCommittedEntries(): { core: RaftCore; reads: FlakyReads } {
  const storage = MemoryStorage.bootstrap(CONF);
  storage.write({
    entries: [entry(2, 'a'), entry(3, 'b')],
    hardState: { term: 2 as Term, vote: null, commit: 3 as LogIndex },
  });
  const reads = new FlakyReads(storage, seededRandom(1), 0);
  reads.blocked = true;
  const core = new RaftCore({
    id: n1,
    storage: reads,
    random: seededRandom(1),
    electionTicks: 10,
    heartbeatTicks: 1,
    applied: 1 as LogIndex,
  });
  reads.onAvailable(() => core.storageAvailable());
  return { core, reads };
}

describe('committed entries the storage answers unavailable for', () => {
  it('are handed out after storageAvailable, with hasReady false while waiting', () => {
    const { core, reads } = restartedWithCommittedEntries();
    expect(core.hasReady()).toBe(true);
    const first = core.ready();
    expect(first.committedEntries).toEqual([]);
    core.advance(first);
    expect(core.hasReady()).toBe(false);
    for (let i = 0; i < 3; i++) {
      core.tick();
      expect(core.hasReady()).toBe(false);
    }
    reads.blocked = false;
    expect(reads.notify()).toBe(true);
    expect(core.hasReady()).toBe(true);
    const next = core.ready();
    expect(next.committedEntries.map((e) => new TextDecoder().decode(e.data))).toEqual(['a', 'b']);
    core.advance(next);
    expect(core.status().applied).toBe(3);
    expect(core.hasReady()).toBe(false);
  });

  it('keep the node from campaigning until they are applied (they may hold a conf change)', () => {
    const { core, reads } = restartedWithCommittedEntries();
    core.advance(core.ready());
    for (let i = 0; i < 30; i++) core.tick();
    expect(core.status().role).toBe('follower');
    expect(core.status().term).toBe(2);
    reads.blocked = false;
    reads.notify();
    core.advance(core.ready());
    for (let i = 0; i < 30; i++) core.tick();
    expect(core.status().role).toBe('pre-candidate');
  });

  it('storageAvailable with nothing waiting changes nothing', () => {
    const { core, reads } = restartedWithCommittedEntries();
    reads.blocked = false;
    core.storageAvailable();
    const ready = core.ready();
    expect(ready.committedEntries).toHaveLength(2);
    core.advance(ready);
    core.storageAvailable();
    expect(core.hasReady()).toBe(false);
  });
});
