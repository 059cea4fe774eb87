// Proves three places where Cairn answered differently from a ZooKeeper 3.8 server, each now
// matched. (1) Stat's version, cversion and aversion are Java `int`s that ZooKeeper increments
// with plain int arithmetic (PrepRequestProcessor.checkAndIncVersion returns `currentVersion + 1`;
// pRequest2TxnCreate computes `parentRecord.stat.getCversion() + 1`), so past 2147483647 they wrap
// to -2147483648, and a conditional write naming the wrapped version succeeds; Cairn counted on
// past the int range, which a jute Stat cannot carry and which no client-sent version can match.
// (2) `/zookeeper/config` is created READ-only for world:anyone (DataTree.addConfigNode calls
// `setACL(CONFIG_ZOOKEEPER, READ_ACL_UNSAFE, -1)`, ZOOKEEPER-2014), and DataTree.setACL stores the
// version it is given, so that node's aversion is -1. (3) getEphemerals treats a blank prefix or
// one that trims to "/" as "all" (FinalRequestProcessor, OpCode.getEphemerals: `prefixPath.trim()`),
// and otherwise matches by string prefix, so "/a" also finds "/ab".
import { PERMS, readSnapshot, type Txn, writeSnapshot } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { created, EMPTY, Harness, OPEN, okOp, opError } from './harness.js';

const INT_MAX = 2_147_483_647;
const INT_MIN = -2_147_483_648;

describe('Stat counters wrap like Java ints', () => {
  it('setData past version 2147483647 gives -2147483648, and that version matches', () => {
    const h = new Harness();
    const s = h.openSession(1n);
    h.mustCreate(s, '/n');
    const node = h.tree.node('/n');
    if (node === undefined) throw new Error('no /n');
    h.tree.modify('/n', node, () => {
      node.version = INT_MAX;
    });
    const first = okOp(h.setData(s, '/n', new Uint8Array([1]), INT_MAX));
    expect(first).toMatchObject({ type: 'setData', stat: { version: INT_MIN } });
    const second = okOp(h.setData(s, '/n', new Uint8Array([2]), INT_MIN));
    expect(second).toMatchObject({ type: 'setData', stat: { version: INT_MIN + 1 } });
  });

  it('a create past cversion 2147483647 leaves the parent at -2147483648', () => {
    const h = new Harness();
    const s = h.openSession(1n);
    h.mustCreate(s, '/p');
    const parent = h.tree.node('/p');
    if (parent === undefined) throw new Error('no /p');
    h.tree.modify('/p', parent, () => {
      parent.cversion = INT_MAX;
    });
    expect(created(h.create(s, '/p/q-', { mode: 'persistent-sequential' })).path).toBe(
      '/p/q-2147483647',
    );
    // The stored counter wrapped to INT_MIN; the Stat reports INT_MIN * 2 - 1 child = -1 in
    // Java int arithmetic (DataNode.copyStat), then (INT_MIN + 1) * 2 - 2 children = 0.
    expect(h.tree.node('/p')?.cversion).toBe(INT_MIN);
    expect(h.stat('/p').cversion).toBe(-1);
    expect(created(h.create(s, '/p/q-', { mode: 'persistent-sequential' })).path).toBe(
      '/p/q--2147483648',
    );
    expect(h.tree.node('/p')?.cversion).toBe(INT_MIN + 1);
    expect(h.stat('/p').cversion).toBe(0);
  });

  it('setACL past aversion 2147483647 gives -2147483648, and a snapshot keeps it', async () => {
    const h = new Harness();
    const s = h.openSession(1n);
    h.mustCreate(s, '/a');
    const node = h.tree.node('/a');
    if (node === undefined) throw new Error('no /a');
    h.tree.modify('/a', node, () => {
      node.aversion = INT_MAX;
    });
    const open = [{ perms: PERMS.ALL, id: { scheme: 'world', id: 'anyone' } }];
    expect(okOp(h.setACL(s, '/a', open, INT_MAX))).toMatchObject({
      stat: { aversion: INT_MIN },
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeSnapshot(h.tree)) chunks.push(chunk);
    const restored = await readSnapshot(chunks);
    expect(restored.node('/a')?.stat().aversion).toBe(INT_MIN);
    expect(restored.digest()).toBe(h.tree.digest());
  });
});

describe('/zookeeper/config as ZooKeeper creates it', () => {
  it('is READ for world:anyone with aversion -1, and survives a snapshot', async () => {
    const h = new Harness();
    const got = h.tree.getACL('/zookeeper/config', null);
    expect(got).toMatchObject({
      ok: true,
      value: {
        acl: [{ perms: PERMS.READ, id: { scheme: 'world', id: 'anyone' } }],
        stat: { aversion: -1, version: 0 },
      },
    });
    const s = h.openSession(1n);
    expect(
      h.apply({ type: 'check', sessionId: s, path: '/zookeeper/config', version: 0 }).result.ok,
    ).toBe(true);
    expect(opError(h.setData(s, '/zookeeper/config', new Uint8Array(1))).code).toBe('BadArguments');
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeSnapshot(h.tree)) chunks.push(chunk);
    const restored = await readSnapshot(chunks);
    expect(restored.getACL('/zookeeper/config', null)).toEqual(got);
  });
});

describe('getEphemerals prefix as FinalRequestProcessor reads it', () => {
  it('answers all for a blank prefix or one that trims to "/", and matches by string prefix', () => {
    const h = new Harness();
    const s = h.openSession(1n);
    h.mustCreate(s, '/a', { mode: 'ephemeral' });
    h.mustCreate(s, '/ab', { mode: 'ephemeral' });
    for (const prefix of ['', '  ', ' / ', '/'])
      expect(h.tree.getEphemerals(s, prefix)).toEqual(['/a', '/ab']);
    expect(h.tree.getEphemerals(s, '/a')).toEqual(['/a', '/ab']);
    expect(h.tree.getEphemerals(s, '/ab')).toEqual(['/ab']);
    expect(h.tree.getEphemerals(s, ' /a')).toEqual([]);
  });
});

describe('an unknown create mode', () => {
  it('is refused with BadArguments (CreateMode.fromFlag), never made a persistent node', () => {
    const h = new Harness();
    const s1 = h.openSession(1n);
    const txn = {
      type: 'create',
      sessionId: s1,
      path: '/x',
      data: EMPTY,
      acl: OPEN,
      mode: 'persistent-forever',
    };
    const { result } = h.apply(txn as unknown as Txn);
    expect(result).toEqual({ ok: false, type: 'op', error: { code: 'BadArguments', path: '/x' } });
    expect(h.tree.node('/x')).toBeUndefined();
  });
});
