import {
  childPath,
  isEphemeral,
  isSequential,
  parentOf,
  partitionKeyOf,
  type SpecInput,
  type SpecWrite,
} from './znode-spec.js';

/**
 * P-compositionality for the znode specification (Horn & Kroening; RELIABILITY §5.1): cut a
 * history into sub-histories over disjoint parts of the state and check each alone.
 *
 * The state is cut into keys: `d:<path>` (a znode's existence, data, version and owner;
 * sequential children of one parent share `d:<parent>/#seq`, since their names are not known
 * in advance) and `cv:<path>` (a parent's child counter, which names sequential children).
 * Every op touches some keys; a key couples the ops touching it only if some op reads it and
 * some op writes it (a key nobody writes is the same constant everywhere; one nobody reads
 * changes no answer). Ops, or the single ops of a multi and the ephemerals a close removes,
 * that share a coupling key fall in one partition (union-find).
 *
 * An op whose pieces fall in several partitions is cut into parts, one per partition: a multi
 * (each part applies its own ops; the part holding the op that failed the multi checks that
 * code), a close (each part removes that partition's ephemerals) and getChildren (each part
 * compares the children whose keys are in its partition). Cutting is sound: the projection of
 * a linearization of the whole history is a linearization of each part's sub-history, so an
 * illegal part proves the whole illegal. It gives up only the atomicity of one op across
 * partitions, which the tier-1 checker covers by replaying the log.
 */

/** One piece of an op: its keys, read and written. */
export interface Piece {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** The pieces of every op (for a getChildren: the keys its answer may depend on). */
export function piecesOf(
  input: SpecInput,
  ephemeralsOf: (session: bigint) => readonly string[],
  childrenOf: (path: string) => readonly string[],
): Piece[] {
  switch (input.kind) {
    case 'write':
      return input.ops.map((op) => writePiece(op, childrenOf));
    case 'close':
      return ephemeralsOf(input.session).map((path) => {
        const key = partitionKeyOf(path);
        return { reads: [key], writes: [key] };
      });
    case 'getData':
    case 'exists':
      return [{ reads: [partitionKeyOf(input.path)], writes: [] }];
    case 'children':
      return [
        {
          reads: [
            partitionKeyOf(input.path),
            ...childrenOf(input.path).map((path) => partitionKeyOf(path)),
          ],
          writes: [],
        },
      ];
  }
}

function writePiece(op: SpecWrite, childrenOf: (path: string) => readonly string[]): Piece {
  const own =
    op.type === 'create' && isSequential(op.mode)
      ? partitionKeyOf(
          childPath(parentOf(op.path), `${op.path.slice(op.path.lastIndexOf('/') + 1)}0000000000`),
        )
      : partitionKeyOf(op.path);
  switch (op.type) {
    case 'create': {
      const parent = parentOf(op.path);
      const reads = [own, partitionKeyOf(parent)];
      if (isSequential(op.mode)) reads.push(`cv:${parent}`);
      return { reads, writes: [own, `cv:${parent}`] };
    }
    case 'setData':
      return { reads: [own], writes: [own] };
    case 'delete':
      return {
        reads: [own, ...childrenOf(op.path).map((path) => partitionKeyOf(path))],
        writes: [own],
      };
    case 'check':
      return { reads: [own], writes: [] };
  }
}

/** Paths each session may have created ephemeral, and the children each path may have had. */
export function treeFacts(inputs: readonly SpecInput[]): {
  ephemeralsOf(session: bigint): readonly string[];
  childrenOf(path: string): readonly string[];
} {
  const ephemerals = new Map<bigint, Set<string>>();
  const children = new Map<string, Set<string>>();
  const note = (path: string): void => {
    const parent = parentOf(path);
    let set = children.get(parent);
    if (set === undefined) {
      set = new Set();
      children.set(parent, set);
    }
    set.add(path);
  };
  for (const input of inputs) {
    if (input.kind !== 'write') continue;
    for (const op of input.ops) {
      if (op.type !== 'create') continue;
      // A sequential child stands for all of them (one key).
      const path = isSequential(op.mode) ? `${op.path}0000000000` : op.path;
      note(path);
      if (isEphemeral(op.mode)) {
        let set = ephemerals.get(input.session);
        if (set === undefined) {
          set = new Set();
          ephemerals.set(input.session, set);
        }
        set.add(path);
      }
    }
  }
  return {
    ephemeralsOf: (session) => [...(ephemerals.get(session) ?? [])].sort(),
    childrenOf: (path) => [...(children.get(path) ?? [])].sort(),
  };
}

/** Union-find over piece ids. */
export class Partitions {
  private readonly parent: number[] = [];

  add(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }

  find(id: number): number {
    let root = id;
    while (this.parent[root] !== root) root = this.parent[root] as number;
    let at = id;
    while (this.parent[at] !== root) {
      const up = this.parent[at] as number;
      this.parent[at] = root;
      at = up;
    }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Keys some piece reads and some piece writes: the only ones that couple pieces. */
export function couplingKeys(pieces: readonly Piece[]): Set<string> {
  const read = new Set<string>();
  const written = new Set<string>();
  for (const piece of pieces) {
    for (const key of piece.reads) read.add(key);
    for (const key of piece.writes) written.add(key);
  }
  return new Set([...read].filter((key) => written.has(key)));
}
