import {
  checkPermission,
  internAcl,
  maskAclForRead,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
} from './acl.js';
import { ChildIndex, upperBound } from './child-index.js';
import { hashNode, hashSession } from './digest.js';
import { NO_OWNER, type SessionId, type Zxid } from './ids.js';
import { joinPath, parentOf, validatePath } from './paths.js';
import { applySessionTxn } from './session-ops.js';
import type {
  Acl,
  ApplyOutcome,
  ChangeEvent,
  Id,
  OpError,
  OpResult,
  Stat,
  Txn,
  WriteOp,
} from './types.js';
import { PERMS } from './types.js';
import {
  applyWriteOp,
  type DeleteContext,
  deleteNode,
  setAcl,
  type WriteContext,
} from './write-ops.js';
import { kindOf, ttlOf, ZNode } from './znode.js';

/** Options fixed for the life of a tree; every replica must use the same ones. */
export interface TreeOptions {
  /** Largest data per znode in bytes (jute.maxbuffer). Default 1 MiB. */
  readonly dataBytesMax?: number;
  /** Accept the TTL create modes (ZooKeeper's extendedTypesEnabled). Default true. */
  readonly ttlEnabled?: boolean;
  /** Identities that pass every ACL check (ZooKeeper's superDigest), e.g. `{ scheme: 'digest', id: 'super:…' }`. */
  readonly superIds?: readonly Id[];
}

/**
 * A snapshot in progress (snapshot-writer.ts): the tree tells it, before changing or detaching
 * an attached node, so it can keep the node's state as of the snapshot's zxid.
 */
export interface PreImageKeeper {
  preserve(path: string, node: ZNode): void;
}

/** A session as the replicated sessions table holds it. */
export interface SessionState {
  readonly id: SessionId;
  readonly timeoutMs: number;
  readonly password: Uint8Array;
  readonly authIds: Id[];
  /** Paths of the ephemerals it owns. */
  readonly ephemerals: Set<string>;
}

export type ReadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: OpError };

/** A read inside a multiRead. */
export type ReadOp =
  | { readonly type: 'getData'; readonly path: string }
  | { readonly type: 'getChildren'; readonly path: string };

const DEFAULT_DATA_BYTES_MAX = 1024 * 1024;
/**
 * Parents with at least this many children get a sorted child index on their first read;
 * smaller child lists are copied and sorted per read, which costs less than an index's memory.
 */
export const CHILD_INDEX_MIN = 1024;
/** A session unknown to the table: reads by it see only what world:anyone may see. */
const ANONYMOUS: SessionState = {
  id: NO_OWNER,
  timeoutMs: 0,
  password: new Uint8Array(0),
  authIds: [],
  ephemerals: new Set(),
};

/**
 * ZooKeeper's data tree as a pure, deterministic state machine. `apply(txn, zxid, time)` is the
 * only way to change it; the same txns in the same order give the same tree (and `digest()`)
 * on every replica. Reads are methods that check ACLs for the reading session.
 */
export class ZTree {
  readonly options: Required<TreeOptions>;
  private readonly nodes = new Map<string, ZNode>();
  private readonly sessions = new Map<SessionId, SessionState>();
  /**
   * Sorted views of big child lists, built by reads (getChildren, getChildrenPage), keyed by
   * the parent node. A read-side cache: never hashed, snapshotted or consulted by `apply`.
   * Invariant: every key is an attached node with children, and its index lists them exactly;
   * addChild and removeChild keep it so, and drop the entry when the last child goes.
   */
  private readonly childIndexes = new Map<ZNode, ChildIndex>();
  /** Containers and TTL nodes: the candidates `dueForReaping` looks at. */
  private readonly reapable = new Set<string>();
  private digestSum = 0;
  /**
   * The snapshot being written in slices, if any (at most one per tree). Invariant: while it
   * is set, every change to an attached node's fields or child list, and every detach, is
   * preceded by `preserve(path, node)`; write-ops.ts keeps it, the snapshot property test
   * (test/snapshot-slices.test.ts) checks it.
   */
  private keeper: PreImageKeeper | null = null;
  lastZxid = 0 as Zxid;

  constructor(options: TreeOptions = {}) {
    this.options = {
      dataBytesMax: options.dataBytesMax ?? DEFAULT_DATA_BYTES_MAX,
      ttlEnabled: options.ttlEnabled ?? true,
      superIds: options.superIds ?? [],
    };
    const open = internAcl(OPEN_ACL_UNSAFE);
    const zero = 0 as Zxid;
    this.attach('/', new ZNode(new Uint8Array(0), open, zero, 0, NO_OWNER));
    // Reserved as ZooKeeper reserves them; read-only to clients.
    for (const path of ['/zookeeper', '/zookeeper/config', '/zookeeper/quota']) {
      const parent = this.nodes.get(parentOf(path)) as ZNode;
      this.addChild(parent, path.slice(path.lastIndexOf('/') + 1));
      this.rehash(parentOf(path), parent);
      const node = new ZNode(new Uint8Array(0), open, zero, 0, NO_OWNER);
      if (path === '/zookeeper/config') {
        // DataTree.addConfigNode: READ_ACL_UNSAFE (ZOOKEEPER-2014), set through setACL with
        // version -1, which DataTree.setACL stores as the aversion; getACL shows both.
        node.acl = internAcl(READ_ACL_UNSAFE);
        node.aversion = -1;
      }
      this.attach(path, node);
    }
  }

  // ---- the state machine ---------------------------------------------------------------

  /** Applies one committed txn at `zxid` with the leader's `time` stamp. Never throws on bad input. */
  apply(txn: Txn, zxid: Zxid, time: number): ApplyOutcome {
    if (zxid <= this.lastZxid)
      throw new Error(`znode: zxid ${zxid} after ${this.lastZxid}: applied out of order`);
    this.lastZxid = zxid;
    switch (txn.type) {
      case 'createSession':
      case 'closeSession':
      case 'addAuth': {
        const ctx: DeleteContext = { zxid, events: [], undo: null };
        const result = applySessionTxn(this, txn, ctx);
        return { result, events: ctx.events };
      }
      case 'reap': {
        const ctx: DeleteContext = { zxid, events: [], undo: null };
        const deleted = this.reap(txn.paths, time, ctx);
        return { result: { ok: true, type: 'reap', deleted }, events: ctx.events };
      }
      default:
        break;
    }
    const session = this.sessions.get(txn.sessionId);
    if (session === undefined) {
      const error: OpError = { code: 'SessionExpired' };
      return {
        result:
          txn.type === 'multi'
            ? { ok: false, type: 'multi', error, results: [] }
            : { ok: false, type: 'op', error },
        events: [],
      };
    }
    const superUser = this.isSuper(session.authIds);
    if (txn.type === 'multi')
      return this.applyMulti(txn.ops, { zxid, time, session, superUser, events: [], undo: [] });
    const ctx: WriteContext = { zxid, time, session, superUser, events: [], undo: null };
    const outcome =
      txn.type === 'setACL'
        ? setAcl(this, txn.path, txn.acl, txn.version, ctx)
        : applyWriteOp(this, txn, ctx);
    if (!outcome.ok) return { result: { ok: false, type: 'op', error: outcome.error }, events: [] };
    return { result: { ok: true, type: 'op', result: outcome.result }, events: ctx.events };
  }

  /** All or nothing (ZooKeeper's multi): on the first failure every change so far is undone. */
  private applyMulti(ops: readonly WriteOp[], ctx: WriteContext): ApplyOutcome {
    const results: OpResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const outcome = applyWriteOp(this, ops[i] as WriteOp, ctx);
      if (outcome.ok) {
        results.push(outcome.result);
        continue;
      }
      const undo = ctx.undo as Array<() => void>;
      for (let u = undo.length - 1; u >= 0; u--) (undo[u] as () => void)();
      const codes = ops.map((_, j) =>
        j < i
          ? { code: 'Ok' as const }
          : j === i
            ? outcome.error
            : { code: 'RuntimeInconsistency' as const },
      );
      return {
        result: { ok: false, type: 'multi', error: outcome.error, results: codes },
        events: [],
      };
    }
    return { result: { ok: true, type: 'multi', results }, events: ctx.events };
  }

  /** Deletes the containers and TTL nodes among `paths` that are still due at `time`. */
  private reap(paths: readonly string[], time: number, ctx: DeleteContext): string[] {
    const deleted: string[] = [];
    for (const path of paths) {
      const node = this.nodes.get(path);
      if (node === undefined || !this.isDue(node, time)) continue;
      deleteNode(this, path, ctx);
      deleted.push(path);
    }
    return deleted;
  }

  private isDue(node: ZNode, time: number): boolean {
    if (node.children !== null && node.children.size > 0) return false;
    const kind = kindOf(node.ephemeralOwner);
    // A container is reaped once it has had children and lost them all (ContainerManager).
    if (kind === 'container') return node.cversion > 0;
    // A TTL node expires when unchanged for longer than its TTL (ContainerManager, EphemeralType.TTL).
    if (kind === 'ttl') return time - node.mtime > ttlOf(node.ephemeralOwner);
    return false;
  }

  /** Containers and TTL nodes due at `time`, sorted: what the leader proposes in a `reap` txn. */
  dueForReaping(time: number): string[] {
    const due: string[] = [];
    for (const path of this.reapable) {
      const node = this.nodes.get(path);
      if (node !== undefined && this.isDue(node, time)) due.push(path);
    }
    return due.sort();
  }

  // ---- internal mutation hooks (used by write-ops, session-ops and snapshot) --------------

  /** Empties the tree before a snapshot is restored into it. */
  resetForRestore(): void {
    if (this.keeper !== null) throw new Error('znode: restoring into a tree being snapshotted');
    this.nodes.clear();
    this.sessions.clear();
    this.reapable.clear();
    this.childIndexes.clear();
    this.digestSum = 0;
    this.lastZxid = 0 as Zxid;
  }

  node(path: string): ZNode | undefined {
    return this.nodes.get(path);
  }

  /** Lists `name` under `parent` (the only way a child is added: it keeps the child index in step). */
  addChild(parent: ZNode, name: string): void {
    if (parent.children === null) parent.children = new Set();
    const size = parent.children.size;
    parent.children.add(name);
    if (this.childIndexes.size === 0 || parent.children.size === size) return;
    const index = this.childIndexes.get(parent);
    if (index !== undefined && !index.add(name)) this.childIndexes.delete(parent);
  }

  /** Unlists `name` under `parent`; a parent left with none goes back to `children === null`. */
  removeChild(parent: ZNode, name: string): void {
    if (parent.children === null || !parent.children.delete(name)) return;
    if (parent.children.size === 0) parent.children = null;
    if (this.childIndexes.size === 0) return;
    const index = this.childIndexes.get(parent);
    if (index === undefined) return;
    if (parent.children === null || !index.remove(name)) this.childIndexes.delete(parent);
  }

  /**
   * Call before changing an attached node (data, Stat fields, ACL, child list) or detaching it:
   * a snapshot in progress keeps its state from before the change. One branch when none runs.
   */
  preserve(path: string, node: ZNode): void {
    if (this.keeper !== null) this.keeper.preserve(path, node);
  }

  /** Registers the one snapshot in progress; throws if there is one already (a caller's bug). */
  startPreserving(keeper: PreImageKeeper): void {
    if (this.keeper !== null) throw new Error('znode: a snapshot of this tree is in progress');
    this.keeper = keeper;
  }

  /** Unregisters `keeper` (finished or aborted); a keeper that is not the registered one is a no-op. */
  stopPreserving(keeper: PreImageKeeper): void {
    if (this.keeper === keeper) this.keeper = null;
  }

  /** Adds a node (its parent already lists it) and indexes it. */
  attach(path: string, node: ZNode): void {
    this.nodes.set(path, node);
    node.hash = hashNode(path, node) | 0;
    this.digestSum = (this.digestSum + node.hash) >>> 0;
    const kind = kindOf(node.ephemeralOwner);
    if (kind === 'ephemeral') this.sessions.get(node.ephemeralOwner)?.ephemerals.add(path);
    else if (kind === 'container' || kind === 'ttl') this.reapable.add(path);
  }

  detach(path: string, node: ZNode): void {
    this.nodes.delete(path);
    this.digestSum = (this.digestSum - node.hash) >>> 0;
    const kind = kindOf(node.ephemeralOwner);
    if (kind === 'ephemeral') this.sessions.get(node.ephemeralOwner)?.ephemerals.delete(path);
    else if (kind === 'container' || kind === 'ttl') this.reapable.delete(path);
  }

  /** Runs `change` on an attached node, then `rehash`es it. */
  modify(path: string, node: ZNode, change: () => void): void {
    change();
    this.rehash(path, node);
  }

  /**
   * Keeps the digest in step after an attached node's hashed fields (data, Stat, children)
   * changed in place: swaps its cached share for a fresh one. Every such change must be
   * followed by this call; the test harness recomputes the digest from scratch to check.
   * Writes change the node and call this directly rather than pass `modify` a closure, which
   * cost a context and a function object per write.
   */
  rehash(path: string, node: ZNode): void {
    const hash = hashNode(path, node) | 0;
    this.digestSum = (this.digestSum - node.hash + hash) >>> 0;
    node.hash = hash;
  }

  sessionState(id: SessionId): SessionState | undefined {
    return this.sessions.get(id);
  }

  putSession(session: SessionState): void {
    this.sessions.set(session.id, session);
    this.digestSum =
      (this.digestSum + hashSession(session.id, session.timeoutMs, session.authIds)) >>> 0;
  }

  dropSession(id: SessionId): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.digestSum = (this.digestSum - hashSession(id, session.timeoutMs, session.authIds)) >>> 0;
  }

  /** Adds an identity to a live session, keeping the digest in step (auth ids decide ACL checks). */
  addAuthId(session: SessionState, id: Id): void {
    this.digestSum =
      (this.digestSum - hashSession(session.id, session.timeoutMs, session.authIds)) >>> 0;
    session.authIds.push({ scheme: id.scheme, id: id.id });
    this.digestSum =
      (this.digestSum + hashSession(session.id, session.timeoutMs, session.authIds)) >>> 0;
  }

  isSuper(authIds: readonly Id[]): boolean {
    for (const id of authIds) {
      if (id.scheme === 'super') return true;
      for (const superId of this.options.superIds)
        if (superId.scheme === id.scheme && superId.id === id.id) return true;
    }
    return false;
  }

  // ---- reads -----------------------------------------------------------------------------

  private reader(sessionId: SessionId | null): { authIds: readonly Id[]; superUser: boolean } {
    const session = (sessionId === null ? undefined : this.sessions.get(sessionId)) ?? ANONYMOUS;
    return { authIds: session.authIds, superUser: this.isSuper(session.authIds) };
  }

  private readable(
    path: string,
    sessionId: SessionId | null,
    perm: number = PERMS.READ,
  ): ReadResult<ZNode> {
    const invalid = validatePath(path, false);
    if (invalid !== null) return { ok: false, error: invalid };
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, error: { code: 'NoNode', path } };
    const { authIds, superUser } = this.reader(sessionId);
    if (!checkPermission(node.acl, perm, authIds, superUser))
      return { ok: false, error: { code: 'NoAuth', path } };
    return { ok: true, value: node };
  }

  getData(path: string, sessionId: SessionId | null): ReadResult<{ data: Uint8Array; stat: Stat }> {
    const found = this.readable(path, sessionId);
    return found.ok
      ? { ok: true, value: { data: found.value.data, stat: found.value.stat() } }
      : found;
  }

  /** The Stat, or null for a missing node. Needs READ on an existing node (ZooKeeper 3.8.4+). */
  exists(path: string, sessionId: SessionId | null): ReadResult<Stat | null> {
    const found = this.readable(path, sessionId);
    if (found.ok) return { ok: true, value: found.value.stat() };
    return found.error.code === 'NoNode' ? { ok: true, value: null } : found;
  }

  /**
   * The child names, sorted: a Set keeps insertion order, which differs between a replica that
   * replayed the log and one restored from a snapshot, and every replica must answer alike.
   */
  getChildren(
    path: string,
    sessionId: SessionId | null,
  ): ReadResult<{ children: string[]; stat: Stat }> {
    const found = this.readable(path, sessionId);
    if (!found.ok) return found;
    const index = this.childIndex(found.value);
    const children =
      index === null ? [...(found.value.children ?? [])].sort() : index.names().slice();
    return { ok: true, value: { children, stat: found.value.stat() } };
  }

  /**
   * One page of the sorted child names: at most `limit` (all when undefined) of those sorting
   * strictly after `after` (from the first when undefined), and whether more follow. A page
   * costs O(log n + limit) once the parent's child index is built (see child-index.ts), so
   * paging through n names costs O(n), not a full sort per page. `after` need not be a child
   * any more: names created between pages are returned if they sort after it, names deleted
   * are not, and no name present throughout is skipped or repeated.
   */
  getChildrenPage(
    path: string,
    sessionId: SessionId | null,
    page: { readonly after?: string | undefined; readonly limit?: number | undefined },
  ): ReadResult<{ children: string[]; stat: Stat; more: boolean }> {
    const found = this.readable(path, sessionId);
    if (!found.ok) return found;
    const node = found.value;
    const limit = page.limit ?? Number.POSITIVE_INFINITY;
    const index = this.childIndex(node);
    if (index !== null) {
      const { names, more } = index.page(page.after, limit);
      return { ok: true, value: { children: names, stat: node.stat(), more } };
    }
    const all = [...(node.children ?? [])].sort();
    const start = page.after === undefined ? 0 : upperBound(all, page.after);
    const end = Math.min(all.length, start + limit);
    return {
      ok: true,
      value: { children: all.slice(start, end), stat: node.stat(), more: end < all.length },
    };
  }

  /** The node's sorted child index, built on first use; null for a child list too small for one. */
  private childIndex(node: ZNode): ChildIndex | null {
    const existing = this.childIndexes.get(node);
    if (existing !== undefined) return existing;
    if (node.children === null || node.children.size < CHILD_INDEX_MIN) return null;
    const index = new ChildIndex(node.children);
    this.childIndexes.set(node, index);
    return index;
  }

  /** The number of all descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string, sessionId: SessionId | null): ReadResult<number> {
    const found = this.readable(path, sessionId);
    if (!found.ok) return found;
    let count = 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const at = stack.pop() as string;
      for (const name of this.nodes.get(at)?.children ?? []) {
        count++;
        stack.push(joinPath(at, name));
      }
    }
    return { ok: true, value: count };
  }

  /** The session's own ephemerals whose path starts with `prefix` (all for "/" or blank), sorted. */
  getEphemerals(sessionId: SessionId, prefix: string): string[] {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return [];
    // FinalRequestProcessor: a prefix that Java's trim() leaves empty or "/" means all;
    // any other is matched untrimmed, as a string prefix ("/a" finds "/ab" too).
    const trimmed = javaTrim(prefix);
    const all = trimmed === '' || trimmed === '/';
    return [...session.ephemerals].filter((path) => all || path.startsWith(prefix)).sort();
  }

  /** The ACL and Stat; needs READ or ADMIN, and digest ids are masked without ADMIN. */
  getACL(
    path: string,
    sessionId: SessionId | null,
  ): ReadResult<{ acl: readonly Acl[]; stat: Stat }> {
    const invalid = validatePath(path, false);
    if (invalid !== null) return { ok: false, error: invalid };
    const node = this.nodes.get(path);
    if (node === undefined) return { ok: false, error: { code: 'NoNode', path } };
    const { authIds, superUser } = this.reader(sessionId);
    const canAdmin = checkPermission(node.acl, PERMS.ADMIN, authIds, superUser);
    if (!canAdmin && !checkPermission(node.acl, PERMS.READ, authIds, superUser))
      return { ok: false, error: { code: 'NoAuth', path } };
    return { ok: true, value: { acl: maskAclForRead(node.acl, canAdmin), stat: node.stat() } };
  }

  /** Reads answered independently (not all-or-nothing), as ZooKeeper's multiRead. */
  multiRead(
    ops: readonly ReadOp[],
    sessionId: SessionId | null,
  ): ReadResult<{ data: Uint8Array; stat: Stat } | { children: string[]; stat: Stat }>[] {
    return ops.map((op) =>
      op.type === 'getData'
        ? this.getData(op.path, sessionId)
        : this.getChildren(op.path, sessionId),
    );
  }

  /** Whether `sessionId` may read `path` (for watch notifications that must respect ACLs). */
  canRead(sessionId: SessionId, path: string): boolean {
    return this.readable(path, sessionId).ok;
  }

  /** Whether `sessionId` may be told about `event` (READ on the ACL the event carries). */
  canReadEvent(sessionId: SessionId, event: ChangeEvent): boolean {
    if (event.acl === undefined)
      return this.nodes.get(event.path) === undefined || this.canRead(sessionId, event.path);
    const { authIds, superUser } = this.reader(sessionId);
    return checkPermission(event.acl, PERMS.READ, authIds, superUser);
  }

  /** The zxids setWatches compares against, or null for a missing node. */
  watchState(path: string): { mzxid: Zxid; pzxid: Zxid } | null {
    const node = this.nodes.get(path);
    return node === undefined ? null : { mzxid: node.mzxid, pzxid: node.pzxid };
  }

  session(id: SessionId): {
    readonly timeoutMs: number;
    readonly password: Uint8Array;
    readonly authIds: readonly Id[];
  } | null {
    return this.sessions.get(id) ?? null;
  }

  /** Number of live sessions in the table (what `sessionIds().length` is, without the sort). */
  sessionCount(): number {
    return this.sessions.size;
  }

  sessionIds(): SessionId[] {
    return [...this.sessions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Number of znodes, including `/` and the reserved `/zookeeper` nodes. */
  size(): number {
    return this.nodes.size;
  }

  /** The adHash of every node and session (see digest.ts): equal trees have equal digests. */
  digest(): number {
    return this.digestSum;
  }

  /** Every path under `root` (itself included), parents before children, siblings sorted. */
  *paths(root = '/'): Generator<string> {
    const stack: string[] = [root];
    while (stack.length > 0) {
      const path = stack.pop() as string;
      yield path;
      const children = [...(this.nodes.get(path)?.children ?? [])].sort().reverse();
      for (const name of children) stack.push(joinPath(path, name));
    }
  }
}

/** Java's String.trim(): strips every char up to U+0020 at both ends (JS trim() strips others). */
function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}
