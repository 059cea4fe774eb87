// Proves container and TTL reaping (ZOOKEEPER.md §1.1, RELIABILITY.md §3.3, §4.3; ZooKeeper's
// ContainerManager): `dueForReaping(time)` lists a container only once it has had children and
// lost them all, and a TTL node only when it has no children and `time - mtime > ttl`; a
// `reap` txn deletes what is still due at its own time, skipping (deterministically, with no
// events) any path that is no longer due, never existed, or is not reapable at all, and fires
// NodeDeleted and NodeChildrenChanged for each node it deletes.
import { type SessionId, zxid } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { bytes, checkInvariants, eventLines, Harness } from './harness.js';

function setup(): { h: Harness; s1: SessionId } {
  const h = new Harness();
  const s1 = h.openSession(1n);
  h.mustCreate(s1, '/app');
  return { h, s1 };
}

/** Applies a reap txn for `paths` at `time` (the leader's stamp), as the next zxid. */
function reap(h: Harness, paths: readonly string[], time: number): ReturnType<Harness['apply']> {
  h.zxid++;
  const outcome = h.tree.apply({ type: 'reap', paths }, zxid(h.zxid), time);
  checkInvariants(h.tree);
  return outcome;
}

describe('containers', () => {
  it('are never due while they never had a child, however long they wait', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    expect(h.tree.dueForReaping(h.now + 10 ** 12)).toEqual([]);
    expect(reap(h, ['/app/c'], h.now + 10 ** 12).result).toEqual({
      ok: true,
      type: 'reap',
      deleted: [],
    });
    expect(h.tree.node('/app/c')).toBeDefined();
  });

  it('are not due while they have a child', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s1, '/app/c/x');
    expect(h.tree.dueForReaping(h.now + 10 ** 9)).toEqual([]);
    expect(reap(h, ['/app/c'], h.now).result).toMatchObject({ deleted: [] });
  });

  it('are due once their last child is gone, and a reap deletes them with events', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s1, '/app/c/x');
    h.mustCreate(s1, '/app/c/y');
    h.delete(s1, '/app/c/x');
    expect(h.tree.dueForReaping(h.now)).toEqual([]);
    h.delete(s1, '/app/c/y');
    expect(h.tree.dueForReaping(h.now)).toEqual(['/app/c']);
    const outcome = reap(h, h.tree.dueForReaping(h.now), h.now);
    expect(outcome.result).toEqual({ ok: true, type: 'reap', deleted: ['/app/c'] });
    expect(eventLines(outcome)).toEqual(['NodeDeleted /app/c', 'NodeChildrenChanged /app']);
    expect(h.tree.node('/app/c')).toBeUndefined();
    expect(h.stat('/app').pzxid).toBe(h.zxid);
  });

  it('counts an ephemeral child that left with its session', () => {
    const { h, s1 } = setup();
    const s2 = h.openSession(2n);
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s2, '/app/c/lock-', { mode: 'ephemeral-sequential' });
    h.apply({ type: 'closeSession', sessionId: s2, reason: 'expire' });
    expect(h.tree.dueForReaping(h.now)).toEqual(['/app/c']);
  });

  it('are skipped by a reap when a child arrived after the leader listed them', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s1, '/app/c/x');
    h.delete(s1, '/app/c/x');
    const due = h.tree.dueForReaping(h.now);
    h.mustCreate(s1, '/app/c/again');
    const outcome = reap(h, due, h.now);
    expect(outcome.result).toEqual({ ok: true, type: 'reap', deleted: [] });
    expect(outcome.events).toEqual([]);
    expect(h.tree.node('/app/c/again')).toBeDefined();
  });
});

describe('TTL nodes', () => {
  it('are due only when time - mtime > ttl (strictly) and they have no children', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 1000 });
    expect(h.tree.dueForReaping(stat.mtime + 1000)).toEqual([]);
    expect(h.tree.dueForReaping(stat.mtime + 1001)).toEqual(['/app/t']);
  });

  it('are due even if they never had a child (unlike containers)', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t-', {
      mode: 'persistent-sequential-with-ttl',
      ttlMs: 5,
    });
    expect(h.tree.dueForReaping(stat.mtime + 6)).toEqual(['/app/t-0000000000']);
  });

  it('are not due while they have children, and become due once the children go', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 10 });
    h.mustCreate(s1, '/app/t/x');
    expect(h.tree.dueForReaping(stat.mtime + 100)).toEqual([]);
    h.delete(s1, '/app/t/x');
    // A child change does not touch mtime: the clock still runs from the create.
    expect(h.tree.dueForReaping(stat.mtime + 100)).toEqual(['/app/t']);
  });

  it('restart their clock on setData', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 1000 });
    h.now = stat.mtime + 900;
    h.setData(s1, '/app/t', bytes('touch'));
    const mtime = h.stat('/app/t').mtime;
    expect(mtime).toBe(stat.mtime + 901);
    expect(h.tree.dueForReaping(stat.mtime + 1500)).toEqual([]);
    expect(h.tree.dueForReaping(mtime + 1001)).toEqual(['/app/t']);
  });

  it('are re-checked at the reap txn’s own time: a reap stamped too early skips them', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 1000 });
    expect(reap(h, ['/app/t'], stat.mtime + 1000).result).toMatchObject({ deleted: [] });
    const outcome = reap(h, ['/app/t'], stat.mtime + 1001);
    expect(outcome.result).toMatchObject({ deleted: ['/app/t'] });
    expect(eventLines(outcome)).toEqual(['NodeDeleted /app/t', 'NodeChildrenChanged /app']);
  });

  it('are skipped by a reap when a write refreshed them after the leader listed them', () => {
    const { h, s1 } = setup();
    const { stat } = h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 10 });
    const due = h.tree.dueForReaping(stat.mtime + 50);
    h.now = stat.mtime + 45;
    h.setData(s1, '/app/t', bytes('x'));
    expect(reap(h, due, stat.mtime + 50).result).toMatchObject({ deleted: [] });
  });
});

describe('reap txns', () => {
  it('delete several due nodes in the order given and skip the rest', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/app/t1', { mode: 'persistent-with-ttl', ttlMs: 1 });
    h.mustCreate(s1, '/app/t2', { mode: 'persistent-with-ttl', ttlMs: 1 });
    h.mustCreate(s1, '/app/plain');
    h.mustCreate(s1, '/app/e', { mode: 'ephemeral' });
    const time = h.now + 100;
    const outcome = reap(
      h,
      [
        '/app/t2',
        '/app/plain',
        '/app/e',
        '/app/none',
        '/',
        '/zookeeper',
        'bad',
        '/app/t1',
        '/app/t2',
      ],
      time,
    );
    expect(outcome.result).toEqual({ ok: true, type: 'reap', deleted: ['/app/t2', '/app/t1'] });
    expect(eventLines(outcome)).toEqual([
      'NodeDeleted /app/t2',
      'NodeChildrenChanged /app',
      'NodeDeleted /app/t1',
      'NodeChildrenChanged /app',
    ]);
    expect(h.tree.node('/app/plain')).toBeDefined();
    expect(h.tree.node('/app/e')).toBeDefined();
  });

  it('list due nodes sorted, across containers and TTL nodes', () => {
    const { h, s1 } = setup();
    h.mustCreate(s1, '/z', { mode: 'persistent-with-ttl', ttlMs: 1 });
    h.mustCreate(s1, '/app/c', { mode: 'container' });
    h.mustCreate(s1, '/app/c/x');
    h.delete(s1, '/app/c/x');
    h.mustCreate(s1, '/a', { mode: 'persistent-with-ttl', ttlMs: 1 });
    expect(h.tree.dueForReaping(h.now + 10)).toEqual(['/a', '/app/c', '/z']);
  });

  it('give the same result on two replicas that applied the same log', () => {
    const build = (): Harness => {
      const { h, s1 } = setup();
      h.mustCreate(s1, '/app/c', { mode: 'container' });
      h.mustCreate(s1, '/app/c/x');
      h.delete(s1, '/app/c/x');
      h.mustCreate(s1, '/app/t', { mode: 'persistent-with-ttl', ttlMs: 3 });
      return h;
    };
    const [a, b] = [build(), build()];
    const outcomeA = reap(a, ['/app/t', '/app/c'], a.now + 2);
    const outcomeB = reap(b, ['/app/t', '/app/c'], b.now + 2);
    expect(outcomeA).toEqual(outcomeB);
    expect(outcomeA.result).toMatchObject({ deleted: ['/app/c'] });
    expect(a.tree.digest()).toBe(b.tree.digest());
  });
});
