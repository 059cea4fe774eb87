import type { LogIndex } from './ids.js';
import type { AppendRequest, HeartbeatRequest, Message, SnapshotRequest } from './messages.js';
import type { Raft } from './raft.js';
import type { Snapshot } from './types.js';

/** Followers: accept the leader's log, forward requests to it, campaign on TimeoutNow. */
export function stepFollower(r: Raft, m: Message): void {
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
export function stepCandidate(r: Raft, m: Message): void {
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
  const reply = { type: 'AppendResponse' as const, from: r.id, to: m.from, term: r.term };
  if (m.prevIndex < r.log.committed) {
    // Everything up to our commit index is settled; say how far that is.
    r.send({
      ...reply,
      index: r.log.committed,
      reject: false,
      hintIndex: 0 as LogIndex,
      hintTerm: r.term,
    });
    return;
  }
  const lastNew = r.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (lastNew !== null) {
    r.send({ ...reply, index: lastNew, reject: false, hintIndex: 0 as LogIndex, hintTerm: r.term });
    return;
  }
  const hint = r.log.findConflictByTerm(
    Math.min(m.prevIndex, r.log.lastIndex()) as LogIndex,
    m.prevTerm,
  );
  r.send({
    ...reply,
    index: m.prevIndex,
    reject: true,
    hintIndex: hint.index,
    hintTerm: hint.term,
  });
}

function handleHeartbeat(r: Raft, m: HeartbeatRequest): void {
  r.log.commitTo(m.commit);
  r.send({ type: 'HeartbeatResponse', from: r.id, to: m.from, term: r.term, context: m.context });
}

function handleSnapshot(r: Raft, m: SnapshotRequest): void {
  const reply = {
    type: 'AppendResponse' as const,
    from: r.id,
    to: m.from,
    term: r.term,
    reject: false,
    hintIndex: 0 as LogIndex,
    hintTerm: r.term,
  };
  if (restore(r, m.snapshot)) r.send({ ...reply, index: r.log.lastIndex() });
  else r.send({ ...reply, index: r.log.committed });
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
