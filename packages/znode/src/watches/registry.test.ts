// Proves WatchRegistry follows ZooKeeper's trigger rules (ZOOKEEPER.md §1.5, DataTree and
// WatchManager with WatchStats, 3.9) one claim per test: each row of the trigger table, each watch
// kind (one-shot fires once then is gone, persistent stays, recursive covers descendants and never
// sees NodeChildrenChanged), one notification per session per event, a deterministic order across
// sessions, the READ check on delivery (CVE-2024-23944), removeWatches and checkWatches with
// NoWatcher, removeSession, the per-session limit, and the sorted listings behind wchs/wchc/wchp.
// Events are written by hand the way `apply` emits them; every test ends with assertInvariants().
import { afterEach, describe, expect, it } from 'vitest';
import { type SessionId, sessionId, zxid } from '../ids.js';
import type { ChangeEvent } from '../types.js';
import { ancestorsOf } from './kinds.js';
import { WatchRegistry } from './registry.js';
import type { Notification } from './results.js';

const S1 = sessionId(1n);
const S2 = sessionId(2n);
const S3 = sessionId(3n);

function event(type: ChangeEvent['type'], path: string, at = 7): ChangeEvent {
  return { type, path, zxid: zxid(at) };
}
/** The events `apply` emits for a create of `path` (parent `parent`). */
function create(path: string, parent: string, at = 7): ChangeEvent[] {
  return [event('NodeCreated', path, at), event('NodeChildrenChanged', parent, at)];
}
function remove(path: string, parent: string, at = 7): ChangeEvent[] {
  return [event('NodeDeleted', path, at), event('NodeChildrenChanged', parent, at)];
}
function note(id: SessionId, type: Notification['type'], path: string, at = 7): Notification {
  return { sessionId: id, type, path, zxid: zxid(at) };
}

let registry = new WatchRegistry();
afterEach(() => {
  registry.assertInvariants();
  registry = new WatchRegistry();
});

describe('the trigger table', () => {
  it('create fires NodeCreated to an exists watch set on the missing node', () => {
    registry.addWatch(S1, '/a', 'exist');
    expect(registry.trigger(create('/a', '/'))).toEqual([note(S1, 'NodeCreated', '/a')]);
    expect(registry.count()).toBe(0);
  });

  it('create fires NodeCreated to a getData watch too (one data-watch table)', () => {
    registry.addWatch(S1, '/a', 'data');
    expect(registry.trigger([event('NodeCreated', '/a')])).toEqual([note(S1, 'NodeCreated', '/a')]);
  });

  it('create fires NodeChildrenChanged to child watches of the parent only', () => {
    registry.addWatch(S1, '/', 'child');
    registry.addWatch(S2, '/', 'data');
    registry.addWatch(S3, '/a', 'child');
    expect(registry.trigger(create('/a', '/'))).toEqual([note(S1, 'NodeChildrenChanged', '/')]);
    expect(registry.checkWatches(S2, '/', 'data')).toEqual({ ok: true });
    expect(registry.checkWatches(S3, '/a', 'children')).toEqual({ ok: true });
  });

  it('delete fires NodeDeleted to data and child watches of the node, once per session', () => {
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/a', 'child');
    registry.addWatch(S2, '/a', 'child');
    registry.addWatch(S3, '/a', 'exist');
    expect(registry.trigger([event('NodeDeleted', '/a')])).toEqual([
      note(S1, 'NodeDeleted', '/a'),
      note(S2, 'NodeDeleted', '/a'),
      note(S3, 'NodeDeleted', '/a'),
    ]);
    expect(registry.count()).toBe(0);
  });

  it('delete fires NodeChildrenChanged to child watches of the parent', () => {
    registry.addWatch(S1, '/p', 'child');
    registry.addWatch(S2, '/p/x', 'data');
    expect(registry.trigger(remove('/p/x', '/p'))).toEqual([
      note(S2, 'NodeDeleted', '/p/x'),
      note(S1, 'NodeChildrenChanged', '/p'),
    ]);
  });

  it('setData fires NodeDataChanged to data and exist watches, not to child watches', () => {
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S2, '/a', 'exist');
    registry.addWatch(S3, '/a', 'child');
    expect(registry.trigger([event('NodeDataChanged', '/a')])).toEqual([
      note(S1, 'NodeDataChanged', '/a'),
      note(S2, 'NodeDataChanged', '/a'),
    ]);
    expect(registry.count()).toBe(1);
    expect(registry.checkWatches(S3, '/a', 'children')).toEqual({ ok: true });
  });

  it('NodeChildrenChanged leaves a data watch on the parent armed', () => {
    registry.addWatch(S1, '/a', 'data');
    expect(registry.trigger([event('NodeChildrenChanged', '/a')])).toEqual([]);
    expect(registry.count(S1)).toBe(1);
  });

  it('NodeCreated leaves a child watch on the same path armed', () => {
    registry.addWatch(S1, '/a', 'child');
    expect(registry.trigger([event('NodeCreated', '/a')])).toEqual([]);
    expect(registry.count(S1)).toBe(1);
  });

  it('keeps event order across a batch and carries each event zxid', () => {
    registry.addWatch(S1, '/a', 'exist');
    registry.addWatch(S1, '/', 'child');
    const events = [...create('/a', '/', 5), event('NodeDataChanged', '/a', 6)];
    expect(registry.trigger(events)).toEqual([
      note(S1, 'NodeCreated', '/a', 5),
      note(S1, 'NodeChildrenChanged', '/', 5),
    ]);
  });
});

describe('one-shot watches', () => {
  it('fire once, then are gone', () => {
    registry.addWatch(S1, '/a', 'data');
    expect(registry.trigger([event('NodeDataChanged', '/a', 1)])).toHaveLength(1);
    expect(registry.trigger([event('NodeDataChanged', '/a', 2)])).toEqual([]);
    expect(registry.checkWatches(S1, '/a', 'data')).toEqual({
      ok: false,
      code: 'NoWatcher',
      path: '/a',
    });
  });

  it('set twice are still one watch that fires once', () => {
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/a', 'exist');
    expect(registry.count()).toBe(1);
    expect(registry.trigger([event('NodeDataChanged', '/a')])).toEqual([
      note(S1, 'NodeDataChanged', '/a'),
    ]);
  });

  it('do not fire for events on descendants', () => {
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/a', 'child');
    expect(
      registry.trigger([event('NodeDataChanged', '/a/b'), event('NodeDeleted', '/a/b')]),
    ).toEqual([]);
  });
});

describe('persistent watches', () => {
  it('fire for all four event types on their path and stay', () => {
    registry.addWatch(S1, '/a', 'persistent');
    const events = [
      event('NodeCreated', '/a', 1),
      event('NodeDataChanged', '/a', 2),
      event('NodeChildrenChanged', '/a', 3),
      event('NodeDeleted', '/a', 4),
    ];
    expect(registry.trigger(events)).toEqual([
      note(S1, 'NodeCreated', '/a', 1),
      note(S1, 'NodeDataChanged', '/a', 2),
      note(S1, 'NodeChildrenChanged', '/a', 3),
      note(S1, 'NodeDeleted', '/a', 4),
    ]);
    expect(registry.count(S1)).toBe(1);
  });

  it('do not fire for events on a child, only for the NodeChildrenChanged they cause', () => {
    registry.addWatch(S1, '/a', 'persistent');
    expect(registry.trigger(create('/a/b', '/a'))).toEqual([note(S1, 'NodeChildrenChanged', '/a')]);
  });

  it('with a one-shot on the same path give one notification and keep the persistent one', () => {
    registry.addWatch(S1, '/a', 'persistent');
    registry.addWatch(S1, '/a', 'data');
    expect(registry.trigger([event('NodeDataChanged', '/a', 1)])).toEqual([
      note(S1, 'NodeDataChanged', '/a', 1),
    ]);
    expect(registry.checkWatches(S1, '/a', 'data').ok).toBe(false);
    expect(registry.checkWatches(S1, '/a', 'persistent').ok).toBe(true);
    expect(registry.trigger([event('NodeDataChanged', '/a', 2)])).toEqual([
      note(S1, 'NodeDataChanged', '/a', 2),
    ]);
  });
});

describe('persistent-recursive watches', () => {
  it('fire for their path and every descendant, and stay', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    const events = [
      event('NodeCreated', '/a', 1),
      event('NodeCreated', '/a/b', 2),
      event('NodeDataChanged', '/a/b/c/d', 3),
      event('NodeDeleted', '/a/b', 4),
    ];
    expect(registry.trigger(events)).toEqual([
      note(S1, 'NodeCreated', '/a', 1),
      note(S1, 'NodeCreated', '/a/b', 2),
      note(S1, 'NodeDataChanged', '/a/b/c/d', 3),
      note(S1, 'NodeDeleted', '/a/b', 4),
    ]);
    expect(registry.count(S1)).toBe(1);
  });

  it('never see NodeChildrenChanged, on their path or below', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    const events = [event('NodeChildrenChanged', '/a'), event('NodeChildrenChanged', '/a/b')];
    expect(registry.trigger(events)).toEqual([]);
    expect(registry.trigger(create('/a/b', '/a'))).toEqual([note(S1, 'NodeCreated', '/a/b')]);
  });

  it('do not fire for a sibling that shares the name as a prefix', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    expect(registry.trigger([event('NodeCreated', '/ab'), event('NodeCreated', '/b/a')])).toEqual(
      [],
    );
  });

  it('on the root cover every znode', () => {
    registry.addWatch(S1, '/', 'persistent-recursive');
    expect(registry.trigger([event('NodeDataChanged', '/'), event('NodeCreated', '/x/y')])).toEqual(
      [note(S1, 'NodeDataChanged', '/'), note(S1, 'NodeCreated', '/x/y')],
    );
  });

  it('with several matching watches of one session give one notification', () => {
    registry.addWatch(S1, '/', 'persistent-recursive');
    registry.addWatch(S1, '/a', 'persistent-recursive');
    registry.addWatch(S1, '/a/b', 'persistent');
    registry.addWatch(S1, '/a/b', 'data');
    expect(registry.trigger([event('NodeDataChanged', '/a/b')])).toEqual([
      note(S1, 'NodeDataChanged', '/a/b'),
    ]);
    expect(registry.count(S1)).toBe(3);
  });

  it('on an ancestor leave a one-shot on the node to be consumed by its own firing', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    registry.addWatch(S1, '/a/b', 'exist');
    expect(registry.trigger([event('NodeCreated', '/a/b')])).toEqual([
      note(S1, 'NodeCreated', '/a/b'),
    ]);
    expect(registry.checkWatches(S1, '/a/b', 'data').ok).toBe(false);
  });
});

describe('several sessions', () => {
  it('are all notified, in ascending session id whatever the registration order', () => {
    registry.addWatch(S3, '/a', 'data');
    registry.addWatch(S1, '/', 'persistent-recursive');
    registry.addWatch(S2, '/a', 'persistent');
    expect(registry.trigger([event('NodeDataChanged', '/a')])).toEqual([
      note(S1, 'NodeDataChanged', '/a'),
      note(S2, 'NodeDataChanged', '/a'),
      note(S3, 'NodeDataChanged', '/a'),
    ]);
  });

  it('order by numeric id, not by the text of the id', () => {
    const big = sessionId(0x100000000000000n);
    registry.addWatch(big, '/a', 'data');
    registry.addWatch(sessionId(9n), '/a', 'data');
    registry.addWatch(sessionId(10n), '/a', 'data');
    const ids = registry.trigger([event('NodeDataChanged', '/a')]).map((n) => n.sessionId);
    expect(ids).toEqual([9n, 10n, big]);
  });

  it('lose their watches when their session closes; the ephemeral deletes reach the others', () => {
    registry.addWatch(S1, '/lock/e1', 'data');
    registry.addWatch(S2, '/lock/e1', 'exist');
    registry.addWatch(S2, '/lock', 'child');
    expect(registry.removeSession(S1)).toBe(1);
    expect(registry.removeSession(S1)).toBe(0);
    expect(registry.trigger(remove('/lock/e1', '/lock'))).toEqual([
      note(S2, 'NodeDeleted', '/lock/e1'),
      note(S2, 'NodeChildrenChanged', '/lock'),
    ]);
  });
});

describe('the READ check on delivery', () => {
  const secret = (id: SessionId, e: ChangeEvent): boolean =>
    !(id === S2 && e.path.startsWith('/s/'));

  it('keeps a recursive watch from reporting a child the session cannot read', () => {
    registry.addWatch(S1, '/s', 'persistent-recursive');
    registry.addWatch(S2, '/s', 'persistent-recursive');
    expect(registry.trigger([event('NodeCreated', '/s/hidden')], secret)).toEqual([
      note(S1, 'NodeCreated', '/s/hidden'),
    ]);
    expect(registry.count(S2)).toBe(1);
  });

  it('applies to one-shot watches too, which are consumed even when filtered (as in ZooKeeper)', () => {
    registry.addWatch(S2, '/s/x', 'data');
    expect(registry.trigger([event('NodeDataChanged', '/s/x')], secret)).toEqual([]);
    expect(registry.count(S2)).toBe(0);
  });

  it('asks once per session and event, with the event itself (parent path for children events)', () => {
    const asked: string[] = [];
    registry.addWatch(S1, '/p', 'child');
    registry.addWatch(S1, '/p', 'persistent');
    registry.addWatch(S1, '/p/x', 'data');
    registry.trigger(create('/p/x', '/p'), (id, e) => {
      asked.push(`${id} ${e.type} ${e.path}`);
      return true;
    });
    expect(asked).toEqual(['1 NodeCreated /p/x', '1 NodeChildrenChanged /p']);
  });
});

describe('removeWatches and checkWatches', () => {
  it('removes each type with the removal event the client raises', () => {
    registry.addWatch(S1, '/a', 'child');
    registry.addWatch(S1, '/a', 'exist');
    registry.addWatch(S1, '/a', 'persistent');
    registry.addWatch(S1, '/a', 'persistent-recursive');
    expect(registry.removeWatches(S1, '/a', 'children')).toEqual({
      ok: true,
      removed: ['ChildWatchRemoved'],
    });
    expect(registry.removeWatches(S1, '/a', 'data')).toEqual({
      ok: true,
      removed: ['DataWatchRemoved'],
    });
    expect(registry.removeWatches(S1, '/a', 'persistent')).toEqual({
      ok: true,
      removed: ['PersistentWatchRemoved'],
    });
    expect(registry.removeWatches(S1, '/a', 'persistent-recursive')).toEqual({
      ok: true,
      removed: ['PersistentWatchRemoved'],
    });
    expect(registry.count()).toBe(0);
  });

  it('any removes every kind on the path, persistent ones included (3.9)', () => {
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/a', 'child');
    registry.addWatch(S1, '/a', 'persistent-recursive');
    expect(registry.removeWatches(S1, '/a', 'any')).toEqual({
      ok: true,
      removed: ['DataWatchRemoved', 'ChildWatchRemoved', 'PersistentWatchRemoved'],
    });
    expect(registry.count()).toBe(0);
    expect(registry.trigger([event('NodeDeleted', '/a')])).toEqual([]);
  });

  it('answers NoWatcher when nothing of that type is held, changing nothing', () => {
    registry.addWatch(S1, '/a', 'persistent');
    registry.addWatch(S2, '/b', 'data');
    const noWatcher = { ok: false, code: 'NoWatcher', path: '/a' };
    expect(registry.removeWatches(S1, '/a', 'data')).toEqual(noWatcher);
    expect(registry.removeWatches(S1, '/a', 'children')).toEqual(noWatcher);
    expect(registry.removeWatches(S1, '/a', 'persistent-recursive')).toEqual(noWatcher);
    expect(registry.removeWatches(S2, '/a', 'any')).toEqual(noWatcher);
    expect(registry.count()).toBe(2);
  });

  it('matches the exact path only: an ancestor recursive watch is not a watch on the child', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    expect(registry.checkWatches(S1, '/a/b', 'any')).toEqual({
      ok: false,
      code: 'NoWatcher',
      path: '/a/b',
    });
    expect(registry.removeWatches(S1, '/a/b', 'persistent-recursive').ok).toBe(false);
    expect(registry.checkWatches(S1, '/a', 'persistent-recursive')).toEqual({ ok: true });
  });

  it('checkWatches looks for exactly the held kinds of the type', () => {
    registry.addWatch(S1, '/a', 'exist');
    expect(registry.checkWatches(S1, '/a', 'data')).toEqual({ ok: true });
    expect(registry.checkWatches(S1, '/a', 'any')).toEqual({ ok: true });
    expect(registry.checkWatches(S1, '/a', 'children').ok).toBe(false);
    expect(registry.checkWatches(S1, '/a', 'persistent').ok).toBe(false);
    expect(registry.checkWatches(S2, '/a', 'data').ok).toBe(false);
  });

  it('stops a removed recursive watch from firing for descendants', () => {
    registry.addWatch(S1, '/a', 'persistent-recursive');
    registry.removeWatches(S1, '/a', 'persistent-recursive');
    expect(registry.trigger([event('NodeCreated', '/a/b')])).toEqual([]);
  });
});

describe('the per-session limit', () => {
  it('refuses a new watch past watchesPerSessionMax with QuotaExceeded, per session', () => {
    registry = new WatchRegistry({ watchesPerSessionMax: 2 });
    expect(registry.addWatch(S1, '/a', 'data')).toEqual({ ok: true });
    expect(registry.addWatch(S1, '/a', 'child')).toEqual({ ok: true });
    expect(registry.addWatch(S1, '/b', 'data')).toEqual({
      ok: false,
      code: 'QuotaExceeded',
      path: '/b',
      watchesPerSessionMax: 2,
    });
    expect(registry.addWatch(S1, '/a', 'exist')).toEqual({ ok: true });
    expect(registry.addWatch(S2, '/b', 'data')).toEqual({ ok: true });
    expect(registry.count(S1)).toBe(2);
  });

  it('frees a slot when a watch fires or is removed', () => {
    registry = new WatchRegistry({ watchesPerSessionMax: 1 });
    registry.addWatch(S1, '/a', 'data');
    registry.trigger([event('NodeDataChanged', '/a')]);
    expect(registry.addWatch(S1, '/b', 'persistent').ok).toBe(true);
    registry.removeWatches(S1, '/b', 'any');
    expect(registry.addWatch(S1, '/c', 'child').ok).toBe(true);
  });

  it('is validated in the constructor', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new WatchRegistry({ watchesPerSessionMax: bad })).toThrow(RangeError);
    }
    expect(new WatchRegistry().watchesPerSessionMax).toBe(100_000);
  });
});

describe('count and describe', () => {
  it('list sessions by id and paths in code-unit order, exists shown as data', () => {
    registry.addWatch(S2, '/b', 'child');
    registry.addWatch(S1, '/b', 'exist');
    registry.addWatch(S1, '/a', 'persistent-recursive');
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/B', 'persistent');
    expect(registry.describe()).toEqual({
      sessionCount: 2,
      pathCount: 3,
      watchCount: 5,
      bySession: [
        {
          sessionId: S1,
          watches: [
            { path: '/B', kinds: ['persistent'] },
            { path: '/a', kinds: ['data', 'persistent-recursive'] },
            { path: '/b', kinds: ['data'] },
          ],
        },
        { sessionId: S2, watches: [{ path: '/b', kinds: ['child'] }] },
      ],
      byPath: [
        { path: '/B', sessionIds: [S1] },
        { path: '/a', sessionIds: [S1] },
        { path: '/b', sessionIds: [S1, S2] },
      ],
    });
    expect(registry.count()).toBe(5);
    expect(registry.count(S1)).toBe(4);
    expect(registry.count(S3)).toBe(0);
  });
});

describe('ancestorsOf', () => {
  it('walks from the nearest ancestor up to the root', () => {
    expect([...ancestorsOf('/a/b/c')]).toEqual(['/a/b', '/a', '/']);
    expect([...ancestorsOf('/a')]).toEqual(['/']);
    expect([...ancestorsOf('/')]).toEqual([]);
  });
});
