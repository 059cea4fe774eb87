import { assert } from './assert.js';
import { encodeConfChange } from './codec.js';
import type { RaftConfig } from './config.js';
import { NotLeaderError, ProposalDroppedError, RaftError } from './errors.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import { isSentAfterPersist, type Message, type ProposedEntry } from './messages.js';
import type { ProgressState } from './progress/progress.js';
import { Raft } from './raft.js';
import { step, tick } from './step.js';
import {
  handleTransferLeader,
  leaderPropose,
  leaderReadIndex,
  type ProposeOutcome,
  releasePendingReadIndex,
} from './step-leader.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from './types.js';

/**
 * Everything the runtime must do after a batch of calls into the core, in this order:
 * 1. send `messages` (they do not depend on this Ready being durable);
 * 2. persist `snapshot`, `entries` and `hardState` in one atomic, synced write (and the
 *    `compaction`, which may go in the same batch or later);
 * 3. send `messagesAfterPersist` (votes and append acknowledgements promise durability);
 * 4. restore the state machine from `snapshot` if set, then apply `committedEntries` in order;
 *    release `readStates` once the applied index reaches their index;
 * 5. call `advance(ready)`.
 */
export interface Ready {
  /** Set when the leader or this node's role changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Set when term, vote or commit changed; must be durable before `messagesAfterPersist` leave. */
  readonly hardState: HardState | null;
  /** Entries to append; an entry at index i replaces everything stored at or after i. */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader to persist and restore; it replaces the whole log. */
  readonly snapshot: Snapshot | null;
  /** A local snapshot to persist; entries up to `compactTo` may then be discarded. */
  readonly compaction: { readonly snapshot: Snapshot; readonly compactTo: LogIndex } | null;
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  /** Committed entries to apply, in order; each is durable on a quorum. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Whether the write in step 2 must be synced (false when only commit moved). */
  readonly mustSync: boolean;
}

/** A snapshot of the core's state, for the runtime, tests and `describe`. */
export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  /** The index of the newest snapshot this node holds or is installing (0: none). */
  readonly snapshotIndex: LogIndex;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId | null;
  /** On the leader: each member's replication progress. */
  readonly progress: ReadonlyMap<NodeId, { match: LogIndex; next: LogIndex; state: ProgressState }>;
}

export type { ProposeOutcome };

/** The outcome of a read request: `pending` until a `ReadState` with this context is released. */
export type ReadIndexOutcome =
  | { readonly status: 'pending' }
  | { readonly status: 'refused'; readonly error: RaftError };

/**
 * A pure, deterministic Raft node (etcd-io/raft's RawNode): calls in, `Ready` out. It never
 * does I/O, reads a clock, draws unseeded randomness or awaits; every call runs to completion.
 *
 * ```ts
 * const core = new RaftCore({ id: nodeId(1), storage, random: seededRandom(1) });
 * core.tick();                     // drive time
 * core.step(messageFromPeer);      // deliver messages
 * core.propose(bytes);             // propose writes
 * if (core.hasReady()) { const ready = core.ready(); ...persist, send, apply...; core.advance(ready); }
 * ```
 */
export class RaftCore {
  private readonly raft: Raft;
  private outstanding: Ready | null = null;
  private lastSoftState: SoftState;
  private lastHardState: HardState;
  private pendingCompaction: { snapshot: Snapshot; compactTo: LogIndex } | null = null;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.lastSoftState = this.softState();
    this.lastHardState = this.hardState();
  }

  /** Advances logical time by one tick. */
  tick(): void {
    tick(this.raft);
  }

  /**
   * Delivers a message from a peer. Messages of an older term are answered or ignored;
   * `Runtime` messages belong to the runtime and are ignored here.
   */
  step(message: Message): void {
    assert(
      message.to === this.raft.id,
      () => `message for ${message.to} delivered to ${this.raft.id}`,
    );
    if (message.type === 'Runtime') return;
    step(this.raft, message);
  }

  /** Starts an election now (if this node may lead), as if its election timeout had passed. */
  campaign(): void {
    this.raft.hup(false);
  }

  /** Proposes one entry of application data. */
  propose(data: Uint8Array): ProposeOutcome {
    return this.proposeEntries([{ type: 'normal', data }]);
  }

  /** Proposes a membership change; it takes effect on each node when applied (see `advance`). */
  proposeConfChange(change: ConfChange): ProposeOutcome {
    return this.proposeEntries([{ type: 'confChange', data: encodeConfChange(change) }]);
  }

  /** Proposes several entries at once (one append, one broadcast). */
  proposeEntries(proposals: readonly ProposedEntry[]): ProposeOutcome {
    if (proposals.length === 0)
      return { status: 'refused', error: new RaftError('ProposalDropped', 'nothing to propose') };
    const r = this.raft;
    if (r.role === 'leader') return leaderPropose(r, proposals);
    const refusal = this.notLeader();
    if (refusal !== null) return { status: 'refused', error: refusal };
    const leader = r.leader as NodeId;
    r.send({ type: 'Propose', from: r.id, to: leader, term: 0 as Term, entries: proposals });
    return { status: 'forwarded', leader };
  }

  /**
   * Asks for a linearizable read point: a `ReadState` with `context` is released once it is
   * known (on the leader after a heartbeat quorum, on a follower from the leader's answer).
   * `context` must never be reused (not only among pending reads): heartbeat answers echo it,
   * and a late answer to an earlier read's heartbeat would confirm a later read with the same
   * context from before it began, possibly after a newer leader committed (a stale read).
   */
  readIndex(context: string): ReadIndexOutcome {
    const r = this.raft;
    if (r.role === 'leader') {
      leaderReadIndex(r, r.id, context);
      return { status: 'pending' };
    }
    const refusal = this.notLeader();
    if (refusal !== null) return { status: 'refused', error: refusal };
    r.send({ type: 'ReadIndex', from: r.id, to: r.leader as NodeId, term: 0 as Term, context });
    return { status: 'pending' };
  }

  /** Hands leadership to `to` (thesis §3.10); proposals are refused until it completes or times out. */
  transferLeadership(to: NodeId): void {
    const r = this.raft;
    if (r.role === 'leader') handleTransferLeader(r, to);
    else if (r.leader !== null && r.config.proposalForwarding) {
      r.send({ type: 'TransferLeader', from: r.id, to: r.leader, term: 0 as Term, transferee: to });
    }
  }

  /**
   * The application took a snapshot of its state at `index` (at most the applied index). The
   * next Ready carries it to storage together with the index up to which the log may go.
   */
  compact(snapshot: { readonly index: LogIndex; readonly data: Uint8Array }): void {
    const r = this.raft;
    const current = r.log.snapshotIndex();
    if (snapshot.index > r.log.applied) {
      throw new RaftError(
        'CompactionInvalid',
        `snapshot at ${snapshot.index} is beyond the applied index ${r.log.applied}`,
      );
    }
    if (snapshot.index <= current) {
      throw new RaftError(
        'SnapshotOutOfDate',
        `snapshot at ${snapshot.index} is not newer than ${current}`,
      );
    }
    const term = r.log.term(snapshot.index);
    assert(term !== null, () => `no term for applied index ${snapshot.index}`);
    const metadata = { index: snapshot.index, term, confState: r.confStateAt(snapshot.index) };
    const compactTo = Math.max(
      r.log.firstIndex() - 1,
      snapshot.index - r.config.compactionRetainedEntries,
    ) as LogIndex;
    this.pendingCompaction = { snapshot: { metadata, data: snapshot.data }, compactTo };
    // Later snapshots are newer than this one: keep the membership in force here and later ones.
    let inForce = 0;
    r.confHistory.forEach((item, i) => {
      if (item.index <= snapshot.index) inForce = i;
    });
    r.confHistory = r.confHistory.slice(inForce);
  }

  /** The transport could not reach `id`: stop streaming to it and probe again. */
  reportUnreachable(id: NodeId): void {
    const progress = this.raft.tracker.progress.get(id);
    if (this.raft.role === 'leader' && progress?.state === 'replicate') progress.becomeProbe();
  }

  /** A snapshot sent to `id` was delivered (`ok`) or failed; replication resumes by probing. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const progress = this.raft.tracker.progress.get(id);
    if (this.raft.role !== 'leader' || progress?.state !== 'snapshot') return;
    if (!ok) progress.pendingSnapshot = 0 as LogIndex;
    progress.becomeProbe();
    progress.probeSent = true;
  }

  /**
   * The storage loaded entries it had answered `'unavailable'` for (the runtime calls this from
   * the `DurableLog.onAvailable` listener). Retries what waited: appends to followers, and
   * handing out committed entries. Harmless when nothing waited.
   */
  storageAvailable(): void {
    const r = this.raft;
    r.log.waitingForStorage = false;
    if (r.role === 'leader') r.retryAppendsWaitingForStorage();
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const r = this.raft;
    return (
      r.messages.length > 0 ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== null ||
      r.log.hasNextCommittedEntries() ||
      r.readStates.length > 0 ||
      this.pendingCompaction !== null ||
      // Field by field rather than through hardState() and softState(): hasReady runs after
      // every call into the core, and should not allocate.
      r.term !== this.lastHardState.term ||
      r.vote !== this.lastHardState.vote ||
      r.log.committed !== this.lastHardState.commit ||
      r.leader !== this.lastSoftState.leader ||
      r.role !== this.lastSoftState.role
    );
  }

  /** Collects what must be done now. At most one Ready is outstanding until `advance`. */
  ready(): Ready {
    assert(this.outstanding === null, 'ready() called again before advance()');
    const r = this.raft;
    const softState = this.softState();
    const hardState = this.hardState();
    const messages: Message[] = [];
    const messagesAfterPersist: Message[] = [];
    for (const message of r.messages)
      (isSentAfterPersist(message) ? messagesAfterPersist : messages).push(message);
    r.messages = [];
    const entries = r.log.unstable.entries.slice();
    const hardStateChanged = !sameHardState(hardState, this.lastHardState);
    const ready: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? null : softState,
      hardState: hardStateChanged ? hardState : null,
      entries,
      snapshot: r.log.unstable.snapshot,
      compaction: this.pendingCompaction,
      messages,
      messagesAfterPersist,
      committedEntries: r.log.nextCommittedEntries(r.config.committedBytesMax),
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        r.log.unstable.snapshot !== null ||
        hardState.term !== this.lastHardState.term ||
        hardState.vote !== this.lastHardState.vote,
    };
    r.readStates = [];
    this.pendingCompaction = null;
    this.lastSoftState = softState;
    if (hardStateChanged) this.lastHardState = hardState;
    this.outstanding = ready;
    return ready;
  }

  /**
   * The runtime did everything `ready` asked. Marks its entries and snapshot durable (a leader
   * counts its own acknowledgement only now, etcd-io/etcd#14370), its committed entries applied,
   * and applies the membership changes among them.
   */
  advance(ready: Ready): void {
    assert(this.outstanding === ready, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = null;
    const r = this.raft;
    if (ready.snapshot !== null) {
      r.log.unstable.stableSnapshotTo(ready.snapshot.metadata.index);
      r.log.appliedTo(ready.snapshot.metadata.index);
      r.log.noteSnapshot(ready.snapshot.metadata.index);
    }
    if (ready.compaction !== null) r.log.noteSnapshot(ready.compaction.snapshot.metadata.index);
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) r.log.unstable.stableTo(lastEntry.index, lastEntry.term);
    // The applied index moves once per Ready, and to each conf change before it takes effect.
    const committed = ready.committedEntries;
    // A snapshot restored since this Ready was handed out (it can only be pending: it rides the
    // next Ready) already holds the membership as of its index; re-applying an older change on
    // top of it would give this node a membership no other node has (openraft#1808).
    const restoredTo = r.log.unstable.snapshot?.metadata.index ?? 0;
    for (const entry of committed) {
      if (entry.type !== 'confChange') continue;
      r.log.appliedTo(entry.index);
      if (entry.index > restoredTo) r.applyConfChangeEntry(entry);
    }
    const lastCommitted = committed[committed.length - 1];
    if (lastCommitted !== undefined) r.log.appliedTo(lastCommitted.index);
    if (r.role === 'leader') {
      const self = r.tracker.progress.get(r.id);
      if (self?.maybeUpdate(r.stableLastIndex()) && r.maybeCommit()) {
        releasePendingReadIndex(r);
        r.bcastAppend();
      }
      this.maybeAutoLeave();
    }
  }

  /** A joint configuration entered with auto-leave is left as soon as it is applied. */
  private maybeAutoLeave(): void {
    const r = this.raft;
    if (!r.isJointAutoLeavePending()) return;
    if (r.pendingConfIndex > r.log.applied) return;
    leaderPropose(r, [
      { type: 'confChange', data: encodeConfChange({ changes: [], transition: 'auto' }) },
    ]);
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, { match: LogIndex; next: LogIndex; state: ProgressState }>();
    if (r.role === 'leader') {
      for (const id of r.tracker.memberIds) {
        const p = r.tracker.progress.get(id);
        if (p !== undefined) progress.set(id, { match: p.match, next: p.next, state: p.state });
      }
    }
    return {
      id: r.id,
      role: r.role,
      leader: r.leader,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      snapshotIndex: r.log.snapshotIndex(),
      confState: r.tracker.confState,
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  /** The term of the entry at `index`, or null when it is compacted or not there. */
  term(index: LogIndex): Term | null {
    return this.raft.log.term(index);
  }

  /** Throws a `RaftAssertionError` if a structural invariant is broken (the simulator calls this every step). */
  assertInvariants(): void {
    const r = this.raft;
    r.log.assertInvariants();
    assert(r.role !== 'leader' || r.leader === r.id, 'a leader must name itself leader');
    assert(r.role !== 'leader' || r.vote === r.id, 'a leader must have voted for itself');
    assert(r.leadTransferee === null || r.role === 'leader', 'only a leader transfers leadership');
    for (const [id, progress] of r.tracker.progress) {
      assert(
        progress.match < progress.next,
        () => `progress of ${id}: match ${progress.match} >= next ${progress.next}`,
      );
    }
  }

  private notLeader(): RaftError | null {
    const r = this.raft;
    if (r.leader === null) return new ProposalDroppedError('no-leader');
    if (!r.config.proposalForwarding) return new NotLeaderError(r.leader);
    return null;
  }

  private softState(): SoftState {
    return { leader: this.raft.leader, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}
