import type { LogIndex, NodeId, Term } from './ids.js';

/** `normal` entries carry application data (empty data: the leader's no-op); `confChange` entries carry an encoded {@link ConfChange}. */
export type EntryType = 'normal' | 'confChange';

/** One slot of the replicated log. Its index is the zxid of the write it carries. */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * What must be durable before any message that depends on it leaves (Raft Figure 2's
 * "persistent state"). Invariant: `term` never decreases; `vote` is for `term` only.
 */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

/**
 * A membership. Outside a joint configuration `votersOutgoing` and `learnersNext` are empty.
 * In a joint configuration decisions need majorities of both `voters` and `votersOutgoing`;
 * `learnersNext` are voters of the outgoing config that become learners when the joint
 * configuration is left (a node is never a voter and a learner at once).
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  /** In a joint configuration: the leader proposes leaving it as soon as it is applied. */
  readonly autoLeave: boolean;
}

/** Where a snapshot sits in the log and the membership as of that index. */
export interface SnapshotMetadata {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** A state machine image at `metadata.index`; `data` is opaque to the core. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** One membership change of a {@link ConfChange}. */
export interface ConfChangeSingle {
  readonly type: 'addVoter' | 'addLearner' | 'removeNode';
  readonly nodeId: NodeId;
}

/**
 * A membership change proposal (etcd's ConfChangeV2). An empty `changes` list leaves a joint
 * configuration. `transition` says how to get there:
 * - `auto`: one voter changed → applied directly (single-server change, thesis §4.1);
 *   otherwise through a joint configuration that the leader leaves on its own.
 * - `joint-implicit`: always joint, left automatically.
 * - `joint-explicit`: always joint, left only by a later empty change.
 */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  readonly transition: 'auto' | 'joint-implicit' | 'joint-explicit';
}

/** Released once a read at `index` is linearizable: apply up to `index`, then serve the read. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: string;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state worth telling the application when it changes. */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}
