/**
 * Tree walks of `cairn shell`: children of one znode, `ls -R` (every path, in zkCli's order) and
 * `deleteall`. They take any `ZnodeReader` (the wire session), so they work against ZooKeeper too.
 */
import { type JuteReader, type JuteWriter, OP_CODES } from '@cairn/zk-server';
import { UsageError } from './usage-error.js';
import { readStat, type ZkStat } from './zk-client.js';

/** What the tree walks need from a connection: one request at a time, replies as readers. */
export interface ZnodeRequester {
  request(type: number, path: string, body: (w: JuteWriter) => void): Promise<JuteReader>;
}

/** Depth a recursive walk (`ls -R`, `deleteall`) follows at most. */
export const TREE_DEPTH_MAX = 1_000;
/** Znodes `ls -R` lists at most before it stops with an error (the output would be useless). */
export const LIST_RECURSIVE_ZNODES_MAX = 1_000_000;
/** ZooKeeper's NoNode error code. */
const NO_NODE = -101;

/** `path/child`, with the root's slash not doubled. */
export function childPath(path: string, child: string): string {
  return `${path === '/' ? '' : path}/${child}`;
}

/** Children sorted as zkCli prints them (UTF-16 order, Java's `String.compareTo`), and the Stat. */
export async function getChildren(
  client: ZnodeRequester,
  path: string,
  watch: boolean,
): Promise<{ children: string[]; stat: ZkStat }> {
  const r = await client.request(OP_CODES.getChildren2, path, (w) => w.string(path).boolean(watch));
  const children = r.vector((e) => e.text(), 4);
  return { children: children.sort(), stat: readStat(r) };
}

/**
 * `ls -R path`: the path, then depth-first in zkCli's order (ZKUtil.visitSubTreeDFS): a node's
 * children are all listed, sorted, before the walk descends into each of them in turn. A node
 * deleted during the walk is skipped (NoNode), as a concurrent delete makes it gone anyway.
 */
export async function listRecursive(
  client: ZnodeRequester,
  path: string,
  print: (path: string) => void,
): Promise<void> {
  const { children } = await getChildren(client, path, false);
  print(path);
  let listed = 1;
  const visit = async (parent: string, names: readonly string[], depth: number): Promise<void> => {
    if (depth > TREE_DEPTH_MAX) throw new UsageError(`ls -R: deeper than ${TREE_DEPTH_MAX}`);
    const paths = names.map((name) => childPath(parent, name));
    for (const p of paths) {
      if (++listed > LIST_RECURSIVE_ZNODES_MAX)
        throw new UsageError(`ls -R: more than ${LIST_RECURSIVE_ZNODES_MAX} znodes`);
      print(p);
    }
    for (const p of paths) {
      const below = await getChildren(client, p, false).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === NO_NODE) return null;
        throw error;
      });
      if (below !== null) await visit(p, below.children, depth + 1);
    }
  };
  await visit(path, children, 1);
}

/** `deleteall path`: children first, then the node (the root itself is kept). */
export async function deleteAll(client: ZnodeRequester, path: string, depth = 0): Promise<void> {
  if (depth > TREE_DEPTH_MAX) throw new UsageError(`deleteall: deeper than ${TREE_DEPTH_MAX}`);
  const { children } = await getChildren(client, path, false);
  for (const child of children) await deleteAll(client, childPath(path, child), depth + 1);
  if (path !== '/') await client.request(OP_CODES.delete, path, (w) => w.string(path).int(-1));
}
