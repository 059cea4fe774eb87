// Proves delete, setData, setACL and check as ZooKeeper 3.8 applies them (ZOOKEEPER.md §1.2,
// §1.3, §1.5; PrepRequestProcessor's check order per opcode; RELIABILITY.md §4.3): what each
// changes in the node's and the parent's Stat (and what it leaves alone), the events it fires,
// and each error with the code ZooKeeper would return, first-checked first when two apply.
// Every failure is shown to leave the tree as it was.
import { type Acl, PERMS, type SessionId } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, dumpTree, eventLines, Harness, OPEN, okOp, opError } from './harness.js';

const BOB = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };
const allBut = (perm: number): readonly Acl[] => [
  { perms: PERMS.ALL & ~perm, id: { scheme: 'world', id: 'anyone' } },
];

function setup(options: ConstructorParameters<typeof Harness>[0] = {}): {
  h: Harness;
  s1: SessionId;
} {
  const h = new Harness(options);
  const s1 = h.openSession(1n);
  h.mustCreate(s1, '/app', { data: bytes('v0') });
  return { h, s1 };
}

/** Applies `run`, which must fail; checks nothing but lastZxid moved and returns the error. */
function failing(
  h: Harness,
  run: () => ReturnType<Harness['apply']>,
): { code: string; path?: string } {
  const before = { ...(dumpTree(h.tree) as object), lastZxid: 0 };
  const error = opError(run());
  expect({ ...(dumpTree(h.tree) as object), lastZxid: 0 }).toEqual(before);
  return error;
}

describe('delete', () => {
  it('deletes with version -1 whatever the version is', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    h.setData(s1, '/app/a', bytes('x'));
    h.setData(s1, '/app/a', bytes('y'));
    expect(okOp(h.delete(s1, '/app/a', -1))).toEqual({ type: 'delete' });
    expect(h.tree.node('/app/a')).toBeUndefined();
  });

  it('deletes with the exact version and refuses any other with BadVersion', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    h.setData(s1, '/app/a', bytes('x'));
    expect(failing(h, () => h.delete(s1, '/app/a', 0))).toEqual({
      code: 'BadVersion',
      path: '/app/a',
    });
    expect(failing(h, () => h.delete(s1, '/app/a', 2)).code).toBe('BadVersion');
    expect(h.delete(s1, '/app/a', 1).result.ok).toBe(true);
  });

  it("moves the parent's pzxid to the zxid, drops the child, and counts the delete in the reported cversion", () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    h.mustCreate(s1, '/app/b');
    const before = h.stat('/app');
    h.delete(s1, '/app/a');
    // ZooKeeper stores creates only and reports creates * 2 - children (DataNode.copyStat).
    expect(h.stat('/app')).toEqual({
      ...before,
      pzxid: h.zxid,
      numChildren: 1,
      cversion: before.cversion + 1,
    });
  });

  it('fires NodeDeleted for the node, then NodeChildrenChanged for its parent', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    const outcome = h.delete(s1, '/app/a');
    expect(eventLines(outcome)).toEqual(['NodeDeleted /app/a', 'NodeChildrenChanged /app']);
    expect(outcome.events.every((event) => event.zxid === h.zxid)).toBe(true);
  });

  it('removes a deleted ephemeral from its session', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral' });
    h.delete(s1, '/app/e');
    expect(h.tree.getEphemerals(s1, '/')).toEqual([]);
  });

  it('lets any session delete another session’s ephemeral', () => {
    const { h, s1 } = setup();
    const s2 = h.openSession(2n);
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral' });
    expect(h.delete(s2, '/app/e').result.ok).toBe(true);
    expect(h.tree.getEphemerals(s1, '/')).toEqual([]);
  });

  it('NotEmpty for a node with children', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a');
    expect(failing(h, () => h.delete(s1, '/app'))).toEqual({ code: 'NotEmpty', path: '/app' });
  });

  it('NoNode for a missing node, and for a missing parent (reporting the parent)', () => {
    const { h, s1 } = setup();
    expect(failing(h, () => h.delete(s1, '/app/gone'))).toEqual({
      code: 'NoNode',
      path: '/app/gone',
    });
    expect(failing(h, () => h.delete(s1, '/gone/child'))).toEqual({
      code: 'NoNode',
      path: '/gone',
    });
  });

  it('NoAuth without DELETE on the parent; the node’s own ACL does not matter', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/guarded', { acl: allBut(PERMS.DELETE) });
    h.mustCreate(s1, '/app/guarded/x');
    expect(failing(h, () => h.delete(s1, '/app/guarded/x')).code).toBe('NoAuth');
    h.mustCreate(s1, '/app/sealed', { acl: [{ perms: PERMS.ALL, id: BOB }] });
    expect(h.delete(s1, '/app/sealed').result.ok).toBe(true);
  });

  it('checks in ZooKeeper’s order: NoAuth before NoNode of the child, BadVersion before NotEmpty', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/guarded', { acl: allBut(PERMS.DELETE) });
    h.mustCreate(s1, '/app/guarded/x');
    expect(failing(h, () => h.delete(s1, '/app/guarded/missing')).code).toBe('NoAuth');
    expect(failing(h, () => h.delete(s1, '/app/guarded/x', 7)).code).toBe('NoAuth');
    expect(failing(h, () => h.delete(s1, '/app', 7)).code).toBe('BadVersion');
  });

  for (const path of ['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']) {
    it(`BadArguments for the reserved path ${path}`, () => {
      const { h, s1 } = setup();
      expect(failing(h, () => h.delete(s1, path))).toEqual({ code: 'BadArguments', path });
    });
  }

  it('BadArguments for an invalid path, before looking anything up', () => {
    const { h, s1 } = setup();
    for (const path of ['', 'app', '/app/', '/app//x', '/app/..']) {
      expect(failing(h, () => h.delete(s1, path)).code).toBe('BadArguments');
    }
  });
});

describe('setData', () => {
  it('bumps version by exactly one per write and moves mzxid and mtime, nothing else', () => {
    const { h, s1 } = setup();
    const created = h.stat('/app');
    for (let i = 1; i <= 5; i++) {
      const result = okOp(h.setData(s1, '/app', bytes('x'.repeat(i))));
      const expected = { ...created, version: i, mzxid: h.zxid, mtime: h.now, dataLength: i };
      expect(result).toEqual({ type: 'setData', stat: expected });
      expect(h.stat('/app')).toEqual(expected);
    }
  });

  it('stores the new data for reads', () => {
    const { h, s1 } = setup();
    h.setData(s1, '/app', bytes('new'));
    const read = h.tree.getData('/app', s1);
    expect(read.ok && [...read.value.data]).toEqual([...bytes('new')]);
  });

  it('accepts empty data and counts it as a change', () => {
    const { h, s1 } = setup();
    expect(okOp(h.setData(s1, '/app', new Uint8Array(0)))).toMatchObject({
      stat: { version: 1, dataLength: 0 },
    });
  });

  it('writes with the exact version; BadVersion for any other', () => {
    const { h, s1 } = setup();
    expect(failing(h, () => h.setData(s1, '/app', bytes('x'), 1))).toEqual({
      code: 'BadVersion',
      path: '/app',
    });
    expect(h.setData(s1, '/app', bytes('x'), 0).result.ok).toBe(true);
    expect(failing(h, () => h.setData(s1, '/app', bytes('y'), 0)).code).toBe('BadVersion');
    expect(h.setData(s1, '/app', bytes('y'), 1).result.ok).toBe(true);
  });

  it('fires NodeDataChanged for the node only', () => {
    const { h, s1 } = setup();
    expect(eventLines(h.setData(s1, '/app', bytes('x')))).toEqual(['NodeDataChanged /app']);
  });

  it('NoNode for a missing node', () => {
    const { h, s1 } = setup();
    expect(failing(h, () => h.setData(s1, '/app/none', bytes('x')))).toEqual({
      code: 'NoNode',
      path: '/app/none',
    });
  });

  it('NoAuth without WRITE on the node; WRITE alone is enough', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/ro', { acl: allBut(PERMS.WRITE) });
    expect(failing(h, () => h.setData(s1, '/app/ro', bytes('x'))).code).toBe('NoAuth');
    h.mustCreate(s1, '/app/wo', {
      acl: [{ perms: PERMS.WRITE, id: { scheme: 'world', id: 'anyone' } }],
    });
    expect(h.setData(s1, '/app/wo', bytes('x')).result.ok).toBe(true);
  });

  it('checks NoAuth before BadVersion', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/ro', { acl: allBut(PERMS.WRITE) });
    expect(failing(h, () => h.setData(s1, '/app/ro', bytes('x'), 9)).code).toBe('NoAuth');
  });

  it('BadArguments for data over dataBytesMax, even on a missing node', () => {
    const { h, s1 } = setup({ dataBytesMax: 3 });
    expect(failing(h, () => h.setData(s1, '/app', bytes('1234'))).code).toBe('BadArguments');
    expect(failing(h, () => h.setData(s1, '/app/none', bytes('1234'))).code).toBe('BadArguments');
    expect(h.setData(s1, '/app', bytes('123')).result.ok).toBe(true);
  });

  it('BadArguments for the read-only /zookeeper subtree and for invalid paths', () => {
    const { h, s1 } = setup();
    for (const path of ['/zookeeper', '/zookeeper/config', '/zookeeper/quota', 'app', '/app/']) {
      expect(failing(h, () => h.setData(s1, path, bytes('x'))).code).toBe('BadArguments');
    }
  });
});

describe('setACL', () => {
  it('replaces the ACL and bumps aversion only: no event, mzxid and version unchanged', () => {
    const { h, s1 } = setup();
    const before = h.stat('/app');
    const readOnly = [{ perms: PERMS.READ | PERMS.ADMIN, id: { scheme: 'world', id: 'anyone' } }];
    const outcome = h.setACL(s1, '/app', readOnly);
    expect(okOp(outcome)).toEqual({ type: 'setACL', stat: { ...before, aversion: 1 } });
    expect(outcome.events).toEqual([]);
    expect(h.tree.getACL('/app', s1)).toEqual({
      ok: true,
      value: { acl: readOnly, stat: { ...before, aversion: 1 } },
    });
    expect(opError(h.setData(s1, '/app', bytes('x'))).code).toBe('NoAuth');
  });

  it('needs ADMIN on the node; ADMIN alone is enough', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/a', { acl: allBut(PERMS.ADMIN) });
    expect(failing(h, () => h.setACL(s1, '/app/a', OPEN))).toEqual({
      code: 'NoAuth',
      path: '/app/a',
    });
    h.mustCreate(s1, '/app/b', {
      acl: [{ perms: PERMS.ADMIN, id: { scheme: 'world', id: 'anyone' } }],
    });
    expect(h.setACL(s1, '/app/b', OPEN).result.ok).toBe(true);
  });

  it('checks the version against aversion, not the data version', () => {
    const { h, s1 } = setup();
    h.setData(s1, '/app', bytes('x'));
    expect(failing(h, () => h.setACL(s1, '/app', OPEN, 1))).toEqual({
      code: 'BadVersion',
      path: '/app',
    });
    expect(okOp(h.setACL(s1, '/app', OPEN, 0))).toMatchObject({
      stat: { version: 1, aversion: 1 },
    });
    expect(okOp(h.setACL(s1, '/app', OPEN, 1))).toMatchObject({ stat: { aversion: 2 } });
  });

  it('InvalidACL for an invalid list, checked before NoNode (fixupACL runs first)', () => {
    const { h, s1 } = setup();
    expect(failing(h, () => h.setACL(s1, '/app', []))).toEqual({
      code: 'InvalidACL',
      path: '/app',
    });
    expect(failing(h, () => h.setACL(s1, '/none', [])).code).toBe('InvalidACL');
    expect(failing(h, () => h.setACL(s1, '/none', OPEN))).toEqual({
      code: 'NoNode',
      path: '/none',
    });
  });

  it('expands auth to the session’s authenticated ids and removes duplicates', () => {
    const { h, s1 } = setup();
    h.apply({ type: 'addAuth', sessionId: s1, id: BOB });
    const acl = [
      { perms: PERMS.ALL, id: { scheme: 'auth', id: '' } },
      { perms: PERMS.ALL, id: BOB },
    ];
    h.setACL(s1, '/app', acl);
    expect(h.tree.getACL('/app', s1)).toMatchObject({
      ok: true,
      value: { acl: [{ perms: PERMS.ALL, id: BOB }] },
    });
  });

  it('BadArguments in the read-only /zookeeper subtree', () => {
    const { h, s1 } = setup();
    expect(failing(h, () => h.setACL(s1, '/zookeeper/config', OPEN)).code).toBe('BadArguments');
  });
});

describe('check', () => {
  it('passes with -1 or the current version and changes nothing but the last zxid', () => {
    const { h, s1 } = setup();
    const before = { ...(dumpTree(h.tree) as object), lastZxid: 0 };
    expect(okOp(h.apply({ type: 'check', sessionId: s1, path: '/app', version: -1 }))).toEqual({
      type: 'check',
    });
    expect(okOp(h.apply({ type: 'check', sessionId: s1, path: '/app', version: 0 }))).toEqual({
      type: 'check',
    });
    expect({ ...(dumpTree(h.tree) as object), lastZxid: 0 }).toEqual(before);
  });

  it('BadVersion for another version, NoNode for a missing node, NoAuth without READ', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/secret', { acl: allBut(PERMS.READ) });
    const check = (path: string, version: number) => () =>
      h.apply({ type: 'check', sessionId: s1, path, version });
    expect(failing(h, check('/app', 3))).toEqual({ code: 'BadVersion', path: '/app' });
    expect(failing(h, check('/app/none', -1))).toEqual({ code: 'NoNode', path: '/app/none' });
    expect(failing(h, check('/app/secret', -1))).toEqual({ code: 'NoAuth', path: '/app/secret' });
  });

  it('may check the read-only /zookeeper nodes', () => {
    const { h, s1 } = setup();
    expect(
      h.apply({ type: 'check', sessionId: s1, path: '/zookeeper/config', version: 0 }).result.ok,
    ).toBe(true);
  });
});
