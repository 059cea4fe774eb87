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

/** An unseen event: a session `s` expires, or the node at `path` is reaped. */
export type UnseenEvent =
  | { readonly kind: 'expire'; readonly session: bigint; readonly footprint: Footprint }
  | { readonly kind: 'reap'; readonly path: string; readonly footprint: Footprint };

const SEQUENTIAL = new Set<CreateMode>([
  'persistent-sequential',
  'ephemeral-sequential',
  'persistent-sequential-with-ttl',
]);

function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
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

/** Whether two footprints conflict (the actions may not commute). */
function conflicts(a: Footprint, b: Footprint): boolean {
  for (const session of b.sessions) if (a.sessions.has(session)) return true;
  for (const path of b.paths) if (a.paths.has(path) || a.lists.has(parentOf(path))) return true;
  if (b.lists.size > 0) for (const path of a.paths) if (b.lists.has(parentOf(path))) return true;
  return false;
}

/**
 * The events that may ever happen from `tree` on: expiries of sessions that own ephemerals,
 * are not dead, not alive at the end and have no answered write left to place; reaps of
 * containers that once had a child and of TTL nodes (with children or not: see above).
 */
export function possibleEvents(
  tree: SpecTree,
  liveAtEnd: ReadonlySet<bigint>,
  isReapable: (owner: bigint, cversion: number) => boolean,
): UnseenEvent[] {
  const ephemerals = new Map<bigint, string[]>();
  const events: UnseenEvent[] = [];
  for (const [path, node] of tree.nodes) {
    if (node.owner > 0n) {
      let list = ephemerals.get(node.owner);
      if (list === undefined) {
        list = [];
        ephemerals.set(node.owner, list);
      }
      list.push(path);
    } else if (isReapable(node.owner, node.cversion))
      events.push({ kind: 'reap', path, footprint: footprint([path], [path]) });
  }
  for (const [session, paths] of ephemerals) {
    if (tree.dead.has(session) || liveAtEnd.has(session)) continue;
    if ((tree.acksLeft.get(session) ?? 0) > 0) continue;
    events.push({ kind: 'expire', session, footprint: footprint(paths, [], [session]) });
  }
  return events;
}

/** The events whose footprint conflicts with `print`. */
export function conflicting(print: Footprint, events: readonly UnseenEvent[]): UnseenEvent[] {
  return events.filter((event) => conflicts(print, event.footprint));
}
