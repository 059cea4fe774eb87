import { checkPermission, fixAndInternAcl } from './acl.js';
import type { SessionId, Zxid } from './ids.js';
import { isReservedPath, nameOf, parentOf, sequentialName, validatePath } from './paths.js';
import type { SessionState, ZTree } from './tree.js';
import type { Acl, ChangeEvent, CreateMode, OpError, OpResult, WriteOp } from './types.js';
import { CREATE_MODE_FLAGS, PERMS } from './types.js';
import { CONTAINER_OWNER, kindOf, TTL_MS_MAX, ttlOwner, ZNode } from './znode.js';

/**
 * One write being applied: its zxid and time (the leader's stamp), the session's identities,
 * the events it fires, and, inside a multi, how to undo each change if a later op fails.
 */
export interface WriteContext {
  readonly zxid: Zxid;
  readonly time: number;
  readonly session: SessionState;
  readonly superUser: boolean;
  /** The events fired so far, in order; added with `emit`, which may replace the list. */
  events: ChangeEvent[];
  /** Set inside a multi: closures that undo each change, run in reverse on failure. */
  readonly undo: Array<() => void> | null;
}

/** What deleting a node needs of a WriteContext (session closes and reaps delete too). */
export type DeleteContext = Pick<WriteContext, 'zxid' | 'events' | 'undo'>;

/**
 * Adds an op's events (one or two) to `ctx.events`. The first ones replace the empty list with
 * a list of exactly their size: `[]` then push reserves 17 slots, about 150 bytes per txn for
 * the one or two events most txns fire. Later ones are pushed, so a multi or a session close
 * grows its list as usual.
 */
function emit(ctx: DeleteContext, first: ChangeEvent, second: ChangeEvent | null): void {
  if (ctx.events.length === 0) {
    ctx.events = second === null ? [first] : [first, second];
    return;
  }
  ctx.events.push(first);
  if (second !== null) ctx.events.push(second);
}

export type OpOutcome =
  | { readonly ok: true; readonly result: OpResult }
  | { readonly ok: false; readonly error: OpError };

const SEQUENTIAL: ReadonlySet<CreateMode> = new Set([
  'persistent-sequential',
  'ephemeral-sequential',
  'persistent-sequential-with-ttl',
]);
const TTL_MODES: ReadonlySet<CreateMode> = new Set([
  'persistent-with-ttl',
  'persistent-sequential-with-ttl',
]);

/** Applies one write op: validates everything first (an op that fails changes nothing), then mutates. */
export function applyWriteOp(tree: ZTree, op: WriteOp, ctx: WriteContext): OpOutcome {
  switch (op.type) {
    case 'create':
      return create(tree, op, ctx);
    case 'delete':
      return remove(tree, op.path, op.version, ctx);
    case 'setData':
      return setData(tree, op.path, op.data, op.version, ctx);
    case 'check':
      return check(tree, op.path, op.version, ctx);
    default: {
      // Only a corrupted or newer-format txn gets here; every replica answers the same.
      const unknown: { readonly path?: unknown } = op;
      return fail('Unimplemented', typeof unknown.path === 'string' ? unknown.path : '');
    }
  }
}

function fail(code: OpError['code'], path: string): OpOutcome {
  return { ok: false, error: { code, path } };
}

/** Checks in ZooKeeper's order (PrepRequestProcessor.pRequest2TxnCreate). */
function create(
  tree: ZTree,
  op: Extract<WriteOp, { type: 'create' }>,
  ctx: WriteContext,
): OpOutcome {
  // CreateMode.fromFlag refuses an unknown mode before anything else (a newer-format txn must
  // not silently become a persistent node).
  if (!Object.hasOwn(CREATE_MODE_FLAGS, op.mode)) return fail('BadArguments', op.path);
  const sequential = SEQUENTIAL.has(op.mode);
  const ttl = TTL_MODES.has(op.mode);
  if (ttl) {
    if (!tree.options.ttlEnabled) return fail('Unimplemented', op.path);
    const ttlMs = op.ttlMs ?? 0;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > TTL_MS_MAX)
      return fail('BadArguments', op.path);
  } else if (op.ttlMs !== undefined && !(op.ttlMs < 0)) {
    // EphemeralType.validateTTL: a TTL (>= 0) with a mode that has none; -1 means "no TTL".
    return fail('BadArguments', op.path);
  }
  const invalid = validatePath(op.path, sequential);
  if (invalid !== null) return { ok: false, error: invalid };
  // "/" is allowed: a sequential create names a child of the root (/0000000042), a plain one
  // finds the root and answers NodeExists, as ZooKeeper does.
  if (isReservedPath(op.path)) return fail('BadArguments', op.path);
  if (op.data.length > tree.options.dataBytesMax) return fail('BadArguments', op.path);
  const fixed = fixAndInternAcl(op.acl, ctx.session.authIds);
  if (!fixed.ok) return { ok: false, error: { ...fixed.error, path: op.path } };
  const parentPath = parentOf(op.path);
  const parent = tree.node(parentPath);
  if (parent === undefined) return fail('NoNode', parentPath);
  if (!checkPermission(parent.acl, PERMS.CREATE, ctx.session.authIds, ctx.superUser))
    return fail('NoAuth', parentPath);
  const path = sequential ? sequentialName(op.path, parent.cversion) : op.path;
  if (sequential) {
    const invalidActual = validatePath(path, false);
    if (invalidActual !== null) return { ok: false, error: invalidActual };
  }
  if (tree.node(path) !== undefined) return fail('NodeExists', path);
  if (kindOf(parent.ephemeralOwner) === 'ephemeral') return fail('NoChildrenForEphemerals', path);

  const owner =
    op.mode === 'ephemeral' || op.mode === 'ephemeral-sequential'
      ? ctx.session.id
      : op.mode === 'container'
        ? CONTAINER_OWNER
        : ttl
          ? ttlOwner(op.ttlMs ?? 0)
          : (0n as SessionId);
  const node = new ZNode(op.data, fixed.acl, ctx.zxid, ctx.time, owner);
  insertNode(tree, path, parentPath, node, ctx);
  const parentAcl = (tree.node(parentPath) as ZNode).acl;
  emit(
    ctx,
    { type: 'NodeCreated', path, zxid: ctx.zxid, acl: node.acl },
    { type: 'NodeChildrenChanged', path: parentPath, zxid: ctx.zxid, acl: parentAcl },
  );
  return { ok: true, result: { type: 'create', path, stat: node.stat() } };
}

function insertNode(
  tree: ZTree,
  path: string,
  parentPath: string,
  node: ZNode,
  ctx: WriteContext,
): void {
  const parent = tree.node(parentPath) as ZNode;
  tree.preserve(parentPath, parent);
  if (ctx.undo !== null) ctx.undo.push(undoInsert(tree, path, parentPath, parent, node));
  const name = nameOf(path);
  tree.addChild(parent, name);
  // A Java int in ZooKeeper (`getCversion() + 1`): past 2147483647 it wraps, as the name does.
  parent.cversion = (parent.cversion + 1) | 0;
  parent.pzxid = ctx.zxid;
  tree.rehash(parentPath, parent);
  tree.attach(path, node);
}

/**
 * Checks in ZooKeeper's order (PrepRequestProcessor, OpCode.delete): NoNode for the parent,
 * NoAuth (DELETE on the parent, so a caller without it cannot probe which children exist),
 * NoNode for the node, BadVersion, NotEmpty.
 */
function remove(tree: ZTree, path: string, version: number, ctx: WriteContext): OpOutcome {
  // Looked up first: a stored path is valid, so only a miss needs validatePath (see setData).
  const node = tree.node(path);
  if (node === undefined) {
    const invalid = validatePath(path, false);
    if (invalid !== null) return { ok: false, error: invalid };
  }
  if (path === '/' || isReservedPath(path)) return fail('BadArguments', path);
  const parentPath = parentOf(path);
  const parent = tree.node(parentPath);
  if (parent === undefined) return fail('NoNode', parentPath);
  if (!checkPermission(parent.acl, PERMS.DELETE, ctx.session.authIds, ctx.superUser))
    return fail('NoAuth', path);
  if (node === undefined) return fail('NoNode', path);
  if (version !== -1 && version !== node.version) return fail('BadVersion', path);
  if (node.children !== null && node.children.size > 0) return fail('NotEmpty', path);
  deleteNode(tree, path, ctx);
  return { ok: true, result: { type: 'delete' } };
}

/**
 * Removes a childless node, fires its events, and records how to put it back. The parent's
 * pzxid moves but its cversion does not: ZooKeeper counts only creates there (DataTree
 * .deleteNode, PrepRequestProcessor's delete), so the sequence counter advances on creates alone.
 */
export function deleteNode(tree: ZTree, path: string, ctx: DeleteContext): void {
  const node = tree.node(path) as ZNode;
  const parentPath = parentOf(path);
  const parent = tree.node(parentPath) as ZNode;
  tree.preserve(parentPath, parent);
  tree.preserve(path, node);
  if (ctx.undo !== null) ctx.undo.push(undoDelete(tree, path, parentPath, parent, node));
  const name = nameOf(path);
  tree.removeChild(parent, name);
  parent.pzxid = ctx.zxid;
  tree.rehash(parentPath, parent);
  tree.detach(path, node);
  emit(
    ctx,
    { type: 'NodeDeleted', path, zxid: ctx.zxid, acl: node.acl },
    { type: 'NodeChildrenChanged', path: parentPath, zxid: ctx.zxid, acl: parent.acl },
  );
}

function setData(
  tree: ZTree,
  path: string,
  data: Uint8Array,
  version: number,
  ctx: WriteContext,
): OpOutcome {
  // Looked up before validatePath, which scans every character: each stored path passed it
  // (create and snapshot restore check), so a hit is valid and only a miss needs the scan.
  // The answers and their order are unchanged: BadArguments for an invalid path comes first.
  const node = tree.node(path);
  if (node === undefined) {
    const invalid = validatePath(path, false);
    if (invalid !== null) return { ok: false, error: invalid };
  }
  if (isReservedPath(path)) return fail('BadArguments', path);
  if (data.length > tree.options.dataBytesMax) return fail('BadArguments', path);
  if (node === undefined) return fail('NoNode', path);
  if (!checkPermission(node.acl, PERMS.WRITE, ctx.session.authIds, ctx.superUser))
    return fail('NoAuth', path);
  if (version !== -1 && version !== node.version) return fail('BadVersion', path);
  tree.preserve(path, node);
  if (ctx.undo !== null) ctx.undo.push(undoSetData(tree, path, node));
  node.data = data;
  // checkAndIncVersion's `currentVersion + 1` is Java int arithmetic: it wraps to -2147483648,
  // and a client echoing that Stat version must still match.
  node.version = (node.version + 1) | 0;
  node.mzxid = ctx.zxid;
  node.mtime = ctx.time;
  tree.rehash(path, node);
  emit(ctx, { type: 'NodeDataChanged', path, zxid: ctx.zxid, acl: node.acl }, null);
  return { ok: true, result: { type: 'setData', stat: node.stat() } };
}

function check(tree: ZTree, path: string, version: number, ctx: WriteContext): OpOutcome {
  const invalid = validatePath(path, false);
  if (invalid !== null) return { ok: false, error: invalid };
  const node = tree.node(path);
  if (node === undefined) return fail('NoNode', path);
  if (!checkPermission(node.acl, PERMS.READ, ctx.session.authIds, ctx.superUser))
    return fail('NoAuth', path);
  if (version !== -1 && version !== node.version) return fail('BadVersion', path);
  return { ok: true, result: { type: 'check' } };
}

/** setACL (not allowed in a multi). Checks in ZooKeeper's order: InvalidACL, NoNode, NoAuth, BadVersion. */
export function setAcl(
  tree: ZTree,
  path: string,
  acl: readonly Acl[],
  version: number,
  ctx: WriteContext,
): OpOutcome {
  const invalid = validatePath(path, false);
  if (invalid !== null) return { ok: false, error: invalid };
  if (isReservedPath(path)) return fail('BadArguments', path);
  const fixed = fixAndInternAcl(acl, ctx.session.authIds);
  if (!fixed.ok) return { ok: false, error: { ...fixed.error, path } };
  const node = tree.node(path);
  if (node === undefined) return fail('NoNode', path);
  if (!checkPermission(node.acl, PERMS.ADMIN, ctx.session.authIds, ctx.superUser))
    return fail('NoAuth', path);
  if (version !== -1 && version !== node.aversion) return fail('BadVersion', path);
  tree.preserve(path, node);
  node.acl = fixed.acl;
  node.aversion = (node.aversion + 1) | 0; // a Java int, as version (see setData)
  tree.rehash(path, node);
  return { ok: true, result: { type: 'setACL', stat: node.stat() } };
}

// ---- undo steps for a multi ----------------------------------------------------------------
//
// Each is built just before its change, from the state it will restore, and only inside a
// multi (`ctx.undo !== null`). They need no `tree.preserve`: they only put back what an op of
// the same txn changed, and that op preserved it first. They live in functions of their own so that a single op, the
// common case, allocates neither the closure nor a copy of the old fields.

/** Takes a just-inserted node out again and puts back its parent's child list, cversion and pzxid. */
function undoInsert(
  tree: ZTree,
  path: string,
  parentPath: string,
  parent: ZNode,
  node: ZNode,
): () => void {
  const name = nameOf(path);
  const { cversion, pzxid } = parent;
  return () => {
    tree.detach(path, node);
    tree.removeChild(parent, name);
    parent.cversion = cversion;
    parent.pzxid = pzxid;
    tree.rehash(parentPath, parent);
  };
}

/** Puts a deleted node back and relists it under its parent, whose pzxid goes back too. */
function undoDelete(
  tree: ZTree,
  path: string,
  parentPath: string,
  parent: ZNode,
  node: ZNode,
): () => void {
  const name = nameOf(path);
  const { pzxid } = parent;
  return () => {
    tree.attach(path, node);
    tree.addChild(parent, name);
    parent.pzxid = pzxid;
    tree.rehash(parentPath, parent);
  };
}

/** Puts back a node's data and the Stat fields setData moves. */
function undoSetData(tree: ZTree, path: string, node: ZNode): () => void {
  const { data, version, mzxid, mtime } = node;
  return () => {
    node.data = data;
    node.version = version;
    node.mzxid = mzxid;
    node.mtime = mtime;
    tree.rehash(path, node);
  };
}
