import type { LogIndex, NodeId } from '../ids.js';
import { type JointConfig, jointCommitted, jointVoteResult, jointVoters } from '../quorum/joint.js';
import type { VoteResult } from '../quorum/majority.js';
import type { ConfState } from '../types.js';
import { Progress } from './progress.js';

/**
 * The leader's view of every member (etcd's ProgressTracker) and the votes of an election.
 * Invariant: `progress` has exactly one entry per member of `confState`; `memberIds` lists
 * them sorted, the order in which messages go out.
 */
export class ProgressTracker {
  confState: ConfState;
  joint: JointConfig;
  readonly progress = new Map<NodeId, Progress>();
  memberIds: NodeId[] = [];
  voterIds: NodeId[] = [];
  readonly votes = new Map<NodeId, boolean>();
  private readonly inflightMessagesMax: number;
  private readonly inflightBytesMax: number;

  constructor(confState: ConfState, inflightMessagesMax: number, inflightBytesMax: number) {
    this.inflightMessagesMax = inflightMessagesMax;
    this.inflightBytesMax = inflightBytesMax;
    this.confState = confState;
    this.joint = { incoming: confState.voters, outgoing: confState.votersOutgoing };
    this.switchTo(confState, 1 as LogIndex);
  }

  /** Adopts a membership; new members start probing at `nextIndex`, removed ones are forgotten. */
  switchTo(confState: ConfState, nextIndex: LogIndex): void {
    this.confState = confState;
    this.joint = { incoming: confState.voters, outgoing: confState.votersOutgoing };
    this.voterIds = jointVoters(this.joint);
    const learners = new Set([...confState.learners, ...confState.learnersNext]);
    const members = [...new Set([...this.voterIds, ...learners])].sort((a, b) => a - b);
    const keep = new Set(members);
    for (const id of [...this.progress.keys()]) if (!keep.has(id)) this.progress.delete(id);
    for (const id of members) {
      const isLearner = learners.has(id) && !this.voterIds.includes(id);
      const existing = this.progress.get(id);
      if (existing === undefined) {
        this.progress.set(
          id,
          new Progress(nextIndex, this.inflightMessagesMax, this.inflightBytesMax, isLearner),
        );
      } else {
        existing.isLearner = isLearner;
      }
    }
    this.memberIds = members;
  }

  isVoter(id: NodeId): boolean {
    return this.voterIds.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  isSingleton(): boolean {
    return this.joint.outgoing.length === 0 && this.joint.incoming.length === 1;
  }

  /** The highest index replicated on a quorum (of both halves when joint). */
  committed(): LogIndex {
    return jointCommitted(this.joint, (id) => this.progress.get(id)?.match ?? (0 as LogIndex));
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return jointVoteResult(this.joint, this.votes);
  }

  /** Whether the members heard from recently form a quorum (check-quorum, thesis §6.2). */
  quorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.voterIds)
      active.set(id, id === self || (this.progress.get(id)?.recentActive ?? false));
    return jointVoteResult(this.joint, active) === 'won';
  }

  /** Whether the given acknowledgements form a quorum. */
  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    return jointVoteResult(this.joint, votes) === 'won';
  }
}
