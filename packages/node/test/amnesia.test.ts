/**
 * RELIABILITY F10: a member whose data was lost must not rejoin as the voter it was. It comes
 * back from an empty folder (a new data incarnation, term 1, no vote): its peers drop its
 * messages and tell it; it stops with NotMember instead of voting again in terms it forgot.
 */

import { MemoryDurableLog, TestCluster } from '@cairn/node/testing';
import type { NodeId } from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';

const SEED = Number(process.env.CAIRN_SEED ?? 20261122);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const founders = (): MemoryDurableLog =>
  MemoryDurableLog.bootstrap({
    voters: [1, 2, 3] as NodeId[],
    votersOutgoing: [],
    learners: [],
    learnersNext: [],
    autoLeave: false,
  });

describe(`a member that lost its data (seed ${SEED})`, () => {
  it('is refused and stops; removed and added again, it rejoins', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 1000 }));
    await c.settle(zk.create('/kept'));
    // Every member's incarnation gets recorded (hellos every few ticks).
    await c.run(500);
    const lost = c.leader()?.id === 3 ? 2 : 3;
    await c.kill(lost);
    c.storages.set(lost, founders());
    const amnesiac = await c.startNode(lost);
    await c.waitFor(
      () => {
        try {
          amnesiac.assertOpen();
          return false;
        } catch {
          return true;
        }
      },
      5000,
      'the amnesiac stopped',
    );
    // Told by a peer (NotMember), or its own core found a commit index beyond its log.
    expect(() => amnesiac.assertOpen()).toThrow(/data was lost|log lost/);
    // The others go on, and never counted it.
    await c.settle(zk.create('/after'));
    await c.kill(lost);
    // The operator removes it and adds it back on an empty folder.
    const leader = c.leader();
    if (leader === null) throw new Error('no leader');
    await c.settle(leader.removeMember(lost));
    c.storages.delete(lost);
    const fresh = await c.startNode(lost, { join: true });
    await c.settle((c.leader() ?? leader).addMember(lost, `mem://${lost}`));
    await c.waitFor(() => fresh.status().applied >= leader.status().commit, 10_000, 'caught up');
    const onFresh = await c.settle(fresh.session({ timeoutMs: 1000 }));
    expect(await c.settle(onFresh.exists('/after', { linearizable: true }))).not.toBeNull();
  });

  it('a member restarted on its own data is not refused', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    await c.run(500);
    const node = await c.restart(2);
    await c.run(1000);
    expect(() => node.assertOpen()).not.toThrow();
    const zk = await c.settle(node.session({ timeoutMs: 1000 }));
    await c.settle(zk.create('/fine'));
  });
});
