/**
 * What the recipes that outlive a session do when it ends, on a 3-node TestCluster in virtual
 * time (expiry here is a client gone away: its session stops being reported live).
 *
 * Without `renewSession`, TreeCache, NodeCache and ConfigValue end: an `ended` event (and
 * `onError`) with SessionExpired, the last contents kept, later writes not mirrored; discovery
 * emits `ended` and its instance stays gone. With `renewSession`, each asks the factory once,
 * moves to the new session, reloads and reports exactly what changed while it was gone (added,
 * updated, removed, then `reinitialized`), and keeps mirroring; ConfigValue notifies the value
 * changed meanwhile and writes through the new session; discovery re-registers its instance on
 * the new session (owned by it), and a cache elsewhere sees the instance leave and come back.
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
  type TreeCacheEvent,
} from '../src/index.js';
import { dec, enc, expire, SEED, sessionsAcross } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const describeEvent = (e: TreeCacheEvent): string =>
  'node' in e ? `${e.type} ${e.node.path}` : e.type === 'ended' ? `ended ${e.error.code}` : e.type;

/**
 * A session factory on `node` that counts its calls and makes its session only once `open()`
 * is called, so a test can change the tree while the recipe has no session at all.
 */
function factoryOn(node: CairnNode) {
  const made: Session[] = [];
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    made,
    open: () => open(),
    renew: async (): Promise<Session> => {
      await gate;
      const session = await node.session({ timeoutMs: 5000 });
      made.push(session);
      return session;
    },
  };
}

const parseLimit = (v: unknown): { limit: number } => {
  if (typeof v !== 'object' || v === null || typeof (v as { limit?: unknown }).limit !== 'number')
    throw new Error('limit must be a number');
  return { limit: (v as { limit: number }).limit };
};

describe(`caches, config and discovery across session expiry (seed ${SEED})`, () => {
  it('without renewSession a tree cache ends with SessionExpired and keeps its last contents', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 60 });
    const c = cluster;
    const [writer, reader] = await sessionsAcross(c, [...c.nodes.values()], 2, 900);
    await c.settle((writer as Session).create('/app'));
    await c.settle((writer as Session).create('/app/a', enc('1')));
    await c.settle((reader as Session).sync());
    const errors: unknown[] = [];
    const cache = new TreeCache(reader as Session, '/app', { onError: (e) => errors.push(e) });
    const events: string[] = [];
    cache.onEvent((e) => events.push(describeEvent(e)));
    await c.settle(cache.start());
    await expire(c, reader as Session);
    await c.run(50);
    await c.settle((writer as Session).create('/app/b'));
    await c.run(100);
    expect(events).toEqual(['added /app', 'added /app/a', 'initialized', 'ended SessionExpired']);
    expect(cache.ended?.code).toBe('SessionExpired');
    expect(errors).toEqual([cache.ended]);
    expect(cache.paths()).toEqual(['/app', '/app/a']);
  });

  it('a tree cache started on an ended session rejects with SessionExpired and says so', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 65 });
    const c = cluster;
    const [gone] = await sessionsAcross(c, [...c.nodes.values()], 1, 900);
    await expire(c, gone as Session);
    const cache = new TreeCache(gone as Session, '/app');
    const code = await c.settle(
      cache.start().then(
        () => 'Ok',
        (e: { code?: string }) => e.code,
      ),
    );
    expect(code).toBe('SessionExpired');
    expect(cache.ended?.code).toBe('SessionExpired');
    expect(cache.initialized).toBe(false);
  });

  it('with renewSession a tree cache reloads on the new session and reports what changed meanwhile', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 61 });
    const c = cluster;
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const [writer, reader] = await sessionsAcross(c, nodes, 2, 900);
    const w = writer as Session;
    for (const [path, data] of [
      ['/app', ''],
      ['/app/keep', 'k'],
      ['/app/change', '1'],
      ['/app/gone', 'g'],
      ['/app/gone/child', 'c'],
    ] as const)
      await c.settle(w.create(path, enc(data)));
    await c.settle((reader as Session).sync());
    const factory = factoryOn(nodes[2] as CairnNode);
    const cache = new TreeCache(reader as Session, '/app', { renewSession: factory.renew });
    const events: string[] = [];
    cache.onEvent((e) => events.push(describeEvent(e)));
    await c.settle(cache.start());
    events.length = 0;
    // Changes after the reader's session expired, before the new one exists: it hears none.
    await expire(c, reader as Session);
    await c.settle(w.setData('/app/change', enc('2')));
    await c.settle(w.delete('/app/gone/child'));
    await c.settle(w.delete('/app/gone'));
    await c.settle(w.create('/app/new', enc('n')));
    await c.run(100);
    expect(events).toEqual([]);
    factory.open();
    await c.waitFor(() => events.includes('reinitialized'), 10_000, 'reinitialized');
    expect(factory.made).toHaveLength(1);
    expect(cache.session).toBe(factory.made[0]);
    // The reload removes what went missing under a znode, then visits its children in order.
    expect(events).toEqual([
      'removed /app/gone/child',
      'removed /app/gone',
      'updated /app/change',
      'added /app/new',
      'reinitialized',
    ]);
    expect(cache.ended).toBeNull();
    // And it keeps mirroring on the new session.
    await c.settle(w.setData('/app/keep', enc('k2')));
    await c.waitFor(() => dec(cache.get('/app/keep')?.data ?? enc('')) === 'k2', 5000, 'k2');
    expect(cache.paths()).toEqual(['/app', '/app/change', '/app/keep', '/app/new']);
    expect(dec(cache.get('/app/change')?.data ?? enc(''))).toBe('2');
    cache.close();
  });

  it('a node cache: ends without renewSession, follows the znode across expiry with it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 62 });
    const c = cluster;
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const [writer, plain, renewed] = await sessionsAcross(c, nodes, 3, 900);
    await c.settle((writer as Session).create('/flag', enc('off')));
    await c.settle(Promise.all([(plain as Session).sync(), (renewed as Session).sync()]));
    const factory = factoryOn(nodes[0] as CairnNode);
    const ending = new NodeCache(plain as Session, '/flag');
    const following = new NodeCache(renewed as Session, '/flag', { renewSession: factory.renew });
    const seen: string[] = [];
    following.onEvent((e) => seen.push(describeEvent(e)));
    await c.settle(Promise.all([ending.start(), following.start()]));
    expect(dec(following.current()?.data ?? enc(''))).toBe('off');
    (plain as Session).setLive(false);
    await expire(c, renewed as Session);
    await c.waitFor(() => plain?.state === 'expired', 5000, 'expired');
    await c.settle((writer as Session).setData('/flag', enc('on')));
    factory.open();
    await c.waitFor(() => ending.ended !== null && seen.includes('reinitialized'), 10_000, 'both');
    expect(ending.ended?.code).toBe('SessionExpired');
    expect(dec(ending.current()?.data ?? enc(''))).toBe('off');
    expect(dec(following.current()?.data ?? enc(''))).toBe('on');
    expect(seen).toEqual(['added /flag', 'initialized', 'updated /flag', 'reinitialized']);
    await c.settle((writer as Session).delete('/flag'));
    await c.waitFor(() => following.current() === undefined, 5000, 'removed');
    expect(factory.made).toHaveLength(1);
  });

  it('a config value: notifies the change made while its session was gone and writes through the new one', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 63 });
    const c = cluster;
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const [admin, app, plainApp] = await sessionsAcross(c, nodes, 3, 900);
    const factory = factoryOn(nodes[2] as CairnNode);
    const initial = { limit: 1 };
    const writer = new ConfigValue(admin as Session, '/cfg', { parse: parseLimit, initial });
    await c.settle(writer.set({ limit: 5 }));
    const live = new ConfigValue(app as Session, '/cfg', {
      parse: parseLimit,
      initial,
      renewSession: factory.renew,
    });
    const errors: unknown[] = [];
    const stopped = new ConfigValue(plainApp as Session, '/cfg', {
      parse: parseLimit,
      initial,
      onError: (e) => errors.push(e),
    });
    const seen: number[] = [];
    live.onChange((v) => seen.push(v.limit));
    await c.settle((app as Session).sync());
    await c.settle((plainApp as Session).sync());
    expect(await c.settle(live.start())).toEqual({ limit: 5 });
    expect(await c.settle(stopped.start())).toEqual({ limit: 5 });
    (app as Session).setLive(false);
    await expire(c, plainApp as Session);
    await c.waitFor(() => app?.state === 'expired', 5000, 'expired');
    await c.settle(writer.set({ limit: 8 }));
    expect(seen).toEqual([5]); // the load
    factory.open();
    await c.waitFor(() => seen.includes(8) && stopped.ended !== null, 10_000, 'renewed, ended');
    expect(live.get()).toEqual({ limit: 8 });
    expect(live.session).toBe(factory.made[0]);
    expect(stopped.get()).toEqual({ limit: 5 });
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['SessionExpired']);
    await c.settle(live.set({ limit: 9 }));
    await c.waitFor(() => seen.includes(9), 5000, 'own write seen');
    expect(seen).toEqual([5, 8, 9]);
    expect(live.ended).toBeNull();
  });

  it('discovery re-registers its instance on a new session; a cache elsewhere sees it leave and return', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 64 });
    const c = cluster;
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const [mine, plain, watcher] = await sessionsAcross(c, nodes, 3, 900);
    const factory = factoryOn(nodes[1] as CairnNode);
    const renewing = new ServiceDiscovery(mine as Session, '/services', {
      renewSession: factory.renew,
    });
    const ending = new ServiceDiscovery(plain as Session, '/services');
    const events: ServiceDiscoveryEvent[] = [];
    renewing.onEvent((e) => events.push(e));
    ending.onEvent((e) => events.push(e));
    await c.settle(renewing.register('api', { id: 'a', address: '127.0.0.1', port: 8001 }));
    await c.settle(ending.register('api', { id: 'b', address: '127.0.0.1', port: 8002 }));
    const cache = new ServiceDiscovery(watcher as Session, '/services').cache('api');
    const history: string[] = [];
    cache.onChange(() =>
      history.push(
        cache
          .instances()
          .map((i) => i.id)
          .join(','),
      ),
    );
    await c.settle((watcher as Session).sync());
    await c.settle(cache.start());
    expect(cache.instances().map((i) => i.id)).toEqual(['a', 'b']);
    await expire(c, plain as Session);
    await c.waitFor(() => cache.instances().length === 1, 5000, 'b gone');
    await expire(c, mine as Session);
    await c.waitFor(() => cache.instances().length === 0, 5000, 'a gone');
    factory.open();
    await c.waitFor(
      () => events.length === 2 && cache.instances().length === 1,
      10_000,
      'a back, b gone',
    );
    const reregistered = events.find((e) => e.type === 'reregistered');
    expect(reregistered?.type === 'reregistered' && reregistered.paths).toEqual([
      '/services/api/a',
    ]);
    const ended = events.find((e) => e.type === 'ended');
    expect(ended?.type === 'ended' && ended.error.code).toBe('SessionExpired');
    expect(cache.instances().map((i) => i.id)).toEqual(['a']);
    // b left for good; a left with its old session and came back with the new one.
    expect(history.slice(-3)).toEqual(['a', '', 'a']);
    const stat = await c.settle((watcher as Session).exists('/services/api/a'));
    expect(stat?.ephemeralOwner).toBe((factory.made[0] as Session).id);
    expect(factory.made).toHaveLength(1);
    cache.close();
  });
});
