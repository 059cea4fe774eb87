// Proves joint-consensus quorums (Raft §6): the joint commit index is the smaller of the two
// halves' majority indices, and the joint vote follows the combining table (won needs both
// halves, a loss in either half loses, anything else is pending). The table is checked cell by
// cell with hand-built configs; fast-check then compares both functions with oracles built from
// a slow per-half sort and count, over random halves that may overlap. A sibling runs the vote
// property against a planted wrong table and expects fc.check to find the counterexample.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogIndex, NodeId } from '../ids.js';
import { type JointConfig, jointCommitted, jointVoteResult, jointVoters } from './joint.js';
import type { VoteResult } from './majority.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const ids = (...values: number[]): NodeId[] => values as NodeId[];

function ackedFrom(map: ReadonlyMap<number, number>): (id: NodeId) => LogIndex {
  return (id) => (map.get(id) ?? 0) as LogIndex;
}

function halfCommitted(voters: readonly NodeId[], acked: (id: NodeId) => LogIndex): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  return voters.map(acked).sort((a, b) => b - a)[Math.floor(voters.length / 2)] as number;
}

function halfVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  const quorum = Math.floor(voters.length / 2) + 1;
  const granted = voters.filter((id) => votes.get(id) === true).length;
  const rejected = voters.filter((id) => votes.get(id) === false).length;
  if (granted >= quorum) return 'won';
  if (voters.length - rejected < quorum) return 'lost';
  return 'pending';
}

function combine(incoming: VoteResult, outgoing: VoteResult): VoteResult {
  if (incoming === 'lost' || outgoing === 'lost') return 'lost';
  if (incoming === 'won' && outgoing === 'won') return 'won';
  return 'pending';
}

type JointCommitted = (config: JointConfig, acked: (id: NodeId) => LogIndex) => LogIndex;
type JointTally = (config: JointConfig, votes: ReadonlyMap<NodeId, boolean>) => VoteResult;

/** Planted bug: a win in the incoming half is taken as a win of the joint config. */
const tallyIncomingWins: JointTally = (config, votes) => {
  const incoming = halfVote(config.incoming, votes);
  if (incoming === 'won') return 'won';
  return combine(incoming, halfVote(config.outgoing, votes));
};

const halves = fc
  .uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 })
  .map((values) => values as NodeId[]);
const configs = fc.record({ incoming: halves, outgoing: halves });
const ackedMaps = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.nat(30)), { maxLength: 12 })
  .map((pairs) => new Map(pairs));
const voteMaps = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.boolean()), { maxLength: 12 })
  .map((pairs) => new Map(pairs.map(([id, granted]) => [id as NodeId, granted])));

/** Planted bug: the faster half decides (max instead of min). */
const committedFasterHalf: JointCommitted = (config, acked) => {
  const incoming = config.incoming.length === 0 ? 0 : halfCommitted(config.incoming, acked);
  const outgoing = config.outgoing.length === 0 ? 0 : halfCommitted(config.outgoing, acked);
  return Math.max(incoming, outgoing) as LogIndex;
};

function committedMatchesOracle(committed: JointCommitted) {
  return fc.property(configs, ackedMaps, (config, map) => {
    const acked = ackedFrom(map);
    const expected = Math.min(
      halfCommitted(config.incoming, acked),
      halfCommitted(config.outgoing, acked),
    );
    expect(committed(config, acked)).toBe(expected);
  });
}

function voteMatchesOracle(tally: JointTally) {
  return fc.property(configs, voteMaps, (config, votes) => {
    const expected = combine(halfVote(config.incoming, votes), halfVote(config.outgoing, votes));
    expect(tally(config, votes)).toBe(expected);
  });
}

/** A three-voter half {base, base+1, base+2} whose votes produce `result`. */
function halfWith(base: number, result: VoteResult): [NodeId[], [NodeId, boolean][]] {
  const voters = ids(base, base + 1, base + 2);
  const votes: Record<VoteResult, [NodeId, boolean][]> = {
    won: [
      [base as NodeId, true],
      [(base + 1) as NodeId, true],
    ],
    lost: [
      [base as NodeId, false],
      [(base + 1) as NodeId, false],
    ],
    pending: [[base as NodeId, true]],
  };
  return [voters, votes[result]];
}

describe(`jointCommitted (seed ${seed})`, () => {
  it('is the plain majority index outside a joint config', () => {
    const acked = ackedFrom(
      new Map([
        [1, 4],
        [2, 6],
        [3, 5],
      ]),
    );
    expect(jointCommitted({ incoming: ids(1, 2, 3), outgoing: [] }, acked)).toBe(5);
  });

  it('is held back by the slower half', () => {
    const acked = ackedFrom(
      new Map([
        [1, 9],
        [2, 9],
        [3, 9],
        [4, 2],
        [5, 3],
        [6, 9],
      ]),
    );
    const config = { incoming: ids(1, 2, 3), outgoing: ids(4, 5, 6) };
    expect(jointCommitted(config, acked)).toBe(3);
  });

  it('commits everything with no voters in either half', () => {
    expect(jointCommitted({ incoming: [], outgoing: [] }, ackedFrom(new Map()))).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('equals the minimum of the two halves sorted separately', () => {
    fc.assert(committedMatchesOracle(jointCommitted), { seed, numRuns: 200 });
  });

  it('the oracle property catches taking the faster half', () => {
    const result = fc.check(committedMatchesOracle(committedFasterHalf), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
  });
});

describe(`jointVoteResult (seed ${seed})`, () => {
  const table: [VoteResult, VoteResult, VoteResult][] = [
    ['won', 'won', 'won'],
    ['won', 'pending', 'pending'],
    ['won', 'lost', 'lost'],
    ['pending', 'won', 'pending'],
    ['pending', 'pending', 'pending'],
    ['pending', 'lost', 'lost'],
    ['lost', 'won', 'lost'],
    ['lost', 'pending', 'lost'],
    ['lost', 'lost', 'lost'],
  ];

  it.each(table)('combines incoming %s and outgoing %s into %s', (incoming, outgoing, joint) => {
    const [incomingVoters, incomingVotes] = halfWith(1, incoming);
    const [outgoingVoters, outgoingVotes] = halfWith(4, outgoing);
    const votes = new Map([...incomingVotes, ...outgoingVotes]);
    expect(jointVoteResult({ incoming: incomingVoters, outgoing: outgoingVoters }, votes)).toBe(
      joint,
    );
  });

  it('decides by the incoming half alone outside a joint config', () => {
    const votes = new Map([
      [1 as NodeId, true],
      [2 as NodeId, true],
    ]);
    expect(jointVoteResult({ incoming: ids(1, 2, 3), outgoing: [] }, votes)).toBe('won');
  });

  it('counts a voter of both halves in each', () => {
    const votes = new Map([
      [2 as NodeId, true],
      [3 as NodeId, true],
    ]);
    expect(jointVoteResult({ incoming: ids(1, 2, 3), outgoing: ids(2, 3, 4) }, votes)).toBe('won');
  });

  it('equals combining the per-half counts by the table', () => {
    fc.assert(voteMatchesOracle(jointVoteResult), { seed, numRuns: 200 });
  });

  it('the oracle property catches a table where the incoming half alone wins', () => {
    const result = fc.check(voteMatchesOracle(tallyIncomingWins), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
  });
});

describe('jointVoters', () => {
  it('lists the voters of both halves sorted without repeats', () => {
    expect(jointVoters({ incoming: ids(5, 1, 3), outgoing: ids(3, 2, 5) })).toEqual(
      ids(1, 2, 3, 5),
    );
  });
});
