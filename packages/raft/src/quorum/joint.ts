import type { LogIndex, NodeId } from '../ids.js';
import { majorityCommitted, majorityVoteResult, type VoteResult } from './majority.js';

/**
 * Joint consensus (Raft §6): a decision needs a majority of the incoming and of the outgoing
 * configuration. Outside a joint configuration `outgoing` is empty and counts as agreeing.
 */
export interface JointConfig {
  readonly incoming: readonly NodeId[];
  readonly outgoing: readonly NodeId[];
}

export function jointCommitted(config: JointConfig, acked: (id: NodeId) => LogIndex): LogIndex {
  const incoming = majorityCommitted(config.incoming, acked);
  const outgoing = majorityCommitted(config.outgoing, acked);
  return Math.min(incoming, outgoing) as LogIndex;
}

export function jointVoteResult(
  config: JointConfig,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const incoming = majorityVoteResult(config.incoming, votes);
  const outgoing = majorityVoteResult(config.outgoing, votes);
  if (incoming === outgoing) return incoming;
  if (incoming === 'lost' || outgoing === 'lost') return 'lost';
  return 'pending';
}

/** Every voter of either half, sorted, without repeats. */
export function jointVoters(config: JointConfig): NodeId[] {
  return [...new Set([...config.incoming, ...config.outgoing])].sort((a, b) => a - b);
}
