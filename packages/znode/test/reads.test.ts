// Proves the read side of the tree (ZOOKEEPER.md §1.3): getData, exists (null for a missing
// node), getChildren, getAllChildrenNumber (all descendants, as DataTree counts them),
// getEphemerals (the session's own, filtered by prefix, sorted), getACL, and multiRead, whose
// results are independent rather than all-or-nothing; reads never change the tree. Also that
// `/zookeeper`, `/zookeeper/config` and `/zookeeper/quota` exist from the start, can be read, and
// refuse every write.
import { PERMS, type SessionId, sessionId } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, dumpTree, Harness, OPEN, opError } from './harness.js';

function setup(): { h: Harness; s1: SessionId; s2: SessionId } {
  const h = new Harness();
  const s1 = h.openSession(1n);
  const s2 = h.openSession(2n);
  h.mustCreate(s1, '/app', { data: bytes('root') });
  h.mustCreate(s1, '/app/a');
  h.mustCreate(s1, '/app/a/x');
  h.mustCreate(s1, '/app/a/x/deep');
  h.mustCreate(s1, '/app/b');
  h.mustCreate(s1, '/app/lock-', { mode: 'ephemeral-sequential' });
  h.mustCreate(s1, '/app/a/e1', { mode: 'ephemeral' });
  h.mustCreate(s2, '/app/b/e2', { mode: 'ephemeral' });
  h.mustCreate(s1, '/other', { mode: 'ephemeral' });
  return { h, s1, s2 };
}

describe('reads', () => {
  it('getData returns the data and the Stat', () => {
    const { h, s1 } = setup();
    const read = h.tree.getData('/app', s1);
    expect(read.ok && [...read.value.data]).toEqual([...bytes('root')]);
    expect(read.ok && read.value.stat).toEqual(h.stat('/app'));
  });

  it('getData, getChildren and getAllChildrenNumber say NoNode for a missing node', () => {
    const { h, s1 } = setup();
    const noNode = { ok: false, error: { code: 'NoNode', path: '/app/none' } };
    expect(h.tree.getData('/app/none', s1)).toEqual(noNode);
    expect(h.tree.getChildren('/app/none', s1)).toEqual(noNode);
    expect(h.tree.getAllChildrenNumber('/app/none', s1)).toEqual(noNode);
    expect(h.tree.getACL('/app/none', s1)).toEqual(noNode);
  });

  it('exists returns the Stat, or null for a missing node', () => {
    const { h, s1 } = setup();
    expect(h.tree.exists('/app/a', s1)).toEqual({ ok: true, value: h.stat('/app/a') });
    expect(h.tree.exists('/app/none', s1)).toEqual({ ok: true, value: null });
    expect(h.tree.exists('/none/deeper', s1)).toEqual({ ok: true, value: null });
  });

  it('every read says BadArguments for an invalid path', () => {
    const { h, s1 } = setup();
    for (const path of ['', 'app', '/app/', '//']) {
      expect(h.tree.getData(path, s1)).toMatchObject({
        ok: false,
        error: { code: 'BadArguments' },
      });
      expect(h.tree.exists(path, s1)).toMatchObject({ ok: false, error: { code: 'BadArguments' } });
      expect(h.tree.getChildren(path, s1)).toMatchObject({
        ok: false,
        error: { code: 'BadArguments' },
      });
      expect(h.tree.getACL(path, s1)).toMatchObject({ ok: false, error: { code: 'BadArguments' } });
    }
  });

  it('getChildren lists the names of the direct children with the Stat', () => {
    const { h, s1 } = setup();
    const read = h.tree.getChildren('/app', s1);
    expect(read.ok && read.value.children).toEqual(['a', 'b', 'lock-0000000002']);
    expect(read.ok && read.value.stat.numChildren).toBe(3);
    expect(h.tree.getChildren('/app/a/x/deep', s1)).toMatchObject({
      ok: true,
      value: { children: [] },
    });
  });

  it('getChildren lists names sorted, whatever order they were created in', () => {
    const { h, s1 } = setup();
    for (const name of ['z', 'm', 'a']) h.mustCreate(s1, `/app/b/${name}`);
    h.delete(s1, '/app/b/e2');
    h.mustCreate(s1, '/app/b/e2');
    expect(h.tree.getChildren('/app/b', s1)).toMatchObject({
      ok: true,
      value: { children: ['a', 'e2', 'm', 'z'] },
    });
  });

  it('getChildren returns a copy the caller may change', () => {
    const { h, s1 } = setup();
    const read = h.tree.getChildren('/app', s1);
    if (read.ok) read.value.children.push('bogus');
    expect(h.stat('/app').numChildren).toBe(3);
  });

  it('getAllChildrenNumber counts every descendant, not the node itself', () => {
    const { h, s1 } = setup();
    expect(h.tree.getAllChildrenNumber('/app', s1)).toEqual({ ok: true, value: 7 });
    expect(h.tree.getAllChildrenNumber('/app/a', s1)).toEqual({ ok: true, value: 3 });
    expect(h.tree.getAllChildrenNumber('/app/b/e2', s1)).toEqual({ ok: true, value: 0 });
    // Like DataTree: for / everything but the root, the /zookeeper nodes included.
    expect(h.tree.getAllChildrenNumber('/', s1)).toEqual({ ok: true, value: h.tree.size() - 1 });
  });

  it('getEphemerals lists the session’s own ephemerals under a prefix, sorted', () => {
    const { h, s1, s2 } = setup();
    expect(h.tree.getEphemerals(s1, '/')).toEqual(['/app/a/e1', '/app/lock-0000000002', '/other']);
    expect(h.tree.getEphemerals(s1, '/app')).toEqual(['/app/a/e1', '/app/lock-0000000002']);
    expect(h.tree.getEphemerals(s1, '/app/l')).toEqual(['/app/lock-0000000002']);
    expect(h.tree.getEphemerals(s1, '/app/b')).toEqual([]);
    expect(h.tree.getEphemerals(s2, '/')).toEqual(['/app/b/e2']);
    expect(h.tree.getEphemerals(sessionId(404n), '/')).toEqual([]);
  });

  it('multiRead answers each read on its own: a failure does not spoil the others', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/secret', {
      acl: [{ perms: PERMS.ALL & ~PERMS.READ, id: { scheme: 'world', id: 'anyone' } }],
    });
    const results = h.tree.multiRead(
      [
        { type: 'getData', path: '/app' },
        { type: 'getChildren', path: '/app/none' },
        { type: 'getChildren', path: '/app/a' },
        { type: 'getData', path: '/app/secret' },
        { type: 'getData', path: 'bad' },
      ],
      s1,
    );
    expect(results.map((result) => (result.ok ? 'ok' : result.error.code))).toEqual([
      'ok',
      'NoNode',
      'ok',
      'NoAuth',
      'BadArguments',
    ]);
    expect(results[2]).toMatchObject({ ok: true, value: { stat: h.stat('/app/a') } });
  });

  it('an empty multiRead answers nothing', () => {
    const { h, s1 } = setup();
    expect(h.tree.multiRead([], s1)).toEqual([]);
  });

  it('reads change nothing', () => {
    const { h, s1 } = setup();
    const before = dumpTree(h.tree);
    h.tree.getData('/app', s1);
    h.tree.getChildren('/app', s1);
    h.tree.exists('/app/none', s1);
    h.tree.getACL('/app', s1);
    h.tree.getAllChildrenNumber('/', s1);
    h.tree.multiRead([{ type: 'getData', path: '/app' }], s1);
    expect(dumpTree(h.tree)).toEqual(before);
  });

  it('watchState gives mzxid and pzxid for setWatches, null for a missing node', () => {
    const { h, s1 } = setup();
    h.setData(s1, '/app/b', bytes('x'));
    const stat = h.stat('/app/b');
    expect(h.tree.watchState('/app/b')).toEqual({ mzxid: stat.mzxid, pzxid: stat.pzxid });
    expect(h.tree.watchState('/app/none')).toBeNull();
  });
});

describe('the reserved /zookeeper subtree', () => {
  it('exists in a new tree: /, /zookeeper, /zookeeper/config, /zookeeper/quota', () => {
    const h = new Harness();
    expect(h.tree.size()).toBe(4);
    expect([...h.tree.paths()]).toEqual([
      '/',
      '/zookeeper',
      '/zookeeper/config',
      '/zookeeper/quota',
    ]);
    expect(h.tree.getChildren('/', null)).toMatchObject({
      ok: true,
      value: { children: ['zookeeper'] },
    });
    expect(h.tree.getChildren('/zookeeper', null)).toMatchObject({
      ok: true,
      value: { children: ['config', 'quota'] },
    });
    for (const path of ['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']) {
      expect(h.tree.getData(path, null)).toMatchObject({
        ok: true,
        value: { stat: { czxid: 0, version: 0 } },
      });
      // /zookeeper/config is READ-only with aversion -1, as DataTree.addConfigNode leaves it.
      const config = path === '/zookeeper/config';
      expect(h.tree.getACL(path, null)).toMatchObject({
        ok: true,
        value: {
          acl: config ? [{ perms: PERMS.READ, id: { scheme: 'world', id: 'anyone' } }] : OPEN,
          stat: { aversion: config ? -1 : 0 },
        },
      });
    }
  });

  it('starts with an empty digest-consistent tree that every replica agrees on', () => {
    expect(new Harness().tree.digest()).toBe(new Harness().tree.digest());
  });

  it('refuses creates, deletes, setData and setACL anywhere in it', () => {
    const h = new Harness();
    const s1 = h.openSession(1n);
    expect(opError(h.create(s1, '/zookeeper/mine')).code).toBe('BadArguments');
    expect(opError(h.create(s1, '/zookeeper/quota/app')).code).toBe('BadArguments');
    expect(opError(h.create(s1, '/zookeeper/s-', { mode: 'persistent-sequential' })).code).toBe(
      'BadArguments',
    );
    expect(opError(h.delete(s1, '/zookeeper/config')).code).toBe('BadArguments');
    expect(opError(h.setData(s1, '/zookeeper/quota', bytes('x'))).code).toBe('BadArguments');
    expect(opError(h.setACL(s1, '/zookeeper', OPEN)).code).toBe('BadArguments');
    expect(
      h.multi(s1, [{ type: 'delete', path: '/zookeeper/quota', version: -1 }]).result,
    ).toMatchObject({
      ok: false,
      error: { code: 'BadArguments' },
    });
  });

  it('does not reserve names that merely start with "zookeeper"', () => {
    const h = new Harness();
    const s1 = h.openSession(1n);
    expect(h.mustCreate(s1, '/zookeeper2').path).toBe('/zookeeper2');
  });
});
