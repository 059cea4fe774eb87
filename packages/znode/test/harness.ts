// Shared helpers for the tree's tests: a `Harness` that numbers zxids and stamps times the way
// the log would, result extractors that fail loudly on the wrong outcome, `checkInvariants`
// (the tree's structural invariants, RELIABILITY.md §4.3 and §4.4, plus the incremental digest
// against a full recomputation) and `dumpTree`, a canonical plain-object image of a tree that
// two trees can be compared by.
import {
  type Acl,
  type ApplyOutcome,
  type CreateMode,
  joinPath,
  kindOf,
  nameOf,
  type OpError,
  type OpResult,
  PERMS,
  parentOf,
  type SessionId,
  type Stat,
  sessionId,
  type TreeOptions,
  type Txn,
  type TxnResult,
  type WriteOp,
  ZTree,
  zxid,
} from '@cairn/znode';
import { hashNode, hashSession } from '../src/digest.js';

export const T0 = 1_700_000_000_000;
export const EMPTY = new Uint8Array(0);
export const OPEN: readonly Acl[] = [{ perms: PERMS.ALL, id: { scheme: 'world', id: 'anyone' } }];

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Every replica sees a txn at its zxid with the leader's time; the harness plays the leader. */
export class Harness {
  readonly tree: ZTree;
  zxid = 0;
  now = T0;
  /** Run `checkInvariants` after every apply (the default: every test doubles as an invariant test). */
  checking = true;

  /** A new tree with `options`, or an existing tree (one restored from a snapshot, say). */
  constructor(options: TreeOptions | ZTree = {}) {
    this.tree = options instanceof ZTree ? options : new ZTree(options);
  }

  /** Applies `txn` at the next zxid, one millisecond after the previous one. */
  apply(txn: Txn): ApplyOutcome {
    this.zxid++;
    this.now++;
    const outcome = this.tree.apply(txn, zxid(this.zxid), this.now);
    if (this.checking) checkInvariants(this.tree);
    return outcome;
  }

  openSession(id: bigint, timeoutMs = 10_000): SessionId {
    const session = sessionId(id);
    const outcome = this.apply({
      type: 'createSession',
      sessionId: session,
      timeoutMs,
      password: new Uint8Array(16),
    });
    if (!outcome.result.ok) throw new Error(`createSession ${id} failed: ${show(outcome.result)}`);
    return session;
  }

  create(
    session: SessionId,
    path: string,
    options: {
      data?: Uint8Array;
      acl?: readonly Acl[];
      mode?: CreateMode;
      ttlMs?: number;
    } = {},
  ): ApplyOutcome {
    return this.apply({ sessionId: session, ...createOp(path, options) });
  }

  /** Creates `path` and returns the created path and Stat, failing the test on any error. */
  mustCreate(...args: Parameters<Harness['create']>): { path: string; stat: Stat } {
    return created(this.create(...args));
  }

  delete(session: SessionId, path: string, version = -1): ApplyOutcome {
    return this.apply({ type: 'delete', sessionId: session, path, version });
  }

  setData(session: SessionId, path: string, data: Uint8Array, version = -1): ApplyOutcome {
    return this.apply({ type: 'setData', sessionId: session, path, data, version });
  }

  setACL(session: SessionId, path: string, acl: readonly Acl[], version = -1): ApplyOutcome {
    return this.apply({ type: 'setACL', sessionId: session, path, acl, version });
  }

  multi(session: SessionId, ops: readonly WriteOp[]): ApplyOutcome {
    return this.apply({ type: 'multi', sessionId: session, ops });
  }

  /** The Stat of an existing node, read as a super user would (no ACL in the way). */
  stat(path: string): Stat {
    const node = this.tree.node(path);
    if (node === undefined) throw new Error(`no node ${path}`);
    return node.stat();
  }
}

export function createOp(
  path: string,
  options: { data?: Uint8Array; acl?: readonly Acl[]; mode?: CreateMode; ttlMs?: number } = {},
): Extract<WriteOp, { type: 'create' }> {
  return {
    type: 'create',
    path,
    data: options.data ?? EMPTY,
    acl: options.acl ?? OPEN,
    mode: options.mode ?? 'persistent',
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
  };
}

/** JSON with bigints as `123n`, for failure messages and result comparisons. */
export function show(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON, so a Buffer shows like any other Uint8Array.
    const raw = this[key];
    if (typeof raw === 'bigint') return `${raw}n`;
    if (raw instanceof Uint8Array) return `bytes[${[...raw].join(',')}]`;
    return v;
  });
}

export function okOp(outcome: ApplyOutcome): OpResult {
  const result = outcome.result;
  if (!result.ok || result.type !== 'op')
    throw new Error(`expected a successful op, got ${show(result)}`);
  return result.result;
}

export function created(outcome: ApplyOutcome): { path: string; stat: Stat } {
  const result = okOp(outcome);
  if (result.type !== 'create') throw new Error(`expected a create result, got ${show(result)}`);
  return { path: result.path, stat: result.stat };
}

export function opError(outcome: ApplyOutcome): OpError {
  const result = outcome.result;
  if (result.ok || result.type !== 'op')
    throw new Error(`expected a failed op, got ${show(result)}`);
  expect0Events(outcome);
  return result.error;
}

export function multiFailure(
  outcome: ApplyOutcome,
): Extract<TxnResult, { ok: false; type: 'multi' }> {
  const result = outcome.result;
  if (result.ok || result.type !== 'multi')
    throw new Error(`expected a failed multi, got ${show(result)}`);
  expect0Events(outcome);
  return result;
}

export function multiResults(outcome: ApplyOutcome): readonly OpResult[] {
  const result = outcome.result;
  if (!result.ok || result.type !== 'multi')
    throw new Error(`expected a successful multi, got ${show(result)}`);
  return result.results;
}

export function sessionError(outcome: ApplyOutcome): OpError {
  const result = outcome.result;
  if (result.ok || result.type !== 'session')
    throw new Error(`expected a session error, got ${show(result)}`);
  return result.error;
}

function expect0Events(outcome: ApplyOutcome): void {
  if (outcome.events.length > 0)
    throw new Error(`a failed txn fired events: ${show(outcome.events)}`);
}

/** The events as `Type path` strings, in order. */
export function eventLines(outcome: ApplyOutcome): string[] {
  return outcome.events.map((event) => `${event.type} ${event.path}`);
}

/**
 * The invariants every applied txn must keep (RELIABILITY.md §4.3, §4.4). Throws naming the
 * broken one. Walks the tree from `/` and also checks that the walk reaches every node, so no
 * node is orphaned; recomputes the digest from scratch and compares it with the incremental one.
 */
export function checkInvariants(tree: ZTree): void {
  const fail = (message: string): never => {
    throw new Error(`invariant broken: ${message}`);
  };
  let visited = 0;
  let digest = 0;
  for (const path of tree.paths()) {
    visited++;
    const node = tree.node(path) ?? fail(`${path} is listed by its parent but missing`);
    const stat = node.stat();
    const children = [...(node.children ?? [])];
    if (node.children !== null && node.children.size === 0)
      fail(`${path} keeps an empty child set`);
    if (stat.numChildren !== children.length)
      fail(`${path} numChildren ${stat.numChildren} != ${children.length}`);
    for (const name of children) {
      if (tree.node(joinPath(path, name)) === undefined)
        fail(`${path} lists a missing child ${name}`);
    }
    if (path !== '/') {
      const parent = tree.node(parentOf(path)) ?? fail(`${path} has no parent`);
      if (parent.children?.has(nameOf(path)) !== true) fail(`${path} is not listed by its parent`);
    }
    // Java ints, as in ZooKeeper: they wrap past 2147483647 (and /zookeeper/config's aversion is -1).
    for (const [field, value] of [
      ['version', stat.version],
      ['cversion', stat.cversion],
      ['aversion', stat.aversion],
    ] as const) {
      if ((value | 0) !== value) fail(`${path} ${field} ${value} is not a Java int`);
    }
    if (stat.czxid > stat.mzxid) fail(`${path} czxid ${stat.czxid} > mzxid ${stat.mzxid}`);
    if (stat.czxid > stat.pzxid) fail(`${path} czxid ${stat.czxid} > pzxid ${stat.pzxid}`);
    if (stat.mzxid > tree.lastZxid)
      fail(`${path} mzxid ${stat.mzxid} after the last zxid ${tree.lastZxid}`);
    if (stat.pzxid > tree.lastZxid)
      fail(`${path} pzxid ${stat.pzxid} after the last zxid ${tree.lastZxid}`);
    if (stat.dataLength !== node.data.length) fail(`${path} dataLength ${stat.dataLength}`);
    if (kindOf(stat.ephemeralOwner) === 'ephemeral') {
      const owner = stat.ephemeralOwner;
      if (tree.session(owner) === null) fail(`${path} is owned by ${owner}, not a live session`);
      if (!tree.getEphemerals(owner, '/').includes(path))
        fail(`${path} is missing from ${owner}'s ephemerals`);
      if (children.length > 0) fail(`ephemeral ${path} has children`);
    }
    digest = (digest + hashNode(path, node)) >>> 0;
  }
  if (visited !== tree.size()) fail(`walked ${visited} nodes, the tree holds ${tree.size()}`);
  for (const id of tree.sessionIds()) {
    for (const path of tree.getEphemerals(id, '/')) {
      if (tree.node(path)?.ephemeralOwner !== id)
        fail(`${id} lists ${path}, which it does not own`);
    }
    const session = tree.session(id) ?? fail(`${id} is listed but missing`);
    digest = (digest + hashSession(id, session.timeoutMs, session.authIds)) >>> 0;
  }
  if (digest !== tree.digest()) fail(`incremental digest ${tree.digest()} != recomputed ${digest}`);
}

/** A canonical plain image of everything a tree replicates, for `toEqual` between two trees. */
export function dumpTree(tree: ZTree): unknown {
  const nodes = [...tree.paths()].map((path) => {
    const node = tree.node(path);
    if (node === undefined) throw new Error(`no node ${path}`);
    return {
      path,
      data: [...node.data],
      acl: node.acl.map((entry) => ({
        perms: entry.perms,
        scheme: entry.id.scheme,
        id: entry.id.id,
      })),
      stat: node.stat(),
      children: [...(node.children ?? [])].sort(),
    };
  });
  const sessions = tree.sessionIds().map((id) => {
    const session = tree.session(id);
    if (session === null) throw new Error(`no session ${id}`);
    return {
      id,
      timeoutMs: session.timeoutMs,
      password: [...session.password],
      authIds: session.authIds.map((authId) => ({ ...authId })),
      ephemerals: tree.getEphemerals(id, '/'),
    };
  });
  return {
    lastZxid: tree.lastZxid,
    digest: tree.digest(),
    nodes,
    sessions,
    due: tree.dueForReaping(Number.MAX_SAFE_INTEGER),
  };
}
