import type { SessionId, Zxid } from '../ids.js';
import type { ChangeEvent } from '../types.js';
import type { HeldWatchKind, NodeEventType, WatchRemovedEvent } from './kinds.js';

/** One watch event for one session. */
export interface Notification {
  readonly sessionId: SessionId;
  readonly type: NodeEventType;
  readonly path: string;
  /** The change's zxid (ZooKeeper 3.9 sends it in the header); `NO_ZXID` from setWatches. */
  readonly zxid: Zxid;
}

/**
 * May this session learn of this event? Watch delivery is a read: ZooKeeper (3.8.4, 3.9.2,
 * ZOOKEEPER-4799 / CVE-2024-23944) checks READ for every notification, one-shot ones included,
 * against the znode's ACL at the time of the change: the node's own for NodeCreated, NodeDeleted
 * and NodeDataChanged (for a delete, the ACL it had), the parent's for NodeChildrenChanged.
 * The answer must be deterministic and must not call back into the registry.
 */
export type ReadCheck = (sessionId: SessionId, event: ChangeEvent) => boolean;

/** ZooKeeper's `NO_ZXID`: the zxid of notifications that no change fired (setWatches). */
export const NO_ZXID = -1 as Zxid;

/**
 * The session is at `watchesPerSessionMax`. ZooKeeper has no such limit and so no code for it;
 * QuotaExceeded (-125) says "a resource limit, not a malformed request". For pre-3.4 style
 * clients that crash on unknown codes, zk-server maps it to BadArguments (ZOOKEEPER.md §5.2).
 */
export interface WatchLimitError {
  readonly ok: false;
  readonly code: 'QuotaExceeded';
  readonly path: string;
  readonly watchesPerSessionMax: number;
}

/** checkWatches or removeWatches found no watch of that type (ZooKeeper's NoWatcher, -121). */
export interface NoWatcherError {
  readonly ok: false;
  readonly code: 'NoWatcher';
  readonly path: string;
}

export type AddWatchResult = { readonly ok: true } | WatchLimitError;
export type CheckWatchesResult = { readonly ok: true } | NoWatcherError;
/**
 * `removed` lists the events ZooKeeper's Java client raises on its own side for what was removed
 * (DataWatchRemoved for data and exist watches, ChildWatchRemoved, PersistentWatchRemoved for
 * both persistent kinds). The ZooKeeper server never sends them: zk-server must not put them on
 * the wire; an in-process session API may deliver them to its local watchers.
 */
export type RemoveWatchesResult =
  | { readonly ok: true; readonly removed: readonly WatchRemovedEvent[] }
  | NoWatcherError;
export type SetWatchesResult =
  | { readonly ok: true; readonly notifications: readonly Notification[] }
  | WatchLimitError;

/**
 * Listings for the wchs, wchc and wchp four-letter words, sorted (sessions by id, paths by code
 * unit). Every watch is listed; ZooKeeper's own dumps read only its data-watch table, so they
 * leave out getChildren watches. zk-server may print either.
 */
export interface WatchesReport {
  readonly sessionCount: number;
  readonly pathCount: number;
  readonly watchCount: number;
  readonly bySession: readonly {
    readonly sessionId: SessionId;
    readonly watches: readonly {
      readonly path: string;
      readonly kinds: readonly HeldWatchKind[];
    }[];
  }[];
  readonly byPath: readonly { readonly path: string; readonly sessionIds: readonly SessionId[] }[];
}
