import type { CairnNode } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const SEED = Number(process.env.CAIRN_SEED ?? 20261122);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function leaderOf(c: TestCluster): Promise<CairnNode> {
  await c.waitFor(() => c.leader() !== null, 10_000, 'a leader');
  return c.leader() as CairnNode;
}

describe(`snapshots and restarts (seed ${SEED})`, () => {
  it('a node down while the log moves on catches up by snapshot, with the same tree', async () => {
    cluster = await TestCluster.start({
      size: 3,
      seed: SEED,
      node: { snapshotEntries: 50, snapshotRetainedEntries: 10 },
    });
    const c = cluster;
    const leader = await leaderOf(c);
    const down = [...c.nodes.keys()].find((id) => id !== leader.id) as number;
    await c.kill(down);
    const zk = await c.settle(leader.session({ timeoutMs: 2000 }));
    await c.settle(zk.create('/s'));
    for (let i = 0; i < 300; i++) await c.settle(zk.create(`/s/n${i}`, enc(String(i))));
    await c.settle(zk.setData('/s/n7', enc('seven')));
    expect(leader.metrics.snapshots.value).toBeGreaterThan(0);
    const back = await c.startNode(down);
    await c.waitFor(() => back.status().applied >= leader.status().commit, 20_000, 'caught up');
    expect(back.metrics.snapshotsInstalled.value).toBeGreaterThan(0);
    expect(back.status().digest).toBe(leader.status().digest);
    const onBack = await c.settle(back.session({ timeoutMs: 2000 }));
    expect(dec((await c.settle(onBack.getData('/s/n7'))).data)).toBe('seven');
    expect((await c.settle(onBack.getChildren('/s'))).children).toHaveLength(300);
  });

  it('a restarted member replays its own log and snapshot, keeping every write', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 7, node: { snapshotEntries: 40 } });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 5000 }));
    for (let i = 0; i < 100; i++) await c.settle(zk.create(`/k${i}`, enc(String(i))));
    for (const id of [1, 2, 3]) await c.restart(id);
    await leaderOf(c);
    for (const id of [1, 2, 3]) {
      await c.waitFor(
        () => c.node(id).status().applied >= c.node(id).status().commit,
        10_000,
        `node ${id} applied`,
      );
    }
    // The session of the old incarnation of node 1 is still in the tree until it expires.
    for (const id of [1, 2, 3]) expect(c.node(id).status().znodes).toBe(100 + 4);
    const reader = await c.settle(c.node(2).session({ timeoutMs: 2000 }));
    expect(dec((await c.settle(reader.getData('/k99', { linearizable: true }))).data)).toBe('99');
    // Every replica holds the same tree.
    await c.run(100);
    const digests = new Set([1, 2, 3].map((id) => c.node(id).status().digest));
    expect(digests.size).toBe(1);
  });
});
