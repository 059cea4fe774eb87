import { assertNever } from './assert.js';
import type { LogIndex, Term } from './ids.js';
import type { CoreMessage } from './messages.js';
import type { Raft } from './raft.js';
import { stepCandidate, stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';

/**
 * The entry point for every message: term rules first (Figure 2 "all servers", with the
 * pre-vote and check-quorum refinements of thesis §9.6 and §6.2), votes next, then the role.
 */
export function step(r: Raft, m: CoreMessage): void {
  if (m.term === 0) {
    // Forwarded requests carry no term.
  } else if (m.term > r.term) {
    if (m.type === 'Vote' || m.type === 'PreVote') {
      // Leader stickiness: while we hear from a leader, a higher-term candidate is disruptive
      // (a partitioned node rejoining), unless the leader itself asked for the election.
      const inLease =
        r.config.checkQuorum && r.leader !== null && r.electionElapsed < r.config.electionTicks;
      if (!m.transfer && inLease) return;
    }
    if (m.type === 'PreVote' || (m.type === 'PreVoteResponse' && !m.reject)) {
      // A pre-vote never changes terms; a granted pre-vote response carries the future term.
    } else if (m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'Snapshot') {
      r.becomeFollower(m.term, m.from);
    } else {
      r.becomeFollower(m.term, null);
    }
  } else if (m.term < r.term) {
    if (
      (r.config.checkQuorum || r.config.preVote) &&
      (m.type === 'Heartbeat' || m.type === 'Append')
    ) {
      // A stale leader cut off by a partition: tell it the term so it steps down (otherwise,
      // with pre-vote, it could keep us from ever hearing of a new term).
      r.send({
        type: 'AppendResponse',
        from: r.id,
        to: m.from,
        term: r.term,
        index: 0 as LogIndex,
        reject: false,
        hintIndex: 0 as LogIndex,
        hintTerm: 0 as Term,
      });
    } else if (m.type === 'PreVote') {
      r.send({ type: 'PreVoteResponse', from: r.id, to: m.from, term: r.term, reject: true });
    }
    return;
  }

  switch (m.type) {
    case 'Vote':
    case 'PreVote': {
      const responseType = m.type === 'Vote' ? 'VoteResponse' : 'PreVoteResponse';
      if (r.canGrantVote(m)) {
        // A granted pre-vote answers with the candidate's future term, so it is not mistaken
        // for a stale answer; a real vote is recorded (and made durable before it leaves).
        r.send({ type: responseType, from: r.id, to: m.from, term: m.term, reject: false });
        if (m.type === 'Vote') {
          r.electionElapsed = 0;
          r.vote = m.from;
        }
      } else {
        r.send({ type: responseType, from: r.id, to: m.from, term: r.term, reject: true });
      }
      return;
    }
    default:
      break;
  }

  switch (r.role) {
    case 'leader':
      stepLeader(r, m);
      return;
    case 'candidate':
    case 'pre-candidate':
      stepCandidate(r, m);
      return;
    case 'follower':
      stepFollower(r, m);
      return;
    default:
      assertNever(r.role, 'role');
  }
}

/** One logical clock tick: elections for followers and candidates, heartbeats and check-quorum for leaders. */
export function tick(r: Raft): void {
  if (r.role === 'leader') tickLeader(r);
  else tickElection(r);
}

function tickElection(r: Raft): void {
  r.electionElapsed++;
  if (r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout) {
    r.electionElapsed = 0;
    r.hup(false);
  }
}

function tickLeader(r: Raft): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.config.electionTicks) {
    r.electionElapsed = 0;
    if (r.config.checkQuorum) {
      if (!r.tracker.quorumActive(r.id)) {
        r.becomeFollower(r.term, null);
        return;
      }
      for (const [id, progress] of r.tracker.progress) progress.recentActive = id === r.id;
    }
    // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
    r.leadTransferee = null;
  }
  if (r.heartbeatElapsed >= r.config.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    r.bcastHeartbeat(r.readOnly.lastPendingContext());
  }
}
