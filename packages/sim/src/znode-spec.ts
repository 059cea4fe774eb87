import type { CreateMode } from '@cairn/znode';
import type { LinearModel } from './linearizability.js';
import { addNode, exactTreeKey, hashNodes, type NodesHash, treeKey } from './spec-tree-key.js';
import {
  conflicting,
  deleterOf,
  type EventRules,
  footprintOf,
  type UnseenEvent,
} from './unseen-events.js';

/**
 * The sequential znode specification the tier-2 checker searches against (RELIABILITY §5.3):
 * a client's view of the tree, with no zxids (a client-only check must not trust them). An
 * operation of the history may be cut into parts, one per partition of the paths it touches
 * (`lin-partition.ts`); a part carries its sub-operations' positions in the original call.
 *
 * Things a client cannot see happen between operations, at any moment the search likes: a
 * session expires (its ephemerals vanish; only once every write the session got an answer to
 * is placed, since an answered write proves the session was alive), a container that had
 * children and has none is reaped, a TTL node without children is reaped. A state is thus a
 * set of possible trees (a non-deterministic model, as etcd's robustness checker keeps),
 * capped by `statesMax`, past which the search answers `unknown`.
 */

export type SpecWrite =
  | {
      readonly type: 'create';
      readonly path: string;
      readonly mode: CreateMode;
      readonly data: string;
      readonly ttlMs?: number;
    }
  | {
      readonly type: 'setData';
      readonly path: string;
      readonly version: number;
      readonly data: string;
    }
  | { readonly type: 'delete'; readonly path: string; readonly version: number }
  | { readonly type: 'check'; readonly path: string; readonly version: number };

export type SpecInput =
  | {
      readonly kind: 'write';
      readonly session: bigint;
      readonly ops: readonly SpecWrite[];
      /** Each op's position in the original call (a multi cut into parts). */
      readonly positions: readonly number[];
    }
  | { readonly kind: 'close'; readonly session: bigint }
  | { readonly kind: 'getData' | 'exists'; readonly path: string }
  | {
      readonly kind: 'children';
      readonly path: string;
      /** Only children whose partition key is listed are compared (a projected getChildren). */
      readonly keys: ReadonlySet<string> | null;
      /** Whether the parent's existence and version are compared here. */
      readonly withParent: boolean;
    };

/**
 * What a part returned. `null`: unknown (it may or may not have taken effect). `noEffect`: the
 * call failed in a way that proves nothing about the tree (SessionExpired, a path refused
 * before the log). `write`: one text per op of the part, and the position of the op that
 * failed the whole call (null: it succeeded). `read`: the answer as text.
 */
export type SpecOutput =
  | null
  | { readonly kind: 'noEffect' }
  | { readonly kind: 'write'; readonly texts: readonly string[]; readonly failedAt: number | null }
  | { readonly kind: 'read'; readonly text: string };

export interface SpecNode {
  readonly data: string;
  readonly version: number;
  readonly cversion: number;
  readonly owner: bigint;
  readonly children: readonly string[];
}

export interface SpecTree {
  readonly nodes: ReadonlyMap<string, SpecNode>;
  readonly dead: ReadonlySet<bigint>;
  /** Per session: answered writes not yet placed; it may expire only at 0. */
  readonly acksLeft: ReadonlyMap<bigint, number>;
  /** The nodes' hash (`spec-tree-key.ts`). */
  readonly hash: NodesHash;
  /** Equal trees have equal keys; different trees almost surely differ (a 64-bit hash). */
  readonly key: string;
}

export interface SpecState {
  readonly trees: readonly SpecTree[];
  readonly key: string;
}

export const CONTAINER_OWNER = -(2n ** 63n);
const RESERVED = new Set(['/zookeeper', '/zookeeper/config', '/zookeeper/quota']);
const SEQUENTIAL = new Set<string>([
  'persistent-sequential',
  'ephemeral-sequential',
  'persistent-sequential-with-ttl',
]);
const TTL = new Set<string>(['persistent-with-ttl', 'persistent-sequential-with-ttl']);
const EPHEMERAL = new Set<string>(['ephemeral', 'ephemeral-sequential']);

export function parentOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? '/' : path.slice(0, at);
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function isTtlOwner(owner: bigint): boolean {
  return owner !== CONTAINER_OWNER && BigInt.asUintN(64, owner) >> 56n === 0xffn;
}

function ownerOf(write: Extract<SpecWrite, { type: 'create' }>, session: bigint): bigint {
  if (EPHEMERAL.has(write.mode)) return session;
  if (write.mode === 'container') return CONTAINER_OWNER;
  if (TTL.has(write.mode)) return BigInt.asIntN(64, (0xffn << 56n) | BigInt(write.ttlMs ?? 0));
  return 0n;
}

export function isSequential(mode: CreateMode): boolean {
  return SEQUENTIAL.has(mode);
}

export function isEphemeral(mode: CreateMode): boolean {
  return EPHEMERAL.has(mode);
}

/** Texts a part's op returns; the recorder (`lin-history.ts`) writes the same ones. */
export const describe = {
  create: (path: string, owner: bigint, length: number): string =>
    `create ${path} eo=${owner} dl=${length}`,
  setData: (version: number, length: number): string => `setData v=${version} dl=${length}`,
  getData: (data: string, version: number, owner: bigint): string =>
    `data ${JSON.stringify(data)} v=${version} eo=${owner}`,
  exists: (version: number, owner: bigint): string => `v=${version} eo=${owner}`,
  children: (names: readonly string[], version: number | null): string =>
    `${JSON.stringify([...names].sort())}${version === null ? '' : ` v=${version}`}`,
};

function makeTree(
  nodes: ReadonlyMap<string, SpecNode>,
  dead: ReadonlySet<bigint>,
  acksLeft: ReadonlyMap<bigint, number>,
  hash: NodesHash = hashNodes(nodes),
): SpecTree {
  return { nodes, dead, acksLeft, hash, key: treeKey(hash, dead, acksLeft) };
}

/** The tree every Cairn cluster starts with. */
export function initialTree(acksLeft: ReadonlyMap<bigint, number> = new Map()): SpecTree {
  const empty = (children: string[]): SpecNode => ({
    data: '',
    version: 0,
    cversion: 0,
    owner: 0n,
    children,
  });
  const nodes = new Map<string, SpecNode>([
    ['/', empty(['zookeeper'])],
    ['/zookeeper', empty(['config', 'quota'])],
    ['/zookeeper/config', empty([])],
    ['/zookeeper/quota', empty([])],
  ]);
  return makeTree(nodes, new Set(), acksLeft);
}

type Outcome = { ok: true; text: string } | { ok: false; code: string };

/** A mutable working copy of one tree, for one step. */
class Draft {
  /** The tree's nodes until the first change, then a copy of them (most failed writes copy none). */
  private nodes: ReadonlyMap<string, SpecNode>;
  private copied = false;
  private hash: NodesHash;
  constructor(private readonly base: SpecTree) {
    this.nodes = base.nodes;
    this.hash = base.hash;
  }

  /** The tree this draft has become. */
  tree(dead: ReadonlySet<bigint>, acksLeft: ReadonlyMap<bigint, number>): SpecTree {
    if (!this.copied && dead === this.base.dead && acksLeft === this.base.acksLeft)
      return this.base;
    return makeTree(this.nodes, dead, acksLeft, this.hash);
  }

  private writable(): Map<string, SpecNode> {
    if (!this.copied) {
      this.nodes = new Map(this.nodes);
      this.copied = true;
    }
    return this.nodes as Map<string, SpecNode>;
  }

  private put(path: string, node: SpecNode): void {
    const old = this.nodes.get(path);
    if (old !== undefined) this.hash = addNode(this.hash, path, old, -1);
    this.hash = addNode(this.hash, path, node, 1);
    this.writable().set(path, node);
  }

  private drop(path: string): void {
    const old = this.nodes.get(path);
    if (old === undefined) return;
    this.hash = addNode(this.hash, path, old, -1);
    this.writable().delete(path);
  }

  apply(write: SpecWrite, session: bigint): Outcome {
    switch (write.type) {
      case 'create':
        return this.create(write, session);
      case 'setData': {
        if (RESERVED.has(write.path)) return { ok: false, code: 'BadArguments' };
        const node = this.nodes.get(write.path);
        if (node === undefined) return { ok: false, code: 'NoNode' };
        if (write.version !== -1 && write.version !== node.version)
          return { ok: false, code: 'BadVersion' };
        this.put(write.path, { ...node, data: write.data, version: node.version + 1 });
        return { ok: true, text: describe.setData(node.version + 1, byteLength(write.data)) };
      }
      case 'delete': {
        if (write.path === '/' || RESERVED.has(write.path))
          return { ok: false, code: 'BadArguments' };
        const node = this.nodes.get(write.path);
        if (node === undefined) return { ok: false, code: 'NoNode' };
        if (write.version !== -1 && write.version !== node.version)
          return { ok: false, code: 'BadVersion' };
        if (node.children.length > 0) return { ok: false, code: 'NotEmpty' };
        this.remove(write.path);
        return { ok: true, text: 'delete' };
      }
      case 'check': {
        const node = this.nodes.get(write.path);
        if (node === undefined) return { ok: false, code: 'NoNode' };
        if (write.version !== -1 && write.version !== node.version)
          return { ok: false, code: 'BadVersion' };
        return { ok: true, text: 'check' };
      }
    }
  }

  private create(write: Extract<SpecWrite, { type: 'create' }>, session: bigint): Outcome {
    if (TTL.has(write.mode)) {
      const ttl = write.ttlMs ?? 0;
      if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 0xff_ffff_ffff)
        return { ok: false, code: 'BadArguments' };
    } else if (write.ttlMs !== undefined && write.ttlMs >= 0)
      return { ok: false, code: 'BadArguments' };
    if (RESERVED.has(write.path)) return { ok: false, code: 'BadArguments' };
    const parent = parentOf(write.path);
    const parentNode = this.nodes.get(parent);
    if (parentNode === undefined) return { ok: false, code: 'NoNode' };
    const path = SEQUENTIAL.has(write.mode)
      ? write.path + String(parentNode.cversion).padStart(10, '0')
      : write.path;
    if (this.nodes.has(path)) return { ok: false, code: 'NodeExists' };
    if (parentNode.owner > 0n) return { ok: false, code: 'NoChildrenForEphemerals' };
    const owner = ownerOf(write, session);
    this.put(path, { data: write.data, version: 0, cversion: 0, owner, children: [] });
    this.put(parent, {
      ...parentNode,
      cversion: parentNode.cversion + 1,
      children: [...parentNode.children, nameOf(path)].sort(),
    });
    return { ok: true, text: describe.create(path, owner, byteLength(write.data)) };
  }

  remove(path: string): void {
    this.drop(path);
    const parent = parentOf(path);
    const parentNode = this.nodes.get(parent);
    if (parentNode === undefined) return;
    const name = nameOf(path);
    this.put(parent, {
      ...parentNode,
      children: parentNode.children.filter((child) => child !== name),
    });
  }
}

const encoder = new TextEncoder();
function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** One tree after one part, or null when the part could not have returned `output` there. */
export function stepTree(tree: SpecTree, input: SpecInput, output: SpecOutput): SpecTree | null {
  switch (input.kind) {
    case 'getData':
    case 'exists':
    case 'children': {
      if (output === null || output.kind === 'noEffect') return tree;
      if (output.kind !== 'read') return null;
      return readText(tree, input) === output.text ? tree : null;
    }
    case 'close': {
      if (output !== null && output.kind === 'noEffect') return tree;
      if (output !== null && output.kind !== 'write') return null;
      if (tree.dead.has(input.session)) return tree;
      return expire(tree, input.session);
    }
    case 'write':
      return stepWrite(tree, input, output);
  }
}

function stepWrite(
  tree: SpecTree,
  input: Extract<SpecInput, { kind: 'write' }>,
  output: SpecOutput,
): SpecTree | null {
  if (output !== null && output.kind === 'noEffect') return tree;
  if (output !== null && output.kind !== 'write') return null;
  const acksLeft = output === null ? tree.acksLeft : decrement(tree.acksLeft, input.session);
  if (tree.dead.has(input.session)) {
    // Whatever a dead session sends fails with SessionExpired, which is `noEffect`.
    return output === null ? tree : null;
  }
  const draft = new Draft(tree);
  let failed = false;
  for (let i = 0; i < input.ops.length; i++) {
    const position = input.positions[i] as number;
    if (output !== null && output.failedAt !== null && position > output.failedAt) {
      if (output.texts[i] !== '-') return null;
      continue;
    }
    const result = draft.apply(input.ops[i] as SpecWrite, input.session);
    // Ops before the one that failed a multi report only that they would have succeeded.
    const beforeFailure = output !== null && output.failedAt !== null && position < output.failedAt;
    const text = result.ok ? (beforeFailure ? 'Ok' : result.text) : result.code;
    if (output !== null && output.texts[i] !== text) return null;
    if (!result.ok) {
      failed = true;
      break;
    }
  }
  if (output !== null && output.failedAt !== null) failed = true;
  if (failed)
    return acksLeft === tree.acksLeft ? tree : makeTree(tree.nodes, tree.dead, acksLeft, tree.hash);
  return draft.tree(tree.dead, acksLeft);
}

function decrement(
  acks: ReadonlyMap<bigint, number>,
  session: bigint,
): ReadonlyMap<bigint, number> {
  const left = acks.get(session);
  if (left === undefined) return acks;
  const next = new Map(acks);
  next.set(session, left - 1);
  return next;
}

/** The session ends (closed or expired): its ephemerals go, in path order. */
function expire(tree: SpecTree, session: bigint): SpecTree {
  const draft = new Draft(tree);
  for (const [path, node] of [...tree.nodes].sort((a, b) => (a[0] < b[0] ? 1 : -1)))
    if (node.owner === session) draft.remove(path);
  const dead = new Set(tree.dead);
  dead.add(session);
  return draft.tree(dead, tree.acksLeft);
}

export function readText(
  tree: SpecTree,
  input: Extract<SpecInput, { kind: 'getData' | 'exists' | 'children' }>,
): string {
  const node = tree.nodes.get(input.path);
  if (input.kind === 'getData')
    return node === undefined ? 'NoNode' : describe.getData(node.data, node.version, node.owner);
  if (input.kind !== 'children')
    return node === undefined ? 'null' : describe.exists(node.version, node.owner);
  if (node === undefined) return input.withParent ? 'NoNode' : describe.children([], null);
  const keys = input.keys;
  const names =
    keys === null
      ? node.children
      : node.children.filter((name) => keys.has(partitionKeyOf(childPath(input.path, name))));
  return describe.children(names, input.withParent ? node.version : null);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

const partitionKeys = new Map<string, string>();

/** Sequential children of one parent share one key: their names are not known in advance. */
export function partitionKeyOf(path: string): string {
  let key = partitionKeys.get(path);
  if (key === undefined) {
    key = /\d{10}$/.test(nameOf(path)) ? `d:${childPath(parentOf(path), '#seq')}` : `d:${path}`;
    // Paths are few (the workload's key space) but unbounded in principle: keep the cache small.
    if (partitionKeys.size >= 100_000) partitionKeys.clear();
    partitionKeys.set(path, key);
  }
  return key;
}

/** What may happen unseen between two operations, each as the tree after it. */
export function unseenEvents(tree: SpecTree, liveAtEnd: ReadonlySet<bigint>): SpecTree[] {
  const out: SpecTree[] = [];
  const owners = new Set<bigint>();
  for (const [path, node] of tree.nodes) {
    if (node.owner > 0n) owners.add(node.owner);
    else if (node.children.length === 0) {
      const reapable =
        (node.owner === CONTAINER_OWNER && node.cversion > 0) || isTtlOwner(node.owner);
      if (reapable) {
        const draft = new Draft(tree);
        draft.remove(path);
        out.push(draft.tree(tree.dead, tree.acksLeft));
      }
    }
  }
  for (const session of [...owners].sort()) {
    if (tree.dead.has(session) || liveAtEnd.has(session)) continue;
    if ((tree.acksLeft.get(session) ?? 0) > 0) continue;
    out.push(expire(tree, session));
  }
  return out;
}

export interface ZnodeSpecOptions {
  /** Answered writes per session in the (sub)history: expiry waits until all are placed. */
  readonly acks?: ReadonlyMap<bigint, number>;
  /** Trees a state may hold before the model gives up. Default 256. */
  readonly statesMax?: number;
  /** Sessions known to be alive at the end of the history: they never expired. */
  readonly liveAtEnd?: ReadonlySet<bigint>;
  /**
   * How unseen events are taken. `lazy` (default): a state keeps trees each standing for
   * itself and all that unseen events make of it, and an operation is tried after the events
   * that conflict with it only (`unseen-events.ts`). `eager`: a state holds every tree unseen events can
   * make, 2^k of them for k sessions that may expire (the obvious version, for tests).
   */
  readonly closure?: 'lazy' | 'eager';
  /** Key trees by their whole text instead of a hash (`spec-tree-key.ts`): slower, exact. */
  readonly exactKeys?: boolean;
}

function reapable(owner: bigint, cversion: number): boolean {
  return (owner === CONTAINER_OWNER && cversion > 0) || isTtlOwner(owner);
}

/** The znode specification as a `LinearModel` over sets of possible trees. */
export class ZnodeSpec implements LinearModel<SpecState, SpecInput, SpecOutput> {
  private readonly statesMax: number;
  private readonly acks: ReadonlyMap<bigint, number>;
  private readonly liveAtEnd: ReadonlySet<bigint>;
  private readonly lazy: boolean;
  private readonly exactKeys: boolean;
  private readonly rules: EventRules;
  /** Tree key -> a small number, so a state's key is short (the memo holds many). */
  private readonly treeIds = new Map<string, number>();

  constructor(options: ZnodeSpecOptions = {}) {
    this.statesMax = options.statesMax ?? 256;
    this.acks = options.acks ?? new Map();
    this.liveAtEnd = options.liveAtEnd ?? new Set();
    this.lazy = options.closure !== 'eager';
    this.exactKeys = options.exactKeys === true;
    this.rules = { liveAtEnd: this.liveAtEnd, reapable };
  }

  init(): SpecState {
    const tree = initialTree(this.acks);
    const closed = this.lazy ? this.stateOf([tree]) : this.close([tree]);
    if (closed === 'limit') throw new RangeError('statesMax is too small for the initial tree');
    return closed;
  }

  step(state: SpecState, input: SpecInput, output: SpecOutput): SpecState | null | 'limit' {
    const next: SpecTree[] = [];
    for (const tree of state.trees) {
      if (!this.lazy) {
        const after = stepTree(tree, input, output);
        if (after !== null) next.push(after);
        continue;
      }
      const after = this.stepLazy(tree, input, output);
      if (after === 'limit') return 'limit';
      next.push(...after);
    }
    if (next.length === 0) return null;
    return this.lazy ? this.stateOf(next) : this.close(next);
  }

  key(state: SpecState): string {
    return state.key;
  }

  private keyOf(tree: SpecTree): string {
    return this.exactKeys ? exactTreeKey(tree) : tree.key;
  }

  /** `input` on `tree` after the unseen events it can notice (each combination of them). */
  private stepLazy(tree: SpecTree, input: SpecInput, output: SpecOutput): SpecTree[] | 'limit' {
    if (input.kind !== 'write' && input.kind !== 'close' && output?.kind === 'read') {
      const after = this.readAfterEvents(tree, input, output.text);
      return after === null ? [] : [after];
    }
    const first = stepTree(tree, input, output);
    const direct = conflicting(tree, footprintOf(tree, input), this.rules);
    if (direct.length === 0) return first === null ? [] : [first];
    // Each set of the events it notices, applied with the deletions they wait for (a reap waits
    // for the node's children to go): any other event commutes with the operation.
    const out: SpecTree[] = [];
    const seen = new Set([this.keyOf(tree)]);
    const queue = [tree];
    for (let i = 0; i < queue.length; i++) {
      const at = queue[i] as SpecTree;
      const after = i === 0 ? first : stepTree(at, input, output);
      if (after !== null) {
        out.push(after);
        // A known answer that changed nothing (a failure, a dead session) is the same answer,
        // changing nothing, on every tree the remaining events make of `at`.
        if (output !== null && after.nodes === at.nodes && after.dead === at.dead) continue;
      }
      for (const event of direct) {
        const next = deleteByEvents(at, event, this.rules);
        if (next === null || next === at || seen.has(this.keyOf(next))) continue;
        if (seen.size >= this.statesMax) return 'limit';
        seen.add(this.keyOf(next));
        queue.push(next);
      }
    }
    return out;
  }

  /**
   * A read changes nothing, and every node it shows absent has one way to go: its session
   * expires (an ephemeral) or it is reaped once its children are gone. So the trees where the
   * read gives `text` are those where exactly these deletions happened, and what unseen
   * events make of that one tree.
   */
  private readAfterEvents(
    tree: SpecTree,
    input: Extract<SpecInput, { kind: 'getData' | 'exists' | 'children' }>,
    text: string,
  ): SpecTree | null {
    if (readText(tree, input) === text) return tree;
    let at: SpecTree | null = tree;
    for (const path of shownAbsent(tree, input, text)) {
      at = deletePath(at, path, this.rules);
      if (at === null) return null;
    }
    return readText(at, input) === text ? at : null;
  }

  private stateOf(trees: readonly SpecTree[]): SpecState | 'limit' {
    const seen = new Map<string, SpecTree>();
    for (const tree of trees) if (!seen.has(this.keyOf(tree))) seen.set(this.keyOf(tree), tree);
    if (seen.size > this.statesMax) return 'limit';
    return this.keyed(seen);
  }

  /** Adds every tree reachable by unseen events; dedups; sorts for a canonical key. */
  private close(trees: readonly SpecTree[]): SpecState | 'limit' {
    const seen = new Map<string, SpecTree>();
    const queue: SpecTree[] = [];
    for (const tree of trees)
      if (!seen.has(this.keyOf(tree))) {
        seen.set(this.keyOf(tree), tree);
        queue.push(tree);
      }
    for (let i = 0; i < queue.length; i++) {
      for (const after of unseenEvents(queue[i] as SpecTree, this.liveAtEnd)) {
        if (seen.has(this.keyOf(after))) continue;
        if (seen.size >= this.statesMax) return 'limit';
        seen.set(this.keyOf(after), after);
        queue.push(after);
      }
    }
    return this.keyed(seen);
  }

  private keyed(trees: ReadonlyMap<string, SpecTree>): SpecState {
    const ids: [number, SpecTree][] = [];
    for (const [key, tree] of trees) {
      let id = this.treeIds.get(key);
      if (id === undefined) {
        id = this.treeIds.size;
        this.treeIds.set(key, id);
      }
      ids.push([id, tree]);
    }
    ids.sort((a, b) => a[0] - b[0]);
    return { trees: ids.map(([, tree]) => tree), key: ids.map(([id]) => id).join(',') };
  }
}

/** The tree after `event`, or null if it cannot happen there (now). */
function applyEvent(tree: SpecTree, event: UnseenEvent): SpecTree | null {
  // An expiry is only ever found for a session owning a node, which only the expiry removes.
  if (event.kind === 'expire')
    return tree.dead.has(event.session) ? null : expire(tree, event.session);
  const node = tree.nodes.get(event.path);
  if (node === undefined || node.children.length > 0) return null;
  const draft = new Draft(tree);
  draft.remove(event.path);
  return draft.tree(tree.dead, tree.acksLeft);
}

/** The tree once `event` happened, after the events it waits for; null if it cannot. */
function deleteByEvents(tree: SpecTree, event: UnseenEvent, rules: EventRules): SpecTree | null {
  return event.kind === 'expire' ? applyEvent(tree, event) : deletePath(tree, event.path, rules);
}

/** The tree once `path` is gone by unseen events (its session's expiry, or reaped), or null. */
function deletePath(tree: SpecTree, path: string, rules: EventRules): SpecTree | null {
  const node = tree.nodes.get(path);
  if (node === undefined) return tree;
  const event = deleterOf(tree, path, rules);
  if (event === null) return null;
  if (event.kind === 'expire') return applyEvent(tree, event);
  let at: SpecTree | null = tree;
  for (const name of node.children) {
    at = deletePath(at, childPath(path, name), rules);
    if (at === null) return null;
  }
  return applyEvent(at, event);
}

/** The nodes of `tree` a read's answer shows absent (within what it compares). */
function shownAbsent(
  tree: SpecTree,
  input: Extract<SpecInput, { kind: 'getData' | 'exists' | 'children' }>,
  text: string,
): string[] {
  if (text === 'NoNode' || (input.kind === 'exists' && text === 'null')) return [input.path];
  if (input.kind !== 'children') return [];
  const listed = new Set(parseNames(text));
  const keys = input.keys;
  return (tree.nodes.get(input.path)?.children ?? [])
    .filter((name) => !listed.has(name))
    .map((name) => childPath(input.path, name))
    .filter((path) => keys === null || keys.has(partitionKeyOf(path)));
}

function parseNames(text: string): string[] {
  try {
    const names: unknown = JSON.parse(text.slice(0, text.lastIndexOf(']') + 1));
    return Array.isArray(names) ? names.filter((name) => typeof name === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Runs one part on one tree with nothing unseen in between: the answer a correct server gives
 * (tests build histories from it). Unknown outcomes are for the caller to choose.
 */
export function execute(tree: SpecTree, input: SpecInput): { tree: SpecTree; output: SpecOutput } {
  switch (input.kind) {
    case 'getData':
    case 'exists':
    case 'children':
      return { tree, output: { kind: 'read', text: readText(tree, input) } };
    case 'close':
      return {
        tree: tree.dead.has(input.session) ? tree : expire(tree, input.session),
        output: { kind: 'write', texts: [], failedAt: null },
      };
    case 'write': {
      if (tree.dead.has(input.session)) return { tree, output: { kind: 'noEffect' } };
      const draft = new Draft(tree);
      const texts: string[] = [];
      for (let i = 0; i < input.ops.length; i++) {
        const result = draft.apply(input.ops[i] as SpecWrite, input.session);
        if (result.ok) {
          texts.push(result.text);
          continue;
        }
        const failedAt = input.positions[i] as number;
        const all = input.ops.map((_, j) => (j < i ? 'Ok' : j === i ? result.code : '-'));
        const acksLeft = decrement(tree.acksLeft, input.session);
        return {
          tree: makeTree(tree.nodes, tree.dead, acksLeft, tree.hash),
          output: { kind: 'write', texts: all, failedAt },
        };
      }
      const acksLeft = decrement(tree.acksLeft, input.session);
      return {
        tree: draft.tree(tree.dead, acksLeft),
        output: { kind: 'write', texts, failedAt: null },
      };
    }
  }
}
