// Proves multi as ZooKeeper applies it (ZOOKEEPER.md §1.4, RELIABILITY.md §3.3, §4.3): all ops
// share one zxid and see each other's effects in order; it is all or nothing, so on a failure
// the ops before report Ok, the failing one its code and the ones after RuntimeInconsistency,
// while the tree (every node, session, ephemeral list and the digest) stays exactly as it was
// and no event fires. Also: create-then-delete of one node, parent and child in one multi,
// sequential names inside a multi, and the empty multi (ZOOKEEPER-3895).
import { type SessionId, sessionId, type WriteOp } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  createOp,
  dumpTree,
  eventLines,
  Harness,
  multiFailure,
  multiResults,
  opError,
} from './harness.js';

function setup(): { h: Harness; s1: SessionId } {
  const h = new Harness();
  const s1 = h.openSession(1n);
  h.mustCreate(s1, '/app', { data: bytes('v0') });
  h.mustCreate(s1, '/app/old', { data: bytes('old') });
  return { h, s1 };
}

/** The tree's image without lastZxid, which every txn moves, failed or not. */
function image(h: Harness): unknown {
  return { ...(dumpTree(h.tree) as object), lastZxid: 0 };
}

describe('multi: success', () => {
  it('applies every op at one zxid and returns a result per op', () => {
    const { h, s1 } = setup();
    const results = multiResults(
      h.multi(s1, [
        createOp('/app/a'),
        { type: 'setData', path: '/app', data: bytes('v1'), version: 0 },
        { type: 'check', path: '/app', version: 1 },
        { type: 'delete', path: '/app/old', version: 0 },
      ]),
    );
    expect(results.map((result) => result.type)).toEqual(['create', 'setData', 'check', 'delete']);
    expect(h.stat('/app/a').czxid).toBe(h.zxid);
    expect(h.stat('/app')).toMatchObject({ mzxid: h.zxid, pzxid: h.zxid, version: 1 });
    expect(h.tree.node('/app/old')).toBeUndefined();
  });

  it('fires the events of every op, in op order', () => {
    const { h, s1 } = setup();
    const outcome = h.multi(s1, [
      createOp('/app/a'),
      { type: 'setData', path: '/app/a', data: bytes('x'), version: 0 },
      { type: 'delete', path: '/app/old', version: -1 },
    ]);
    expect(eventLines(outcome)).toEqual([
      'NodeCreated /app/a',
      'NodeChildrenChanged /app',
      'NodeDataChanged /app/a',
      'NodeDeleted /app/old',
      'NodeChildrenChanged /app',
    ]);
    expect(outcome.events.every((event) => event.zxid === h.zxid)).toBe(true);
  });

  it('creates and deletes the same node in one multi, leaving only the parent changed', () => {
    const { h, s1 } = setup();
    const before = h.stat('/app');
    const outcome = h.multi(s1, [
      createOp('/app/tmp'),
      { type: 'delete', path: '/app/tmp', version: 0 },
    ]);
    expect(multiResults(outcome).map((result) => result.type)).toEqual(['create', 'delete']);
    expect(h.tree.node('/app/tmp')).toBeUndefined();
    // One child created and deleted: two child changes in the reported cversion.
    expect(h.stat('/app')).toEqual({ ...before, cversion: before.cversion + 2, pzxid: h.zxid });
    expect(eventLines(outcome)).toEqual([
      'NodeCreated /app/tmp',
      'NodeChildrenChanged /app',
      'NodeDeleted /app/tmp',
      'NodeChildrenChanged /app',
    ]);
  });

  it('creates a parent and its child in one multi', () => {
    const { h, s1 } = setup();
    multiResults(h.multi(s1, [createOp('/app/p'), createOp('/app/p/c', { mode: 'ephemeral' })]));
    expect(h.stat('/app/p')).toMatchObject({
      numChildren: 1,
      cversion: 1,
      czxid: h.zxid,
      pzxid: h.zxid,
    });
    expect(h.tree.getEphemerals(s1, '/app/p')).toEqual(['/app/p/c']);
  });

  it('names sequential creates in one multi with consecutive counters', () => {
    const { h, s1 } = setup();
    const results = multiResults(
      h.multi(s1, [
        createOp('/app/q-', { mode: 'persistent-sequential' }),
        createOp('/app/q-', { mode: 'ephemeral-sequential' }),
      ]),
    );
    expect(results.map((result) => (result.type === 'create' ? result.path : result.type))).toEqual(
      ['/app/q-0000000001', '/app/q-0000000002'],
    );
  });

  it('succeeds on an empty multi with no results, no events and no change (ZOOKEEPER-3895)', () => {
    const { h, s1 } = setup();
    const before = image(h);
    const outcome = h.multi(s1, []);
    expect(outcome.result).toEqual({ ok: true, type: 'multi', results: [] });
    expect(outcome.events).toEqual([]);
    expect(image(h)).toEqual(before);
  });
});

describe('multi: failure is all or nothing', () => {
  it('reports Ok before the failing op, its code at it, RuntimeInconsistency after it', () => {
    const { h, s1 } = setup();
    const failure = multiFailure(
      h.multi(s1, [
        createOp('/app/a'),
        { type: 'setData', path: '/app', data: bytes('v1'), version: -1 },
        { type: 'setData', path: '/app/missing', data: bytes('x'), version: -1 },
        createOp('/app/b'),
        { type: 'check', path: '/app', version: 0 },
      ]),
    );
    expect(failure.error).toEqual({ code: 'NoNode', path: '/app/missing' });
    expect(failure.results).toEqual([
      { code: 'Ok' },
      { code: 'Ok' },
      { code: 'NoNode', path: '/app/missing' },
      { code: 'RuntimeInconsistency' },
      { code: 'RuntimeInconsistency' },
    ]);
  });

  const failingAt: ReadonlyArray<[string, readonly WriteOp[]]> = [
    ['its first op', [{ type: 'check', path: '/app', version: 5 }, createOp('/app/a')]],
    [
      'its last op, after creates, deletes and writes',
      [
        createOp('/app/a', { mode: 'ephemeral' }),
        createOp('/app/s-', { mode: 'persistent-sequential' }),
        createOp('/app/c', { mode: 'container' }),
        createOp('/app/t', { mode: 'persistent-with-ttl', ttlMs: 100 }),
        { type: 'delete', path: '/app/old', version: -1 },
        { type: 'setData', path: '/app', data: bytes('v2'), version: 0 },
        { type: 'setData', path: '/app', data: bytes('v3'), version: 1 },
        createOp('/app/a'),
      ],
    ],
    [
      'a delete of a node an earlier op recreated',
      [
        { type: 'delete', path: '/app/old', version: 0 },
        createOp('/app/old', { data: bytes('new') }),
        { type: 'delete', path: '/app/old', version: 3 },
      ],
    ],
    [
      'a check of a node an earlier op deleted',
      [
        { type: 'delete', path: '/app/old', version: -1 },
        { type: 'check', path: '/app/old', version: -1 },
      ],
    ],
  ];
  for (const [where, ops] of failingAt) {
    it(`leaves everything as it was when it fails at ${where}`, () => {
      const { h, s1 } = setup();
      h.mustCreate(s1, '/app/mine', { mode: 'ephemeral' });
      const before = image(h);
      const digest = h.tree.digest();
      const outcome = h.multi(s1, ops);
      const failure = multiFailure(outcome);
      expect(failure.results).toHaveLength(ops.length);
      expect(outcome.events).toEqual([]);
      expect(h.tree.digest()).toBe(digest);
      expect(image(h)).toEqual(before);
      expect(h.tree.getEphemerals(s1, '/')).toEqual(['/app/mine']);
    });
  }

  it('does not consume sequence numbers when it fails', () => {
    const { h, s1 } = setup();
    multiFailure(
      h.multi(s1, [createOp('/app/s-', { mode: 'persistent-sequential' }), createOp('/nope/x')]),
    );
    expect(h.mustCreate(s1, '/app/s-', { mode: 'persistent-sequential' }).path).toBe(
      '/app/s-0000000001',
    );
  });

  it('reports the first failure only, even when later ops would fail too', () => {
    const { h, s1 } = setup();
    const failure = multiFailure(
      h.multi(s1, [createOp('/app/old'), { type: 'delete', path: '/app/none', version: -1 }]),
    );
    expect(failure.error.code).toBe('NodeExists');
    expect(failure.results.map((result) => result.code)).toEqual([
      'NodeExists',
      'RuntimeInconsistency',
    ]);
  });

  it('fails with SessionExpired for an unknown session, with no per-op results', () => {
    const { h } = setup();
    const outcome = h.multi(sessionId(77n), [createOp('/app/a')]);
    expect(outcome.result).toEqual({
      ok: false,
      type: 'multi',
      error: { code: 'SessionExpired' },
      results: [],
    });
    expect(outcome.events).toEqual([]);
  });

  it('lets the session go on writing after a failed multi', () => {
    const { h, s1 } = setup();
    multiFailure(h.multi(s1, [createOp('/app/a'), createOp('/app/a')]));
    expect(h.mustCreate(s1, '/app/a').stat.czxid).toBe(h.zxid);
    expect(opError(h.create(s1, '/app/a')).code).toBe('NodeExists');
  });
});
