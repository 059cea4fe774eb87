/**
 * Failover on a 3-node cluster in one process: the leader killed under load from sessions on
 * every member and replaced, with no acknowledged write lost and every replica converging on
 * the same tree; sequential names unique and gap-free under concurrent creators; sessions,
 * ephemerals, one-shot watches and watch streams on the surviving members carried across the
 * change; writes without a quorum waiting until one is back. Seeded, bounded virtual time.
 */
import type { CairnNode, Session, WatchEvent } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { dec, enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function converged(c: TestCluster): Promise<void> {
  await c.waitFor(
    () => {
      const nodes = [...c.nodes.values()];
      const commit = Math.max(...nodes.map((n) => n.status().commit));
      return nodes.every((n) => n.status().applied === commit);
    },
    20_000,
    'every member applied the same prefix',
  );
  await c.run(100);
  const digests = new Set([...c.nodes.values()].map((n) => n.status().digest));
  expect(digests.size).toBe(1);
}

describe(`failover (seed ${SEED})`, () => {
  it('the leader killed under load and replaced loses no acknowledged write', async () => {
    for (const seed of [SEED, SEED + 1]) {
      cluster = await TestCluster.start({ size: 3, seed });
      const c = cluster;
      const sessions: Session[] = [];
      for (const node of c.nodes.values())
        sessions.push(await c.settle(node.session({ timeoutMs: 5000 })));
      await c.settle((sessions[0] as Session).create('/load'));
      const acknowledged: string[] = [];
      const failed: string[] = [];
      let writing = true;
      const writers = sessions.map(async (zk, w) => {
        for (let i = 0; writing && i < 200; i++) {
          try {
            acknowledged.push(
              await zk.create('/load/w-', enc(`${w}.${i}`), { mode: 'persistent-sequential' }),
            );
          } catch (error) {
            // Only the writer on the killed member may fail: its node is gone (ConnectionLoss).
            failed.push((error as { code?: string }).code ?? String(error));
            return;
          }
        }
      });
      await c.run(40);
      const old = await leaderOf(c);
      const ackedBeforeKill = acknowledged.length;
      expect(ackedBeforeKill).toBeGreaterThan(0);
      await c.kill(old.id);
      const next = await leaderOf(c);
      expect(next.id).not.toBe(old.id);
      await c.run(100);
      writing = false;
      await c.settle(Promise.all(writers), 20_000);
      expect(failed.every((code) => code === 'ConnectionLoss')).toBe(true);
      expect(failed.length).toBeLessThanOrEqual(1);
      expect(acknowledged.length).toBeGreaterThan(ackedBeforeKill);
      // The old leader comes back and catches up.
      await c.startNode(old.id);
      await converged(c);
      const reader = await c.settle(c.node(old.id).session({ timeoutMs: 5000 }));
      const children = new Set(
        (await c.settle(reader.getChildren('/load', { linearizable: true }))).children,
      );
      for (const path of acknowledged) expect(children.has(path.slice('/load/'.length))).toBe(true);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      await c.close();
      cluster = null;
    }
  });

  it('sequential names under concurrency are unique, gap-free and in each caller’s order', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const sessions: Session[] = [];
    for (const node of c.nodes.values()) {
      sessions.push(await c.settle(node.session({ timeoutMs: 5000 })));
      sessions.push(await c.settle(node.session({ timeoutMs: 5000 })));
    }
    await c.settle((sessions[0] as Session).create('/seq'));
    const perSession = await c.settle(
      Promise.all(
        sessions.map((zk, s) =>
          Promise.all(
            Array.from({ length: 15 }, (_, i) =>
              zk.create('/seq/n-', enc(`${s}.${i}`), {
                mode: i % 2 === 0 ? 'persistent-sequential' : 'ephemeral-sequential',
              }),
            ),
          ),
        ),
      ),
      20_000,
    );
    const all = perSession.flat();
    expect(new Set(all).size).toBe(90);
    expect([...all].sort()).toEqual(
      Array.from({ length: 90 }, (_, i) => `/seq/n-${String(i).padStart(10, '0')}`),
    );
    // FIFO client order: each session's names grow in the order it called.
    for (const names of perSession) expect([...names].sort()).toEqual(names);
    // Each name holds what its caller wrote.
    const zk = sessions[0] as Session;
    for (const [s, names] of perSession.entries())
      for (const [i, path] of names.entries())
        expect(dec((await c.settle(zk.getData(path, { linearizable: i === 0 }))).data)).toBe(
          `${s}.${i}`,
        );
    await converged(c);
  });

  it('sessions, ephemerals, watches and streams on the survivors outlive the leader', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 3 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const za = await c.settle(a.session({ timeoutMs: 1000 }));
    const zb = await c.settle(b.session({ timeoutMs: 1000 }));
    await c.settle(za.create('/lock', enc(''), { mode: 'ephemeral' }));
    await c.settle(za.create('/cfg', enc('v0')));
    const fired: WatchEvent[] = [];
    await c.settle(zb.getData('/cfg', { watch: (e) => fired.push(e), linearizable: true }));
    const stream = zb.watch('/', { recursive: true })[Symbol.asyncIterator]();
    const expected: string[] = [];
    const note = async (p: Promise<unknown>, line: string): Promise<void> => {
      await c.settle(p, 10_000);
      expected.push(line);
    };
    await note(za.create('/x'), 'NodeCreated /x');
    await c.kill(leader.id);
    await leaderOf(c);
    await note(za.setData('/cfg', enc('v1')), 'NodeDataChanged /cfg');
    await note(zb.delete('/x'), 'NodeDeleted /x');
    // Well past the session timeout: the new leader restarted the deadlines and hears them.
    await c.run(3000);
    expect(za.state).toBe('connected');
    expect(zb.state).toBe('connected');
    expect(await c.settle(zb.exists('/lock', { linearizable: true }))).not.toBeNull();
    expect(fired.map((e) => `${e.type} ${e.path}`)).toEqual(['NodeDataChanged /cfg']);
    const got: string[] = [];
    for (let i = 0; i < expected.length; i++) {
      const next = await c.settle(stream.next(), 5000);
      if (!next.done) got.push(`${next.value.type} ${next.value.path}`);
    }
    expect(got).toEqual(expected);
    await stream.return?.();
  });

  it('writes wait while there is no quorum and complete once there is', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 4 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const zk = await c.settle(a.session({ timeoutMs: 20_000 }));
    await c.settle(zk.create('/q', enc('0')));
    await c.kill(b.id);
    await c.kill(leader.id);
    let done = false;
    const write = zk.setData('/q', enc('1')).then((stat) => {
      done = true;
      return stat;
    });
    await c.run(2000);
    expect(done).toBe(false);
    expect(dec((await c.settle(zk.getData('/q'))).data)).toBe('0');
    await c.startNode(b.id);
    const stat = await c.settle(write, 20_000);
    expect(stat.version).toBe(1);
    expect(dec((await c.settle(zk.getData('/q', { linearizable: true }))).data)).toBe('1');
  });
});
