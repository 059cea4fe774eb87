import {
  type OpResult,
  reportedCversion,
  type SessionId,
  type Stat,
  type Txn,
  type TxnResult,
  type WriteOp,
  type Zxid,
} from '@cairn/znode';

/**
 * A small reference model of the znode tree, written apart from `@cairn/znode` (STYLE §9.2:
 * the fast version against a slow obvious one). It replays the committed log and answers what
 * every txn should have returned, and it keeps every version of every path so a read can be
 * checked against the tree as it was at any zxid. Only what the simulator's workload uses is
 * modelled: valid paths, open ACLs, persistent/ephemeral/sequential/container/TTL nodes, multi,
 * sessions and reaping.
 */
export interface ModelNode {
  readonly data: Uint8Array;
  readonly version: number;
  readonly cversion: number;
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly owner: bigint;
  readonly children: readonly string[];
}

export type Change = 'created' | 'deleted' | 'data' | 'children';

/** One state of a path from `zxid` on (null: absent), and what changed to make it. */
export interface PathVersion {
  readonly zxid: number;
  readonly node: ModelNode | null;
  readonly changes: ReadonlySet<Change>;
}

const CONTAINER_OWNER = -(2n ** 63n);
const RESERVED = new Set(['/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
const SEQUENTIAL_MODES = new Set([
  'persistent-sequential',
  'ephemeral-sequential',
  'persistent-sequential-with-ttl',
]);
const TTL_MODES = new Set(['persistent-with-ttl', 'persistent-sequential-with-ttl']);
const KNOWN_MODES = new Set([
  'persistent',
  'ephemeral',
  'persistent-sequential',
  'ephemeral-sequential',
  'container',
  'persistent-with-ttl',
  'persistent-sequential-with-ttl',
]);

type Failure = { code: string; path?: string };
type Step = { ok: true; result: OpResult } | { ok: false; error: Failure };

/** A TTL node's owner field: high byte 0xFF (ZooKeeper's EphemeralType.TTL). */
function isTtlOwner(owner: bigint): boolean {
  return owner !== CONTAINER_OWNER && BigInt.asUintN(64, owner) >> 56n === 0xffn;
}

export function parentPath(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

function childName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export class TreeModel {
  private nodes = new Map<string, ModelNode>();
  private sessions = new Map<bigint, Set<string>>();
  /** Path -> its versions in zxid order (the first one at zxid 0). */
  readonly versions = new Map<string, PathVersion[]>();
  private touched = new Map<string, Set<Change>>();
  lastZxid = 0;

  constructor() {
    const empty = new Uint8Array(0);
    for (const path of ['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota'])
      this.nodes.set(path, {
        data: empty,
        version: 0,
        cversion: 0,
        czxid: 0,
        mzxid: 0,
        pzxid: 0,
        owner: 0n,
        children: [],
      });
    this.nodes.set('/', { ...(this.nodes.get('/') as ModelNode), children: ['zookeeper'] });
    this.nodes.set('/zookeeper', {
      ...(this.nodes.get('/zookeeper') as ModelNode),
      children: ['config', 'quota'],
    });
    for (const [path, node] of this.nodes)
      this.versions.set(path, [{ zxid: 0, node, changes: new Set(['created']) }]);
  }

  node(path: string): ModelNode | undefined {
    return this.nodes.get(path);
  }

  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  liveSessions(): bigint[] {
    return [...this.sessions.keys()];
  }

  ephemeralsOf(session: bigint): string[] {
    return [...(this.sessions.get(session) ?? [])].sort();
  }

  /** The state of `path` at `zxid` (after every txn up to it). */
  at(path: string, zxid: number): ModelNode | null {
    const list = this.versions.get(path);
    if (list === undefined) return null;
    let found: ModelNode | null = null;
    for (const version of list) {
      if (version.zxid > zxid) break;
      found = version.node;
    }
    return found;
  }

  /**
   * Applies an applied txn at `zxid`; returns what it should have answered. The model has no
   * clock, so whether a TTL node was due in a `reap` is taken from `reaped` (the runtime's
   * answer); every other condition is the model's own.
   */
  apply(txn: Txn, zxid: number, reaped: readonly string[] = []): TxnResult {
    if (zxid <= this.lastZxid) throw new Error(`model: zxid ${zxid} after ${this.lastZxid}`);
    this.lastZxid = zxid;
    this.touched = new Map();
    const result = this.applyTxn(txn, zxid, new Set(reaped));
    for (const [path, changes] of this.touched) {
      let list = this.versions.get(path);
      if (list === undefined) {
        list = [];
        this.versions.set(path, list);
      }
      list.push({ zxid, node: this.nodes.get(path) ?? null, changes });
    }
    return result;
  }

  private applyTxn(txn: Txn, zxid: number, reaped: ReadonlySet<string>): TxnResult {
    switch (txn.type) {
      case 'createSession':
        this.sessions.set(txn.sessionId, new Set());
        return { ok: true, type: 'createSession' };
      case 'closeSession': {
        const ephemerals = this.sessions.get(txn.sessionId);
        if (ephemerals === undefined)
          return { ok: false, type: 'session', error: { code: 'SessionExpired' } };
        for (const path of [...ephemerals].sort()) this.remove(path, zxid);
        this.sessions.delete(txn.sessionId);
        return { ok: true, type: 'closeSession' };
      }
      case 'addAuth':
        return this.sessions.has(txn.sessionId)
          ? { ok: true, type: 'addAuth' }
          : { ok: false, type: 'session', error: { code: 'SessionExpired' } };
      case 'reap': {
        const deleted: string[] = [];
        for (const path of txn.paths) {
          const node = this.nodes.get(path);
          if (node === undefined || node.children.length > 0) continue;
          const due =
            node.owner === CONTAINER_OWNER
              ? node.cversion > 0
              : isTtlOwner(node.owner) && reaped.has(path);
          if (!due) continue;
          this.remove(path, zxid);
          deleted.push(path);
        }
        return { ok: true, type: 'reap', deleted };
      }
      default:
        break;
    }
    if (!this.sessions.has(txn.sessionId)) {
      const error = { code: 'SessionExpired' } as const;
      return txn.type === 'multi'
        ? { ok: false, type: 'multi', error, results: [] }
        : { ok: false, type: 'op', error };
    }
    if (txn.type === 'setACL') throw new Error('model: setACL is not modelled');
    if (txn.type === 'multi') return this.multi(txn.ops, txn.sessionId, zxid);
    const step = this.op(txn, txn.sessionId, zxid);
    return step.ok
      ? { ok: true, type: 'op', result: step.result }
      : ({ ok: false, type: 'op', error: step.error } as TxnResult);
  }

  private multi(ops: readonly WriteOp[], session: SessionId, zxid: number): TxnResult {
    const nodes = new Map(this.nodes);
    const sessions = new Map([...this.sessions].map(([id, set]) => [id, new Set(set)]));
    const touched = new Map([...this.touched].map(([p, c]) => [p, new Set(c)]));
    const results: OpResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const step = this.op(ops[i] as WriteOp, session, zxid);
      if (step.ok) {
        results.push(step.result);
        continue;
      }
      this.nodes = nodes;
      this.sessions = sessions;
      this.touched = touched;
      const codes = ops.map((_, j) =>
        j < i ? { code: 'Ok' } : j === i ? step.error : { code: 'RuntimeInconsistency' },
      );
      return { ok: false, type: 'multi', error: step.error, results: codes } as TxnResult;
    }
    return { ok: true, type: 'multi', results };
  }

  private op(op: WriteOp, session: SessionId, zxid: number): Step {
    switch (op.type) {
      case 'create':
        return this.create(op, session, zxid);
      case 'delete': {
        if (op.path === '/' || RESERVED.has(op.path))
          return { ok: false, error: { code: 'BadArguments', path: op.path } };
        const parent = parentPath(op.path);
        if (!this.nodes.has(parent)) return { ok: false, error: { code: 'NoNode', path: parent } };
        const node = this.nodes.get(op.path);
        if (node === undefined) return { ok: false, error: { code: 'NoNode', path: op.path } };
        if (op.version !== -1 && op.version !== node.version)
          return { ok: false, error: { code: 'BadVersion', path: op.path } };
        if (node.children.length > 0)
          return { ok: false, error: { code: 'NotEmpty', path: op.path } };
        this.remove(op.path, zxid);
        return { ok: true, result: { type: 'delete' } };
      }
      case 'setData': {
        if (RESERVED.has(op.path))
          return { ok: false, error: { code: 'BadArguments', path: op.path } };
        const node = this.nodes.get(op.path);
        if (node === undefined) return { ok: false, error: { code: 'NoNode', path: op.path } };
        if (op.version !== -1 && op.version !== node.version)
          return { ok: false, error: { code: 'BadVersion', path: op.path } };
        const next = { ...node, data: op.data, version: node.version + 1, mzxid: zxid };
        this.put(op.path, next, 'data');
        return { ok: true, result: { type: 'setData', stat: statOf(next) } };
      }
      case 'check': {
        const node = this.nodes.get(op.path);
        if (node === undefined) return { ok: false, error: { code: 'NoNode', path: op.path } };
        if (op.version !== -1 && op.version !== node.version)
          return { ok: false, error: { code: 'BadVersion', path: op.path } };
        return { ok: true, result: { type: 'check' } };
      }
    }
  }

  private create(op: Extract<WriteOp, { type: 'create' }>, session: SessionId, zxid: number): Step {
    if (!KNOWN_MODES.has(op.mode))
      return { ok: false, error: { code: 'BadArguments', path: op.path } };
    const ttl = TTL_MODES.has(op.mode);
    if (ttl) {
      const ttlMs = op.ttlMs ?? 0;
      if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > 0xff_ffff_ffff)
        return { ok: false, error: { code: 'BadArguments', path: op.path } };
    } else if (op.ttlMs !== undefined && op.ttlMs >= 0)
      return { ok: false, error: { code: 'BadArguments', path: op.path } };
    if (RESERVED.has(op.path)) return { ok: false, error: { code: 'BadArguments', path: op.path } };
    const parent = parentPath(op.path);
    const parentNode = this.nodes.get(parent);
    if (parentNode === undefined) return { ok: false, error: { code: 'NoNode', path: parent } };
    const path = SEQUENTIAL_MODES.has(op.mode)
      ? op.path + String(parentNode.cversion).padStart(10, '0')
      : op.path;
    if (this.nodes.has(path)) return { ok: false, error: { code: 'NodeExists', path } };
    if (parentNode.owner > 0n)
      return { ok: false, error: { code: 'NoChildrenForEphemerals', path } };
    const ephemeral = op.mode === 'ephemeral' || op.mode === 'ephemeral-sequential';
    const node: ModelNode = {
      data: op.data,
      version: 0,
      cversion: 0,
      czxid: zxid,
      mzxid: zxid,
      pzxid: zxid,
      owner: ephemeral
        ? session
        : op.mode === 'container'
          ? CONTAINER_OWNER
          : ttl
            ? BigInt.asIntN(64, (0xffn << 56n) | BigInt(op.ttlMs ?? 0))
            : 0n,
      children: [],
    };
    this.put(path, node, 'created');
    this.put(
      parent,
      {
        ...parentNode,
        cversion: parentNode.cversion + 1,
        pzxid: zxid,
        children: [...parentNode.children, childName(path)].sort(),
      },
      'children',
    );
    if (ephemeral) this.sessions.get(session)?.add(path);
    return { ok: true, result: { type: 'create', path, stat: statOf(node) } };
  }

  private remove(path: string, zxid: number): void {
    const node = this.nodes.get(path) as ModelNode;
    this.nodes.delete(path);
    this.mark(path, 'deleted');
    if (node.owner > 0n) this.sessions.get(node.owner)?.delete(path);
    const parent = parentPath(path);
    const parentNode = this.nodes.get(parent) as ModelNode;
    const name = childName(path);
    this.put(
      parent,
      { ...parentNode, pzxid: zxid, children: parentNode.children.filter((c) => c !== name) },
      'children',
    );
  }

  private put(path: string, node: ModelNode, change: Change): void {
    this.nodes.set(path, node);
    this.mark(path, change);
  }

  private mark(path: string, change: Change): void {
    let set = this.touched.get(path);
    if (set === undefined) {
      set = new Set();
      this.touched.set(path, set);
    }
    set.add(change);
  }
}

/** The Stat fields the model knows (not ctime/mtime: time stamps are the leader's). */
export interface ModelStat {
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
}

export function statOf(node: ModelNode): Stat {
  return {
    czxid: node.czxid as Zxid,
    mzxid: node.mzxid as Zxid,
    pzxid: node.pzxid as Zxid,
    ctime: 0,
    mtime: 0,
    version: node.version,
    cversion: reportedCversion(node.cversion, node.children.length),
    aversion: 0,
    ephemeralOwner: node.owner as SessionId,
    dataLength: node.data.length,
    numChildren: node.children.length,
  };
}

/** A Stat without its time stamps, as text: what results are compared by. */
export function describeStat(stat: Stat): string {
  return `cz=${stat.czxid} mz=${stat.mzxid} pz=${stat.pzxid} v=${stat.version} cv=${stat.cversion} av=${stat.aversion} eo=${stat.ephemeralOwner} dl=${stat.dataLength} nc=${stat.numChildren}`;
}

/** A txn result as stable text without time stamps: equal text, equal answer. */
export function describeResult(result: TxnResult | null | undefined): string {
  if (result === null || result === undefined) return 'none';
  const error = (e: { code: string; path?: string }): string =>
    e.path === undefined ? e.code : `${e.code}@${e.path}`;
  const op = (r: OpResult): string => {
    switch (r.type) {
      case 'create':
        return `create ${r.path} ${describeStat(r.stat)}`;
      case 'setData':
      case 'setACL':
        return `${r.type} ${describeStat(r.stat)}`;
      default:
        return r.type;
    }
  };
  if (result.ok) {
    if (result.type === 'op') return `ok ${op(result.result)}`;
    if (result.type === 'multi') return `ok multi [${result.results.map(op).join('; ')}]`;
    if (result.type === 'reap') return `ok reap [${result.deleted.join(' ')}]`;
    return `ok ${result.type}`;
  }
  if (result.type === 'multi')
    return `error ${error(result.error)} [${result.results.map(error).join('; ')}]`;
  return `error ${error(result.error)}`;
}
