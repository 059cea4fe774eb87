import { internAcl } from './acl.js';
import type { SessionId, Zxid } from './ids.js';
import { nameOf, parentOf, validatePath } from './paths.js';
import { type Chunk, FORMAT, type Header, packr, SnapshotError } from './snapshot-codec.js';
import { type TreeOptions, ZTree } from './tree.js';
import type { Acl } from './types.js';
import { kindOf, ZNode } from './znode.js';

// The snapshot reader. The format is described in snapshot-codec.ts; the writers (all at once,
// or in slices while the tree keeps changing) are in snapshot-writer.ts. Restoring validates
// every field and the tree's invariants (paths, parents, ephemeral owners), then compares the
// node count and digest the header promised, so a lost or damaged chunk throws `SnapshotError`
// rather than leaving a half-restored tree.

/** Rebuilds a tree from the chunks of `writeSnapshot` or a `beginSnapshot` job, in order. */
export function readSnapshot(chunks: Iterable<Uint8Array>, options: TreeOptions = {}): ZTree {
  const iterator = chunks[Symbol.iterator]();
  const first = iterator.next();
  if (first.done === true) throw new SnapshotError('empty snapshot');
  const header = decode(first.value) as Partial<Header>;
  if (header.format !== FORMAT)
    throw new SnapshotError(
      `unknown snapshot format ${String(typeof header.format === 'number' ? header.format : typeof header.format)}`,
    );
  if (
    !isCount(header.lastZxid) ||
    !isCount(header.nodeCount) ||
    !isCount(header.digest) ||
    !Array.isArray(header.sessions)
  ) {
    throw new SnapshotError('bad snapshot header');
  }
  const lastZxid = header.lastZxid as Zxid;
  const tree = new ZTree(options);
  tree.resetForRestore();
  for (const session of header.sessions) {
    if (
      typeof session !== 'object' ||
      session === null ||
      typeof session.id !== 'string' ||
      !isCount(session.timeoutMs) ||
      !(session.password instanceof Uint8Array) ||
      !Array.isArray(session.authIds)
    ) {
      throw new SnapshotError('bad session record');
    }
    const id = parseOwner(session.id);
    if (kindOf(id) !== 'ephemeral' || tree.sessionState(id) !== undefined)
      throw new SnapshotError(`bad or repeated session id ${session.id}`);
    tree.putSession({
      id,
      timeoutMs: session.timeoutMs,
      password: session.password,
      authIds: session.authIds.map(checkId),
      ephemerals: new Set(),
    });
  }
  const acls: Array<readonly Acl[]> = [];
  for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
    const chunk = decode(next.value) as Partial<Chunk>;
    if (!Array.isArray(chunk.acls) || !Array.isArray(chunk.nodes))
      throw new SnapshotError('bad node chunk');
    for (const acl of chunk.acls) acls.push(internAcl(checkAcl(acl)));
    for (const record of chunk.nodes) restoreNode(tree, record, acls, lastZxid);
  }
  if (tree.node('/') === undefined) throw new SnapshotError('snapshot has no root');
  // Chunks carry no count of their own: a lost trailing chunk or a changed field shows here.
  if (tree.size() !== header.nodeCount)
    throw new SnapshotError(`snapshot promised ${header.nodeCount} nodes, holds ${tree.size()}`);
  if (tree.digest() !== header.digest)
    throw new SnapshotError('snapshot digest does not match its nodes and sessions');
  tree.lastZxid = lastZxid;
  return tree;
}

function restoreNode(
  tree: ZTree,
  record: unknown,
  acls: ReadonlyArray<readonly Acl[]>,
  lastZxid: Zxid,
): void {
  if (!Array.isArray(record) || record.length !== 12) throw new SnapshotError('bad node record');
  const [
    path,
    data,
    aclIndex,
    czxid,
    mzxid,
    pzxid,
    ctime,
    mtime,
    version,
    cversion,
    aversion,
    owner,
  ] = record as unknown[];
  if (typeof path !== 'string' || validatePath(path, false) !== null)
    throw new SnapshotError('bad node path');
  if (!(data instanceof Uint8Array) || typeof owner !== 'string')
    throw new SnapshotError(`bad node record ${path}`);
  for (const value of [aclIndex, czxid, mzxid, pzxid])
    if (!isCount(value)) throw new SnapshotError(`bad number in ${path}`);
  // Java ints: they wrap past 2147483647, and /zookeeper/config's aversion is -1.
  for (const value of [version, cversion, aversion])
    if (!isJavaInt(value)) throw new SnapshotError(`bad version in ${path}`);
  if (!Number.isSafeInteger(ctime) || !Number.isSafeInteger(mtime))
    throw new SnapshotError(`bad time in ${path}`);
  // Split checks, so the message names the broken half (STYLE §7).
  if ((czxid as number) > (mzxid as number)) throw new SnapshotError(`${path}: czxid after mzxid`);
  if ((czxid as number) > (pzxid as number)) throw new SnapshotError(`${path}: czxid after pzxid`);
  if ((mzxid as number) > lastZxid) throw new SnapshotError(`${path}: mzxid after the last zxid`);
  if ((pzxid as number) > lastZxid) throw new SnapshotError(`${path}: pzxid after the last zxid`);
  const acl = acls[aclIndex as number];
  if (acl === undefined) throw new SnapshotError(`unknown ACL index in ${path}`);
  const node = new ZNode(data, acl, czxid as Zxid, ctime as number, parseOwner(owner));
  if (
    kindOf(node.ephemeralOwner) === 'ephemeral' &&
    tree.sessionState(node.ephemeralOwner) === undefined
  ) {
    throw new SnapshotError(`${path} is owned by ${owner}, which is no session`);
  }
  node.mzxid = mzxid as Zxid;
  node.pzxid = pzxid as Zxid;
  node.mtime = mtime as number;
  node.version = version as number;
  node.cversion = cversion as number;
  node.aversion = aversion as number;
  if (tree.node(path) !== undefined) throw new SnapshotError(`${path} twice`);
  if (path !== '/') {
    const parentPath = parentOf(path);
    const parent = tree.node(parentPath);
    if (parent === undefined) throw new SnapshotError(`${path} comes before its parent`);
    if (kindOf(parent.ephemeralOwner) === 'ephemeral')
      throw new SnapshotError(`${path} is the child of an ephemeral`);
    tree.addChild(parent, nameOf(path));
    tree.rehash(parentPath, parent);
  }
  tree.attach(path, node);
}

/** One chunk as a plain object: anything else (a number, null, an array) is no chunk of ours. */
function decode(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    throw new SnapshotError('snapshot chunk is not msgpack', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SnapshotError('snapshot chunk is not a map');
  return value;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isJavaInt(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value && !Object.is(value, -0);
}

function parseOwner(text: string): SessionId {
  if (!/^-?\d{1,20}$/.test(text)) throw new SnapshotError('bad session id');
  const value = BigInt(text);
  if (BigInt.asIntN(64, value) !== value) throw new SnapshotError('session id beyond 64 bits');
  return value as SessionId;
}

function checkId(value: unknown): { scheme: string; id: string } {
  const id = value as { scheme?: unknown; id?: unknown } | null;
  if (
    typeof id !== 'object' ||
    id === null ||
    typeof id.scheme !== 'string' ||
    typeof id.id !== 'string'
  )
    throw new SnapshotError('bad auth id');
  return { scheme: id.scheme, id: id.id };
}

function checkAcl(value: unknown): Acl[] {
  if (!Array.isArray(value)) throw new SnapshotError('bad ACL');
  return value.map((entry: unknown) => {
    const acl = entry as { perms?: unknown; id?: unknown } | null;
    if (typeof acl !== 'object' || acl === null || !isCount(acl.perms) || acl.perms > 31)
      throw new SnapshotError('bad ACL entry');
    return { perms: acl.perms, id: checkId(acl.id) };
  });
}
