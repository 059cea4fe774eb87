/**
 * node-zookeeper-client (the pure-JS npm client, unchanged) against a zk-server over a real
 * one-member node: every operation the client exposes, its watches, its errors, multi with
 * per-op results, ACLs with digest auth, and ephemerals that go with their session.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  call,
  connectClient,
  errorName,
  type Harness,
  startHarness,
  until,
  type ZkClient,
  zookeeper,
} from './helpers.js';

interface ClientStat {
  version: number;
  cversion: number;
  aversion: number;
  numChildren: number;
  dataLength: number;
  ephemeralOwner: Buffer;
}

interface ClientEvent {
  name: string;
  path: string;
}

let harness: Harness;
const clients: ZkClient[] = [];

beforeEach(async () => {
  harness = await startHarness();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await harness.close();
});

async function client(): Promise<ZkClient> {
  const c = await connectClient(`127.0.0.1:${harness.port}`);
  clients.push(c);
  return c;
}

describe('node-zookeeper-client against zk-server', () => {
  it('creates every mode the client knows, with Stat fields as ZooKeeper reports them', async () => {
    const zk = await client();
    const M = zookeeper.CreateMode;
    expect(await call((cb) => zk.create('/app', Buffer.from('root'), cb))).toBe('/app');
    expect(
      await call((cb) => zk.create('/app/seq-', Buffer.alloc(0), M.PERSISTENT_SEQUENTIAL, cb)),
    ).toBe('/app/seq-0000000000');
    expect(await call((cb) => zk.create('/app/eph', Buffer.from('e'), M.EPHEMERAL, cb))).toBe(
      '/app/eph',
    );
    expect(
      await call((cb) => zk.create('/app/lock-', Buffer.alloc(0), M.EPHEMERAL_SEQUENTIAL, cb)),
    ).toBe('/app/lock-0000000002');
    const [data, stat] = await call<[Buffer, ClientStat]>((cb) => zk.getData('/app/eph', cb));
    expect(data.toString()).toBe('e');
    expect(stat.ephemeralOwner.equals(zk.getSessionId())).toBe(true);
    const [children, parent] = await call<[string[], ClientStat]>((cb) =>
      zk.getChildren('/app', cb),
    );
    expect([...children].sort()).toEqual(['eph', 'lock-0000000002', 'seq-0000000000']);
    expect(parent.numChildren).toBe(3);
    expect(parent.cversion).toBe(3);
    expect(parent.dataLength).toBe(4);
    expect(await errorName(call((cb) => zk.create('/app', Buffer.alloc(0), cb)))).toBe(
      'NODE_EXISTS',
    );
    expect(await errorName(call((cb) => zk.create('/none/child', Buffer.alloc(0), cb)))).toBe(
      'NO_NODE',
    );
    expect(await errorName(call((cb) => zk.create('/app/eph/child', Buffer.alloc(0), cb)))).toBe(
      'NO_CHILDREN_FOR_EPHEMERALS',
    );
    expect(await errorName(call((cb) => zk.remove('/app', -1, cb)))).toBe('NOT_EMPTY');
  });

  it('setData and remove check versions (BadVersion); exists answers null for a missing node', async () => {
    const zk = await client();
    await call((cb) => zk.create('/v', Buffer.from('0'), cb));
    const stat = await call<ClientStat>((cb) => zk.setData('/v', Buffer.from('1'), 0, cb));
    expect(stat.version).toBe(1);
    expect(await errorName(call((cb) => zk.setData('/v', Buffer.from('2'), 0, cb)))).toBe(
      'BAD_VERSION',
    );
    expect(await errorName(call((cb) => zk.remove('/v', 0, cb)))).toBe('BAD_VERSION');
    expect(await errorName(call((cb) => zk.setData('/missing', Buffer.alloc(0), -1, cb)))).toBe(
      'NO_NODE',
    );
    expect(await call((cb) => zk.exists('/missing', cb))).toBeNull();
    await call((cb) => zk.remove('/v', 1, cb));
    expect(await call((cb) => zk.exists('/v', cb))).toBeNull();
  });

  it('watches: getData, exists on a missing node, getChildren, and delete fire once each', async () => {
    const zk = await client();
    const other = await client();
    const events: string[] = [];
    const watcher = (event: ClientEvent): void => {
      events.push(`${event.name} ${event.path}`);
    };
    await call((cb) => zk.create('/w', Buffer.from('a'), cb));
    await call((cb) => zk.getData('/w', watcher, cb));
    await call((cb) => zk.exists('/w/kid', watcher, cb));
    await call((cb) => zk.getChildren('/w', watcher, cb));
    await call((cb) => other.setData('/w', Buffer.from('b'), -1, cb));
    await call((cb) => other.create('/w/kid', Buffer.alloc(0), cb));
    await until(() => events.length === 3, 'three events');
    expect(events).toEqual([
      'NODE_DATA_CHANGED /w',
      'NODE_CREATED /w/kid',
      'NODE_CHILDREN_CHANGED /w',
    ]);
    // One-shot: a second change fires nothing until the watch is set again.
    await call((cb) => other.setData('/w', Buffer.from('c'), -1, cb));
    await call((cb) => zk.exists('/w/kid', watcher, cb));
    await call((cb) => other.remove('/w/kid', -1, cb));
    await until(() => events.length === 4, 'the delete event');
    expect(events[3]).toBe('NODE_DELETED /w/kid');
  });

  it('a multi applies all or nothing; a failing op gives every op its result', async () => {
    const zk = await client();
    await call((cb) => zk.create('/m', Buffer.from('0'), cb));
    const ok = await call<{ type: number; path?: string }[]>((cb) =>
      zk
        .transaction()
        .create('/m/a', Buffer.from('a'))
        .setData('/m', Buffer.from('1'), 0)
        .check('/m', 1)
        .remove('/m/a', -1)
        .commit(cb),
    );
    expect(ok.map((r) => r.type)).toEqual([1, 5, 13, 2]);
    expect(ok[0]?.path).toBe('/m/a');
    const failed = await new Promise<{ error: unknown; results: { type: number; err: number }[] }>(
      (resolve) =>
        zk
          .transaction()
          .create('/m/b', Buffer.alloc(0))
          .setData('/m', Buffer.from('x'), 99)
          .remove('/m', -1)
          .commit((error, results) =>
            resolve({ error, results: results as { type: number; err: number }[] }),
          ),
    );
    expect((failed.error as { name: string }).name).toBe('BAD_VERSION');
    expect(failed.results.map((r) => [r.type, r.err])).toEqual([
      [-1, 0],
      [-1, -103],
      [-1, -2],
    ]);
    expect(await call((cb) => zk.exists('/m/b', cb))).toBeNull();
  });

  it('ACLs: a digest-protected znode answers NoAuth until addAuthInfo', async () => {
    const owner = await client();
    const stranger = await client();
    owner.addAuthInfo('digest', Buffer.from('alice:secret'));
    const { ACL, Id, Permission } = zookeeper;
    const mine = [new ACL(Permission.ALL, new Id('auth', ''))];
    await call((cb) => owner.create('/private', Buffer.from('s'), mine, 0, cb));
    const [acl] = await call<[{ perms: number; id: { scheme: string; id: string } }[]]>((cb) =>
      owner.getACL('/private', cb),
    );
    expect(acl[0]?.id.scheme).toBe('digest');
    expect(acl[0]?.id.id.startsWith('alice:')).toBe(true);
    expect(await errorName(call((cb) => stranger.getData('/private', cb)))).toBe('NO_AUTH');
    stranger.addAuthInfo('digest', Buffer.from('alice:secret'));
    const [data] = await call<[Buffer]>((cb) => stranger.getData('/private', cb));
    expect(data.toString()).toBe('s');
    // setACL checks the ACL version.
    const open = ACL.OPEN_ACL_UNSAFE;
    expect(await errorName(call((cb) => owner.setACL('/private', open, 5, cb)))).toBe(
      'BAD_VERSION',
    );
    const stat = await call<ClientStat>((cb) => owner.setACL('/private', open, 0, cb));
    expect(stat.aversion).toBe(1);
  });

  it("closing a client removes its ephemerals; the other client's watch sees it", async () => {
    const zk = await client();
    const other = await client();
    await call((cb) => zk.create('/gone', Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL, cb));
    const events: string[] = [];
    await call((cb) =>
      other.exists('/gone', (event: ClientEvent) => events.push(`${event.name} ${event.path}`), cb),
    );
    zk.close();
    clients.splice(clients.indexOf(zk), 1);
    await until(() => events.length === 1, 'the delete event');
    expect(events).toEqual(['NODE_DELETED /gone']);
    expect(await call((cb) => other.exists('/gone', cb))).toBeNull();
  });
});
