import type { Zxid } from './ids.js';
import { joinPath } from './paths.js';
import { type Chunk, FORMAT, type Header, packr, SnapshotError } from './snapshot-codec.js';
import type { PreImageKeeper, ZTree } from './tree.js';
import type { Acl } from './types.js';
import { ZNode } from './znode.js';

/** Nodes per chunk when the caller does not say. */
export const NODES_PER_CHUNK_DEFAULT = 10_000;

/**
 * A snapshot of a tree as of the zxid it began at, written in steps (snapshot-codec.ts has the
 * format; `readSnapshot` restores it). Made by `beginSnapshot`, which lets the tree keep
 * changing between steps, or used inside `writeSnapshot`, which writes all at once.
 */
export interface TreeSnapshotJob {
  /** The tree's last zxid when the snapshot began: the snapshot is the tree as of it. */
  readonly lastZxid: Zxid;
  /** True once every node is written (or the job was aborted). */
  readonly done: boolean;
  /**
   * Writes up to `maxNodes` (>= 1) more nodes and returns the chunks completed, the header
   * first on the first call. A step ends its last chunk, so chunks hold at most
   * `min(maxNodes, nodesPerChunk)` nodes. Throws after `abort`.
   */
  step(maxNodes: number): Uint8Array[];
  /** Stops the job and drops what it kept; the tree is no longer told about changes. */
  abort(): void;
}

/**
 * Begins a snapshot of `tree` as of now that is written in steps while the tree keeps changing
 * (apply as usual between steps). Costs O(sessions) now; a step costs O(nodes written), plus
 * sorting the child list of each node it reaches. While the job runs, the first change to a
 * node it has not written yet (data, Stat, ACL, children, delete) copies the node first: O(1),
 * plus a copy of the node's child list when the change is to its children. Nodes created
 * after the beginning are not visited. At most one job per tree: a second `beginSnapshot`
 * before the first is done or aborted throws.
 */
export function beginSnapshot(
  tree: ZTree,
  nodesPerChunk: number = NODES_PER_CHUNK_DEFAULT,
): TreeSnapshotJob {
  const job = new SnapshotWalk(tree, nodesPerChunk, true);
  tree.startPreserving(job);
  return job;
}

/**
 * Serialises the tree all at once: a header chunk, then chunks of `nodesPerChunk` nodes. The
 * generator must be drained before the tree changes again (take the snapshot between two
 * applies); it throws if the tree moved underneath it. It may run while a `beginSnapshot`
 * job is in progress.
 */
export function* writeSnapshot(
  tree: ZTree,
  nodesPerChunk: number = NODES_PER_CHUNK_DEFAULT,
): Generator<Uint8Array> {
  const walk = new SnapshotWalk(tree, nodesPerChunk, false);
  while (!walk.done) yield* walk.step(nodesPerChunk);
}

/**
 * Writes the nodes in `tree.paths()` order (parents before children, siblings sorted) with a
 * stack of paths still to write, reading each node's state as of `lastZxid`: its pre-image if
 * it changed since, else the node itself, unchanged since.
 *
 * Invariant: every path written compares after the one before (`comparePaths`), so "written"
 * is `comparePaths(path, last) <= 0`. Every path on the stack was a node at `lastZxid`, not
 * written yet, and (while keeping) either has a pre-image or is unchanged since `lastZxid`.
 */
class SnapshotWalk implements TreeSnapshotJob, PreImageKeeper {
  readonly lastZxid: Zxid;
  done = false;
  private header: Uint8Array | null;
  private stack: string[] = ['/'];
  /** The last path written, or null before the first. */
  private last: string | null = null;
  /** Nodes changed since `lastZxid` and not written yet: their state as of it. */
  private readonly preImages = new Map<string, ZNode>();
  private readonly aclIndex = new Map<readonly Acl[], number>();
  private chunk: Chunk = { acls: [], nodes: [] };
  private aborted = false;

  constructor(
    private readonly tree: ZTree,
    private readonly nodesPerChunk: number,
    /** True for `beginSnapshot` (pre-images kept), false for `writeSnapshot` (nothing may change). */
    private readonly keeping: boolean,
  ) {
    if (!Number.isSafeInteger(nodesPerChunk) || nodesPerChunk < 1)
      throw new RangeError(`nodesPerChunk ${nodesPerChunk}: a positive integer`);
    this.lastZxid = tree.lastZxid;
    this.header = packr.pack(headerOf(tree));
  }

  preserve(path: string, node: ZNode): void {
    // Created after the beginning: not in the snapshot (an older node at the same path, deleted
    // since, was preserved when it was deleted).
    if (node.czxid > this.lastZxid) return;
    if (this.preImages.has(path)) return;
    if (this.last !== null && comparePaths(path, this.last) <= 0) return;
    this.preImages.set(path, copyOf(node));
  }

  step(maxNodes: number): Uint8Array[] {
    if (this.aborted) throw new Error('znode: step after abort');
    if (!(maxNodes >= 1)) throw new RangeError(`maxNodes ${maxNodes}: at least 1`);
    if (this.done) return [];
    if (!this.keeping && this.tree.lastZxid !== this.lastZxid)
      throw new SnapshotError('the tree changed while its snapshot was being written');
    const out: Uint8Array[] = [];
    if (this.header !== null) {
      out.push(this.header);
      this.header = null;
    }
    for (let written = 0; written < maxNodes && this.stack.length > 0; written++) {
      const path = this.stack.pop() as string;
      const node = this.stateAtStart(path);
      this.write(path, node);
      if (node.children !== null) {
        const names = [...node.children].sort();
        for (let i = names.length - 1; i >= 0; i--)
          this.stack.push(joinPath(path, names[i] as string));
      }
      if (this.chunk.nodes.length >= this.nodesPerChunk) out.push(this.takeChunk());
    }
    if (this.chunk.nodes.length > 0) out.push(this.takeChunk());
    if (this.stack.length === 0) this.finish();
    return out;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.finish();
  }

  /** The node at `path` as it was at `lastZxid`, asserting the tree kept its promise. */
  private stateAtStart(path: string): ZNode {
    const saved = this.preImages.get(path);
    if (saved !== undefined) {
      // Written now, so never preserved again (`last` passes it): the copy is no longer needed.
      this.preImages.delete(path);
      return saved;
    }
    const node = this.tree.node(path);
    if (node === undefined) throw assertion(`${path} was detached without a pre-image`);
    if (node.czxid > this.lastZxid) throw assertion(`${path} was replaced without a pre-image`);
    if (node.mzxid > this.lastZxid) throw assertion(`${path} changed without a pre-image`);
    if (node.pzxid > this.lastZxid)
      throw assertion(`${path}'s children changed without a pre-image`);
    return node;
  }

  private write(path: string, node: ZNode): void {
    if (this.last !== null && comparePaths(path, this.last) <= 0)
      throw assertion(`snapshot order: ${path} after ${this.last}`);
    this.last = path;
    let acl = this.aclIndex.get(node.acl);
    if (acl === undefined) {
      acl = this.aclIndex.size;
      this.aclIndex.set(node.acl, acl);
      this.chunk.acls.push(node.acl);
    }
    this.chunk.nodes.push([
      path,
      node.data,
      acl,
      node.czxid,
      node.mzxid,
      node.pzxid,
      node.ctime,
      node.mtime,
      node.version,
      node.cversion,
      node.aversion,
      node.ephemeralOwner.toString(),
    ]);
  }

  private takeChunk(): Uint8Array {
    const bytes = packr.pack(this.chunk);
    this.chunk = { acls: [], nodes: [] };
    return bytes;
  }

  private finish(): void {
    this.done = true;
    if (this.keeping) this.tree.stopPreserving(this);
    this.preImages.clear();
    this.aclIndex.clear();
    this.stack = [];
    this.chunk = { acls: [], nodes: [] };
  }
}

/** The header as of now; packed at once by the constructor, so later changes cannot reach it. */
function headerOf(tree: ZTree): Header {
  return {
    format: FORMAT,
    lastZxid: tree.lastZxid,
    nodeCount: tree.size(),
    digest: tree.digest(),
    sessions: tree.sessionIds().map((id) => {
      const session = tree.session(id) as NonNullable<ReturnType<ZTree['session']>>;
      return {
        id: id.toString(),
        timeoutMs: session.timeoutMs,
        password: session.password,
        authIds: session.authIds.map((a) => ({ scheme: a.scheme, id: a.id })),
      };
    }),
  };
}

/** A detached copy of a node's snapshotted fields and child names. */
function copyOf(node: ZNode): ZNode {
  const copy = new ZNode(node.data, node.acl, node.czxid, node.ctime, node.ephemeralOwner);
  copy.mzxid = node.mzxid;
  copy.pzxid = node.pzxid;
  copy.mtime = node.mtime;
  copy.version = node.version;
  copy.cversion = node.cversion;
  copy.aversion = node.aversion;
  copy.children = node.children === null ? null : new Set(node.children);
  return copy;
}

const SLASH = 0x2f;

/**
 * Compares two paths in the order `tree.paths()` visits them: component by component, each
 * compared as `Array.prototype.sort` compares strings (UTF-16 code units), a path before its
 * descendants. At the first differing code unit, a '/' ends its component, which is then the
 * shorter, smaller one; otherwise the code units decide. A proper prefix comes first.
 */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    return x - y;
  }
  return a.length - b.length;
}

/** A broken invariant of the tree or the walk: a bug (STYLE.md §7), never bad input. */
function assertion(message: string): Error {
  const error = new Error(`znode snapshot: ${message}`);
  error.name = 'AssertionError';
  return error;
}
