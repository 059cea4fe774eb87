/**
 * Every session operation and every error it can answer, on a 3-node cluster in one process
 * (memory transport, memory storage, virtual time). Calls go through a follower unless a test
 * says otherwise, so forwarding is exercised too. Assertions are on error `code`s, Stat fields
 * and exact children lists; each test is seeded and bounded in virtual time by `settle`.
 */
import { CREATOR_ALL_ACL, PERMS, READ_ACL_UNSAFE, type Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, codeOfCall, dec, enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function start(seed: number): Promise<{ c: TestCluster; zk: Session }> {
  cluster = await TestCluster.start({ size: 3, seed });
  const c = cluster;
  const zk = await c.settle(c.follower().session({ timeoutMs: 2000 }));
  return { c, zk };
}

describe(`session operations (seed ${SEED})`, () => {
  it('create2 and setData report every Stat field as ZooKeeper does', async () => {
    const { c, zk } = await start(SEED);
    const created = await c.settle(zk.create2('/a', enc('hello')));
    expect(created.path).toBe('/a');
    const s0 = created.stat;
    expect(s0.czxid).toBe(s0.mzxid);
    expect(s0.pzxid).toBe(s0.czxid);
    expect(s0.ctime).toBe(s0.mtime);
    expect(s0.ctime).toBeGreaterThan(0);
    expect([s0.version, s0.cversion, s0.aversion]).toEqual([0, 0, 0]);
    expect(s0.ephemeralOwner).toBe(0n);
    expect(s0.dataLength).toBe(5);
    expect(s0.numChildren).toBe(0);

    await c.run(50);
    const s1 = await c.settle(zk.setData('/a', enc('hi'), 0));
    expect(s1.version).toBe(1);
    expect(s1.czxid).toBe(s0.czxid);
    expect(s1.mzxid).toBeGreaterThan(s0.mzxid);
    expect(s1.mtime).toBeGreaterThan(s0.mtime);
    expect(s1.ctime).toBe(s0.ctime);
    expect(s1.pzxid).toBe(s0.pzxid);
    expect(s1.dataLength).toBe(2);

    const child = await c.settle(zk.create2('/a/b'));
    const parent = await c.settle(zk.exists('/a'));
    expect(parent?.numChildren).toBe(1);
    expect(parent?.cversion).toBe(1);
    expect(parent?.pzxid).toBe(child.stat.czxid);
    expect(parent?.version).toBe(1);
    expect(parent?.mzxid).toBe(s1.mzxid);
    // A delete moves pzxid and, as ZooKeeper reports it (creates * 2 - children), cversion.
    await c.settle(zk.delete('/a/b', 0));
    const after = await c.settle(zk.exists('/a'));
    expect(after?.cversion).toBe(2);
    expect(after?.numChildren).toBe(0);
    expect(after?.pzxid).toBeGreaterThan(child.stat.czxid);
    // The create's zxid is the log index of its entry: the same on every replica.
    const digests = new Set<number>();
    await c.run(50);
    for (const node of c.nodes.values()) digests.add(node.status().digest);
    expect(digests.size).toBe(1);
  });

  it('create answers NodeExists, NoNode, NoChildrenForEphemerals, BadArguments, InvalidACL', async () => {
    const { c, zk } = await start(SEED + 1);
    await c.settle(zk.create('/p'));
    await c.settle(zk.create('/eph', enc(''), { mode: 'ephemeral' }));
    const cases: [() => Promise<unknown>, string][] = [
      [() => zk.create('/p'), 'NodeExists'],
      [() => zk.create('/missing/child'), 'NoNode'],
      [() => zk.create('/eph/child'), 'NoChildrenForEphemerals'],
      [() => zk.create('/p/'), 'BadArguments'],
      [() => zk.create('relative'), 'BadArguments'],
      [() => zk.create('/zookeeper/mine'), 'BadArguments'],
      [() => zk.create('/p/ttl', enc(''), { mode: 'persistent-with-ttl' }), 'BadArguments'],
      [() => zk.create('/p/x', enc(''), { acl: [] }), 'InvalidACL'],
      [() => zk.create('/p/x', enc(''), { acl: CREATOR_ALL_ACL }), 'InvalidACL'],
    ];
    for (const [call, code] of cases) expect(await c.settle(codeOfCall(call))).toBe(code);
    // The error names the path it concerns.
    const error = await c.settle(zk.create('/missing/child').catch((e: unknown) => e));
    expect(error).toMatchObject({ code: 'NoNode', path: '/missing' });
    // Nothing above changed the tree.
    expect((await c.settle(zk.getChildren('/'))).children).toEqual(['eph', 'p', 'zookeeper']);
    expect((await c.settle(zk.getChildren('/p'))).children).toEqual([]);
  });

  it('rejects data over dataBytesMax with BadArguments', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2, node: { dataBytesMax: 16 } });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 2000 }));
    expect(await c.settle(codeOf(zk.create('/big', new Uint8Array(17))))).toBe('BadArguments');
    await c.settle(zk.create('/ok', new Uint8Array(16)));
    expect(await c.settle(codeOf(zk.setData('/ok', new Uint8Array(17))))).toBe('BadArguments');
    expect((await c.settle(zk.exists('/ok')))?.version).toBe(0);
  });

  it('setData and delete answer NoNode, BadVersion and NotEmpty and change nothing', async () => {
    const { c, zk } = await start(SEED + 3);
    await c.settle(zk.create('/d', enc('x')));
    await c.settle(zk.create('/d/kid'));
    expect(await c.settle(codeOf(zk.setData('/nope', enc('y'))))).toBe('NoNode');
    expect(await c.settle(codeOf(zk.setData('/d', enc('y'), 3)))).toBe('BadVersion');
    expect(await c.settle(codeOf(zk.delete('/d')))).toBe('NotEmpty');
    expect(await c.settle(codeOf(zk.delete('/d/kid', 1)))).toBe('BadVersion');
    expect(await c.settle(codeOf(zk.delete('/nope')))).toBe('NoNode');
    expect(await c.settle(codeOf(zk.delete('/')))).toBe('BadArguments');
    expect(await c.settle(codeOf(zk.delete('/zookeeper/config')))).toBe('BadArguments');
    const { data, stat } = await c.settle(zk.getData('/d'));
    expect(dec(data)).toBe('x');
    expect(stat.version).toBe(0);
    expect(stat.numChildren).toBe(1);
    await c.settle(zk.delete('/d/kid', 0));
    await c.settle(zk.delete('/d', 0));
    expect(await c.settle(zk.exists('/d'))).toBeNull();
    expect(await c.settle(codeOf(zk.getData('/d')))).toBe('NoNode');
    expect(await c.settle(codeOf(zk.getChildren('/d')))).toBe('NoNode');
    expect(await c.settle(codeOf(zk.getACL('/d')))).toBe('NoNode');
    expect(await c.settle(codeOf(zk.getAllChildrenNumber('/d')))).toBe('NoNode');
  });

  it('reads reject invalid paths with BadArguments', async () => {
    const { c, zk } = await start(SEED + 4);
    for (const call of [
      () => zk.getData('no-slash'),
      () => zk.exists('/trailing/'),
      () => zk.getChildren('/a//b'),
      () => zk.sync('bad'),
      () => zk.watch('/x/'),
    ])
      expect(await c.settle(codeOfCall(call))).toBe('BadArguments');
  });

  it('sequential creates number per parent from its cversion, ten digits', async () => {
    const { c, zk } = await start(SEED + 5);
    await c.settle(zk.create('/q'));
    await c.settle(zk.create('/q/plain'));
    const a = await c.settle(zk.create('/q/n-', enc(''), { mode: 'persistent-sequential' }));
    const b = await c.settle(zk.create('/q/n-', enc(''), { mode: 'ephemeral-sequential' }));
    await c.settle(zk.delete(a));
    const d = await c.settle(zk.create('/q/', enc(''), { mode: 'persistent-sequential' }));
    expect([a, b, d]).toEqual(['/q/n-0000000001', '/q/n-0000000002', '/q/0000000003']);
    expect((await c.settle(zk.getChildren('/q'))).children).toEqual([
      '0000000003',
      'n-0000000002',
      'plain',
    ]);
  });

  it('getChildren pages with limit and after, in sorted order', async () => {
    const { c, zk } = await start(SEED + 6);
    await c.settle(zk.create('/list'));
    const names = ['e', 'a', 'd', 'b', 'c', 'f', 'g'];
    await c.settle(Promise.all(names.map((n) => zk.create(`/list/${n}`))));
    const all = await c.settle(zk.getChildren('/list'));
    expect(all.children).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(all.next).toBeNull();
    expect(all.stat.numChildren).toBe(7);
    const pages: string[][] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await c.settle(
        zk.getChildren('/list', after === undefined ? { limit: 3 } : { limit: 3, after }),
      );
      pages.push([...page.children]);
      if (page.next === null) break;
      after = page.next;
    }
    expect(pages).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    // An exact fit is the last page; `after` need not be a child; past the end is empty.
    expect((await c.settle(zk.getChildren('/list', { limit: 7 }))).next).toBeNull();
    expect((await c.settle(zk.getChildren('/list', { after: 'cc' }))).children).toEqual([
      'd',
      'e',
      'f',
      'g',
    ]);
    expect((await c.settle(zk.getChildren('/list', { after: 'g' }))).children).toEqual([]);
    expect(await c.settle(codeOf(zk.getChildren('/list', { limit: 0 })))).toBe('BadArguments');
    expect(await c.settle(codeOf(zk.getChildren('/list', { limit: 1.5 })))).toBe('BadArguments');
  });

  it('getAllChildrenNumber counts every descendant; getEphemerals lists only the own ones', async () => {
    const { c, zk } = await start(SEED + 7);
    const other = await c.settle(c.leader()?.session({ timeoutMs: 2000 }) as Promise<Session>);
    await c.settle(zk.create('/t'));
    await c.settle(zk.create('/t/a'));
    await c.settle(zk.create('/t/a/x', enc(''), { mode: 'ephemeral' }));
    await c.settle(zk.create('/t/b'));
    await c.settle(zk.create('/t/ab', enc(''), { mode: 'ephemeral' }));
    await c.settle(other.create('/t/b/y', enc(''), { mode: 'ephemeral' }));
    await c.settle(zk.create('/u', enc(''), { mode: 'ephemeral' }));
    expect(await c.settle(zk.getAllChildrenNumber('/t'))).toBe(5);
    expect(await c.settle(zk.getAllChildrenNumber('/t/a/x'))).toBe(0);
    expect(await c.settle(zk.getEphemerals())).toEqual(['/t/a/x', '/t/ab', '/u']);
    // A string prefix, as ZooKeeper matches it: "/t/a" finds "/t/ab" too.
    expect(await c.settle(zk.getEphemerals('/t/a'))).toEqual(['/t/a/x', '/t/ab']);
    expect(await c.settle(other.getEphemerals('/'))).toEqual(['/t/b/y']);
    const stat = await c.settle(zk.exists('/u'));
    expect(stat?.ephemeralOwner).toBe(zk.id);
  });

  it('multi applies all ops at one zxid, or none with per-op results', async () => {
    const { c, zk } = await start(SEED + 8);
    await c.settle(zk.create('/m', enc('0')));
    const results = await c.settle(
      zk
        .transaction()
        .create('/m/a', enc('1'))
        .setData('/m', enc('2'), 0)
        .check('/m/a', 0)
        .commit(),
    );
    expect(results.map((r) => r.type)).toEqual(['create', 'setData', 'check']);
    const created = results[0] as { type: 'create'; path: string; stat: { czxid: number } };
    const set = results[1] as { type: 'setData'; stat: { mzxid: number; version: number } };
    expect(created.path).toBe('/m/a');
    expect(set.stat.mzxid).toBe(created.stat.czxid);
    expect(set.stat.version).toBe(1);

    const before = c.follower().status().digest;
    const failure = await c.settle(
      zk
        .transaction()
        .create('/m/b')
        .delete('/m/nothing')
        .setData('/m', enc('3'))
        .commit()
        .catch((e: unknown) => e),
    );
    expect(failure).toMatchObject({ code: 'NoNode', path: '/m/nothing' });
    expect((failure as { results: { code: string }[] }).results.map((r) => r.code)).toEqual([
      'Ok',
      'NoNode',
      'RuntimeInconsistency',
    ]);
    expect(await c.settle(zk.exists('/m/b'))).toBeNull();
    expect((await c.settle(zk.exists('/m')))?.version).toBe(1);
    expect(c.follower().status().digest).toBe(before);

    const badVersion = await c.settle(
      zk.multi([{ type: 'check', path: '/m', version: 0 }]).catch((e: unknown) => e),
    );
    expect(badVersion).toMatchObject({ code: 'BadVersion' });
    expect((badVersion as { results: { code: string }[] }).results.map((r) => r.code)).toEqual([
      'BadVersion',
    ]);
    expect(await c.settle(zk.multi([]))).toEqual([]);
  });

  it('multiRead answers each read on its own', async () => {
    const { c, zk } = await start(SEED + 9);
    await c.settle(zk.create('/r', enc('data')));
    await c.settle(zk.create('/r/k'));
    await c.settle(
      zk.create('/secret', enc('s'), {
        acl: [{ perms: PERMS.WRITE, id: { scheme: 'world', id: 'anyone' } }],
      }),
    );
    const results = await c.settle(
      zk.multiRead([
        { type: 'getData', path: '/r' },
        { type: 'getChildren', path: '/r' },
        { type: 'getData', path: '/gone' },
        { type: 'getChildren', path: '/secret' },
      ]),
    );
    expect(results).toHaveLength(4);
    const [r0, r1, r2, r3] = results;
    expect(r0?.ok && 'data' in r0 && dec(r0.data)).toBe('data');
    expect(r1?.ok && 'children' in r1 && r1.children).toEqual(['k']);
    expect(!r2?.ok && r2?.error.code).toBe('NoNode');
    expect(!r3?.ok && r3?.error.code).toBe('NoAuth');
  });

  it('getACL and setACL: aversion, BadVersion, NoAuth, InvalidACL, digest masking', async () => {
    const { c, zk } = await start(SEED + 10);
    await c.settle(zk.create('/acl', enc('v')));
    const { acl, stat } = await c.settle(zk.getACL('/acl'));
    expect(acl).toEqual([{ perms: PERMS.ALL, id: { scheme: 'world', id: 'anyone' } }]);
    expect(stat.aversion).toBe(0);
    expect(await c.settle(codeOf(zk.setACL('/acl', READ_ACL_UNSAFE, 5)))).toBe('BadVersion');
    expect(await c.settle(codeOf(zk.setACL('/acl', [])))).toBe('InvalidACL');
    expect(await c.settle(codeOf(zk.setACL('/nope', READ_ACL_UNSAFE)))).toBe('NoNode');
    const s1 = await c.settle(zk.setACL('/acl', READ_ACL_UNSAFE, 0));
    expect(s1.aversion).toBe(1);
    expect(s1.version).toBe(0);
    // Read-only now: writes and further ACL changes are refused; reads still work.
    expect(await c.settle(codeOf(zk.setData('/acl', enc('w'))))).toBe('NoAuth');
    expect(await c.settle(codeOf(zk.setACL('/acl', READ_ACL_UNSAFE)))).toBe('NoAuth');
    expect(await c.settle(codeOf(zk.create('/acl/kid')))).toBe('NoAuth');
    expect(dec((await c.settle(zk.getData('/acl'))).data)).toBe('v');
    expect((await c.settle(zk.getACL('/acl'))).acl).toEqual(READ_ACL_UNSAFE);
  });

  it('addAuth digest grants what a digest ACL allows; others get NoAuth', async () => {
    const { c, zk } = await start(SEED + 11);
    const stranger = await c.settle((await leaderOf(c)).session({ timeoutMs: 2000 }));
    expect(await c.settle(codeOf(zk.addAuth('digest', 'no-colon')))).toBe('AuthFailed');
    expect(await c.settle(codeOf(zk.addAuth('kerberos', 'a:b')))).toBe('AuthFailed');
    await c.settle(zk.addAuth('digest', 'alice:secret'));
    await c.settle(zk.create('/private', enc('mine'), { acl: CREATOR_ALL_ACL }));
    const { acl } = await c.settle(zk.getACL('/private'));
    expect(acl).toHaveLength(1);
    expect(acl[0]?.id.scheme).toBe('digest');
    expect(acl[0]?.id.id).toMatch(/^alice:[A-Za-z0-9+/]{27}=$/);
    expect(acl[0]?.perms).toBe(PERMS.ALL);

    expect(await c.settle(codeOf(stranger.getData('/private')))).toBe('NoAuth');
    expect(await c.settle(codeOf(stranger.setData('/private', enc('x'))))).toBe('NoAuth');
    expect(await c.settle(codeOf(stranger.getChildren('/private')))).toBe('NoAuth');
    expect(await c.settle(codeOf(stranger.getACL('/private')))).toBe('NoAuth');
    // Wrong password: still a stranger.
    await c.settle(stranger.addAuth('digest', 'alice:wrong'));
    expect(await c.settle(codeOf(stranger.getData('/private')))).toBe('NoAuth');
    // Right password on another session: allowed, from any member.
    await c.settle(stranger.addAuth('digest', 'alice:secret'));
    expect(dec((await c.settle(stranger.getData('/private'))).data)).toBe('mine');
    await c.settle(stranger.setData('/private', enc('ours')));
    expect(dec((await c.settle(zk.getData('/private', { linearizable: true }))).data)).toBe('ours');
  });

  it('superIds pass every ACL', async () => {
    const { createHash } = await import('node:crypto');
    const digest = `root:${createHash('sha1').update('root:pw').digest('base64')}`;
    cluster = await TestCluster.start({
      size: 3,
      seed: SEED + 12,
      node: { superIds: [{ scheme: 'digest', id: digest }] },
    });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 2000 }));
    await c.settle(
      zk.create('/locked', enc('x'), {
        acl: [{ perms: 0, id: { scheme: 'world', id: 'anyone' } }],
      }),
    );
    expect(await c.settle(codeOf(zk.getData('/locked')))).toBe('NoAuth');
    await c.settle(zk.addAuth('digest', 'root:pw'));
    expect(dec((await c.settle(zk.getData('/locked'))).data)).toBe('x');
    await c.settle(zk.delete('/locked'));
    expect(await c.settle(zk.exists('/locked'))).toBeNull();
  });

  it('local reads may be stale; sync() and linearizable reads are not', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 13 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [lagging, other] = followersOf(c, leader) as [typeof leader, typeof leader];
    const writer = await c.settle(leader.session({ timeoutMs: 5000 }));
    const reader = await c.settle(lagging.session({ timeoutMs: 5000 }));
    await c.settle(writer.create('/v', enc('1')));
    await c.waitFor(() => lagging.status().applied >= leader.status().commit, 5000, 'caught up');
    c.network.partition([lagging.id], [leader.id, other.id]);
    await c.settle(writer.setData('/v', enc('2')));
    // The write is acknowledged; the cut-off member still answers its local read with the old value.
    expect(dec((await c.settle(reader.getData('/v'))).data)).toBe('1');
    // A linearizable read cannot be confirmed there: it fails rather than answer stale.
    expect(await c.settle(codeOf(reader.getData('/v', { linearizable: true })), 5000)).toBe(
      'ConnectionLoss',
    );
    c.network.heal();
    await c.settle(reader.sync());
    expect(dec((await c.settle(reader.getData('/v'))).data)).toBe('2');
    await c.settle(writer.setData('/v', enc('3')));
    expect(dec((await c.settle(reader.getData('/v', { linearizable: true }))).data)).toBe('3');
  });

  it('every call on a closed session fails with SessionExpired', async () => {
    const { c, zk } = await start(SEED + 14);
    await c.settle(zk.create('/c'));
    await c.settle(zk.close());
    expect(zk.state).toBe('closed');
    await c.settle(zk.close()); // closing twice is harmless
    const calls: (() => unknown)[] = [
      () => zk.create('/c/x'),
      () => zk.setData('/c', enc('')),
      () => zk.delete('/c'),
      () => zk.getData('/c'),
      () => zk.exists('/c'),
      () => zk.getChildren('/c'),
      () => zk.getACL('/c'),
      () => zk.sync(),
      () => zk.multiRead([]),
      () => zk.transaction().check('/c', 0).commit(),
      () => zk.watch('/c'),
    ];
    for (const call of calls) expect(await c.settle(codeOfCall(call))).toBe('SessionExpired');
  });

  it('a closed node fails calls with ConnectionLoss', async () => {
    const { c, zk } = await start(SEED + 15);
    const node = c.follower();
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    await c.kill(node.id);
    expect(zk.state).toBe('closed');
    expect(states).toEqual(['closed']);
    expect(await c.settle(codeOfCall(() => node.session()))).toBe('ConnectionLoss');
    expect(await c.settle(codeOfCall(() => zk.getData('/')))).toBe('ConnectionLoss');
  });
});
