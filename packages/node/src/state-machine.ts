import { decodeConfChange, type Entry, type LogIndex, type NodeId } from '@cairn/raft';
import {
  beginSnapshot,
  type ChangeEvent,
  readSnapshot,
  type SessionId,
  type TreeOptions,
  type TreeSnapshotJob,
  type Txn,
  type TxnResult,
  writeSnapshot,
  ZTree,
  type Zxid,
} from '@cairn/znode';
import { Packr } from 'msgpackr';
import { type Command, CommandError, decodeCommand } from './command.js';

/** How one committed command fared; every replica computes the same. */
export type AppliedCommand =
  | {
      readonly kind: 'txn';
      readonly index: LogIndex;
      readonly txn: Txn;
      readonly seq: number | null;
      /**
       * `applied`: changed the tree (or failed deterministically) now; `duplicate`: a retry of
       * a request already applied, answered with its original result (null if forgotten);
       * `gap`: an earlier request of the session is missing, so this one was not applied and its
       * proposer must resend from the first unapplied request; `moved`: made under an older
       * owner epoch (the session moved to another member), not applied, answered SessionMoved.
       */
      readonly outcome: 'applied' | 'duplicate' | 'gap' | 'moved';
      readonly result: TxnResult | null;
      readonly events: readonly ChangeEvent[];
    }
  | {
      readonly kind: 'member';
      readonly index: LogIndex;
      readonly nodeId: NodeId;
      readonly address: string | null;
    }
  | {
      readonly kind: 'claim';
      readonly index: LogIndex;
      readonly sessionId: SessionId;
      readonly nonce: string;
      /** Null when the session is unknown or the password is wrong (SessionExpired). */
      readonly claimed: { readonly epoch: number; readonly lastSeq: number } | null;
    }
  | {
      readonly kind: 'incarnation';
      readonly index: LogIndex;
      readonly nodeId: NodeId;
      readonly incarnation: string | null;
    }
  | {
      /** A committed membership change: `removed` are the members it removes (records forgotten). */
      readonly kind: 'confChange';
      readonly index: LogIndex;
      readonly removed: readonly NodeId[];
    }
  | { readonly kind: 'noop'; readonly index: LogIndex };

interface RequestTable {
  lastSeq: number;
  /** Bumped by every `claim`: requests must carry the current one. */
  epoch: number;
  /** The nonce of the claim that set `epoch` ('' before any): its retries change nothing. */
  claim: string;
  /** Results of requests in (acked, lastSeq], for retries; pruned as the proposer acknowledges. */
  results: Map<number, TxnResult>;
}

/**
 * A snapshot of the state machine as of the applied index it began at, written in slices so
 * that a big tree does not hold the event loop (`StateMachine.beginSnapshot`). Entries may be
 * applied between steps; they do not show in the snapshot.
 */
export interface SnapshotJob {
  /** The applied index when the job began: restore the bytes at this index. */
  readonly index: LogIndex;
  /** Writes up to `maxNodes` (>= 1) more znodes; true once every znode is written. */
  step(maxNodes: number): boolean;
  /** The snapshot in `snapshot()`'s format, for `restore`; throws until `step` returned true. */
  bytes(): Uint8Array;
  /** Stops the job and drops what it holds; `step` and `bytes` throw afterwards. */
  abort(): void;
}

/** The runtime tables of a snapshot, copied when it begins (they are small). */
interface Tables {
  format: number;
  applied: LogIndex;
  time: number;
  requests: [SessionId, number, [number, TxnResult][], number, string][];
  closed: SessionId[];
  /** Remembered closed sessions' last request number and unacknowledged results. */
  ended: [SessionId, number, [number, TxnResult][]][];
  members: [NodeId, string][];
  incarnations: [NodeId, string][];
  departed: NodeId[];
}

/** Recently closed session ids remembered so a late createSession retry cannot revive one. */
const CLOSED_REMEMBERED = 10_000;
const SNAPSHOT_FORMAT = 1;

/** Runtime tables travel with bigints intact (session ids, ephemeral owners in results). */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'bigint',
  bundleStrings: false,
});

/**
 * The replicated state: the znode tree plus what the runtime must agree on across replicas —
 * each session's request numbers and recent results (exactly-once writes), the time of the
 * last applied entry (stamps are made monotonic here, so a new leader whose clock is behind
 * cannot move time back), and the members' addresses. Deterministic: the same entries give
 * the same state and the same results on every replica.
 */
export class StateMachine {
  tree: ZTree;
  applied: LogIndex = 0 as LogIndex;
  time = 0;
  private requests = new Map<SessionId, RequestTable>();
  private closed: SessionId[] = [];
  private closedSet = new Set<SessionId>();
  /**
   * Of the remembered closed sessions (`closed`), the last request number applied and the results
   * their proposer had not acknowledged: a member that learns of the end from a snapshot, or a
   * retry that arrives after it, still gets each request's own result (docs/node.md).
   */
  private ended = new Map<SessionId, { lastSeq: number; results: Map<number, TxnResult> }>();
  readonly members = new Map<NodeId, string>();
  /** The data-folder incarnation each member was first heard with (amnesia detection). */
  readonly incarnations = new Map<NodeId, string>();
  /**
   * Members removed by a committed conf change and not added back since: their incarnation was
   * forgotten with the removal, and a record for one (a late hello of the removed machine, a
   * record the leader proposed before it applied the removal) is ignored, so whatever is added
   * under that id later starts a new record.
   */
  readonly departed = new Set<NodeId>();

  constructor(private readonly treeOptions: TreeOptions = {}) {
    this.tree = new ZTree(treeOptions);
  }

  /** Applies one committed entry (conf changes are the core's; here they only move `applied`). */
  apply(entry: Entry): AppliedCommand {
    if (entry.index <= this.applied)
      throw new Error(`state machine: entry ${entry.index} after applied ${this.applied}`);
    this.applied = entry.index;
    if (entry.type === 'confChange') return this.applyConfChange(entry);
    if (entry.data.length === 0) return { kind: 'noop', index: entry.index };
    let decoded: { command: Command; time: number };
    try {
      decoded = decodeCommand(entry.data);
    } catch (error) {
      if (error instanceof CommandError)
        throw new Error(`entry ${entry.index}: ${error.message}`, { cause: error });
      throw error;
    }
    this.time = Math.max(this.time, decoded.time);
    const command = decoded.command;
    if (command.kind === 'member') {
      if (command.address === null) this.members.delete(command.nodeId);
      else this.members.set(command.nodeId, command.address);
      return {
        kind: 'member',
        index: entry.index,
        nodeId: command.nodeId,
        address: command.address,
      };
    }
    if (command.kind === 'incarnation') {
      if (command.incarnation === null) this.incarnations.delete(command.nodeId);
      else if (!this.incarnations.has(command.nodeId) && !this.departed.has(command.nodeId))
        this.incarnations.set(command.nodeId, command.incarnation);
      return {
        kind: 'incarnation',
        index: entry.index,
        nodeId: command.nodeId,
        incarnation: this.incarnations.get(command.nodeId) ?? null,
      };
    }
    if (command.kind === 'claim')
      return this.applyClaim(entry.index, command.sessionId, command.password, command.nonce);
    return this.applyTxn(entry.index, command.txn, command.seq, command.acked, command.epoch);
  }

  /**
   * The core applies the membership itself (after this, in `advance`); here a removal forgets
   * the member's incarnation in the same step, so a removal that commits is complete: no later
   * entry has to commit for a replaced machine to rejoin under the id. Every replica decides
   * from the entry alone (no validation against the configuration: the leader validated the
   * change when it proposed it), so all agree. An entry that does not decode changes nothing
   * here, as in the core.
   */
  private applyConfChange(entry: Entry): AppliedCommand {
    if (entry.data.length === 0) return { kind: 'noop', index: entry.index };
    let changes: readonly { type: string; nodeId: NodeId }[];
    try {
      changes = decodeConfChange(entry.data).changes;
    } catch {
      return { kind: 'noop', index: entry.index };
    }
    const removed: NodeId[] = [];
    for (const change of changes) {
      if (change.type === 'removeNode') {
        this.incarnations.delete(change.nodeId);
        this.departed.add(change.nodeId);
        removed.push(change.nodeId);
      } else this.departed.delete(change.nodeId);
    }
    return { kind: 'confChange', index: entry.index, removed };
  }

  private applyClaim(
    index: LogIndex,
    id: SessionId,
    password: Uint8Array,
    nonce: string,
  ): AppliedCommand {
    const session = this.tree.session(id);
    const table = this.requests.get(id);
    if (session === null || table === undefined || !sameBytes(session.password, password))
      return { kind: 'claim', index, sessionId: id, nonce, claimed: null };
    if (table.claim !== nonce) {
      table.epoch++;
      table.claim = nonce;
      table.results.clear();
    }
    return {
      kind: 'claim',
      index,
      sessionId: id,
      nonce,
      claimed: { epoch: table.epoch, lastSeq: table.lastSeq },
    };
  }

  private applyTxn(
    index: LogIndex,
    txn: Txn,
    seq: number | null,
    acked: number,
    epoch: number,
  ): AppliedCommand {
    const base = { kind: 'txn' as const, index, txn, seq };
    if (txn.type === 'createSession') {
      const existing = this.tree.session(txn.sessionId);
      // A retry of the same request (same password) is a duplicate; another password means two
      // sessions drew one id (a clock that went back): refused, and the node draws again.
      if (existing !== null)
        return {
          ...base,
          outcome: 'duplicate',
          result: sameBytes(existing.password, txn.password)
            ? { ok: true, type: 'createSession' }
            : { ok: false, type: 'session', error: { code: 'NodeExists' } },
          events: [],
        };
      if (this.closedSet.has(txn.sessionId))
        return {
          ...base,
          outcome: 'duplicate',
          result: { ok: false, type: 'session', error: { code: 'SessionExpired' } },
          events: [],
        };
      const { result, events } = this.tree.apply(txn, index as number as Zxid, this.time);
      if (result.ok)
        this.requests.set(txn.sessionId, {
          lastSeq: seq ?? 0,
          epoch: 0,
          claim: '',
          results: new Map(),
        });
      return { ...base, outcome: 'applied', result, events };
    }
    const table = 'sessionId' in txn ? this.requests.get(txn.sessionId) : undefined;
    if (seq !== null && table === undefined && 'sessionId' in txn) {
      // A retry of a request applied before its session ended: its own result, not the end.
      const ended = this.ended.get(txn.sessionId);
      if (ended !== undefined && seq <= ended.lastSeq)
        return {
          ...base,
          outcome: 'duplicate',
          result: ended.results.get(seq) ?? null,
          events: [],
        };
    }
    if (seq !== null && table !== undefined) {
      if (epoch !== table.epoch)
        return {
          ...base,
          outcome: 'moved',
          result: { ok: false, type: 'session', error: { code: 'SessionMoved' } },
          events: [],
        };
      for (const old of table.results.keys()) if (old <= acked) table.results.delete(old);
      if (seq <= table.lastSeq)
        return {
          ...base,
          outcome: 'duplicate',
          result: table.results.get(seq) ?? null,
          events: [],
        };
      if (seq > table.lastSeq + 1) return { ...base, outcome: 'gap', result: null, events: [] };
    }
    const { result, events } = this.tree.apply(txn, index as number as Zxid, this.time);
    if (seq !== null && table !== undefined) {
      table.lastSeq = seq;
      table.results.set(seq, result);
    }
    if (txn.type === 'closeSession' && result.ok) this.forget(txn.sessionId);
    return { ...base, outcome: 'applied', result, events };
  }

  private forget(id: SessionId): void {
    const table = this.requests.get(id);
    this.requests.delete(id);
    if (table !== undefined) this.ended.set(id, { lastSeq: table.lastSeq, results: table.results });
    this.closed.push(id);
    this.closedSet.add(id);
    if (this.closed.length > CLOSED_REMEMBERED) {
      const oldest = this.closed.shift() as SessionId;
      this.closedSet.delete(oldest);
      this.ended.delete(oldest);
    }
  }

  /**
   * For a remembered closed session: the last request number applied before it ended, and the
   * results its proposer had not acknowledged. Null for a live or forgotten session.
   */
  endedRequests(
    id: SessionId,
  ): { readonly lastSeq: number; resultOf(seq: number): TxnResult | null } | null {
    const ended = this.ended.get(id);
    if (ended === undefined) return null;
    return { lastSeq: ended.lastSeq, resultOf: (seq) => ended.results.get(seq) ?? null };
  }

  /** The last request number the state machine applied for `id` (0 if none), or null if unknown. */
  lastSeq(id: SessionId): number | null {
    return this.requests.get(id)?.lastSeq ?? null;
  }

  /** The owner epoch of session `id` (0 until it first moves). */
  epochOf(id: SessionId): number {
    return this.requests.get(id)?.epoch ?? 0;
  }

  /** The remembered result of request `seq` of session `id`. */
  resultOf(id: SessionId, seq: number): TxnResult | null {
    return this.requests.get(id)?.results.get(seq) ?? null;
  }

  wasClosed(id: SessionId): boolean {
    return this.closedSet.has(id);
  }

  /** The whole state as bytes, all at once: the tree's chunked snapshot plus the runtime tables. */
  snapshot(): Uint8Array {
    return packr.pack({ ...this.tables(), tree: [...writeSnapshot(this.tree)] });
  }

  /**
   * Begins a snapshot of the state as of now (`applied`), written by the job's steps while
   * entries go on being applied: the runtime tables are copied now, the tree is written in
   * slices (`beginSnapshot` in @cairn/znode keeps the state of each znode changed before it is
   * written). One job at a time per tree: abort or finish one before beginning the next.
   * `snapshot()` may still be called meanwhile. A `restore` replaces the tree; a job begun
   * before it still yields the state as of its own index.
   */
  beginSnapshot(nodesPerChunk?: number): SnapshotJob {
    return new MachineSnapshotJob(
      this.applied,
      this.tables(),
      beginSnapshot(this.tree, nodesPerChunk),
    );
  }

  /** Copies of the runtime tables (result objects are shared: they are never changed). */
  private tables(): Tables {
    return {
      format: SNAPSHOT_FORMAT,
      applied: this.applied,
      time: this.time,
      requests: [...this.requests].map(([id, t]) => [
        id,
        t.lastSeq,
        [...t.results],
        t.epoch,
        t.claim,
      ]),
      closed: [...this.closed],
      ended: [...this.ended].map(([id, e]) => [id, e.lastSeq, [...e.results]]),
      members: [...this.members],
      incarnations: [...this.incarnations],
      departed: [...this.departed],
    };
  }

  /** Replaces the state with a snapshot's (taken at `index`). Throws on a malformed snapshot. */
  restore(data: Uint8Array, index: LogIndex): void {
    const value = packr.unpack(data) as {
      format: unknown;
      time: number;
      requests: [SessionId, number, [number, TxnResult][], number, string][];
      closed: SessionId[];
      /** Absent in snapshots taken before ended sessions kept their results. */
      ended?: [SessionId, number, [number, TxnResult][]][];
      members: [NodeId, string][];
      incarnations?: [NodeId, string][];
      departed?: NodeId[];
      tree: Uint8Array[];
    };
    if (value.format !== SNAPSHOT_FORMAT)
      throw new Error(`snapshot format ${String(value.format)}`);
    if (
      !Array.isArray(value.tree) ||
      !Array.isArray(value.requests) ||
      !Array.isArray(value.closed)
    )
      throw new Error('snapshot: missing tables');
    this.tree = readSnapshot(value.tree, this.treeOptions);
    this.applied = index;
    this.time = value.time;
    this.requests = new Map(
      value.requests.map(([id, lastSeq, results, epoch, claim]) => [
        id,
        { lastSeq, epoch, claim, results: new Map(results) },
      ]),
    );
    this.closed = [...value.closed];
    this.closedSet = new Set(this.closed);
    this.ended = new Map(
      (value.ended ?? []).map(([id, lastSeq, results]) => [
        id,
        { lastSeq, results: new Map(results) },
      ]),
    );
    this.members.clear();
    for (const [id, address] of value.members) this.members.set(id, address);
    this.incarnations.clear();
    for (const [id, incarnation] of value.incarnations ?? [])
      this.incarnations.set(id, incarnation);
    this.departed.clear();
    for (const id of value.departed ?? []) this.departed.add(id);
  }
}

class MachineSnapshotJob implements SnapshotJob {
  private readonly chunks: Uint8Array[] = [];
  private aborted = false;

  constructor(
    readonly index: LogIndex,
    private readonly tables: Tables,
    private readonly tree: TreeSnapshotJob,
  ) {}

  step(maxNodes: number): boolean {
    for (const chunk of this.tree.step(maxNodes)) this.chunks.push(chunk);
    return this.tree.done;
  }

  bytes(): Uint8Array {
    if (this.aborted) throw new Error('state machine: snapshot job aborted');
    if (!this.tree.done) throw new Error('state machine: snapshot job not finished');
    return packr.pack({ ...this.tables, tree: this.chunks });
  }

  abort(): void {
    this.aborted = true;
    this.tree.abort();
    this.chunks.length = 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
