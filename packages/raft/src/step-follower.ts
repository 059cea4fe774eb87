import type { LogIndex, NodeId } from './ids.js';
import type { AppendRequest, CoreMessage, HeartbeatRequest, SnapshotRequest } from './messages.js';
import type { Raft } from './raft.js';
import type { Snapshot } from './types.js';

/** Followers: accept the leader's log, forward requests to it, campaign on TimeoutNow. */
export function stepFollower(r: Raft, m: CoreMessage): void {
  switch (m.type) {
    case 'Propose':
    case 'ReadIndex':
    case 'TransferLeader':
      // Local calls are forwarded by RaftCore, which reports the outcome; a forwarded request
      // arriving here (the sender thinks we lead) is passed on when we know the leader.
      if (
        r.leader !== null &&
        r.leader !== r.id &&
        r.config.proposalForwarding &&
        m.from !== r.leader
      ) {
        r.send({ ...m, to: r.leader });
      }
      return;
    case 'Append':
      r.electionElapsed = 0;
      r.leader = m.from;
      handleAppend(r, m);
      return;
    case 'Heartbeat':
      r.electionElapsed = 0;
      r.leader = m.from;
      handleHeartbeat(r, m);
      return;
    case 'Snapshot':
      r.electionElapsed = 0;
      r.leader = m.from;
      handleSnapshot(r, m);
      return;
    case 'TimeoutNow':
      // Leader transfer: campaign now, skipping pre-vote, with voters told to ignore their lease.
      r.hup(true);
      return;
    case 'ReadIndexResponse':
      r.readStates.push({ index: m.index, context: m.context });
      return;
    default:
      return;
  }
}

/** Pre-candidates and candidates: count votes; a leader of this term makes us follow it. */
export function stepCandidate(r: Raft, m: CoreMessage): void {
  switch (m.type) {
    case 'Append':
    case 'Heartbeat':
    case 'Snapshot':
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case 'VoteResponse':
    case 'PreVoteResponse': {
      const expected = r.role === 'pre-candidate' ? 'PreVoteResponse' : 'VoteResponse';
      if (m.type !== expected) return;
      r.tracker.recordVote(m.from, !m.reject);
      r.tallyAndAct();
      return;
    }
    default:
      return;
  }
}

function handleAppend(r: Raft, m: AppendRequest): void {
  if (m.prevIndex < r.log.committed) {
    // Everything up to our commit index is settled; say how far that is.
    acceptAppend(r, m.from, r.log.committed);
    return;
  }
  const lastNew = r.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (lastNew !== null) {
    acceptAppend(r, m.from, lastNew);
    return;
  }
  const hint = r.log.findConflictByTerm(
    Math.min(m.prevIndex, r.log.lastIndex()) as LogIndex,
    m.prevTerm,
  );
  r.send({
    type: 'AppendResponse',
    from: r.id,
    to: m.from,
    term: r.term,
    index: m.prevIndex,
    reject: true,
    hintIndex: hint.index,
    hintTerm: hint.term,
  });
}

/**
 * Acknowledges our log up to `index`. Written out rather than spread from a template: one
 * goes out per append, and a spread copy costs more than building the object.
 */
function acceptAppend(r: Raft, to: NodeId, index: LogIndex): void {
  r.send({
    type: 'AppendResponse',
    from: r.id,
    to,
    term: r.term,
    index,
    reject: false,
    hintIndex: 0 as LogIndex,
    hintTerm: r.term,
  });
}

function handleHeartbeat(r: Raft, m: HeartbeatRequest): void {
  r.log.commitTo(m.commit);
  r.send({ type: 'HeartbeatResponse', from: r.id, to: m.from, term: r.term, context: m.context });
}

function handleSnapshot(r: Raft, m: SnapshotRequest): void {
  if (restore(r, m.snapshot)) acceptAppend(r, m.from, r.log.lastIndex());
  else acceptAppend(r, m.from, r.log.committed);
}

/**
 * Installs a snapshot that is ahead of our commit index. If our log already holds its last
 * entry with the same term, the log is kept and only the commit index moves; otherwise the
 * whole log is replaced (a conflicting suffix must not survive, hashicorp/raft#704), and the
 * membership becomes the snapshot's (openraft#1808).
 */
function restore(r: Raft, snapshot: Snapshot): boolean {
  const { index, term, confState } = snapshot.metadata;
  if (index <= r.log.committed) return false;
  if (r.role !== 'follower') return false;
  if (r.log.matchTerm(index, term)) {
    r.log.commitTo(index);
    return false;
  }
  r.log.restore(snapshot);
  r.confHistory = [{ index, confState }];
  r.tracker.switchTo(confState, (r.log.lastIndex() + 1) as LogIndex);
  return true;
}
