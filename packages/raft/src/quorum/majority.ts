import type { LogIndex, NodeId } from '../ids.js';

/** The outcome of a vote so far. */
export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The highest index acknowledged by a majority of `voters`: sort the acknowledged indices and
 * pick the one at the majority position. An empty configuration commits everything (it is the
 * identity for joint quorums: a non-joint config has an empty outgoing half).
 */
export function majorityCommitted(
  voters: readonly NodeId[],
  acked: (id: NodeId) => LogIndex,
): LogIndex {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER as LogIndex;
  if (n === 1) return acked(voters[0] as NodeId);
  if (n <= 7) {
    // Small clusters are the hot path: insertion sort into a reused buffer, no allocation.
    const buffer = SCRATCH;
    for (let i = 0; i < n; i++) {
      const value = acked(voters[i] as NodeId);
      let j = i;
      while (j > 0 && (buffer[j - 1] as number) < value) {
        buffer[j] = buffer[j - 1] as number;
        j--;
      }
      buffer[j] = value;
    }
    return buffer[n >> 1] as LogIndex;
  }
  const sorted = voters.map(acked).sort((a, b) => b - a);
  return sorted[n >> 1] as LogIndex;
}

const SCRATCH: number[] = [0, 0, 0, 0, 0, 0, 0];

/** Won once a majority granted, lost once a majority can no longer grant, else pending. */
export function majorityVoteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const quorum = (voters.length >> 1) + 1;
  if (granted >= quorum) return 'won';
  if (granted + missing >= quorum) return 'pending';
  return 'lost';
}
