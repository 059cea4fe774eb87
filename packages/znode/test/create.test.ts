// Proves that a successful create behaves as ZooKeeper 3.8's (ZOOKEEPER.md §1.1, §1.2; DataTree
// .createNode): in every CreateMode it returns the path and a full Stat (czxid = mzxid = pzxid =
// the zxid, ctime = mtime = the entry's time, versions 0, ephemeralOwner encoded as EphemeralType
// does, dataLength, numChildren), bumps the parent's cversion by one and moves its pzxid, names
// sequential nodes with `%010d` of the parent's cversion, and fires NodeCreated then
// NodeChildrenChanged on the parent. Each test drives a fresh tree through `Harness`, which
// also checks the tree's invariants after every txn.
import {
  CONTAINER_OWNER,
  type CreateMode,
  kindOf,
  NO_OWNER,
  TTL_MS_MAX,
  ttlOf,
  ttlOwner,
} from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, created, eventLines, Harness, OPEN } from './harness.js';

function setup(): { h: Harness; s1: ReturnType<Harness['openSession']> } {
  const h = new Harness();
  const s1 = h.openSession(0x1_0000_0001n);
  h.mustCreate(s1, '/app');
  return { h, s1 };
}

describe('create: the Stat of a new node', () => {
  it('gives a persistent node czxid = mzxid = pzxid = zxid, ctime = mtime = time and versions 0', () => {
    const { h, s1 } = setup();
    const { path, stat } = h.mustCreate(s1, '/app/config', { data: bytes('hello') });
    expect(path).toBe('/app/config');
    expect(stat).toEqual({
      czxid: h.zxid,
      mzxid: h.zxid,
      pzxid: h.zxid,
      ctime: h.now,
      mtime: h.now,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: NO_OWNER,
      dataLength: 5,
      numChildren: 0,
    });
    expect(h.stat('/app/config')).toEqual(stat);
    const read = h.tree.getData('/app/config', s1);
    expect(read.ok && [...read.value.data]).toEqual([...bytes('hello')]);
  });

  const modes: ReadonlyArray<{
    mode: CreateMode;
    sequential: boolean;
    owner: (session: bigint) => bigint;
    kind: ReturnType<typeof kindOf>;
  }> = [
    { mode: 'persistent', sequential: false, owner: () => 0n, kind: 'persistent' },
    { mode: 'ephemeral', sequential: false, owner: (s) => s, kind: 'ephemeral' },
    { mode: 'persistent-sequential', sequential: true, owner: () => 0n, kind: 'persistent' },
    { mode: 'ephemeral-sequential', sequential: true, owner: (s) => s, kind: 'ephemeral' },
    { mode: 'container', sequential: false, owner: () => -(2n ** 63n), kind: 'container' },
    {
      mode: 'persistent-with-ttl',
      sequential: false,
      owner: () => BigInt.asIntN(64, 0xff00_0000_0000_0000n | 5000n),
      kind: 'ttl',
    },
    {
      mode: 'persistent-sequential-with-ttl',
      sequential: true,
      owner: () => BigInt.asIntN(64, 0xff00_0000_0000_0000n | 5000n),
      kind: 'ttl',
    },
  ];

  for (const { mode, sequential, owner, kind } of modes) {
    it(`creates a ${mode} node with ephemeralOwner ${kind === 'persistent' ? '0' : kind === 'ephemeral' ? 'the session id' : kind === 'container' ? 'Long.MIN_VALUE' : '0xFF.. + the TTL'}`, () => {
      const { h, s1 } = setup();
      const ttlMs = kind === 'ttl' ? { ttlMs: 5000 } : {};
      const { path, stat } = h.mustCreate(s1, '/app/n-', { mode, data: bytes('xy'), ...ttlMs });
      expect(path).toBe(sequential ? '/app/n-0000000000' : '/app/n-');
      expect(stat.ephemeralOwner).toBe(owner(s1));
      expect(kindOf(stat.ephemeralOwner)).toBe(kind);
      expect(stat).toMatchObject({
        czxid: h.zxid,
        mzxid: h.zxid,
        pzxid: h.zxid,
        ctime: h.now,
        mtime: h.now,
        version: 0,
        cversion: 0,
        aversion: 0,
        dataLength: 2,
        numChildren: 0,
      });
      expect(h.tree.getEphemerals(s1, '/')).toEqual(kind === 'ephemeral' ? [path] : []);
    });
  }

  it('encodes container and TTL owners exactly as EphemeralType does', () => {
    expect(CONTAINER_OWNER).toBe(-9223372036854775808n);
    expect(BigInt.asUintN(64, ttlOwner(1))).toBe(0xff00_0000_0000_0001n);
    expect(BigInt.asUintN(64, ttlOwner(TTL_MS_MAX))).toBe(0xff00_00ff_ffff_ffffn);
    expect(ttlOf(ttlOwner(123_456))).toBe(123_456);
  });

  it('accepts the largest TTL EphemeralType can encode (2^40 - 1 ms)', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: TTL_MS_MAX });
    expect(ttlOf(stat.ephemeralOwner)).toBe(TTL_MS_MAX);
  });
});

describe('create: the parent', () => {
  it("bumps the parent's cversion by exactly one, sets its pzxid to the zxid and counts the child", () => {
    const { h, s1 } = setup();
    const before = h.stat('/app');
    h.mustCreate(s1, '/app/a');
    const after = h.stat('/app');
    expect(after.cversion).toBe(before.cversion + 1);
    expect(after.pzxid).toBe(h.zxid);
    expect(after.numChildren).toBe(before.numChildren + 1);
    // Children do not touch the parent's data fields.
    expect(after).toMatchObject({
      mzxid: before.mzxid,
      mtime: before.mtime,
      version: before.version,
    });
  });

  it('fires NodeCreated for the node, then NodeChildrenChanged for its parent, at the zxid', () => {
    const { h, s1 } = setup();
    const outcome = h.create(s1, '/app/a');
    expect(eventLines(outcome)).toEqual(['NodeCreated /app/a', 'NodeChildrenChanged /app']);
    expect(outcome.events.every((event) => event.zxid === h.zxid)).toBe(true);
  });

  it('reports NodeChildrenChanged on / for a top-level node', () => {
    const { h, s1 } = setup();
    expect(eventLines(h.create(s1, '/top'))).toEqual(['NodeCreated /top', 'NodeChildrenChanged /']);
  });

  it('stores a copy of the ACL that later edits of the caller’s array do not reach', () => {
    const { h, s1 } = setup();
    const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    h.mustCreate(s1, '/app/a', { acl });
    acl[0] = { perms: 1, id: { scheme: 'world', id: 'anyone' } };
    expect(h.tree.getACL('/app/a', s1)).toMatchObject({ ok: true, value: { acl: OPEN } });
  });
});

describe('create: sequential names', () => {
  it("appends %010d of the parent's cversion, one more per create", () => {
    const { h, s1 } = setup();
    const names = [0, 1, 2].map(
      () => h.mustCreate(s1, '/app/lock-', { mode: 'ephemeral-sequential' }).path,
    );
    expect(names).toEqual(['/app/lock-0000000000', '/app/lock-0000000001', '/app/lock-0000000002']);
  });

  it('accepts "/" itself as the prefix of a sequential create: a child of the root', () => {
    const { h, s1 } = setup();
    expect(h.mustCreate(s1, '/', { mode: 'persistent-sequential' }).path).toMatch(/^\/\d{10}$/);
  });

  it('shares one counter among all children of a parent, sequential or not', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/plain');
    h.mustCreate(s1, '/app/other');
    expect(h.mustCreate(s1, '/app/q-', { mode: 'persistent-sequential' }).path).toBe(
      '/app/q-0000000002',
    );
    expect(
      h.mustCreate(s1, '/app/r-', { mode: 'persistent-sequential-with-ttl', ttlMs: 10 }).path,
    ).toBe('/app/r-0000000003');
  });

  it('never repeats a name after deletes: only creates advance the counter, and it never goes back', () => {
    const { h, s1 } = setup();
    const first = h.mustCreate(s1, '/app/job-', { mode: 'persistent-sequential' }).path;
    expect(h.delete(s1, first).result.ok).toBe(true);
    const second = h.mustCreate(s1, '/app/job-', { mode: 'persistent-sequential' }).path;
    h.delete(s1, second);
    const third = h.mustCreate(s1, '/app/job-', { mode: 'persistent-sequential' }).path;
    expect([first, second, third]).toEqual([
      '/app/job-0000000000',
      '/app/job-0000000001',
      '/app/job-0000000002',
    ]);
  });

  it('accepts a prefix that ends in / and names the child by the counter alone', () => {
    const { h, s1 } = setup();
    expect(h.mustCreate(s1, '/app/', { mode: 'persistent-sequential' }).path).toBe(
      '/app/0000000000',
    );
  });

  it('wraps the name like a Java int past 2147483647', () => {
    const { h, s1 } = setup();
    const app = h.tree.node('/app');
    if (app === undefined) throw new Error('no /app');
    h.tree.modify('/app', app, () => {
      app.cversion = 2_147_483_647;
    });
    expect(h.mustCreate(s1, '/app/w-', { mode: 'persistent-sequential' }).path).toBe(
      '/app/w-2147483647',
    );
    expect(h.mustCreate(s1, '/app/w-', { mode: 'persistent-sequential' }).path).toBe(
      '/app/w--2147483648',
    );
  });
});

describe('create: result and read agree', () => {
  it('returns the same Stat that getData and exists read back afterwards', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/e', { mode: 'ephemeral', data: bytes('abc') });
    expect(h.tree.getData('/app/e', s1)).toMatchObject({ ok: true, value: { stat } });
    expect(h.tree.exists('/app/e', s1)).toEqual({ ok: true, value: stat });
    expect(created(h.create(s1, '/app/f')).stat.czxid).toBe(h.zxid);
  });
});
