import type { ZkErrorCode, ZkResultCode } from './codes.js';
import type { SessionId, Zxid } from './ids.js';

/** A znode's metadata, every field as ZooKeeper's `Stat` (jute order: pzxid last on the wire). */
export interface Stat {
  readonly czxid: Zxid;
  readonly mzxid: Zxid;
  /** Milliseconds since the epoch, from the leader's stamp on the create entry. */
  readonly ctime: number;
  readonly mtime: number;
  /** Number of data changes. */
  readonly version: number;
  /** Number of children created (deletes do not count, as in ZooKeeper's DataTree); also the sequence counter. */
  readonly cversion: number;
  /** Number of ACL changes. */
  readonly aversion: number;
  /** The owner session for ephemerals; a marker for containers and TTL nodes; else 0. */
  readonly ephemeralOwner: SessionId;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: Zxid;
}

/** An identity: `world:anyone`, `digest:user:base64(sha1(user:password))`, `ip:10.0.0.0/8`, `auth:`. */
export interface Id {
  readonly scheme: string;
  readonly id: string;
}

/** One ACL entry: permission bits for an identity. */
export interface Acl {
  readonly perms: number;
  readonly id: Id;
}

export const PERMS = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** ZooKeeper's `CreateMode`, with its wire flag. */
export type CreateMode =
  | 'persistent'
  | 'ephemeral'
  | 'persistent-sequential'
  | 'ephemeral-sequential'
  | 'container'
  | 'persistent-with-ttl'
  | 'persistent-sequential-with-ttl';

export const CREATE_MODE_FLAGS: Readonly<Record<CreateMode, number>> = {
  persistent: 0,
  ephemeral: 1,
  'persistent-sequential': 2,
  'ephemeral-sequential': 3,
  container: 4,
  'persistent-with-ttl': 5,
  'persistent-sequential-with-ttl': 6,
};

/** Operations a client writes, alone or inside a multi (setACL is not allowed in a multi). */
export type WriteOp =
  | {
      readonly type: 'create';
      readonly path: string;
      readonly data: Uint8Array;
      readonly acl: readonly Acl[];
      readonly mode: CreateMode;
      /** For the TTL modes: milliseconds without change (and without children) before deletion. */
      readonly ttlMs?: number;
    }
  | { readonly type: 'delete'; readonly path: string; readonly version: number }
  | {
      readonly type: 'setData';
      readonly path: string;
      readonly data: Uint8Array;
      readonly version: number;
    }
  | { readonly type: 'check'; readonly path: string; readonly version: number };

export type SetAclOp = {
  readonly type: 'setACL';
  readonly path: string;
  readonly acl: readonly Acl[];
  readonly version: number;
};

/**
 * What the log carries. Every txn is validated by `apply` on every replica, so results agree
 * everywhere. `time` (ms since the epoch) is the leader's stamp on the entry.
 */
export type Txn =
  | {
      readonly type: 'createSession';
      readonly sessionId: SessionId;
      readonly timeoutMs: number;
      readonly password: Uint8Array;
    }
  | {
      readonly type: 'closeSession';
      readonly sessionId: SessionId;
      readonly reason: 'close' | 'expire';
    }
  /** Adds an authenticated identity to a session (the runtime already verified it: digest ids arrive hashed). */
  | { readonly type: 'addAuth'; readonly sessionId: SessionId; readonly id: Id }
  | ({ readonly sessionId: SessionId } & WriteOp)
  | ({ readonly sessionId: SessionId } & SetAclOp)
  | { readonly type: 'multi'; readonly sessionId: SessionId; readonly ops: readonly WriteOp[] }
  /** Deletes containers and TTL nodes the leader found due; each is re-checked at apply time. */
  | { readonly type: 'reap'; readonly paths: readonly string[] };

export type TxnType = Txn['type'];

/** The result of one write op. */
export type OpResult =
  | { readonly type: 'create'; readonly path: string; readonly stat: Stat }
  | { readonly type: 'delete' }
  | { readonly type: 'setData'; readonly stat: Stat }
  | { readonly type: 'setACL'; readonly stat: Stat }
  | { readonly type: 'check' };

/** A failed op: ZooKeeper's error code and the path it concerns. */
export interface OpError {
  readonly code: ZkErrorCode;
  readonly path?: string;
}

/**
 * What `apply` returns. Errors are values: a multi reports a result for each op, and every
 * replica records the same outcome. In a failed multi the ops before the failing one report
 * `Ok`, the failing one its code, the ones after it `RuntimeInconsistency`; nothing is applied.
 */
export type TxnResult =
  | { readonly ok: true; readonly type: 'createSession' | 'closeSession' | 'addAuth' }
  | { readonly ok: true; readonly type: 'op'; readonly result: OpResult }
  | { readonly ok: true; readonly type: 'multi'; readonly results: readonly OpResult[] }
  | { readonly ok: true; readonly type: 'reap'; readonly deleted: readonly string[] }
  | { readonly ok: false; readonly type: 'op'; readonly error: OpError }
  | {
      readonly ok: false;
      readonly type: 'multi';
      readonly error: OpError;
      readonly results: readonly { readonly code: ZkResultCode; readonly path?: string }[];
    }
  | { readonly ok: false; readonly type: 'session'; readonly error: OpError };

/**
 * A change to the tree, in apply order; the watch registry turns these into notifications.
 * `acl`, set by `apply`, is the ACL a reader needs READ on to be told (the node's own, the
 * parent's for NodeChildrenChanged), carried because a deleted node is gone by the time
 * watches fire (ZooKeeper passes the same ACL to triggerWatch; CVE-2024-23944). Events built
 * elsewhere (setWatches) leave it out and are checked against the tree as it is.
 */
export interface ChangeEvent {
  readonly type: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';
  readonly path: string;
  readonly zxid: Zxid;
  readonly acl?: readonly Acl[];
}

export interface ApplyOutcome {
  readonly result: TxnResult;
  readonly events: readonly ChangeEvent[];
}

/** Watch event types as ZooKeeper numbers them on the wire. */
export const EVENT_TYPES = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
