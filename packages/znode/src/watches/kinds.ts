import type { ChangeEvent } from '../types.js';

/**
 * How a watch was set. `data` (getData) and `exist` (exists, also on a missing node) are one-shot
 * and live in ZooKeeper's data-watch table; `child` (getChildren) is one-shot in the child-watch
 * table; `persistent` and `persistent-recursive` come from addWatch (3.6) and stay until removed.
 */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistent-recursive';

/**
 * A watch as the registry holds it. The server cannot tell an exists watch from a getData watch
 * (ZooKeeper keeps both in the one data-watch table, and every event treats them alike), so
 * `exist` is stored as `data`. Only the client keeps them apart, which is why it re-sends them in
 * separate setWatches lists.
 */
export type HeldWatchKind = Exclude<WatchKind, 'exist'>;

/** ZooKeeper's `Watcher.WatcherType`, the `type` of checkWatches and removeWatches. */
export type WatcherType = 'children' | 'data' | 'any' | 'persistent' | 'persistent-recursive';

/** `WatcherType` as numbered on the wire (`RemoveWatchesRequest.type`, `CheckWatchesRequest.type`). */
export const WATCHER_TYPES: Readonly<Record<WatcherType, number>> = {
  children: 1,
  data: 2,
  any: 3,
  persistent: 4,
  'persistent-recursive': 5,
};

/** `ZooDefs.AddWatchModes`, the `mode` of `AddWatchRequest`. */
export const ADD_WATCH_MODES: Readonly<Record<'persistent' | 'persistent-recursive', number>> = {
  persistent: 0,
  'persistent-recursive': 1,
};

/** The event types the Java client raises locally for the watchers a removeWatches took away. */
export type WatchRemovedEvent = 'DataWatchRemoved' | 'ChildWatchRemoved' | 'PersistentWatchRemoved';

/** The four node event types; a notification carries one of them. */
export type NodeEventType = ChangeEvent['type'];

// One bit per held kind. A (session, path) pair holds any combination (ZooKeeper's WatchStats).
export const DATA = 1;
export const CHILD = 2;
export const PERSISTENT = 4;
export const RECURSIVE = 8;
export const ALL_BITS = DATA | CHILD | PERSISTENT | RECURSIVE;
/** The one-shot (ZooKeeper: STANDARD mode) bits; an event that fires them removes them. */
export const ONE_SHOT = DATA | CHILD;

/** The bit each way of setting a watch holds. */
export const KIND_BIT: Readonly<Record<WatchKind, number>> = {
  data: DATA,
  exist: DATA,
  child: CHILD,
  persistent: PERSISTENT,
  'persistent-recursive': RECURSIVE,
};

/** Held kinds in the order `describe` lists them. */
export const HELD_KINDS: readonly (readonly [HeldWatchKind, number])[] = [
  ['data', DATA],
  ['child', CHILD],
  ['persistent', PERSISTENT],
  ['persistent-recursive', RECURSIVE],
];

/**
 * Which held bits an event fires on the event's own path, from `DataTree`: create, setData and
 * delete trigger the data-watch table (getData, exists, persistent and persistent-recursive
 * watches); delete also triggers the child-watch table of the path (getChildren and persistent);
 * NodeChildrenChanged triggers the child-watch table of the parent only, where recursive watches
 * never sit. Ancestors' recursive watches are handled separately (not for NodeChildrenChanged).
 */
export const FIRES_AT_PATH: Readonly<Record<NodeEventType, number>> = {
  NodeCreated: DATA | PERSISTENT | RECURSIVE,
  NodeDataChanged: DATA | PERSISTENT | RECURSIVE,
  NodeDeleted: DATA | CHILD | PERSISTENT | RECURSIVE,
  NodeChildrenChanged: CHILD | PERSISTENT,
};

/**
 * The bits removeWatches takes away and checkWatches looks for, from `DataTree.removeWatch` and
 * `containsWatcher` (3.9): `data` and `children` touch one-shot watches only, `any` every kind
 * (3.9 removes persistent watches with Any too), `persistent` and `persistent-recursive` their own.
 */
export const WATCHER_TYPE_BITS: Readonly<Record<WatcherType, number>> = {
  children: CHILD,
  data: DATA,
  any: ALL_BITS,
  persistent: PERSISTENT,
  'persistent-recursive': RECURSIVE,
};

/** The removal events for removed bits, in wire-number order (5, 6, 7), each at most once. */
export function removalEvents(removedBits: number): WatchRemovedEvent[] {
  const events: WatchRemovedEvent[] = [];
  if ((removedBits & DATA) !== 0) events.push('DataWatchRemoved');
  if ((removedBits & CHILD) !== 0) events.push('ChildWatchRemoved');
  if ((removedBits & (PERSISTENT | RECURSIVE)) !== 0) events.push('PersistentWatchRemoved');
  return events;
}

/** Number of watches a bit set stands for. */
export function bitCount(bits: number): number {
  let count = 0;
  for (let rest = bits; rest !== 0; rest &= rest - 1) count++;
  return count;
}

/**
 * The proper ancestors of an absolute, normalized path, nearest first: `/a/b/c` gives `/a/b`,
 * `/a`, `/`; `/` gives nothing. Paths are validated by the caller (the tree), not here.
 */
export function* ancestorsOf(path: string): Generator<string> {
  let end = path.lastIndexOf('/');
  while (path.length > 1 && end > 0) {
    const ancestor = path.slice(0, end);
    yield ancestor;
    end = ancestor.lastIndexOf('/');
  }
  if (path.length > 1) yield '/';
}
