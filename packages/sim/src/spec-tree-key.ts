import type { SpecNode } from './znode-spec.js';

/**
 * Keys of the specification's trees, for the search's memo and the model's dedup. A tree's key
 * is a 64-bit hash (two 32-bit lanes) summed over its nodes, so a step updates it for the nodes
 * it changes instead of serializing the whole tree (a `/q` with hundreds of sequential nodes);
 * the sessions it knows dead and its answered-write counts are small and added as text.
 *
 * Two different trees with one hash would be taken as one: a tree dropped, a branch of the
 * search not explored. That can only turn a linearizable history into an illegal verdict, never
 * the reverse, and `lin-checker.ts` checks every illegal verdict again with `exactTreeKey`.
 */

export interface NodesHash {
  readonly a: number;
  readonly b: number;
}

/** Nodes are immutable and never move to another path: each one's hash is computed once. */
const nodeHashes = new WeakMap<SpecNode, { readonly path: string; readonly hash: NodesHash }>();

function nodeText(path: string, node: SpecNode): string {
  return `${path}\u0001${node.data}\u0001${node.version}\u0001${node.cversion}\u0001${node.owner}`;
}

function mix32(text: string, seed: number, prime: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), prime);
  // murmur3's finalizer: every input bit reaches every output bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function nodeHash(path: string, node: SpecNode): NodesHash {
  const cached = nodeHashes.get(node);
  if (cached !== undefined && cached.path === path) return cached.hash;
  const text = nodeText(path, node);
  const hash = { a: mix32(text, 0x811c9dc5, 0x01000193), b: mix32(text, 0x2545f491, 0x5bd1e995) };
  nodeHashes.set(node, { path, hash });
  return hash;
}

/** The hash of a whole set of nodes (a sum: order does not matter, a change is two terms). */
export function hashNodes(nodes: ReadonlyMap<string, SpecNode>): NodesHash {
  let a = 0;
  let b = 0;
  for (const [path, node] of nodes) {
    const hash = nodeHash(path, node);
    a = (a + hash.a) >>> 0;
    b = (b + hash.b) >>> 0;
  }
  return { a, b };
}

/** `sum` with `node` at `path` added (sign 1) or taken out (sign -1). */
export function addNode(sum: NodesHash, path: string, node: SpecNode, sign: 1 | -1): NodesHash {
  const hash = nodeHash(path, node);
  return { a: (sum.a + sign * hash.a) >>> 0, b: (sum.b + sign * hash.b) >>> 0 };
}

const setTexts = new WeakMap<ReadonlySet<bigint>, string>();
const countTexts = new WeakMap<ReadonlyMap<bigint, number>, string>();

/** The key of a tree from its nodes' hash, dead sessions and answered-write counts. */
export function treeKey(
  hash: NodesHash,
  dead: ReadonlySet<bigint>,
  acksLeft: ReadonlyMap<bigint, number>,
): string {
  let deadText = setTexts.get(dead);
  if (deadText === undefined) {
    deadText = [...dead].sort().join(',');
    setTexts.set(dead, deadText);
  }
  return `${hash.a.toString(36)}.${hash.b.toString(36)}|${deadText}|${acksText(acksLeft)}`;
}

function acksText(acksLeft: ReadonlyMap<bigint, number>): string {
  let text = countTexts.get(acksLeft);
  if (text === undefined) {
    text = [...acksLeft]
      .filter(([, left]) => left > 0)
      .map(([session, left]) => `${session}:${left}`)
      .sort()
      .join(',');
    countTexts.set(acksLeft, text);
  }
  return text;
}

const exactKeys = new WeakMap<object, string>();

/** The whole tree as text: equal texts, equal trees (no hash). */
export function exactTreeKey(tree: {
  readonly nodes: ReadonlyMap<string, SpecNode>;
  readonly dead: ReadonlySet<bigint>;
  readonly acksLeft: ReadonlyMap<bigint, number>;
}): string {
  let key = exactKeys.get(tree);
  if (key === undefined) {
    const parts = [...tree.nodes.keys()]
      .sort()
      .map((path) => nodeText(path, tree.nodes.get(path) as SpecNode));
    parts.push(`dead ${[...tree.dead].sort().join(',')}`, `acks ${acksText(tree.acksLeft)}`);
    key = parts.join('\u0002');
    exactKeys.set(tree, key);
  }
  return key;
}
