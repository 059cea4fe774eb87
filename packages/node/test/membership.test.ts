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

describe(`membership (seed ${SEED})`, () => {
  it('grows 3 -> 5 and shrinks back under load, losing no acknowledged write', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 2000 }));
    await c.settle(zk.create('/load'));
    const acknowledged: string[] = [];
    let writing = true;
    // Four concurrent writers, each a closed loop, until the membership changes are done.
    const writer = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        for (let i = 0; writing && i < 1000; i++) {
          const path = await zk.create('/load/w-', enc(`${w}.${i}`), {
            mode: 'persistent-sequential',
          });
          acknowledged.push(path);
        }
      }),
    );
    const leader = async (): Promise<CairnNode> => {
      await c.waitFor(() => c.leader() !== null, 10_000, 'a leader');
      return c.leader() as CairnNode;
    };
    await c.startNode(4, { join: true });
    await c.startNode(5, { join: true });
    await c.settle((await leader()).addMember(4, 'mem://4'));
    await c.run(100);
    await c.settle((await leader()).addMember(5, 'mem://5', { learner: true }));
    expect((await leader()).status().learners).toEqual([5]);
    await c.run(100);
    await c.settle((await leader()).promote(5));
    expect((await leader()).status().voters).toEqual([1, 2, 3, 4, 5]);
    // The new members caught up and serve reads.
    await c.waitFor(
      () => c.node(5).status().applied === c.node(1).status().applied,
      10_000,
      'node 5 caught up',
    );
    const onFive = await c.settle(c.node(5).session({ timeoutMs: 2000 }));
    expect((await c.settle(onFive.exists('/load'))) !== null).toBe(true);
    // Shrink back: remove two of the originals (the leader may be one of them).
    await c.run(100);
    await c.settle((await leader()).removeMember(2));
    await c.run(100);
    await c.settle((await leader()).removeMember(3));
    expect((await leader()).status().voters).toEqual([1, 4, 5]);
    await c.run(100);
    writing = false;
    await c.settle(writer);
    const reader = await c.settle(c.node(4).session({ timeoutMs: 2000 }));
    const { children } = await c.settle(reader.getChildren('/load', { linearizable: true }));
    for (const path of acknowledged) expect(children).toContain(path.slice('/load/'.length));
    expect(acknowledged.length).toBeGreaterThan(100);
  });

  it('replaces a dead member', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 2000 }));
    await c.settle(zk.create('/before', enc('x')));
    const dead = c.leader()?.id === 3 ? 2 : 3;
    await c.kill(dead);
    await c.waitFor(() => c.leader() !== null, 10_000, 'leader');
    await c.settle((c.leader() as NonNullable<ReturnType<typeof c.leader>>).removeMember(dead));
    await c.startNode(6, { join: true });
    await c.settle(
      (c.leader() as NonNullable<ReturnType<typeof c.leader>>).addMember(6, 'mem://6'),
    );
    const status = (c.leader() as NonNullable<ReturnType<typeof c.leader>>).status();
    expect(status.voters).toEqual([1, 2, 3, 6].filter((id) => id !== dead));
    await c.waitFor(() => c.node(6).status().applied >= status.commit, 10_000, 'node 6 caught up');
    const onSix = await c.settle(c.node(6).session({ timeoutMs: 2000 }));
    expect(dec((await c.settle(onSix.getData('/before'))).data)).toBe('x');
  });
});
