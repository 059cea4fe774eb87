import type { Zxid } from '../ids.js';
import type { NodeEventType, WatchKind } from './kinds.js';

/**
 * The watches a client re-sends after reconnecting (SetWatches, opcode 101, has the first three
 * lists; SetWatches2, opcode 105, all five). Missing lists are empty.
 */
export interface SetWatchesRequest {
  readonly data?: readonly string[];
  readonly exist?: readonly string[];
  readonly child?: readonly string[];
  readonly persistent?: readonly string[];
  readonly persistentRecursive?: readonly string[];
}

/** What setWatches needs to know about a znode that exists. */
export interface NodeZxids {
  /** Zxid of the last data change (Stat.mzxid). */
  readonly mzxid: Zxid;
  /** Zxid of the last child change (Stat.pzxid). */
  readonly pzxid: Zxid;
}

/** Looks a path up in the current tree: its zxids, or null when there is no such znode. */
export type NodeLookup = (path: string) => NodeZxids | null;

/** What re-registration decided, before anything is changed. */
export interface SetWatchesPlan {
  /** Events to send at once, in request order: data list, then exist, then child. */
  readonly fire: readonly { readonly type: NodeEventType; readonly path: string }[];
  /** Watches to arm again, in request order. */
  readonly rearm: readonly { readonly path: string; readonly kind: WatchKind }[];
}

/**
 * `DataTree.setWatches` as a pure decision against the client's last seen zxid:
 * - data: znode gone ⇒ NodeDeleted; `mzxid > relativeZxid` ⇒ NodeDataChanged; else re-armed.
 * - exist: znode present ⇒ NodeCreated; else re-armed.
 * - child: znode gone ⇒ NodeDeleted; `pzxid > relativeZxid` ⇒ NodeChildrenChanged; else re-armed.
 * - persistent, persistent-recursive: re-armed; the changes missed meanwhile are lost (as in ZooKeeper).
 * A watch that fires here is not re-armed: it was one-shot and this is its firing. Nothing is
 * deduplicated: a path in both the data and the child list of a deleted znode fires NodeDeleted
 * twice, as ZooKeeper sends it (the client's watch manager absorbs the second).
 */
export function planSetWatches(
  relativeZxid: Zxid,
  request: SetWatchesRequest,
  lookup: NodeLookup,
): SetWatchesPlan {
  const fire: { type: NodeEventType; path: string }[] = [];
  const rearm: { path: string; kind: WatchKind }[] = [];
  for (const path of request.data ?? []) {
    const node = lookup(path);
    if (node === null) fire.push({ type: 'NodeDeleted', path });
    else if (node.mzxid > relativeZxid) fire.push({ type: 'NodeDataChanged', path });
    else rearm.push({ path, kind: 'data' });
  }
  for (const path of request.exist ?? []) {
    if (lookup(path) !== null) fire.push({ type: 'NodeCreated', path });
    else rearm.push({ path, kind: 'exist' });
  }
  for (const path of request.child ?? []) {
    const node = lookup(path);
    if (node === null) fire.push({ type: 'NodeDeleted', path });
    else if (node.pzxid > relativeZxid) fire.push({ type: 'NodeChildrenChanged', path });
    else rearm.push({ path, kind: 'child' });
  }
  for (const path of request.persistent ?? []) rearm.push({ path, kind: 'persistent' });
  for (const path of request.persistentRecursive ?? []) {
    rearm.push({ path, kind: 'persistent-recursive' });
  }
  return { fire, rearm };
}
