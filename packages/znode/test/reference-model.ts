// The slow, obvious twin of ZTree that model.test.ts drives: a flat Map from path to node record
// plus a set of live sessions, every rule written out the naive way (children found by scanning
// every key, dueness recomputed from scratch, a multi applied to a copy of the whole map and
// kept only if every op succeeds). The rules are ZooKeeper 3.8's (reference/ZOOKEEPER.md §1.1-
// §1.5, DataTree and PrepRequestProcessor), plus Cairn's documented choices where ZooKeeper has
// no client-visible equivalent (the whole `/zookeeper` subtree is reserved, the reaper re-checks
// dueness when its txn applies, closing a session deletes its ephemerals in sorted order).
import type { ChangeEvent, CreateMode, Stat, Txn, TxnResult, WriteOp, Zxid } from '@cairn/znode';

export type Kind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

/** Everything the model keeps per znode; Stat's numChildren and dataLength are derived. */
export interface ModelNode {
  data: Uint8Array;
  /** true: world:anyone ALL; false: world:anyone READ only (no CREATE, DELETE, WRITE, ADMIN). */
  open: boolean;
  kind: Kind;
  ephemeralOwner: bigint;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
}

export interface ModelOptions {
  readonly ttlEnabled: boolean;
  readonly dataBytesMax: number;
}

const CONTAINER_OWNER = -(2n ** 63n);
/** EphemeralType.TTL: high byte 0xFF, TTL in the low 40 bits; 0xFF00… as a signed long: -2^56. */
const TTL_OWNER_BASE = -(2n ** 56n);
const TTL_MS_MAX = 2 ** 40 - 1;

type Outcome =
  | { ok: true; result: OpResultLike }
  | { ok: false; error: { code: string; path?: string } };
type OpResultLike =
  | { type: 'create'; path: string; stat: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'setACL'; stat: Stat }
  | { type: 'check' };

interface Context {
  readonly zxid: number;
  readonly time: number;
  readonly session: bigint;
  readonly events: ChangeEvent[];
}

export function parentOf(path: string): string {
  const parent = path.slice(0, path.lastIndexOf('/'));
  return parent === '' ? '/' : parent;
}

/** PathUtils.validatePath for the plain ASCII paths the test generates. */
export function isValidPath(path: string, sequential: boolean): boolean {
  const checked = sequential ? `${path}1` : path;
  if (!checked.startsWith('/')) return false;
  if (checked === '/') return true;
  if (checked.endsWith('/')) return false;
  return checked
    .split('/')
    .slice(1)
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export function isReserved(path: string): boolean {
  return path === '/zookeeper' || path.startsWith('/zookeeper/');
}

function fresh(data: Uint8Array, zxid: number, time: number): ModelNode {
  return {
    data,
    open: true,
    kind: 'persistent',
    ephemeralOwner: 0n,
    czxid: zxid,
    mzxid: zxid,
    pzxid: zxid,
    ctime: time,
    mtime: time,
    version: 0,
    cversion: 0,
    aversion: 0,
  };
}

type Nodes = Map<string, ModelNode>;

function childNames(nodes: Nodes, path: string): string[] {
  const names: string[] = [];
  for (const candidate of nodes.keys()) {
    if (candidate !== '/' && parentOf(candidate) === path) {
      names.push(candidate.slice(candidate.lastIndexOf('/') + 1));
    }
  }
  return names.sort();
}

function statOf(nodes: Nodes, path: string): Stat {
  const node = nodes.get(path) as ModelNode;
  const numChildren = childNames(nodes, path).length;
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    // DataNode.copyStat reports child changes: creates * 2 - children (Java int arithmetic).
    cversion: (Math.imul(node.cversion, 2) - numChildren) | 0,
    aversion: node.aversion,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren,
    pzxid: node.pzxid,
  } as Stat;
}

const fail = (code: string, path: string): Outcome => ({ ok: false, error: { code, path } });

const ANYONE = { scheme: 'world', id: 'anyone' };
const OPEN_ACL = [{ perms: 31, id: ANYONE }];
const READ_ONLY_ACL = [{ perms: 1, id: ANYONE }];

/** A change event as the tree reports it: with the ACL that watch delivery checks against. */
function event(
  type: ChangeEvent['type'],
  path: string,
  zxid: number,
  node: ModelNode,
): ChangeEvent {
  return { type, path, zxid: zxid as Zxid, acl: node.open ? OPEN_ACL : READ_ONLY_ACL };
}

export class ReferenceModel {
  nodes: Nodes = new Map();
  readonly sessions = new Set<bigint>();
  zxid = 0;
  time: number;

  constructor(
    readonly options: ModelOptions,
    startTime: number,
  ) {
    this.time = startTime;
    for (const path of ['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']) {
      this.nodes.set(path, fresh(new Uint8Array(0), 0, 0));
    }
    // DataTree.addConfigNode sets its READ-only ACL with version -1, stored as the aversion.
    // `open` stays true: READ is all a client can use there (writes are BadArguments first).
    (this.nodes.get('/zookeeper/config') as ModelNode).aversion = -1;
  }

  children(path: string): string[] {
    return childNames(this.nodes, path);
  }

  stat(path: string): Stat {
    return statOf(this.nodes, path);
  }

  /** Every path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** ContainerManager.getCandidates, naively: childless, and used (container) or expired (TTL). */
  isDue(path: string, time: number): boolean {
    const node = this.nodes.get(path);
    if (node === undefined || this.children(path).length > 0) return false;
    if (node.kind === 'container') return node.cversion > 0;
    if (node.kind === 'ttl')
      return time - node.mtime > Number(node.ephemeralOwner - TTL_OWNER_BASE);
    return false;
  }

  due(time: number): string[] {
    return this.paths().filter((path) => this.isDue(path, time));
  }

  ephemeralsOf(session: bigint): string[] {
    return this.paths().filter((path) => {
      const node = this.nodes.get(path) as ModelNode;
      return node.kind === 'ephemeral' && node.ephemeralOwner === session;
    });
  }

  /** Applies `txn` at the model's current zxid and time. */
  apply(txn: Txn): { result: TxnResult; events: ChangeEvent[] } {
    const events: ChangeEvent[] = [];
    const done = (result: unknown): { result: TxnResult; events: ChangeEvent[] } => ({
      result: result as TxnResult,
      events,
    });
    switch (txn.type) {
      case 'createSession': {
        if (this.sessions.has(txn.sessionId) || txn.sessionId === 0n || txn.timeoutMs <= 0) {
          return done({ ok: false, type: 'session', error: { code: 'BadArguments' } });
        }
        this.sessions.add(txn.sessionId);
        return done({ ok: true, type: 'createSession' });
      }
      case 'closeSession': {
        if (!this.sessions.has(txn.sessionId)) {
          return done({ ok: false, type: 'session', error: { code: 'SessionExpired' } });
        }
        for (const path of this.ephemeralsOf(txn.sessionId)) this.remove(this.nodes, path, events);
        this.sessions.delete(txn.sessionId);
        return done({ ok: true, type: 'closeSession' });
      }
      case 'addAuth':
        throw new Error('the model does not do addAuth');
      case 'reap': {
        const deleted: string[] = [];
        for (const path of txn.paths) {
          if (!this.isDue(path, this.time)) continue;
          this.remove(this.nodes, path, events);
          deleted.push(path);
        }
        return done({ ok: true, type: 'reap', deleted });
      }
      default:
        break;
    }
    if (!this.sessions.has(txn.sessionId)) {
      const error = { code: 'SessionExpired' };
      return done(
        txn.type === 'multi'
          ? { ok: false, type: 'multi', error, results: [] }
          : { ok: false, type: 'op', error },
      );
    }
    const context: Context = { zxid: this.zxid, time: this.time, session: txn.sessionId, events };
    if (txn.type === 'multi') return this.multi(txn.ops, context);
    const outcome =
      txn.type === 'setACL'
        ? this.setAcl(
            this.nodes,
            txn.path,
            txn.acl.length === 0 ? null : isOpen(txn.acl),
            txn.version,
          )
        : this.op(this.nodes, txn, context);
    if (!outcome.ok)
      return { result: { ok: false, type: 'op', error: outcome.error } as TxnResult, events: [] };
    return done({ ok: true, type: 'op', result: outcome.result });
  }

  /** All or nothing: the ops run on a copy of the map, which replaces it only if all succeed. */
  private multi(
    ops: readonly WriteOp[],
    context: Context,
  ): { result: TxnResult; events: ChangeEvent[] } {
    const draft: Nodes = new Map([...this.nodes].map(([path, node]) => [path, { ...node }]));
    const results: OpResultLike[] = [];
    for (let i = 0; i < ops.length; i++) {
      const outcome = this.op(draft, ops[i] as WriteOp, context);
      if (outcome.ok) {
        results.push(outcome.result);
        continue;
      }
      const codes = ops.map((_, j) =>
        j < i ? { code: 'Ok' } : j === i ? outcome.error : { code: 'RuntimeInconsistency' },
      );
      const result = { ok: false, type: 'multi', error: outcome.error, results: codes };
      return { result: result as TxnResult, events: [] };
    }
    this.nodes = draft;
    return { result: { ok: true, type: 'multi', results } as TxnResult, events: context.events };
  }

  private op(nodes: Nodes, op: WriteOp, context: Context): Outcome {
    switch (op.type) {
      case 'create':
        return this.create(nodes, op, context);
      case 'delete':
        return this.delete(nodes, op.path, op.version, context);
      case 'setData':
        return this.setData(nodes, op.path, op.data, op.version, context);
      case 'check':
        return this.check(nodes, op.path, op.version);
    }
  }

  /**
   * pRequest2TxnCreate's order: TTL, path, (Cairn: reserved, size), ACL, parent, NoAuth,
   * NodeExists, ephemeral parent.
   */
  private create(
    nodes: Nodes,
    op: Extract<WriteOp, { type: 'create' }>,
    context: Context,
  ): Outcome {
    const sequential = op.mode.includes('sequential');
    const ttl = op.mode.endsWith('with-ttl');
    if (ttl && !this.options.ttlEnabled) return fail('Unimplemented', op.path);
    const ttlMs = op.ttlMs ?? 0;
    if (ttl && !(Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= TTL_MS_MAX))
      return fail('BadArguments', op.path);
    // EphemeralType.validateTTL: a mode without a TTL takes none (-1, or absent, means none).
    if (!ttl && op.ttlMs !== undefined && op.ttlMs >= 0) return fail('BadArguments', op.path);
    if (!isValidPath(op.path, sequential)) return fail('BadArguments', op.path);
    // "/" itself is allowed: a sequential prefix (ZooKeeper makes /0000000042 under the root),
    // or, plain, the root itself, which then exists (NodeExists).
    if (isReserved(op.path)) return fail('BadArguments', op.path);
    if (op.data.length > this.options.dataBytesMax) return fail('BadArguments', op.path);
    if (op.acl.length === 0) return fail('InvalidACL', op.path);
    const parentPath = parentOf(op.path);
    const parent = nodes.get(parentPath);
    if (parent === undefined) return fail('NoNode', parentPath);
    if (!parent.open) return fail('NoAuth', parentPath);
    const path = sequential ? op.path + String(parent.cversion).padStart(10, '0') : op.path;
    if (nodes.has(path)) return fail('NodeExists', path);
    if (parent.kind === 'ephemeral') return fail('NoChildrenForEphemerals', path);
    const node = fresh(op.data, context.zxid, context.time);
    node.open = isOpen(op.acl);
    node.kind = kindOfMode(op.mode);
    if (node.kind === 'ephemeral') node.ephemeralOwner = context.session;
    if (node.kind === 'container') node.ephemeralOwner = CONTAINER_OWNER;
    if (node.kind === 'ttl') node.ephemeralOwner = TTL_OWNER_BASE + BigInt(ttlMs);
    nodes.set(path, node);
    parent.cversion = (parent.cversion + 1) | 0; // a Java int
    parent.pzxid = context.zxid;
    context.events.push(event('NodeCreated', path, context.zxid, node));
    context.events.push(event('NodeChildrenChanged', parentPath, context.zxid, parent));
    return { ok: true, result: { type: 'create', path, stat: statOf(nodes, path) } };
  }

  /**
   * PrepRequestProcessor's delete, in order: BadArguments, NoNode for the parent, NoAuth (DELETE
   * on the parent, before the node is looked up, so existence cannot be probed), NoNode for the
   * node, BadVersion, NotEmpty.
   */
  private delete(nodes: Nodes, path: string, version: number, context: Context): Outcome {
    if (!isValidPath(path, false) || path === '/' || isReserved(path))
      return fail('BadArguments', path);
    const parent = nodes.get(parentOf(path));
    if (parent === undefined) return fail('NoNode', parentOf(path));
    if (!parent.open) return fail('NoAuth', path);
    const node = nodes.get(path);
    if (node === undefined) return fail('NoNode', path);
    if (version !== -1 && version !== node.version) return fail('BadVersion', path);
    if (childNames(nodes, path).length > 0) return fail('NotEmpty', path);
    this.remove(nodes, path, context.events);
    return { ok: true, result: { type: 'delete' } };
  }

  /** DataTree.deleteNode: the parent's pzxid moves; its stored cversion counts creates only. */
  private remove(nodes: Nodes, path: string, events: ChangeEvent[]): void {
    const parentPath = parentOf(path);
    const parent = nodes.get(parentPath) as ModelNode;
    const node = nodes.get(path) as ModelNode;
    nodes.delete(path);
    parent.pzxid = this.zxid;
    events.push(event('NodeDeleted', path, this.zxid, node));
    events.push(event('NodeChildrenChanged', parentPath, this.zxid, parent));
  }

  private setData(
    nodes: Nodes,
    path: string,
    data: Uint8Array,
    version: number,
    context: Context,
  ): Outcome {
    if (!isValidPath(path, false) || isReserved(path)) return fail('BadArguments', path);
    if (data.length > this.options.dataBytesMax) return fail('BadArguments', path);
    const node = nodes.get(path);
    if (node === undefined) return fail('NoNode', path);
    if (!node.open) return fail('NoAuth', path);
    if (version !== -1 && version !== node.version) return fail('BadVersion', path);
    node.data = data;
    node.version = (node.version + 1) | 0; // a Java int
    node.mzxid = context.zxid;
    node.mtime = context.time;
    context.events.push(event('NodeDataChanged', path, context.zxid, node));
    return { ok: true, result: { type: 'setData', stat: statOf(nodes, path) } };
  }

  private check(nodes: Nodes, path: string, version: number): Outcome {
    if (!isValidPath(path, false)) return fail('BadArguments', path);
    const node = nodes.get(path);
    if (node === undefined) return fail('NoNode', path);
    if (version !== -1 && version !== node.version) return fail('BadVersion', path);
    return { ok: true, result: { type: 'check' } };
  }

  /** `open` null: an empty (invalid) ACL. Order: InvalidACL, NoNode, NoAuth (ADMIN), BadVersion. */
  private setAcl(nodes: Nodes, path: string, open: boolean | null, version: number): Outcome {
    if (!isValidPath(path, false) || isReserved(path)) return fail('BadArguments', path);
    if (open === null) return fail('InvalidACL', path);
    const node = nodes.get(path);
    if (node === undefined) return fail('NoNode', path);
    if (!node.open) return fail('NoAuth', path);
    if (version !== -1 && version !== node.aversion) return fail('BadVersion', path);
    node.open = open;
    node.aversion = (node.aversion + 1) | 0; // a Java int
    return { ok: true, result: { type: 'setACL', stat: statOf(nodes, path) } };
  }
}

function kindOfMode(mode: CreateMode): Kind {
  if (mode === 'ephemeral' || mode === 'ephemeral-sequential') return 'ephemeral';
  if (mode === 'container') return 'container';
  if (mode.endsWith('with-ttl')) return 'ttl';
  return 'persistent';
}

/** The test's ACLs: world:anyone with ALL (open) or READ only. */
function isOpen(acl: readonly { perms: number }[]): boolean {
  return acl.some((entry) => entry.perms === 31);
}
