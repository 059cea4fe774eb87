/**
 * Proposals that arrive in one turn of the event loop leave as one batch (3-node cluster,
 * memory transport and storage, virtual time). 100 writes issued synchronously, on the leader
 * and then on a follower, are counted on their way out, never timed: the proposing node
 * proposes them as one batch of 100 (`cairn_proposal_batch_entries`), a follower forwards them
 * in one Propose message, the leader writes them to storage in a handful of synced writes and
 * sends each follower a handful of Append messages (not 100), and every write succeeds. A
 * sibling test issues the same writes one turn apart and sees one batch per write, so the
 * counts above come from batching and not from how the test counts.
 */

import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import type { Message } from '@cairn/raft';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
  vi.restoreAllMocks();
});

const WRITES = 100;

interface Traffic {
  /** Storage writes on the leader carrying entries, and the entries they carried. */
  leaderWrites: number;
  leaderEntries: number;
  /** Append messages carrying entries, from the leader to each follower. */
  appends: Map<number, number>;
  /** Propose messages (forwarded proposals) sent by followers, and their entries. */
  proposes: number;
  proposedEntries: number;
}

/** Counts what leaves the leader (storage writes, Append messages) and what followers forward. */
function countTraffic(c: TestCluster, leader: CairnNode): Traffic {
  const traffic: Traffic = {
    leaderWrites: 0,
    leaderEntries: 0,
    appends: new Map(),
    proposes: 0,
    proposedEntries: 0,
  };
  const storage = c.storages.get(leader.id);
  if (storage === undefined) throw new Error('no storage for the leader');
  const write = storage.write.bind(storage);
  vi.spyOn(storage, 'write').mockImplementation((update) => {
    if (update.entries.length > 0) {
      traffic.leaderWrites++;
      traffic.leaderEntries += update.entries.length;
    }
    return write(update);
  });
  for (const id of c.nodes.keys()) {
    const transport = c.network.transport(id);
    const send = transport.send.bind(transport);
    vi.spyOn(transport, 'send').mockImplementation((messages: readonly Message[]) => {
      for (const message of messages) {
        if (message.type === 'Append' && message.entries.length > 0)
          traffic.appends.set(message.to, (traffic.appends.get(message.to) ?? 0) + 1);
        if (message.type === 'Propose') {
          traffic.proposes++;
          traffic.proposedEntries += message.entries.length;
        }
      }
      send(messages);
    });
  }
  return traffic;
}

async function start(seed: number): Promise<{
  c: TestCluster;
  leader: CairnNode;
  follower: CairnNode;
}> {
  cluster = await TestCluster.start({ size: 3, seed });
  const c = cluster;
  const leader = await leaderOf(c);
  const [follower] = followersOf(c, leader) as [CairnNode];
  return { c, leader, follower };
}

/** Issues WRITES creates in one synchronous loop and waits for all of them. */
async function burst(c: TestCluster, zk: Session, prefix: string): Promise<void> {
  const calls: Promise<string>[] = [];
  for (let i = 0; i < WRITES; i++) calls.push(zk.create(`${prefix}-${i}`));
  const paths = await c.settle(Promise.all(calls));
  expect(paths).toHaveLength(WRITES);
}

describe(`batching (seed ${SEED})`, () => {
  it('100 writes issued in one turn on the leader go out as one batch', async () => {
    const { c, leader } = await start(SEED + 30);
    const zk = await c.settle(leader.session({ timeoutMs: 10_000 }));
    await c.run(100); // the session's own entry settles first
    const batches = leader.metrics.batchSize.count;
    const batchedEntries = leader.metrics.batchSize.sum;
    const traffic = countTraffic(c, leader);
    await burst(c, zk, '/on-leader');
    // One proposal batch of all 100 writes.
    expect(leader.metrics.batchSize.count - batches).toBe(1);
    expect(leader.metrics.batchSize.sum - batchedEntries).toBe(WRITES);
    // The leader wrote them in a few synced writes and sent each follower a few Appends.
    expect(traffic.leaderEntries).toBeGreaterThanOrEqual(WRITES);
    expect(traffic.leaderWrites).toBeLessThanOrEqual(3);
    expect(traffic.appends.size).toBe(2);
    for (const appends of traffic.appends.values()) expect(appends).toBeLessThanOrEqual(3);
  });

  it('100 writes issued in one turn on a follower are forwarded in one Propose message', async () => {
    const { c, leader, follower } = await start(SEED + 31);
    const zk = await c.settle(follower.session({ timeoutMs: 10_000 }));
    await c.run(100);
    const batches = follower.metrics.batchSize.count;
    const traffic = countTraffic(c, leader);
    await burst(c, zk, '/on-follower');
    expect(follower.metrics.batchSize.count - batches).toBe(1);
    expect(traffic.proposes).toBe(1);
    expect(traffic.proposedEntries).toBe(WRITES);
    expect(traffic.leaderWrites).toBeLessThanOrEqual(3);
    for (const appends of traffic.appends.values()) expect(appends).toBeLessThanOrEqual(3);
  });

  it('the same writes issued one turn apart go out one batch each', async () => {
    const { c, leader, follower } = await start(SEED + 32);
    const zk = await c.settle(follower.session({ timeoutMs: 10_000 }));
    await c.run(100);
    const batches = follower.metrics.batchSize.count;
    const traffic = countTraffic(c, leader);
    const writes = 10;
    for (let i = 0; i < writes; i++) await c.settle(zk.create(`/one-by-one-${i}`));
    expect(follower.metrics.batchSize.count - batches).toBe(writes);
    expect(traffic.proposes).toBe(writes);
    expect(traffic.leaderWrites).toBeGreaterThanOrEqual(writes);
  });
});
