/**
 * Caches, config values and service discovery when the leader member is killed or a
 * participant's member is partitioned away, on a 3-node TestCluster in virtual time.
 *
 * Leader killed: a tree cache, a node cache and a config value on the survivors keep mirroring
 * writes made across the election and end equal to the tree; a cache on the killed member
 * without `renewSession` ends with SessionExpired, one with it moves to a survivor and ends equal
 * too. An instance registered on the killed member re-registers at once on a survivor (deleting
 * its stale znode, which the cluster has not expired yet) and stays registered after the old
 * session's expiry. Partitioned: a config value cut off for less than its session timeout
 * catches up after the heal on the same session; one whose session expired meanwhile renews and
 * reports the value written while it was cut off.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigValue,
  NodeCache,
  ServiceDiscovery,
  type ServiceDiscoveryEvent,
  TreeCache,
} from '../src/index.js';
import {
  dec,
  enc,
  followersOf,
  killLeader,
  leaderOf,
  pause,
  SEED,
  sessionsAcross,
} from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const parseLimit = (v: unknown): { limit: number } => {
  if (typeof v !== 'object' || v === null || typeof (v as { limit?: unknown }).limit !== 'number')
    throw new Error('limit must be a number');
  return { limit: (v as { limit: number }).limit };
};

/** Every znode under `root` (inclusive) with its data, read through `session`. */
async function treeOf(c: TestCluster, session: Session, root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (path: string): Promise<void> => {
    const { data } = await session.getData(path);
    out.push(`${path}=${dec(data)}`);
    const { children } = await session.getChildren(path);
    for (const name of [...children].sort()) await visit(`${path}/${name}`);
  };
  await c.settle(session.sync());
  await c.settle(visit(root));
  return out.sort();
}

const mirrorOf = (cache: TreeCache): string[] =>
  cache
    .paths()
    .map((p) => `${p}=${dec(cache.get(p)?.data ?? new Uint8Array(0))}`)
    .sort();

describe(`caches, config and discovery: leader killed, partitions (seed ${SEED})`, () => {
  it('caches on the survivors keep mirroring across the kill; one on the dead member ends or renews', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 70 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [writer, onA, onB] = await sessionsAcross(c, [a, a, b], 3, 6000);
    const [doomedPlain, doomedRenewed] = await sessionsAcross(c, [leader], 2, 900);
    const w = writer as Session;
    await c.settle(w.create('/app', enc('root')));
    await c.settle(
      new ConfigValue(w, '/app/cfg', { parse: parseLimit, initial: { limit: 0 } }).set({
        limit: 1,
      }),
    );
    await c.run(50);
    const tree = new TreeCache(onA as Session, '/app');
    const node = new NodeCache(onB as Session, '/app/cfg');
    const seen: number[] = [];
    const config = new ConfigValue(onB as Session, '/app/cfg', {
      parse: parseLimit,
      initial: { limit: 0 },
    });
    config.onChange((v) => seen.push(v.limit));
    const ending = new TreeCache(doomedPlain as Session, '/app');
    const renewals: Session[] = [];
    const moving = new TreeCache(doomedRenewed as Session, '/app', {
      renewSession: async () => {
        const session = await b.session({ timeoutMs: 6000 });
        renewals.push(session);
        return session;
      },
    });
    await c.settle(
      Promise.all([tree.start(), node.start(), config.start(), ending.start(), moving.start()]),
    );
    const writes = (async () => {
      for (let i = 0; i < 12; i++) {
        await w.create(`/app/n${i}`, enc(`${i}`));
        if (i % 3 === 0) await w.setData('/app/cfg', enc(JSON.stringify({ limit: 10 + i })));
        if (i % 4 === 3) await w.delete(`/app/n${i - 2}`);
        await pause(c, 20);
      }
    })();
    await c.run(70);
    await killLeader(c, leader);
    await c.settle(writes, 20_000);
    await c.run(200);
    const expected = await treeOf(c, w, '/app');
    expect(mirrorOf(tree)).toEqual(expected);
    expect(mirrorOf(moving)).toEqual(expected);
    expect(renewals).toHaveLength(1);
    expect(moving.session).toBe(renewals[0]);
    expect(ending.ended?.code).toBe('SessionExpired');
    expect(mirrorOf(ending).length).toBeLessThan(expected.length);
    expect(dec(node.current()?.data ?? new Uint8Array(0))).toBe('{"limit":19}');
    expect(config.get()).toEqual({ limit: 19 });
    expect(seen.at(-1)).toBe(19);
    // Every value written was seen, in order (a local view never goes back).
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  it('an instance on the killed leader re-registers on a survivor at once and stays after the old session expires', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 71 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [doomed] = await sessionsAcross(c, [leader], 1, 900);
    const [steady, watcher] = await sessionsAcross(c, [a, b], 2, 6000);
    const made: Session[] = [];
    const discovery = new ServiceDiscovery(doomed as Session, '/services', {
      renewSession: async () => {
        const session = await a.session({ timeoutMs: 6000 });
        made.push(session);
        return session;
      },
    });
    const events: ServiceDiscoveryEvent[] = [];
    discovery.onEvent((e) => events.push(e));
    await c.settle(discovery.register('api', { id: 'x', address: '127.0.0.1', port: 9001 }));
    await c.settle(
      new ServiceDiscovery(steady as Session, '/services').register('api', {
        id: 'y',
        address: '127.0.0.1',
        port: 9002,
      }),
    );
    const cache = new ServiceDiscovery(watcher as Session, '/services').cache('api');
    await c.settle((watcher as Session).sync());
    await c.settle(cache.start());
    expect(cache.instances().map((i) => i.id)).toEqual(['x', 'y']);
    const before = await c.settle((watcher as Session).exists('/services/api/x'));
    await killLeader(c, leader);
    await c.waitFor(() => events.length > 0, 10_000, 'an event');
    expect(events.map((e) => e.type)).toEqual(['reregistered']);
    // Well before the old session (900 ms) could have expired: the stale znode was replaced.
    await c.waitFor(
      () => cache.tree.get('/services/api/x')?.stat.ephemeralOwner === made[0]?.id,
      5000,
      'x owned by the new session',
    );
    expect(before?.ephemeralOwner).toBe((doomed as Session).id);
    await c.run(3000);
    expect(cache.instances().map((i) => i.id)).toEqual(['x', 'y']);
    const after = await c.settle(
      (watcher as Session).exists('/services/api/x', { linearizable: true }),
    );
    expect(after?.ephemeralOwner).toBe((made[0] as Session).id);
    expect(made).toHaveLength(1);
  });

  it('a config value cut off briefly catches up after the heal; one whose session expired renews', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 72 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [patient] = await sessionsAcross(c, [cut], 1, 6000);
    const [brief] = await sessionsAcross(c, [cut], 1, 600);
    const [admin] = await sessionsAcross(c, [other], 1, 6000);
    const initial = { limit: 0 };
    const writer = new ConfigValue(admin as Session, '/cfg', { parse: parseLimit, initial });
    await c.settle(writer.set({ limit: 1 }));
    await c.run(50);
    const renewals: Session[] = [];
    const kept = new ConfigValue(patient as Session, '/cfg', { parse: parseLimit, initial });
    const renewed = new ConfigValue(brief as Session, '/cfg', {
      parse: parseLimit,
      initial,
      renewSession: async () => {
        const session = await other.session({ timeoutMs: 6000 });
        renewals.push(session);
        return session;
      },
    });
    await c.settle(Promise.all([kept.start(), renewed.start()]));
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.run(100);
    await c.settle(writer.set({ limit: 2 }));
    await c.run(1500);
    expect(kept.get()).toEqual({ limit: 1 });
    expect(renewed.get()).toEqual({ limit: 1 });
    c.network.heal();
    await c.waitFor(
      () => kept.get().limit === 2 && renewed.get().limit === 2,
      10_000,
      'both caught up',
    );
    expect(kept.session).toBe(patient);
    expect(kept.ended).toBeNull();
    expect(renewals).toHaveLength(1);
    expect(renewed.session).toBe(renewals[0]);
    expect((brief as Session).state).toBe('expired');
    await c.settle(writer.set({ limit: 3 }));
    await c.waitFor(() => renewed.get().limit === 3 && kept.get().limit === 3, 5000, 'both follow');
  });
});
