import { NO_OWNER, type SessionId, type Zxid } from './ids.js';
import type { Acl, Stat } from './types.js';

/** `ephemeralOwner` of a container node: Java's Long.MIN_VALUE, as ZooKeeper encodes it. */
export const CONTAINER_OWNER = -(2n ** 63n) as SessionId;

/** The largest TTL ZooKeeper accepts: the low 5 bytes of the owner field (EphemeralType.MAX_TTL). */
export const TTL_MS_MAX = 0xff_ffff_ffff;

/** `ephemeralOwner` of a TTL node: high byte 0xFF, the TTL in the low bytes (EphemeralType.TTL). */
export function ttlOwner(ttlMs: number): SessionId {
  return BigInt.asIntN(64, (0xffn << 56n) | BigInt(ttlMs)) as SessionId;
}

export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

/** How ZooKeeper reads an owner field (EphemeralType.get with extended types enabled). */
export function kindOf(owner: SessionId): NodeKind {
  if (owner === NO_OWNER) return 'persistent';
  if (owner === CONTAINER_OWNER) return 'container';
  if (BigInt.asUintN(64, owner) >> 56n === 0xffn) return 'ttl';
  return 'ephemeral';
}

/** The TTL of a TTL node's owner field. */
export function ttlOf(owner: SessionId): number {
  return Number(BigInt.asUintN(64, owner) & 0xff_ffff_ffffn);
}

/**
 * The cversion a Stat reports for a parent that has had `created` children created and has
 * `numChildren` now: ZooKeeper stores the count of creates (it is also the sequence counter)
 * and reports creates plus deletes, assuming every child created and gone was deleted
 * (DataNode.copyStat: `cversion * 2 - numChildren`, in Java int arithmetic). So create, delete,
 * create of one child reads 1, 2, 3, while the next sequential suffix is 2.
 */
export function reportedCversion(created: number, numChildren: number): number {
  return (Math.imul(created, 2) - numChildren) | 0;
}

/**
 * One znode. A class with a fixed shape so that V8 keeps every node in one hidden class; a
 * leaf has `children === null` (no empty Set per leaf). ACL arrays are interned and shared.
 *
 * Invariant: czxid <= mzxid <= the last zxid; numChildren is `children?.size ?? 0`; version
 * and aversion count changes of data and ACL; cversion counts children created (as in
 * ZooKeeper, a delete moves pzxid but not cversion), so it only grows. The Stat reports it as
 * ZooKeeper does, as a count of child changes (see `reportedCversion`).
 */
export class ZNode {
  data: Uint8Array;
  acl: readonly Acl[];
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  ctime: number;
  mtime: number;
  version = 0;
  cversion = 0;
  aversion = 0;
  ephemeralOwner: SessionId;
  children: Set<string> | null = null;
  /**
   * This node's share of the tree digest, `hashNode(path, this)`, kept by ZTree (set when the
   * node is attached and after each change). Caching it means a change hashes the node once,
   * not twice, and a delete not at all, as ZooKeeper's DataNode caches its digest. Held as an
   * int32 (`| 0`) so V8 keeps it a small integer in the object rather than a boxed double.
   */
  hash = 0;

  constructor(data: Uint8Array, acl: readonly Acl[], zxid: Zxid, time: number, owner: SessionId) {
    this.data = data;
    this.acl = acl;
    this.czxid = zxid;
    this.mzxid = zxid;
    this.pzxid = zxid;
    this.ctime = time;
    this.mtime = time;
    this.ephemeralOwner = owner;
  }

  stat(): Stat {
    const numChildren = this.children?.size ?? 0;
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: reportedCversion(this.cversion, numChildren),
      aversion: this.aversion,
      ephemeralOwner: this.ephemeralOwner,
      dataLength: this.data.length,
      numChildren,
      pzxid: this.pzxid,
    };
  }
}
