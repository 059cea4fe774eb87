/**
 * TreeCache, NodeCache, ConfigValue and ServiceDiscovery on a 3-node TestCluster: a cache on one
 * member mirrors writes made through another (added, updated, removed, after `initialized`) and
 * ends equal to the tree; a typed config value notifies on change and ignores a value its check
 * rejects; a service instance whose member is partitioned away disappears from every cache once
 * its session expires. Virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigValue, ServiceDiscovery, TreeCache, type TreeCacheEvent } from '../src/index.js';
import { enc, followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`caches, config and discovery (seed ${SEED})`, () => {
  it('a tree cache mirrors a subtree changed through another member', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const [writer, reader] = (await sessionsOn(c, 2)) as [Session, Session];
    await c.settle(writer.create('/app'));
    await c.settle(writer.create('/app/a', enc('1')));
    await c.settle(reader.sync());
    const cache = new TreeCache(reader, '/app');
    const events: string[] = [];
    cache.onEvent((e: TreeCacheEvent) =>
      events.push('node' in e ? `${e.type} ${e.node.path}` : e.type),
    );
    await c.settle(cache.start());
    expect(events).toEqual(['added /app', 'added /app/a', 'initialized']);
    await c.settle(writer.create('/app/b', enc('2')));
    await c.settle(writer.create('/app/b/c', enc('3')));
    await c.settle(writer.setData('/app/a', enc('10')));
    await c.settle(writer.delete('/app/b/c'));
    await c.run(100);
    expect(events.slice(3)).toEqual([
      'added /app/b',
      'added /app/b/c',
      'updated /app/a',
      'removed /app/b/c',
    ]);
    expect(cache.paths()).toEqual(['/app', '/app/a', '/app/b']);
    expect(new TextDecoder().decode(cache.get('/app/a')?.data)).toBe('10');
    cache.close();
  });

  it('a typed config value notifies on change and keeps the last good value', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const [s1, s2] = (await sessionsOn(c, 2)) as [Session, Session];
    const parse = (v: unknown): { limit: number } => {
      if (
        typeof v !== 'object' ||
        v === null ||
        typeof (v as { limit?: unknown }).limit !== 'number'
      )
        throw new Error('limit must be a number');
      return { limit: (v as { limit: number }).limit };
    };
    const errors: unknown[] = [];
    const watched = new ConfigValue(s2, '/config/limits', {
      parse,
      initial: { limit: 1 },
      onError: (e) => errors.push(e),
    });
    const seen: number[] = [];
    watched.onChange((v) => seen.push(v.limit));
    expect(await c.settle(watched.start())).toEqual({ limit: 1 });
    const writer = new ConfigValue(s1, '/config/limits', { parse, initial: { limit: 1 } });
    await c.settle(writer.set({ limit: 5 }));
    await c.run(50);
    await c.settle(s1.setData('/config/limits', enc('{"limit":"lots"}')));
    await c.run(50);
    await c.settle(writer.set({ limit: 7 }));
    await c.run(50);
    expect(seen).toEqual([5, 7]);
    expect(errors).toHaveLength(1);
    expect(watched.get()).toEqual({ limit: 7 });
    watched.close();
  });

  it('an instance on a partitioned member leaves every cache when its session expires', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const lonely = await c.settle(cut.session({ timeoutMs: 600 }));
    const steady = await c.settle(other.session({ timeoutMs: 5000 }));
    await c.settle(
      new ServiceDiscovery(lonely, '/services').register('api', {
        id: 'a',
        address: '10.0.0.1',
        port: 80,
      }),
    );
    const discovery = new ServiceDiscovery(steady, '/services');
    await c.settle(discovery.register('api', { id: 'b', address: '10.0.0.2', port: 80 }));
    const cache = discovery.cache('api');
    await c.settle(cache.start());
    expect(cache.instances().map((i) => i.id)).toEqual(['a', 'b']);
    expect((await c.settle(discovery.instances('api'))).map((i) => i.id)).toEqual(['a', 'b']);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.waitFor(() => cache.instances().length === 1, 5000, 'a gone from the cache');
    expect(cache.instances().map((i) => i.id)).toEqual(['b']);
    c.network.heal();
    cache.close();
  });
});
