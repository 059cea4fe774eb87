import { assert } from './assert.js';
import { decodeConfChange } from './codec.js';
import { applyConfChange, isJoint } from './conf-change/changer.js';
import { type RaftConfig, type ResolvedRaftConfig, resolveConfig } from './config.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { CoreMessage, ProposedEntry } from './messages.js';
import { ProgressTracker } from './progress/tracker.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { entryBytes } from './storage.js';
import type { ConfState, Entry, ReadState, Role, Snapshot } from './types.js';

const NO_ENTRIES: readonly Entry[] = [];

/**
 * The Raft state of one node and the rules that change it, shared by the role handlers in
 * `step-leader.ts` and `step-follower.ts`. Role changes happen only in the `become*` methods.
 * Internal: the public surface is `RaftCore`.
 */
export class Raft {
  readonly config: ResolvedRaftConfig;
  readonly id: NodeId;
  term: Term;
  vote: NodeId | null;
  role: Role = 'follower';
  leader: NodeId | null = null;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Set while a leadership transfer to this node is in progress. */
  leadTransferee: NodeId | null = null;
  /** Invariant: the leader proposes no conf change while one at or above this index is unapplied. */
  pendingConfIndex: LogIndex = 0 as LogIndex;
  /**
   * Bytes of entries appended by this leader and not yet committed. Counted only when
   * `uncommittedBytesMax` is set (nothing else reads it); otherwise it stays 0.
   */
  uncommittedBytes = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndex: CoreMessage[] = [];
  readStates: ReadState[] = [];
  messages: CoreMessage[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /**
   * Followers this leader had entries for but could not send them: the storage answered
   * `'unavailable'`. By id, whether the append was to go out even if empty; `storageAvailable`
   * retries them. Cleared on every role change.
   */
  appendsWaitingForStorage = new Map<NodeId, boolean>();
  /** Conf states applied since the last snapshot, by index: the membership of a local snapshot. */
  confHistory: Array<{ index: LogIndex; confState: ConfState }> = [];

  constructor(options: RaftConfig) {
    this.config = resolveConfig(options);
    this.id = this.config.id;
    const { hardState, confState } = this.config.storage.initialState();
    this.log = new RaftLog(this.config.storage, this.config.applied);
    this.tracker = new ProgressTracker(
      confState,
      this.config.inflightMessagesMax,
      this.config.inflightBytesMax,
    );
    this.confHistory.push({ index: (this.log.firstIndex() - 1) as LogIndex, confState });
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.becomeFollower(this.term, null);
  }

  // ---- roles ---------------------------------------------------------------------------

  becomeFollower(term: Term, leader: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
  }

  /** Pre-vote (thesis §9.6): ask for votes for term + 1 without disturbing anyone's term. */
  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    this.role = 'pre-candidate';
    this.leader = null;
    this.tracker.resetVotes();
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset((this.term + 1) as Term);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(
      this.role === 'candidate' || this.role === 'pre-candidate',
      () => `${this.role} cannot become leader`,
    );
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    const self = this.tracker.progress.get(this.id);
    assert(self !== undefined, 'a leader must be a member');
    self.becomeReplicate();
    // Figure 8: commit an entry of this term so earlier entries commit with it.
    this.appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
    this.uncommittedBytes = 0;
    // The fix for the single-server change bug (Ongaro, raft-dev 2015): no conf change until an
    // entry of this term (the no-op) is committed and applied. Any conf change still in the
    // log below it is covered too.
    this.pendingConfIndex = this.log.lastIndex();
  }

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
    this.leadTransferee = null;
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, progress] of this.tracker.progress) {
      progress.match = (id === this.id ? this.stableLastIndex() : 0) as LogIndex;
      progress.next = (last + 1) as LogIndex;
      progress.becomeProbeFresh();
    }
    this.pendingConfIndex = 0 as LogIndex;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndex = [];
    this.appendsWaitingForStorage.clear();
  }

  /** The last index known durable here: the leader's own acknowledgement counts only this far. */
  stableLastIndex(): LogIndex {
    const unstable = this.log.unstable;
    if (unstable.snapshot !== null) return 0 as LogIndex;
    return (unstable.entries.length > 0 ? unstable.offset - 1 : this.log.lastIndex()) as LogIndex;
  }

  promotable(): boolean {
    const self = this.tracker.progress.get(this.id);
    return self !== undefined && !self.isLearner && this.log.unstable.snapshot === null;
  }

  // ---- elections -------------------------------------------------------------------------

  /** Starts an election if this node may: a pre-vote first when configured, unless transferring. */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A node must not lead with conf changes committed but not yet applied: its view of the
    // membership would be out of date.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(this.config.preVote && !transfer ? 'pre' : 'real', transfer);
  }

  campaign(kind: 'pre' | 'real', transfer: boolean): void {
    let voteTerm: Term;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = (this.term + 1) as Term;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    // Our own vote counts at once: peers can only answer after our Vote request leaves, and
    // it leaves only once this term and vote are durable (isSentAfterPersist).
    this.tracker.recordVote(this.id, true);
    if (this.tallyAndAct()) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.tracker.voterIds) {
      if (to === this.id) continue;
      this.send({
        type: kind === 'pre' ? 'PreVote' : 'Vote',
        from: this.id,
        to,
        term: voteTerm,
        lastIndex,
        lastTerm,
        transfer,
      });
    }
  }

  /** Acts on the election result so far; returns true when the election is decided. */
  tallyAndAct(): boolean {
    const result = this.tracker.tallyVotes();
    if (result === 'won') {
      if (this.role === 'pre-candidate') {
        this.campaign('real', false);
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
      return true;
    }
    if (result === 'lost') {
      this.becomeFollower(this.term, null);
      return true;
    }
    return false;
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex()) as LogIndex;
    const entries =
      this.log.slice(lo, (this.log.committed + 1) as LogIndex, Number.MAX_SAFE_INTEGER) ?? [];
    // Committed entries may be on disk only: assume the worst and campaign once they are applied.
    if (entries === 'unavailable') return true;
    return entries.some((entry) => entry.type === 'confChange');
  }

  /** Whether a voter may grant a (pre-)vote to a candidate with this log (Figure 2, §5.4.1). */
  canGrantVote(message: Extract<CoreMessage, { type: 'Vote' | 'PreVote' }>): boolean {
    const free =
      this.vote === message.from ||
      (this.vote === null && this.leader === null) ||
      (message.type === 'PreVote' && message.term > this.term);
    return free && this.log.isUpToDate(message.lastIndex, message.lastTerm);
  }

  // ---- log -------------------------------------------------------------------------------

  /** Appends proposals as entries of the current term; returns the index of the last one. */
  appendEntries(proposals: readonly ProposedEntry[]): LogIndex {
    let index = this.log.lastIndex();
    const countBytes = this.config.uncommittedBytesMax > 0;
    const entries: Entry[] = new Array(proposals.length);
    for (let i = 0; i < proposals.length; i++) {
      const proposal = proposals[i] as ProposedEntry;
      index = (index + 1) as LogIndex;
      entries[i] = { term: this.term, index, type: proposal.type, data: proposal.data };
      if (countBytes) this.uncommittedBytes += entryBytes(entries[i] as Entry);
    }
    this.log.append(entries);
    return index;
  }

  /** Advances the leader's commit index from its followers' match indices (§5.3, §5.4.2). */
  maybeCommit(): boolean {
    const before = this.log.committed;
    if (!this.log.maybeCommit(this.tracker.committed(), this.term)) return false;
    this.releaseUncommitted(before);
    return true;
  }

  private releaseUncommitted(before: LogIndex): void {
    if (this.uncommittedBytes === 0) return;
    const entries =
      this.log.slice(
        (before + 1) as LogIndex,
        (this.log.committed + 1) as LogIndex,
        Number.MAX_SAFE_INTEGER,
      ) ?? NO_ENTRIES;
    // They were above our commit index, which is at least the last one persisted; storage keeps
    // those in memory (LogStorage.entries).
    assert(entries !== 'unavailable', () => `uncommitted entries after ${before} unavailable`);
    for (const entry of entries) this.uncommittedBytes -= entryBytes(entry);
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- sending ---------------------------------------------------------------------------

  send(message: CoreMessage): void {
    this.messages.push(message);
  }

  /**
   * Sends `to` the entries it lacks, or a snapshot; returns false if nothing was sent. When the
   * storage is loading the entries, nothing is sent (not a snapshot: they exist) and progress is
   * unchanged; `storageAvailable` retries.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const prevIndex = (progress.next - 1) as LogIndex;
    const prevTerm = this.log.term(prevIndex);
    const entries =
      prevTerm === null ? null : this.log.entriesFrom(progress.next, this.config.messageBytesMax);
    if (entries === 'unavailable') {
      const waiting = this.appendsWaitingForStorage.get(to) ?? false;
      this.appendsWaitingForStorage.set(to, waiting || sendIfEmpty);
      return false;
    }
    if (prevTerm === null || entries === null) return this.sendSnapshot(to);
    if (entries.length === 0 && !sendIfEmpty) return false;
    // Only the inflight byte limit reads the size of what is in flight.
    let bytes = 0;
    if (this.config.inflightBytesMax > 0) for (const entry of entries) bytes += entryBytes(entry);
    const lastIndex = (prevIndex + entries.length) as LogIndex;
    this.send({
      type: 'Append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
    progress.sentEntries(entries.length, lastIndex, bytes);
    return true;
  }

  private sendSnapshot(to: NodeId): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || !progress.recentActive) return false;
    const snapshot: Snapshot = this.log.snapshot();
    assert(snapshot.metadata.index > 0, 'a compacted log must have a snapshot');
    this.send({ type: 'Snapshot', from: this.id, to, term: this.term, snapshot });
    progress.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  /** The storage loaded entries it had reported unavailable: sends the appends that waited. */
  retryAppendsWaitingForStorage(): void {
    if (this.appendsWaitingForStorage.size === 0) return;
    const waiting = [...this.appendsWaitingForStorage].sort(([a], [b]) => a - b);
    this.appendsWaitingForStorage.clear();
    for (const [to, sendIfEmpty] of waiting) {
      // Then stream on while the window allows, as after an acknowledgement.
      if (!this.maybeSendAppend(to, sendIfEmpty)) continue;
      while (this.maybeSendAppend(to, false)) {
        // keep sending
      }
    }
  }

  bcastAppend(): void {
    for (const id of this.tracker.memberIds) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  bcastHeartbeat(context: string | null): void {
    for (const id of this.tracker.memberIds) {
      if (id === this.id) continue;
      const progress = this.tracker.progress.get(id);
      if (progress === undefined) continue;
      // Never tell a follower to commit past what it is known to hold (it may hold stale entries there).
      const commit = Math.min(progress.match, this.log.committed) as LogIndex;
      this.send({ type: 'Heartbeat', from: this.id, to: id, term: this.term, commit, context });
    }
  }

  // ---- membership ------------------------------------------------------------------------

  /**
   * Applies a committed conf change entry (on every node, in log order). An invalid change is
   * a no-op everywhere: validation here is deterministic, like the znode state machine's.
   */
  applyConfChangeEntry(entry: Entry): void {
    let next: ConfState;
    try {
      next = applyConfChange(this.tracker.confState, decodeConfChange(entry.data));
    } catch {
      return;
    }
    this.switchToConfig(next, entry.index);
  }

  switchToConfig(confState: ConfState, atIndex: LogIndex): void {
    this.tracker.switchTo(confState, (this.log.lastIndex() + 1) as LogIndex);
    this.confHistory.push({ index: atIndex, confState });
    if (this.role !== 'leader') return;
    const self = this.tracker.progress.get(this.id);
    if (self === undefined || !this.tracker.isVoter(this.id)) {
      // Removed (or demoted): stop leading; the remaining voters elect a leader among themselves.
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.tracker.isVoter(this.leadTransferee))
      this.leadTransferee = null;
    if (this.maybeCommit()) this.bcastAppend();
    else
      for (const id of this.tracker.memberIds) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  /** The membership as of `index` (at or after the last snapshot). */
  confStateAt(index: LogIndex): ConfState {
    let found = this.confHistory[0]?.confState ?? this.tracker.confState;
    for (const item of this.confHistory) if (item.index <= index) found = item.confState;
    return found;
  }

  isJointAutoLeavePending(): boolean {
    return isJoint(this.tracker.confState) && this.tracker.confState.autoLeave;
  }
}
