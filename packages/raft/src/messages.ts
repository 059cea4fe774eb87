import type { LogIndex, NodeId, Term } from './ids.js';
import type { Entry, EntryType, Snapshot } from './types.js';

/**
 * Messages between cores: a discriminated union on `type`. Every switch over it ends in
 * `assertNever`, so a new type fails to compile until each role handles it.
 *
 * Requests forwarded to the leader (`Propose`, `ReadIndex`, `TransferLeader`) carry term 0: they
 * are not part of the term protocol and are never rejected or answered for their term.
 */
export type Message = CoreMessage | RuntimeMessage;

/** The messages the consensus core itself sends and steps. */
export type CoreMessage =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNowRequest
  | ProposeRequest
  | ReadIndexRequest
  | ReadIndexResponse
  | TransferLeaderRequest;

export type MessageType = Message['type'];

/**
 * Bytes between the runtimes of two members, riding the same transport as the core's messages
 * (session liveness reports, for one). The core never sends one and ignores one it is given;
 * `term` is 0.
 */
export interface RuntimeMessage extends Envelope {
  readonly type: 'Runtime';
  readonly payload: Uint8Array;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** RequestVote (Figure 2) or its pre-vote twin (thesis §9.6), sent for `term` = next term. */
export interface VoteRequest extends Envelope {
  readonly type: 'Vote' | 'PreVote';
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  /** Set when campaigning on a TimeoutNow: voters then ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'VoteResponse' | 'PreVoteResponse';
  readonly reject: boolean;
}

/** AppendEntries. `commit` is the leader's commit index. */
export interface AppendRequest extends Envelope {
  readonly type: 'Append';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * Accepted: `index` is the follower's last index now known to match the leader. Rejected:
 * `index` is the rejected `prevIndex`, and (`hintIndex`, `hintTerm`) is the follower's last
 * entry at or below it whose term is at most the leader's `prevTerm`, so the leader can skip a
 * whole term per round trip (thesis §5.3, etcd's findConflictByTerm).
 */
export interface AppendResponse extends Envelope {
  readonly type: 'AppendResponse';
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/** Keeps followers from campaigning; carries min(commit, follower's match) and a read context. */
export interface HeartbeatRequest extends Envelope {
  readonly type: 'Heartbeat';
  readonly commit: LogIndex;
  readonly context: string | null;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'HeartbeatResponse';
  readonly context: string | null;
}

/** InstallSnapshot. The runtime may stream `snapshot.data` in chunks; the core sees it whole. */
export interface SnapshotRequest extends Envelope {
  readonly type: 'Snapshot';
  readonly snapshot: Snapshot;
}

/** Leader transfer: the transferee campaigns at once (thesis §3.10). */
export interface TimeoutNowRequest extends Envelope {
  readonly type: 'TimeoutNow';
}

/** A proposal forwarded from a follower to the leader. */
export interface ProposeRequest extends Envelope {
  readonly type: 'Propose';
  readonly entries: readonly ProposedEntry[];
}

/** A read forwarded from a follower to the leader. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'ReadIndex';
  readonly context: string;
}

export interface ReadIndexResponse extends Envelope {
  readonly type: 'ReadIndexResponse';
  readonly index: LogIndex;
  readonly context: string;
}

/** A leadership transfer request forwarded to the leader. */
export interface TransferLeaderRequest extends Envelope {
  readonly type: 'TransferLeader';
  readonly transferee: NodeId;
}

/** An entry before the leader gives it an index and a term. */
export interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** Messages whose promise depends on durable state: sent only after the Ready is persisted. */
export function isSentAfterPersist(message: Message): boolean {
  switch (message.type) {
    case 'Vote':
    case 'VoteResponse':
    case 'PreVoteResponse':
    case 'AppendResponse':
      return true;
    default:
      return false;
  }
}
