import type { CreateMode } from '@cairn/znode';
import type { SpecInput, SpecTree } from './znode-spec.js';

/**
 * Which unseen events (a session expiring, a container or TTL node reaped) one operation can
 * notice, so that `ZnodeSpec` tries the operation after those only, instead of keeping every
 * combination of all of them (the lazy closure).
 *
 * A state keeps a few trees, each standing for itself and every tree unseen events make of it.
 * Events only delete nodes and mark sessions dead, and each node has one way to go: an
 * ephemeral with its session's expiry, a container or TTL node by a reap once its children are
 * gone, any other node never. Give every event and operation a footprint: the znodes it reads
 * or writes (`paths`), the parents whose whole child list it reads (`lists`) and the sessions
 * whose liveness or answered-write count it reads or writes (`sessions`). Two footprints
 * conflict if they share a path or a session, or one holds a path whose parent's list the other
 * reads; actions that do not conflict commute (same answers, same tree, still enabled).
 *
 * Take any events E before the operation, and D the ones among them that conflict with it. The
 * deletions D waits for (children of a reaped node) are in E too, so E is D with what it waits
 * for, then the rest, in that order; the rest commute with the operation and move after it,
 * where they are unseen events of the tree it leaves. So trying the operation after each set of
 * conflicting events, with what they wait for, gives every answer and (up to later events)
 * every tree. Events possible later are possible on the tree before any event, with footprints
 * no larger: so they are all found there.
 */

export interface Footprint {
  readonly paths: Set<string>;
  readonly lists: Set<string>;
  readonly sessions: Set<bigint>;
}

/** An unseen event: session `session` expires, or the node at `path` is reaped. */
export type UnseenEvent =
  | { readonly kind: 'expire'; readonly session: bigint }
  | { readonly kind: 'reap'; readonly path: string };

/** What decides which events may happen (fixed for one sub-history). */
export interface EventRules {
  /** Sessions alive at the end of the history: they never expire. */
  readonly liveAtEnd: ReadonlySet<bigint>;
  /** Whether a node with this owner and child counter may be reaped once childless. */
  reapable(owner: bigint, cversion: number): boolean;
}

const SEQUENTIAL = new Set<CreateMode>([
  'persistent-sequential',
  'ephemeral-sequential',
  'persistent-sequential-with-ttl',
]);

function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function footprint(paths: string[] = [], lists: string[] = [], sessions: bigint[] = []): Footprint {
  return { paths: new Set(paths), lists: new Set(lists), sessions: new Set(sessions) };
}

/** What `input` may read or write in `tree` (or in any tree unseen events make of it). */
export function footprintOf(tree: SpecTree, input: SpecInput): Footprint {
  switch (input.kind) {
    case 'getData':
    case 'exists':
      return footprint([input.path]);
    case 'children':
      return footprint([input.path], [input.path]);
    case 'close': {
      const paths: string[] = [];
      for (const [path, node] of tree.nodes) if (node.owner === input.session) paths.push(path);
      return footprint(paths, [], [input.session]);
    }
    case 'write': {
      const print = footprint([], [], [input.session]);
      // A sequential name is the parent's counter, which no event changes, plus the creates
      // before it in the same call (a multi stops at its first failure).
      const createsUnder = new Map<string, number>();
      for (const op of input.ops) {
        print.paths.add(op.path);
        if (op.type === 'delete') print.lists.add(op.path);
        if (op.type !== 'create') continue;
        const parent = parentOf(op.path);
        print.paths.add(parent);
        if (SEQUENTIAL.has(op.mode)) {
          const offset = createsUnder.get(parent) ?? 0;
          const counter = (tree.nodes.get(parent)?.cversion ?? 0) + offset;
          print.paths.add(op.path + String(counter).padStart(10, '0'));
        }
        createsUnder.set(parent, (createsUnder.get(parent) ?? 0) + 1);
      }
      return print;
    }
  }
}

function expirable(tree: SpecTree, session: bigint, rules: EventRules): boolean {
  if (tree.dead.has(session) || rules.liveAtEnd.has(session)) return false;
  return (tree.acksLeft.get(session) ?? 0) === 0;
}

/**
 * The event that deletes the node at `path`, if one may (now or once the node's children are
 * gone): its session's expiry for an ephemeral, a reap for a container that had a child or a
 * TTL node. Null for any other node, or none at `path`.
 */
export function deleterOf(tree: SpecTree, path: string, rules: EventRules): UnseenEvent | null {
  const node = tree.nodes.get(path);
  if (node === undefined) return null;
  if (node.owner > 0n)
    return expirable(tree, node.owner, rules) ? { kind: 'expire', session: node.owner } : null;
  return rules.reapable(node.owner, node.cversion) ? { kind: 'reap', path } : null;
}

/**
 * The events of `tree` whose footprint conflicts with `print`, found from the footprint (an
 * expiry's footprint is its session and its ephemerals; a reap's is its node, and its list,
 * read to see it empty).
 */
export function conflicting(tree: SpecTree, print: Footprint, rules: EventRules): UnseenEvent[] {
  const found = new Map<string, UnseenEvent>();
  const add = (event: UnseenEvent | null): void => {
    if (event !== null)
      found.set(event.kind === 'expire' ? `s ${event.session}` : `p ${event.path}`, event);
  };
  for (const session of print.sessions) {
    if (!expirable(tree, session, rules)) continue;
    for (const node of tree.nodes.values())
      if (node.owner === session) {
        add({ kind: 'expire', session });
        break;
      }
  }
  for (const path of print.paths) {
    add(deleterOf(tree, path, rules));
    // A reap of the parent reads the list `path` is in.
    if (path === '/') continue;
    const parent = parentOf(path);
    const event = deleterOf(tree, parent, rules);
    if (event?.kind === 'reap') add(event);
  }
  for (const list of print.lists)
    for (const name of tree.nodes.get(list)?.children ?? [])
      add(deleterOf(tree, childPath(list, name), rules));
  return [...found.values()];
}
