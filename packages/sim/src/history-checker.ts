import { type OpResult, reportedCversion, type TxnResult } from '@cairn/znode';
import type { TappedApply } from './apply-tap.js';
import type { History, HistoryOp, ReadValue } from './history.js';
import { type Change, describeResult, describeStat, type PathVersion, TreeModel } from './model.js';
import type { Violation } from './raft-checker.js';

/** Codes `apply` decides: a call that failed with one of these was in the log. */
const DEFINITE_CODES = new Set([
  'NoNode',
  'NodeExists',
  'BadVersion',
  'NotEmpty',
  'NoChildrenForEphemerals',
  'Unimplemented',
  'BadArguments',
  'RuntimeInconsistency',
]);

interface Placed {
  readonly index: number;
  readonly expected: TxnResult;
}

/** What a read matched: the versions of its path it may have seen. */
interface ReadMatch {
  readonly versions: readonly PathVersion[];
}

export interface HistoryVerdict {
  readonly violations: Violation[];
  readonly model: TreeModel;
  readonly stats: { writesChecked: number; readsChecked: number; watchesChecked: number };
}

/**
 * The near-linear checker (RELIABILITY §5.3, tier 1) and the session checker. It replays the
 * committed log through the reference model and then requires:
 * - every txn's result in the log equals the model's; every request applied once;
 * - every acknowledged write is in the log at the zxid it returned, with the model's result;
 *   a call that failed with a code `apply` decides is in the log with that code;
 * - writes in real-time order have increasing zxids; a linearizable read reflects every write
 *   acknowledged before it began; no read is older than what its session has seen, and each
 *   read equals the model's tree at some zxid its node had applied during the call;
 * - a one-shot watch fires at most once, for the first change after its read, before the
 *   session sees any data reflecting that change, and (session alive at the end) it fires.
 */
/** The watch candidate of a read version after which its node never changed. */
const NO_CHANGE = Number.POSITIVE_INFINITY;

export function checkHistory(
  log: ReadonlyMap<number, TappedApply>,
  history: History,
  restores: readonly { readonly node: number; readonly index: number }[] = [],
): HistoryVerdict {
  const violations: Violation[] = [];
  const fail = (checker: string, message: string): void => {
    violations.push({ checker, message });
  };
  const model = new TreeModel();
  const placed = new Map<string, Placed>();
  /** The index of the closeSession entry (a close or an expiry) that ended each session. */
  const ended = new Map<string, number>();
  const indexes = [...log.keys()].sort((a, b) => a - b);
  let previous = indexes[0] ?? 0;
  for (const index of indexes) {
    if (index > previous + 1) fail('log', `no node applied indexes ${previous + 1}..${index - 1}`);
    previous = index;
    const command = log.get(index) as TappedApply;
    if (command.kind !== 'txn' || command.txn === undefined || command.outcome !== 'applied')
      continue;
    if (command.txn.type === 'closeSession' && command.result?.ok === true)
      ended.set(String(command.txn.sessionId), index);
    const reaped =
      command.result?.ok === true && command.result.type === 'reap' ? command.result.deleted : [];
    const expected = model.apply(command.txn, index, reaped);
    const got = describeResult(command.result);
    const want = describeResult(expected);
    if (got !== want)
      fail(
        'model',
        `index ${index} ${command.txn.type}: runtime applied "${got}", model "${want}"`,
      );
    if (command.seq === null || command.seq === undefined || !('sessionId' in command.txn))
      continue;
    const key = `${command.txn.sessionId}:${command.seq}`;
    const first = placed.get(key);
    // A retry that arrives after its session closed finds no request table and fails with
    // SessionExpired, changing nothing: not a second application.
    const noop = !expected.ok && expected.error.code === 'SessionExpired';
    if (first !== undefined && !noop)
      fail(
        'exactly-once',
        `request ${key} (${command.txn.type}) applied at ${first.index} ("${describeResult(first.expected)}") and again at ${index} ("${describeResult(expected)}")`,
      );
    else if (first === undefined) placed.set(key, { index, expected });
  }

  // Writes: in the log at their zxid, with the model's answer.
  const acked: { invoke: number; ret: number; index: number; op: HistoryOp }[] = [];
  let writesChecked = 0;
  for (const op of history.ops) {
    if (op.seq === null || op.session === null) continue;
    const at = placed.get(`${op.session}:${op.seq}`);
    const outcome = op.outcome;
    if (outcome.status === 'pending') continue;
    writesChecked++;
    const name = `op ${op.id} (client ${op.client}, ${op.kind} ${op.path} ${op.input})`;
    if (outcome.status === 'ok') {
      // A close whose own entry never made it (lost in a partition, then refused as a retry of
      // an ended session) is still answered ok once the session's end is known: an expiry in
      // the log ended it, no later than what its member had applied when the close returned
      // (sim seeds 7000140, 229).
      const end = ended.get(String(op.session));
      if (
        at === undefined &&
        op.kind === 'close' &&
        end !== undefined &&
        end <= (op.returnApplied ?? 0)
      )
        continue;
      if (at === undefined) {
        fail('durability', `${name} was acknowledged but is not in the committed log`);
        continue;
      }
      acked.push({ invoke: op.invokeOrder, ret: op.returnOrder as number, index: at.index, op });
      if (op.kind === 'close') {
        if (!(at.expected.ok || at.expected.error.code === 'SessionExpired'))
          fail('model', `${name} succeeded; model: ${describeResult(at.expected)}`);
        continue;
      }
      const got = describeOk(op.kind, outcome.results ?? []);
      const want = describeResult(at.expected);
      if (got !== want)
        fail('model', `${name} returned "${got}" at zxid ${at.index}; model "${want}"`);
      for (const result of outcome.results ?? []) {
        const zxid =
          result.type === 'create'
            ? result.stat.czxid
            : result.type === 'setData'
              ? result.stat.mzxid
              : null;
        if (zxid !== null && zxid !== at.index)
          fail('zxid', `${name} returned zxid ${zxid} but was applied at index ${at.index}`);
      }
    } else if (DEFINITE_CODES.has(outcome.code)) {
      if (at === undefined) {
        fail('durability', `${name} failed with ${outcome.code} but is not in the log`);
        continue;
      }
      acked.push({ invoke: op.invokeOrder, ret: op.returnOrder as number, index: at.index, op });
      const want = at.expected;
      const code = want.ok ? 'Ok' : want.error.code;
      if (code !== outcome.code)
        fail(
          'model',
          `${name} failed with ${outcome.code} at zxid ${at.index}; model "${describeResult(want)}"`,
        );
    } else if (outcome.code === 'SessionExpired' && at !== undefined && at.expected.ok) {
      fail('model', `${name} failed with SessionExpired but succeeded at zxid ${at.index}`);
    }
  }

  // Real-time order: a write that returned before another began has the smaller zxid.
  const byReturn = [...acked].sort((a, b) => a.ret - b.ret);
  const prefixMax: number[] = [];
  for (const write of byReturn) prefixMax.push(Math.max(prefixMax.at(-1) ?? 0, write.index));
  /** The highest zxid among writes that returned before global order `order`. */
  const ackedBefore = (order: number): number => {
    let lo = 0;
    let hi = byReturn.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((byReturn[mid] as { ret: number }).ret < order) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : (prefixMax[lo - 1] as number);
  };
  for (const write of acked) {
    const before = ackedBefore(write.invoke);
    if (write.index <= before)
      fail(
        'real-time',
        `op ${write.op.id} (${write.op.kind} ${write.op.path}) began after a write at zxid ${before} returned, yet got zxid ${write.index}`,
      );
  }

  // Reads and watches, per session in call order.
  const indexOf = new Map<number, number>();
  for (const write of acked) indexOf.set(write.op.id, write.index);
  const firesByOp = new Map<number, typeof history.fires>();
  for (const fire of history.fires) {
    const list = firesByOp.get(fire.op) ?? [];
    list.push(fire);
    firesByOp.set(fire.op, list);
  }
  const seen = new Map<bigint, number>();
  const watches: { op: HistoryOp; candidates: Set<number> }[] = [];
  let readsChecked = 0;
  for (const op of history.ops) {
    if (op.session === null) continue;
    const index = indexOf.get(op.id);
    if (index !== undefined) seen.set(op.session, Math.max(seen.get(op.session) ?? 0, index));
    const outcome = op.outcome;
    if (outcome.status !== 'ok' || outcome.read === undefined) continue;
    readsChecked++;
    const read = outcome.read;
    const lower = Math.max(
      op.invokeApplied,
      seen.get(op.session) ?? 0,
      op.linearizable ? ackedBefore(op.invokeOrder) : 0,
    );
    const upper = op.returnApplied as number;
    const name = `op ${op.id} (client ${op.client}, ${op.kind} ${op.path}${op.linearizable ? ' linearizable' : ''} on node ${op.node})`;
    if (upper < lower) {
      fail(
        'stale-read',
        `${name} must reflect zxid ${lower} but its node had applied only ${upper}`,
      );
      continue;
    }
    const match = matchRead(model, op.path, read, lower, upper);
    if (match.versions.length === 0) {
      fail(
        op.linearizable ? 'linearizable-read' : 'session-read',
        `${name} returned ${describeRead(read)}, which the tree never held in zxids [${lower}, ${upper}]`,
      );
      continue;
    }
    const observed = statZxid(read);
    seen.set(op.session, Math.max(seen.get(op.session) ?? 0, observed));
    // getData and getChildren set no watch on a missing node (ZooKeeper's); exists does.
    if (op.watch !== null && read.kind !== 'noNode') {
      const relevant: ReadonlySet<Change> =
        op.watch === 'child'
          ? new Set(['children', 'deleted'])
          : new Set(['created', 'deleted', 'data']);
      const candidates = new Set<number>();
      // A version after which the node never changed again is a candidate too ("none"): a
      // read that may have seen it owes no event (a lagging member applied the create and
      // delete in between before its linearizable read ran, sim seed 482588773).
      for (const version of match.versions)
        candidates.add(nextChange(model, op.path, version.zxid, relevant) ?? NO_CHANGE);
      watches.push({ op, candidates });
    }
  }

  let watchesChecked = 0;
  for (const { op, candidates } of watches) {
    watchesChecked++;
    const fires = firesByOp.get(op.id) ?? [];
    const name = `watch of op ${op.id} (${op.watch} on ${op.path}, session ${op.session})`;
    if (fires.length > 1) fail('watch', `${name} fired ${fires.length} times`);
    const fire = fires[0];
    // A node that installs a snapshot never saw the changes it covers: it re-checks its
    // one-shot watches against the snapshot's tree (setWatches, as a ZooKeeper server does for
    // a client that reconnects). So the event names the state at the snapshot (a zxid up to
    // its index), or, when the re-check found nothing to fire, the first change after it.
    const relevant: ReadonlySet<Change> =
      op.watch === 'child'
        ? new Set(['children', 'deleted'])
        : new Set(['created', 'deleted', 'data']);
    const skipped =
      fire !== undefined &&
      restores.some(
        (r) =>
          r.node === op.node &&
          r.index > (op.returnApplied ?? Number.POSITIVE_INFINITY) &&
          [...candidates].some((c) => c <= r.index) &&
          ((fire.zxid <= r.index && [...candidates].some((c) => c <= fire.zxid)) ||
            fire.zxid === nextChange(model, op.path, r.index, relevant)),
      );
    if (fire !== undefined && fire.zxid !== -1 && !candidates.has(fire.zxid) && !skipped)
      fail(
        'watch',
        `${name} fired ${fire.type} at zxid ${fire.zxid}; the first change after the read was at ${[...candidates].join(' or ') || 'none'}`,
      );
    if (candidates.size !== 1) continue;
    const change = [...candidates][0] as number;
    // The event before the data: no later call of the session may reflect the change first.
    for (const later of history.ops) {
      if (later.session !== op.session || later.invokeOrder < (op.returnOrder as number)) continue;
      // A close shows the session nothing, and one answered because the session had already
      // expired (its entry then applies as a no-op, later) says nothing about what it saw.
      if (later.kind === 'close') continue;
      const index = indexOf.get(later.id);
      if (index === undefined || index < change || later.returnOrder === null) continue;
      if (
        (fire === undefined || fire.order > later.returnOrder) &&
        !missedInSnapshot(model, op, change, restores)
      )
        fail(
          'watch',
          `${name}: op ${later.id} returned zxid ${index} >= ${change} before the watch fired (${fire === undefined ? 'never' : `at zxid ${fire.zxid}`})`,
        );
      break;
    }
    const end = op.session === null ? undefined : history.sessions.get(op.session);
    if (fire === undefined && end?.liveAtEnd === true && change <= model.lastZxid)
      fail('watch', `${name} never fired although its node changed at zxid ${change}`);
  }
  return { violations, model, stats: { writesChecked, readsChecked, watchesChecked } };
}

function describeOk(kind: string, results: readonly OpResult[]): string {
  if (kind === 'multi') return describeResult({ ok: true, type: 'multi', results });
  const result = results[0];
  return result === undefined ? 'ok' : describeResult({ ok: true, type: 'op', result });
}

export function describeRead(read: ReadValue): string {
  switch (read.kind) {
    case 'noNode':
      return 'NoNode';
    case 'getData':
      return `data "${read.data}" ${describeStat(read.stat)}`;
    case 'exists':
      return read.stat === null ? 'null' : describeStat(read.stat);
    case 'getChildren':
      return `[${read.children.join(',')}] ${describeStat(read.stat)}`;
  }
}

function statZxid(read: ReadValue): number {
  if (read.kind === 'noNode') return 0;
  const stat = read.stat;
  if (stat === null) return 0;
  return Math.max(stat.czxid, stat.mzxid, stat.pzxid);
}

const untext = new TextDecoder();

/** The versions of `path` alive somewhere in [lower, upper] that give the same answer as `read`. */
function matchRead(
  model: TreeModel,
  path: string,
  read: ReadValue,
  lower: number,
  upper: number,
): ReadMatch {
  const recorded = model.versions.get(path) ?? [];
  // Before its first version a path is absent.
  const list: PathVersion[] =
    recorded[0]?.zxid === 0 ? recorded : [{ zxid: 0, node: null, changes: new Set() }, ...recorded];
  const matches: PathVersion[] = [];
  for (let i = 0; i < list.length; i++) {
    const version = list[i] as PathVersion;
    const until = list[i + 1]?.zxid ?? Number.POSITIVE_INFINITY;
    if (until <= lower || version.zxid > upper) continue;
    if (describeVersion(version, read.kind) === describeRead(read)) matches.push(version);
  }
  return { versions: matches };
}

function describeVersion(version: PathVersion, kind: ReadValue['kind']): string {
  const node = version.node;
  if (kind === 'exists') {
    if (node === null) return 'null';
  } else if (node === null) return 'NoNode';
  if (node === null) return 'NoNode';
  const stat = {
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: 0,
    mtime: 0,
    version: node.version,
    cversion: reportedCversion(node.cversion, node.children.length),
    aversion: 0,
    ephemeralOwner: node.owner,
    dataLength: node.data.length,
    numChildren: node.children.length,
  } as unknown as Parameters<typeof describeStat>[0];
  if (kind === 'getData') return `data "${untext.decode(node.data)}" ${describeStat(stat)}`;
  if (kind === 'getChildren') return `[${node.children.join(',')}] ${describeStat(stat)}`;
  if (kind === 'exists') return describeStat(stat);
  return 'present'; // a NoNode read does not match an existing node
}

/**
 * ZooKeeper's one documented blind spot (Programmer's Guide, "What ZooKeeper guarantees about
 * watches"): an exists watch on a znode not yet created is missed when the znode is created and
 * deleted while the client is away, because setWatches finds it absent again. A member that
 * installs a snapshot re-checks its one-shot watches the same way, so an exists watch set on an
 * absent node misses a create whose node is gone again at the snapshot's index.
 */
function missedInSnapshot(
  model: TreeModel,
  op: HistoryOp,
  change: number,
  restores: readonly { readonly node: number; readonly index: number }[],
): boolean {
  if (op.watch !== 'exist') return false;
  return restores.some(
    (r) =>
      r.node === op.node &&
      r.index > (op.returnApplied ?? Number.POSITIVE_INFINITY) &&
      change <= r.index &&
      versionAt(model, op.path, change - 1) === null &&
      versionAt(model, op.path, r.index) === null,
  );
}

/** The node at `path` as of `zxid` (null when absent). */
function versionAt(model: TreeModel, path: string, zxid: number): PathVersion['node'] {
  let node: PathVersion['node'] = null;
  for (const version of model.versions.get(path) ?? []) {
    if (version.zxid > zxid) break;
    node = version.node;
  }
  return node;
}

function nextChange(
  model: TreeModel,
  path: string,
  after: number,
  relevant: ReadonlySet<Change>,
): number | null {
  for (const version of model.versions.get(path) ?? []) {
    if (version.zxid <= after) continue;
    for (const change of version.changes) if (relevant.has(change)) return version.zxid;
  }
  return null;
}
