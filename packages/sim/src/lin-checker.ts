import type { OpResult, WriteOp } from '@cairn/znode';
import type { History, HistoryOp, ReadValue } from './history.js';
import { couplingKeys, Partitions, type Piece, piecesOf, treeFacts } from './lin-partition.js';
import { type LinearOp, type SearchVerdict, searchLinearization } from './linearizability.js';
import type { Violation } from './raft-checker.js';
import {
  describe,
  partitionKeyOf,
  type SpecInput,
  type SpecOutput,
  type SpecWrite,
  ZnodeSpec,
} from './znode-spec.js';

/**
 * The tier-2 checker (RELIABILITY §5.3): is the client history linearizable, judged from the
 * clients' view alone (no zxids, no log)? Writes and linearizable reads go in; local reads,
 * sync and session opens stay out. A call that failed without a known outcome (timed out,
 * connection lost, never returned) may or may not have taken effect: its return is at
 * +Infinity. The history is cut into partitions (`lin-partition.ts`), each searched with the
 * Wing-Gong-Lowe algorithm (`linearizability.ts`) against `ZnodeSpec`; a partition whose
 * search exceeds its budget is `unknown`, reported apart from `illegal`.
 */

/** Codes `apply` decides: the call was in the log and failed there, changing nothing. */
const DEFINITE_CODES = new Set([
  'NoNode',
  'NodeExists',
  'BadVersion',
  'NotEmpty',
  'NoChildrenForEphemerals',
]);
/** Failures that prove nothing about the tree: the call never reached it or changed nothing. */
const NO_EFFECT_CODES = new Set(['SessionExpired', 'BadArguments']);

export interface LinearizabilityOptions {
  /** Model steps per partition before its verdict is `unknown`. Default 300,000. */
  readonly searchStepsMax?: number;
  /** Possible trees one state may hold before the model gives up. Default 256. */
  readonly statesMax?: number;
  /**
   * Sessions alive at the end of the history (no expiry, no close applied): the model never
   * lets them expire, which keeps its sets of possible trees small.
   */
  readonly liveAtEnd?: ReadonlySet<bigint>;
  /** How the model takes unseen events (`ZnodeSpecOptions.closure`); default `lazy`. */
  readonly closure?: 'lazy' | 'eager';
}

export interface PartitionVerdict {
  /** A few of the partition's keys, for the report. */
  readonly keys: readonly string[];
  readonly ops: number;
  readonly verdict: SearchVerdict;
}

export interface LinearizabilityVerdict {
  readonly violations: Violation[];
  readonly partitions: readonly PartitionVerdict[];
  readonly stats: {
    /** Calls that went into the check, and those left out (a write without its ops recorded). */
    linOps: number;
    linSkipped: number;
    linPartitions: number;
    linIllegal: number;
    linUnknown: number;
    linSteps: number;
    /** Ops in the largest partition. */
    linLargest: number;
  };
}

/** One call as the checker sees it. */
export interface CheckedCall {
  readonly id: number;
  readonly call: number;
  readonly ret: number;
  readonly input: SpecInput;
  readonly output: SpecOutput;
  readonly describe: string;
}

const untext = new TextDecoder();

/** A recorded call as a `CheckedCall`, or null if the check leaves it out. */
export function toCheckedCall(op: HistoryOp): CheckedCall | 'skip' | null {
  const unknown =
    op.outcome.status === 'pending' ||
    (op.outcome.status === 'error' &&
      !DEFINITE_CODES.has(op.outcome.code) &&
      !NO_EFFECT_CODES.has(op.outcome.code));
  const ret = unknown || op.returnOrder === null ? Number.POSITIVE_INFINITY : op.returnOrder;
  const base = { id: op.id, call: op.invokeOrder, ret, describe: describeOp(op) };
  const outcome = op.outcome;
  switch (op.kind) {
    case 'create':
    case 'setData':
    case 'delete':
    case 'multi': {
      if (op.session === null) return null;
      if (op.request === undefined) return 'skip';
      const ops = op.request.map(toSpecWrite);
      const input: SpecInput = {
        kind: 'write',
        session: op.session,
        ops,
        positions: ops.map((_, i) => i),
      };
      return { ...base, input, output: unknown ? null : writeOutput(op, ops.length) };
    }
    case 'close':
      if (op.session === null) return null;
      return {
        ...base,
        input: { kind: 'close', session: op.session },
        output: unknown
          ? null
          : outcome.status === 'ok'
            ? { kind: 'write', texts: [], failedAt: null }
            : { kind: 'noEffect' },
      };
    case 'getData':
    case 'exists':
    case 'getChildren': {
      if (!op.linearizable || outcome.status !== 'ok' || outcome.read === undefined) return null;
      const input: SpecInput =
        op.kind === 'getChildren'
          ? { kind: 'children', path: op.path, keys: null, withParent: true }
          : { kind: op.kind, path: op.path };
      return { ...base, input, output: { kind: 'read', text: readText(op.kind, outcome.read) } };
    }
    default:
      return null;
  }
}

function toSpecWrite(op: WriteOp): SpecWrite {
  switch (op.type) {
    case 'create':
      return {
        type: 'create',
        path: op.path,
        mode: op.mode,
        data: untext.decode(op.data),
        ...(op.ttlMs === undefined ? {} : { ttlMs: op.ttlMs }),
      };
    case 'setData':
      return { type: 'setData', path: op.path, version: op.version, data: untext.decode(op.data) };
    case 'delete':
    case 'check':
      return { type: op.type, path: op.path, version: op.version };
  }
}

function writeOutput(op: HistoryOp, count: number): SpecOutput {
  const outcome = op.outcome;
  if (outcome.status === 'ok')
    return { kind: 'write', texts: (outcome.results ?? []).map(resultText), failedAt: null };
  if (outcome.status !== 'error' || NO_EFFECT_CODES.has(outcome.code)) return { kind: 'noEffect' };
  if (count === 1) return { kind: 'write', texts: [outcome.code], failedAt: 0 };
  const codes = outcome.codes;
  const failedAt = codes === undefined ? -1 : codes.findIndex((code) => code !== 'Ok');
  // A multi's failure without its per-op codes says only that nothing changed.
  if (codes === undefined || codes.length !== count || failedAt < 0) return { kind: 'noEffect' };
  return {
    kind: 'write',
    texts: codes.map((code, i) => (i < failedAt ? 'Ok' : i === failedAt ? code : '-')),
    failedAt,
  };
}

function resultText(result: OpResult): string {
  switch (result.type) {
    case 'create':
      return describe.create(result.path, result.stat.ephemeralOwner, result.stat.dataLength);
    case 'setData':
      return describe.setData(result.stat.version, result.stat.dataLength);
    default:
      return result.type;
  }
}

function readText(kind: 'getData' | 'exists' | 'getChildren', read: ReadValue): string {
  switch (read.kind) {
    case 'noNode':
      return kind === 'exists' ? 'null' : 'NoNode';
    case 'getData':
      return describe.getData(read.data, read.stat.version, read.stat.ephemeralOwner);
    case 'exists':
      return read.stat === null
        ? 'null'
        : describe.exists(read.stat.version, read.stat.ephemeralOwner);
    case 'getChildren':
      return describe.children(read.children, read.stat.version);
  }
}

function describeOp(op: HistoryOp): string {
  const outcome = op.outcome;
  const result =
    outcome.status === 'pending'
      ? 'pending'
      : outcome.status === 'error'
        ? `error ${outcome.code}${outcome.codes === undefined ? '' : ` [${outcome.codes.join(' ')}]`}`
        : outcome.read !== undefined
          ? `ok ${readText(op.kind as 'getData', outcome.read)}`
          : `ok ${(outcome.results ?? []).map(resultText).join('; ')}`;
  return `op ${op.id} (client ${op.client}, session ${op.session}) ${op.kind} ${op.path} ${op.input} -> ${result}`;
}

/** Checks a recorded history. */
export function checkLinearizability(
  history: History,
  options: LinearizabilityOptions = {},
): LinearizabilityVerdict {
  const calls: CheckedCall[] = [];
  let skipped = 0;
  for (const op of history.ops) {
    const call = toCheckedCall(op);
    if (call === 'skip') skipped++;
    else if (call !== null) calls.push(call);
  }
  const liveAtEnd = new Set<bigint>();
  for (const end of history.sessions.values()) if (end.liveAtEnd) liveAtEnd.add(end.session);
  const verdict = checkCalls(calls, { liveAtEnd, ...options });
  verdict.stats.linSkipped = skipped;
  return verdict;
}

/** A sub-history: its calls cut to this partition. */
interface Part {
  readonly calls: CheckedCall[];
  readonly keys: Set<string>;
}

/** Checks calls already converted (tests build them by hand). */
export function checkCalls(
  calls: readonly CheckedCall[],
  options: LinearizabilityOptions = {},
): LinearizabilityVerdict {
  const parts = partition(calls);
  const violations: Violation[] = [];
  const partitions: PartitionVerdict[] = [];
  const stats = {
    linOps: calls.length,
    linSkipped: 0,
    linPartitions: parts.length,
    linIllegal: 0,
    linUnknown: 0,
    linSteps: 0,
    linLargest: 0,
  };
  for (const part of parts) {
    const acks = new Map<bigint, number>();
    for (const call of part.calls)
      if (call.input.kind === 'write' && call.output !== null && call.output.kind === 'write')
        acks.set(call.input.session, (acks.get(call.input.session) ?? 0) + 1);
    const ops: LinearOp<SpecInput, SpecOutput>[] = part.calls.map((call, i) => ({
      id: i,
      call: call.call,
      ret: call.ret,
      input: call.input,
      output: call.output,
    }));
    const search = (exactKeys: boolean): SearchVerdict =>
      searchLinearization(
        new ZnodeSpec({
          acks,
          exactKeys,
          ...(options.statesMax === undefined ? {} : { statesMax: options.statesMax }),
          ...(options.liveAtEnd === undefined ? {} : { liveAtEnd: options.liveAtEnd }),
          ...(options.closure === undefined ? {} : { closure: options.closure }),
        }),
        ops,
        { searchStepsMax: options.searchStepsMax ?? 300_000 },
      );
    // Trees are keyed by a hash; a collision could only make a legal history look illegal, so
    // an illegal verdict is searched again with exact keys (rare: it is a bug found).
    let verdict = search(false);
    if (verdict.result === 'illegal') {
      const exact = search(true);
      verdict = { ...exact, steps: verdict.steps + exact.steps };
    }
    const keys = [...part.keys].sort().slice(0, 6);
    partitions.push({ keys, ops: ops.length, verdict });
    stats.linSteps += verdict.steps;
    stats.linLargest = Math.max(stats.linLargest, ops.length);
    if (verdict.result === 'unknown') stats.linUnknown++;
    if (verdict.result !== 'illegal') continue;
    stats.linIllegal++;
    const name = (i: number): string => (part.calls[i] as CheckedCall).describe;
    const tail = verdict.longest.slice(-5).map(name);
    violations.push({
      checker: 'linearizability',
      message: [
        `no linearization of the ${ops.length} calls on ${keys.join(' ')}${part.keys.size > keys.length ? ' ...' : ''}`,
        `longest linearizable prefix: ${verdict.longest.length} calls, ending with:`,
        ...tail.map((text) => `    ${text}`),
        'none of these could come next:',
        ...verdict.stuck.slice(0, 8).map((i) => `    ${name(i)}`),
      ].join('\n'),
    });
  }
  return { violations, partitions, stats };
}

/** Cuts calls into partitions (see `lin-partition.ts`). */
function partition(calls: readonly CheckedCall[]): Part[] {
  const facts = treeFacts(calls.map((call) => call.input));
  const pieces = calls.map((call) => piecesOf(call.input, facts.ephemeralsOf, facts.childrenOf));
  const coupling = couplingKeys(
    pieces.flatMap((list, i) => ((calls[i] as CheckedCall).input.kind === 'children' ? [] : list)),
  );
  const sets = new Partitions();
  const owner = new Map<string, number>();
  const place = (piece: Piece): number => {
    const id = sets.add();
    for (const key of [...piece.reads, ...piece.writes]) {
      if (!coupling.has(key)) continue;
      const other = owner.get(key);
      if (other === undefined) owner.set(key, id);
      else sets.union(id, other);
    }
    return id;
  };
  // Pieces of every call but getChildren decide the partitions; getChildren is cut after.
  const placed = calls.map((call, i) =>
    call.input.kind === 'children' ? [] : (pieces[i] as Piece[]).map(place),
  );
  const byRoot = new Map<number, Part>();
  const partOf = (root: number): Part => {
    let part = byRoot.get(root);
    if (part === undefined) {
      part = { calls: [], keys: new Set() };
      byRoot.set(root, part);
    }
    return part;
  };
  calls.forEach((call, i) => {
    const ids = placed[i] as number[];
    const list = pieces[i] as Piece[];
    if (call.input.kind === 'children') {
      for (const [root, part] of cutChildren(call, list[0] as Piece, coupling, owner, sets))
        partOf(root).calls.push(part);
      return;
    }
    if (call.input.kind === 'close' && ids.length === 0) return; // no ephemerals: nothing to see
    const roots = [...new Set(ids.map((id) => sets.find(id)))];
    for (const piece of list)
      for (const key of [...piece.reads, ...piece.writes])
        if (coupling.has(key)) partOf(sets.find(owner.get(key) as number)).keys.add(key);
    if (roots.length <= 1) {
      partOf(roots[0] ?? sets.add()).calls.push(call);
      return;
    }
    for (const root of roots)
      partOf(root).calls.push(
        cutWrite(
          call,
          ids.map((id) => sets.find(id) === root),
        ),
      );
  });
  return [...byRoot.entries()].sort((a, b) => a[0] - b[0]).map(([, part]) => part);
}

/** The part of a multi (or close) whose pieces are `mine`. */
function cutWrite(call: CheckedCall, mine: readonly boolean[]): CheckedCall {
  const input = call.input;
  if (input.kind !== 'write') return call; // a close: each part removes its own ephemerals
  const keep = (_: unknown, i: number): boolean => mine[i] === true;
  const output = call.output;
  return {
    ...call,
    input: { ...input, ops: input.ops.filter(keep), positions: input.positions.filter(keep) },
    output:
      output === null || output.kind !== 'write'
        ? output
        : { ...output, texts: output.texts.filter(keep) },
  };
}

/** A getChildren cut into one part per partition its children's keys fall in. */
function cutChildren(
  call: CheckedCall,
  piece: Piece,
  coupling: ReadonlySet<string>,
  owner: ReadonlyMap<string, number>,
  sets: Partitions,
): [number, CheckedCall][] {
  const input = call.input;
  if (input.kind !== 'children') return [];
  const output = call.output;
  const text = output !== null && output.kind === 'read' ? output.text : null;
  const parentKey = partitionKeyOf(input.path);
  // Keys: the parent's, every child ever created, and every child the answer names.
  const parsed = text === null || text === 'NoNode' ? [] : parseChildren(text);
  if (parsed === null) return [[sets.add(), call]];
  const names = parsed;
  const keys = new Set(piece.reads);
  for (const name of names)
    keys.add(partitionKeyOf(input.path === '/' ? `/${name}` : `${input.path}/${name}`));
  // Group keys by partition; keys nobody writes form a group of their own (a constant check).
  const groups = new Map<number, Set<string>>();
  let constant: number | null = null;
  for (const key of keys) {
    let root: number;
    if (coupling.has(key) && owner.has(key)) root = sets.find(owner.get(key) as number);
    else {
      constant ??= sets.add();
      root = constant;
    }
    let group = groups.get(root);
    if (group === undefined) {
      group = new Set();
      groups.set(root, group);
    }
    group.add(key);
  }
  const version = text === null ? null : /\] v=(\d+)$/.exec(text)?.[1];
  return [...groups].map(([root, group]) => {
    const withParent = group.has(parentKey);
    const projected =
      text === null
        ? null
        : text === 'NoNode'
          ? withParent
            ? 'NoNode'
            : describe.children([], null)
          : describe.children(
              names.filter((name) =>
                group.has(
                  partitionKeyOf(input.path === '/' ? `/${name}` : `${input.path}/${name}`),
                ),
              ),
              withParent ? Number(version) : null,
            );
    return [
      root,
      {
        ...call,
        input: { kind: 'children', path: input.path, keys: group, withParent },
        output: projected === null ? null : { kind: 'read', text: projected },
      },
    ];
  });
}

/** The names in a getChildren answer, or null if it is no such answer (it then never matches). */
function parseChildren(text: string): string[] | null {
  try {
    const names: unknown = JSON.parse(text.slice(0, text.lastIndexOf(']') + 1));
    return Array.isArray(names) && names.every((name) => typeof name === 'string') ? names : null;
  } catch {
    return null;
  }
}
