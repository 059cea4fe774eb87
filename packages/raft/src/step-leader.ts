import { assert } from './assert.js';
import { decodeConfChange } from './codec.js';
import { applyConfChange, isJoint, isLeaveJoint } from './conf-change/changer.js';
import { ProposalDroppedError, RaftError } from './errors.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { AppendResponse, CoreMessage, HeartbeatResponse, ProposedEntry } from './messages.js';
import type { Raft } from './raft.js';
import { entryBytes } from './storage.js';

/** What happened to a proposal. `appended`: at `index` in this leader's log, in `term`. */
export type ProposeOutcome =
  | { readonly status: 'appended'; readonly index: LogIndex; readonly term: Term }
  | { readonly status: 'forwarded'; readonly leader: NodeId }
  | { readonly status: 'refused'; readonly error: RaftError };

export function stepLeader(r: Raft, m: CoreMessage): void {
  switch (m.type) {
    case 'Propose':
      if (m.entries.length > 0) leaderPropose(r, m.entries);
      return;
    case 'ReadIndex':
      leaderReadIndex(r, m.from, m.context);
      return;
    case 'AppendResponse':
      handleAppendResponse(r, m);
      return;
    case 'HeartbeatResponse':
      handleHeartbeatResponse(r, m);
      return;
    case 'TransferLeader':
      handleTransferLeader(r, m.transferee);
      return;
    default:
      // Appends, heartbeats and snapshots of our own term cannot come from another leader
      // (election safety); answers to elections we no longer run are stale. Both are ignored.
      return;
  }
}

/** Appends proposals as the leader, or refuses them all with a reason. */
export function leaderPropose(r: Raft, proposals: readonly ProposedEntry[]): ProposeOutcome {
  assert(proposals.length > 0, 'empty proposal');
  if (!r.tracker.isMember(r.id)) return refused(new ProposalDroppedError('not-a-member'));
  if (r.leadTransferee !== null) return refused(new ProposalDroppedError('leadership-transfer'));
  let bytes = 0;
  for (const proposal of proposals) {
    const size = entryBytes(proposal);
    if (size > r.config.messageBytesMax)
      return refused(new ProposalDroppedError('entry-bytes-max'));
    bytes += size;
  }
  if (
    r.config.uncommittedBytesMax > 0 &&
    r.uncommittedBytes > 0 &&
    r.uncommittedBytes + bytes > r.config.uncommittedBytesMax
  ) {
    return refused(new ProposalDroppedError('uncommitted-bytes-max'));
  }
  // Validate the whole batch before recording a pending change: a refused batch appends
  // nothing, so it must leave no pending index behind (it would refuse the next change).
  let pendingConfIndex = r.pendingConfIndex;
  for (let i = 0; i < proposals.length; i++) {
    const proposal = proposals[i] as ProposedEntry;
    if (proposal.type !== 'confChange') continue;
    if (pendingConfIndex > r.log.applied) return refused(confChangePending(pendingConfIndex));
    const problem = confChangeProblem(r, proposal.data);
    if (problem !== null) return refused(problem);
    pendingConfIndex = (r.log.lastIndex() + i + 1) as LogIndex;
  }
  r.pendingConfIndex = pendingConfIndex;
  const index = r.appendEntries(proposals);
  r.bcastAppend();
  return { status: 'appended', index, term: r.term };
}

/** Why this conf change is invalid against the current membership, or null (§4.1, §6). */
function confChangeProblem(r: Raft, data: Uint8Array): RaftError | null {
  let change: ReturnType<typeof decodeConfChange>;
  try {
    change = decodeConfChange(data);
    applyConfChange(r.tracker.confState, change);
  } catch (error) {
    return error instanceof RaftError
      ? error
      : new RaftError('ConfChangeInvalid', 'undecodable conf change');
  }
  if (isJoint(r.tracker.confState) && !isLeaveJoint(change)) {
    return new RaftError('ConfChangeInvalid', 'must leave the joint configuration first');
  }
  return null;
}

function confChangePending(index: LogIndex): RaftError {
  return new RaftError(
    'ConfChangePending',
    `a conf change at or below ${index} is not applied yet`,
  );
}

function refused(error: RaftError): ProposeOutcome {
  return { status: 'refused', error };
}

/** ReadIndex on the leader (thesis §6.4): the commit index, once leadership is confirmed. */
export function leaderReadIndex(r: Raft, from: NodeId, context: string): void {
  if (!r.committedEntryInCurrentTerm()) {
    // Our commit index may be behind the previous leader's until our no-op commits (thesis
    // §6.4 step 1). This holds for a single voter too: after the old leader's removal leaves
    // us alone, it may have committed entries (with our ack) whose commit we never heard of.
    r.pendingReadIndex.push({ type: 'ReadIndex', from, to: r.id, term: 0 as Term, context });
    return;
  }
  if (r.tracker.isSingleton()) {
    respondRead(r, from, r.log.committed, context);
    return;
  }
  if (r.config.readOnly === 'lease-based') {
    respondRead(r, from, r.log.committed, context);
    return;
  }
  r.readOnly.add(r.log.committed, context, from);
  r.readOnly.recordAck(r.id, context);
  r.bcastHeartbeat(context);
}

function respondRead(r: Raft, to: NodeId, index: LogIndex, context: string): void {
  if (to === r.id) r.readStates.push({ index, context });
  else r.send({ type: 'ReadIndexResponse', from: r.id, to, term: r.term, index, context });
}

/** Reads that waited for this term's first commit. */
export function releasePendingReadIndex(r: Raft): void {
  if (r.pendingReadIndex.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const read of pending)
    if (read.type === 'ReadIndex') leaderReadIndex(r, read.from, read.context);
}

function handleAppendResponse(r: Raft, m: AppendResponse): void {
  const progress = r.tracker.progress.get(m.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  if (m.reject) {
    // Fast back-off: skip the follower's whole conflicting term at once.
    const probeFrom =
      m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
    if (progress.maybeDecreaseTo(m.index, (probeFrom + 1) as LogIndex)) {
      if (progress.state === 'replicate') progress.becomeProbe();
      r.maybeSendAppend(m.from, true);
    }
    return;
  }
  const wasPaused = progress.isPaused();
  if (!progress.maybeUpdate(m.index)) {
    if (wasPaused && !progress.isPaused()) r.maybeSendAppend(m.from, false);
    return;
  }
  if (progress.state === 'probe') {
    progress.becomeReplicate();
  } else if (progress.state === 'snapshot' && progress.match + 1 >= r.log.firstIndex()) {
    // The snapshot (or a log append) brought it up to where our log starts.
    progress.becomeProbe();
    progress.becomeReplicate();
  } else if (progress.state === 'replicate') {
    progress.inflights.freeLE(m.index);
  }
  if (r.maybeCommit()) {
    releasePendingReadIndex(r);
    r.bcastAppend();
  } else if (wasPaused) {
    // It was waiting on us: tell it at least the commit index it may not know yet.
    r.maybeSendAppend(m.from, true);
  }
  // Stream more while the window allows (pipelining, thesis §10.2.1).
  while (r.maybeSendAppend(m.from, false)) {
    // keep sending
  }
  if (m.from === r.leadTransferee && progress.match === r.log.lastIndex()) {
    r.send({ type: 'TimeoutNow', from: r.id, to: m.from, term: r.term });
  }
}

function handleHeartbeatResponse(r: Raft, m: HeartbeatResponse): void {
  const progress = r.tracker.progress.get(m.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  progress.probeSent = false;
  // A full window may hold only lost appends (transports drop silently): free one slot so the
  // next append goes out; if earlier ones were lost, the follower rejects it and we back off.
  if (progress.state === 'replicate' && progress.inflights.full())
    progress.inflights.freeFirstOne();
  if (progress.match < r.log.lastIndex() || progress.match < r.log.committed) {
    r.maybeSendAppend(m.from, true);
  }
  if (m.context === null || r.config.readOnly !== 'safe') return;
  const acks = r.readOnly.recordAck(m.from, m.context);
  if (acks === null || !r.tracker.hasQuorum(acks)) return;
  for (const read of r.readOnly.release(m.context))
    respondRead(r, read.from, read.index, read.context);
}

/** Leader transfer (thesis §3.10): catch the transferee up, then tell it to campaign at once. */
export function handleTransferLeader(r: Raft, transferee: NodeId): void {
  if (!r.tracker.isVoter(transferee) || transferee === r.id) return;
  if (r.leadTransferee === transferee) return;
  r.leadTransferee = transferee;
  r.electionElapsed = 0;
  const progress = r.tracker.progress.get(transferee);
  if (progress === undefined) return;
  if (progress.match === r.log.lastIndex()) {
    r.send({ type: 'TimeoutNow', from: r.id, to: transferee, term: r.term });
  } else {
    r.maybeSendAppend(transferee, true);
  }
}
