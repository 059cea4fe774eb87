// Proves re-registration on reconnect follows `DataTree.setWatches` (ZOOKEEPER.md §1.5) branch by
// branch against a client's last zxid: data watches fire NodeDeleted when the znode is gone and
// NodeDataChanged when mzxid is newer, exist watches fire NodeCreated when the znode is there,
// child watches fire NodeDeleted or NodeChildrenChanged (pzxid newer), everything else is re-armed
// and then fires on later events like a fresh watch; persistent ones are re-armed and what they
// missed is lost. Also: request order, no deduplication (as ZooKeeper), NO_ZXID on what fires,
// an all-or-nothing per-session limit, and the optional READ filter. The tree is a plain Map.
import { afterEach, describe, expect, it } from 'vitest';
import { sessionId, type Zxid, zxid } from '../ids.js';
import { WatchRegistry } from './registry.js';
import { NO_ZXID } from './results.js';
import type { NodeLookup, NodeZxids } from './set-watches.js';

const S1 = sessionId(1n);
const REL = zxid(10);

/** A tree where each listed path exists with the given mzxid and pzxid. */
function tree(entries: Record<string, [mzxid: number, pzxid: number]>): NodeLookup {
  const nodes = new Map<string, NodeZxids>();
  for (const [path, [m, p]] of Object.entries(entries)) {
    nodes.set(path, { mzxid: m as Zxid, pzxid: p as Zxid });
  }
  return (path) => nodes.get(path) ?? null;
}

const fired = (type: string, path: string) => ({ sessionId: S1, type, path, zxid: NO_ZXID });

let registry = new WatchRegistry();
afterEach(() => {
  registry.assertInvariants();
  registry = new WatchRegistry();
});

describe('data watches', () => {
  it('fire NodeDeleted when the znode is gone', () => {
    const result = registry.setWatches(S1, REL, { data: ['/a'] }, tree({}));
    expect(result).toEqual({ ok: true, notifications: [fired('NodeDeleted', '/a')] });
    expect(registry.count()).toBe(0);
  });

  it('fire NodeDataChanged when mzxid is past the client zxid', () => {
    const result = registry.setWatches(S1, REL, { data: ['/a'] }, tree({ '/a': [11, 3] }));
    expect(result).toEqual({ ok: true, notifications: [fired('NodeDataChanged', '/a')] });
    expect(registry.count()).toBe(0);
  });

  it('are re-armed when mzxid is not past it (equal included), then fire as usual', () => {
    const result = registry.setWatches(
      S1,
      REL,
      { data: ['/a', '/b'] },
      tree({ '/a': [10, 99], '/b': [2, 2] }),
    );
    expect(result).toEqual({ ok: true, notifications: [] });
    expect(registry.checkWatches(S1, '/a', 'data')).toEqual({ ok: true });
    const later = registry.trigger([{ type: 'NodeDataChanged', path: '/a', zxid: zxid(12) }]);
    expect(later).toEqual([{ sessionId: S1, type: 'NodeDataChanged', path: '/a', zxid: 12 }]);
  });
});

describe('exist watches', () => {
  it('fire NodeCreated when the znode is there, however old', () => {
    const result = registry.setWatches(S1, REL, { exist: ['/a'] }, tree({ '/a': [1, 1] }));
    expect(result).toEqual({ ok: true, notifications: [fired('NodeCreated', '/a')] });
    expect(registry.count()).toBe(0);
  });

  it('are re-armed when it is still missing, and a later create fires them', () => {
    expect(registry.setWatches(S1, REL, { exist: ['/a'] }, tree({}))).toEqual({
      ok: true,
      notifications: [],
    });
    const later = registry.trigger([{ type: 'NodeCreated', path: '/a', zxid: zxid(11) }]);
    expect(later).toEqual([{ sessionId: S1, type: 'NodeCreated', path: '/a', zxid: 11 }]);
  });
});

describe('child watches', () => {
  it('fire NodeDeleted when the znode is gone', () => {
    const result = registry.setWatches(S1, REL, { child: ['/a'] }, tree({}));
    expect(result).toEqual({ ok: true, notifications: [fired('NodeDeleted', '/a')] });
  });

  it('fire NodeChildrenChanged when pzxid is past the client zxid', () => {
    const result = registry.setWatches(S1, REL, { child: ['/a'] }, tree({ '/a': [1, 11] }));
    expect(result).toEqual({ ok: true, notifications: [fired('NodeChildrenChanged', '/a')] });
    expect(registry.count()).toBe(0);
  });

  it('are re-armed when pzxid is not past it, whatever mzxid says', () => {
    const result = registry.setWatches(S1, REL, { child: ['/a'] }, tree({ '/a': [50, 10] }));
    expect(result).toEqual({ ok: true, notifications: [] });
    expect(registry.checkWatches(S1, '/a', 'children')).toEqual({ ok: true });
  });
});

describe('persistent watches', () => {
  it('are re-armed whatever the tree holds, and the changes they missed are not replayed', () => {
    const lookup = tree({ '/a': [99, 99] });
    const request = { persistent: ['/a', '/gone'], persistentRecursive: ['/a', '/'] };
    expect(registry.setWatches(S1, REL, request, lookup)).toEqual({ ok: true, notifications: [] });
    expect(registry.describe().bySession[0]?.watches).toEqual([
      { path: '/', kinds: ['persistent-recursive'] },
      { path: '/a', kinds: ['persistent', 'persistent-recursive'] },
      { path: '/gone', kinds: ['persistent'] },
    ]);
  });
});

describe('the reply', () => {
  it('lists what fired in request order (data, exist, child) with NO_ZXID, without dedup', () => {
    const lookup = tree({ '/x': [11, 11], '/e': [1, 1] });
    const request = { child: ['/gone', '/x'], exist: ['/e'], data: ['/gone', '/x'] };
    const result = registry.setWatches(S1, REL, request, lookup);
    expect(result).toEqual({
      ok: true,
      notifications: [
        fired('NodeDeleted', '/gone'),
        fired('NodeDataChanged', '/x'),
        fired('NodeCreated', '/e'),
        fired('NodeDeleted', '/gone'),
        fired('NodeChildrenChanged', '/x'),
      ],
    });
  });

  it('treats missing lists as empty (SetWatches, opcode 101, has no persistent lists)', () => {
    expect(registry.setWatches(S1, REL, {}, tree({}))).toEqual({ ok: true, notifications: [] });
  });
});

describe('the per-session limit', () => {
  it('is all or nothing: past the limit nothing is armed and nothing fires', () => {
    registry = new WatchRegistry({ watchesPerSessionMax: 2 });
    registry.addWatch(S1, '/held', 'data');
    const request = { data: ['/held', '/gone'], exist: ['/m1', '/m2'] };
    expect(registry.setWatches(S1, REL, request, tree({ '/held': [1, 1] }))).toEqual({
      ok: false,
      code: 'QuotaExceeded',
      path: '/m2',
      watchesPerSessionMax: 2,
    });
    expect(registry.count(S1)).toBe(1);
  });

  it('does not count watches the session already holds', () => {
    registry = new WatchRegistry({ watchesPerSessionMax: 2 });
    registry.addWatch(S1, '/a', 'data');
    registry.addWatch(S1, '/b', 'persistent');
    const request = { data: ['/a'], exist: ['/a'], persistent: ['/b'] };
    expect(registry.setWatches(S1, REL, request, tree({ '/a': [1, 1] })).ok).toBe(true);
    expect(registry.count(S1)).toBe(2);
  });
});

describe('the READ filter', () => {
  it('drops events about znodes the session cannot read, without re-arming them', () => {
    const lookup = tree({ '/s/x': [11, 1], '/s/e': [1, 1], '/open': [11, 1] });
    const canRead = (_: unknown, e: { path: string }) => !e.path.startsWith('/s/');
    const request = { data: ['/s/x', '/s/gone', '/open'], exist: ['/s/e'] };
    const result = registry.setWatches(S1, REL, request, lookup, canRead);
    expect(result).toEqual({
      ok: true,
      notifications: [fired('NodeDeleted', '/s/gone'), fired('NodeDataChanged', '/open')],
    });
    expect(registry.count()).toBe(0);
  });
});
