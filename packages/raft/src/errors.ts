import type { NodeId } from './ids.js';

/**
 * Codes of the operating errors the core reports. `NotLeader` and `ProposalDropped` keep the
 * names the rest of Cairn uses; the node runtime maps them onto its `CairnError` classes.
 */
export type RaftErrorCode =
  | 'NotLeader'
  | 'ProposalDropped'
  | 'ConfChangeInvalid'
  | 'ConfChangePending'
  | 'SnapshotOutOfDate'
  | 'CompactionInvalid'
  | 'ConfigInvalid';

/** An expected failure of one call into the core; the core itself goes on. */
export class RaftError extends Error {
  override readonly name: string = 'RaftError';
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** This node is not the leader and will not forward; `leaderHint` is who it believes leads. */
export class NotLeaderError extends RaftError {
  override readonly name = 'NotLeaderError';
  readonly leaderHint: NodeId | null;
  constructor(leaderHint: NodeId | null) {
    super(
      'NotLeader',
      leaderHint === null ? 'not the leader; no leader known' : `not the leader; try ${leaderHint}`,
    );
    this.leaderHint = leaderHint;
  }
}

/** Why a proposal was refused without being appended anywhere. */
export type DropReason =
  | 'no-leader'
  | 'leadership-transfer'
  | 'not-a-member'
  | 'uncommitted-bytes-max'
  | 'entry-bytes-max';

/** The proposal was not appended; it is safe to retry (it cannot commit later). */
export class ProposalDroppedError extends RaftError {
  override readonly name = 'ProposalDroppedError';
  readonly reason: DropReason;
  constructor(reason: DropReason) {
    super('ProposalDropped', `proposal dropped: ${reason}`);
    this.reason = reason;
  }
}
