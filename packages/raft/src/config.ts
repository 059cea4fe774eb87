import { RaftError } from './errors.js';
import type { LogIndex, NodeId } from './ids.js';
import type { Random } from './random.js';
import type { LogStorage } from './storage.js';

/** How a core is built. Every limit names its unit; defaults follow etcd where one exists. */
export interface RaftConfig {
  /** This node's id: an integer >= 1. */
  readonly id: NodeId;
  /** The durable log, read-only to the core. */
  readonly storage: LogStorage;
  /** Seeded randomness for election timeout jitter. */
  readonly random: Random;
  /** Followers campaign after a random timeout in [electionTicks, 2 * electionTicks). Default 10. */
  readonly electionTicks?: number;
  /** Leaders send heartbeats every `heartbeatTicks`. Must be < electionTicks. Default 1. */
  readonly heartbeatTicks?: number;
  /**
   * The last index the state machine applied before a restart (default: the snapshot index).
   * Entries after it are handed out again. When it is above the snapshot index, the storage's
   * `initialState().confState` must be the membership as of this index (conf changes up to it
   * are not replayed).
   */
  readonly applied?: LogIndex;
  /** Bytes of entries per append message (at least one entry always goes). Default 1 MiB. */
  readonly messageBytesMax?: number;
  /** Append messages in flight per follower in `replicate` state. Default 256. */
  readonly inflightMessagesMax?: number;
  /** Bytes of entries in flight per follower, 0 for no limit. Default 0. */
  readonly inflightBytesMax?: number;
  /** Bytes of appended but uncommitted entries the leader accepts, 0 for no limit. Default 0. */
  readonly uncommittedBytesMax?: number;
  /** Bytes of committed entries handed out per Ready (at least one). Default 64 MiB. */
  readonly committedBytesMax?: number;
  /** Run a pre-vote before a real election (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Leaders step down when they lose touch with a quorum, and voters ignore vote requests while they hear from a leader (thesis §6.2). Default true. */
  readonly checkQuorum?: boolean;
  /** `safe`: ReadIndex confirmed by a heartbeat quorum. `lease-based`: trust the check-quorum lease (needs checkQuorum; depends on bounded clock drift). Default `safe`. */
  readonly readOnly?: 'safe' | 'lease-based';
  /** Followers forward proposals, reads and transfers to the leader; otherwise they answer NotLeader. Default true. */
  readonly proposalForwarding?: boolean;
  /** Entries kept below a local snapshot for slow followers before compaction. Default 1000. */
  readonly compactionRetainedEntries?: number;
}

/** A config with every default filled in, validated once. */
export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'applied'>> & {
  readonly applied: LogIndex | null;
};

export function resolveConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    id: config.id,
    storage: config.storage,
    random: config.random,
    electionTicks: config.electionTicks ?? 10,
    heartbeatTicks: config.heartbeatTicks ?? 1,
    applied: config.applied ?? null,
    messageBytesMax: config.messageBytesMax ?? 1024 * 1024,
    inflightMessagesMax: config.inflightMessagesMax ?? 256,
    inflightBytesMax: config.inflightBytesMax ?? 0,
    uncommittedBytesMax: config.uncommittedBytesMax ?? 0,
    committedBytesMax: config.committedBytesMax ?? 64 * 1024 * 1024,
    preVote: config.preVote ?? true,
    checkQuorum: config.checkQuorum ?? true,
    readOnly: config.readOnly ?? 'safe',
    proposalForwarding: config.proposalForwarding ?? true,
    compactionRetainedEntries: config.compactionRetainedEntries ?? 1000,
  };
  const positive = (name: keyof ResolvedRaftConfig, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RaftError('ConfigInvalid', `config.${name} must be an integer >= 1, got ${value}`);
  };
  const nonNegative = (name: keyof ResolvedRaftConfig, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RaftError('ConfigInvalid', `config.${name} must be an integer >= 0, got ${value}`);
  };
  positive('id', resolved.id);
  positive('electionTicks', resolved.electionTicks);
  positive('heartbeatTicks', resolved.heartbeatTicks);
  positive('messageBytesMax', resolved.messageBytesMax);
  positive('inflightMessagesMax', resolved.inflightMessagesMax);
  positive('committedBytesMax', resolved.committedBytesMax);
  nonNegative('inflightBytesMax', resolved.inflightBytesMax);
  nonNegative('uncommittedBytesMax', resolved.uncommittedBytesMax);
  nonNegative('compactionRetainedEntries', resolved.compactionRetainedEntries);
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new RaftError('ConfigInvalid', 'config.heartbeatTicks must be below electionTicks');
  }
  if (resolved.readOnly === 'lease-based' && !resolved.checkQuorum) {
    throw new RaftError('ConfigInvalid', "config.readOnly 'lease-based' needs checkQuorum");
  }
  return resolved;
}
