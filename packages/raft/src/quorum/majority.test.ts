// Proves the majority arithmetic against slow, obvious oracles. majorityCommitted must equal
// "sort the acknowledged indices descending and pick position floor(n/2)" and also the
// definition "the highest index that a majority acknowledged"; majorityVoteResult must equal a
// plain count of granted and rejected votes. fast-check draws voter sets of 0..9 ids and acked or
// vote maps that also mention non-voters. Each property has a sibling that runs it against a
// planted bug through fc.check and expects a counterexample, so a vacuous property cannot pass.
// The small-n path (n <= 7, a reused scratch buffer) is checked against the general sort, also
// with calls of different sizes interleaved so a stale buffer slot would show.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogIndex, NodeId } from '../ids.js';
import { majorityCommitted, majorityVoteResult, type VoteResult } from './majority.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

type Committed = (voters: readonly NodeId[], acked: (id: NodeId) => LogIndex) => LogIndex;
type Tally = (voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>) => VoteResult;

const ids = (...values: number[]): NodeId[] => values as NodeId[];

/** Acked indices as a lookup; ids missing from the map acknowledged nothing (index 0). */
function ackedFrom(map: ReadonlyMap<number, number>): (id: NodeId) => LogIndex {
  return (id) => (map.get(id) ?? 0) as LogIndex;
}

function committedBySort(voters: readonly NodeId[], acked: (id: NodeId) => LogIndex): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const descending = voters.map(acked).sort((a, b) => b - a);
  return descending[Math.floor(voters.length / 2)] as number;
}

/** The definition: the largest value that at least floor(n/2) + 1 voters acknowledged. */
function committedByDefinition(voters: readonly NodeId[], acked: (id: NodeId) => LogIndex): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const quorum = Math.floor(voters.length / 2) + 1;
  const values = voters.map(acked);
  let best = 0;
  for (const candidate of values) {
    const count = values.filter((value) => value >= candidate).length;
    if (count >= quorum && candidate > best) best = candidate;
  }
  return best;
}

function tallyByCounting(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  if (voters.length === 0) return 'won';
  const quorum = Math.floor(voters.length / 2) + 1;
  const granted = voters.filter((id) => votes.get(id) === true).length;
  const rejected = voters.filter((id) => votes.get(id) === false).length;
  if (granted >= quorum) return 'won';
  if (voters.length - rejected < quorum) return 'lost';
  return 'pending';
}

const voterSets = fc
  .uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 9 })
  .map((values) => values as NodeId[]);
const ackedMaps = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.nat(40)), { maxLength: 14 })
  .map((pairs) => new Map(pairs));
const voteMaps = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.boolean()), { maxLength: 14 })
  .map((pairs) => new Map(pairs.map(([id, granted]) => [id as NodeId, granted])));

function committedMatchesOracle(committed: Committed) {
  return fc.property(voterSets, ackedMaps, (voters, map) => {
    const acked = ackedFrom(map);
    expect(committed(voters, acked)).toBe(committedBySort(voters, acked));
  });
}

function tallyMatchesOracle(tally: Tally) {
  return fc.property(voterSets, voteMaps, (voters, votes) => {
    expect(tally(voters, votes)).toBe(tallyByCounting(voters, votes));
  });
}

/** Planted bug: the ascending sort picks the upper median for an even number of voters. */
const committedAscending: Committed = (voters, acked) => {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER as LogIndex;
  const ascending = voters.map(acked).sort((a, b) => a - b);
  return ascending[voters.length >> 1] as LogIndex;
};

/** Planted bug: off by one toward the larger values. */
const committedOffByOne: Committed = (voters, acked) => {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER as LogIndex;
  const descending = voters.map(acked).sort((a, b) => b - a);
  return descending[(voters.length - 1) >> 1] as LogIndex;
};

/** Planted bug: half the voters count as a quorum. */
const tallyHalfIsQuorum: Tally = (voters, votes) => {
  if (voters.length === 0) return 'won';
  const granted = voters.filter((id) => votes.get(id) === true).length;
  const rejected = voters.filter((id) => votes.get(id) === false).length;
  const quorum = Math.ceil(voters.length / 2);
  if (granted >= quorum) return 'won';
  if (voters.length - rejected < quorum) return 'lost';
  return 'pending';
};

describe(`majorityCommitted (seed ${seed})`, () => {
  it('commits everything when there are no voters', () => {
    expect(majorityCommitted([], ackedFrom(new Map()))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('follows the only voter of a single-voter config', () => {
    expect(majorityCommitted(ids(3), ackedFrom(new Map([[3, 7]])))).toBe(7);
  });

  it('needs both voters of a two-voter config', () => {
    expect(
      majorityCommitted(
        ids(1, 2),
        ackedFrom(
          new Map([
            [1, 9],
            [2, 4],
          ]),
        ),
      ),
    ).toBe(4);
  });

  it('picks the second highest of three and of four voters', () => {
    const acked = ackedFrom(
      new Map([
        [1, 5],
        [2, 9],
        [3, 7],
        [4, 1],
      ]),
    );
    expect(majorityCommitted(ids(1, 2, 3), acked)).toBe(7);
    expect(majorityCommitted(ids(1, 2, 3, 4), acked)).toBe(5);
  });

  it('counts a voter that acknowledged nothing as index 0', () => {
    expect(majorityCommitted(ids(1, 2, 3), ackedFrom(new Map([[1, 5]])))).toBe(0);
  });

  it('equals sort descending and pick floor(n/2)', () => {
    fc.assert(committedMatchesOracle(majorityCommitted), { seed, numRuns: 200 });
  });

  it('equals the highest index a majority acknowledged', () => {
    fc.assert(
      fc.property(voterSets, ackedMaps, (voters, map) => {
        const acked = ackedFrom(map);
        expect(majorityCommitted(voters, acked)).toBe(committedByDefinition(voters, acked));
      }),
      { seed, numRuns: 200 },
    );
  });

  it('the oracle property catches an ascending sort', () => {
    const result = fc.check(committedMatchesOracle(committedAscending), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
  });

  it('the oracle property catches an off-by-one pick', () => {
    const result = fc.check(committedMatchesOracle(committedOffByOne), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
  });

  it('gives the general sort result on the small-n path for every size up to 7', () => {
    const small = fc
      .uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 7 })
      .map((values) => values as NodeId[]);
    fc.assert(
      fc.property(small, ackedMaps, (voters, map) => {
        const acked = ackedFrom(map);
        const general = voters.map(acked).sort((a, b) => b - a)[voters.length >> 1];
        expect(majorityCommitted(voters, acked)).toBe(general);
      }),
      { seed, numRuns: 200 },
    );
  });

  it('leaves nothing behind in the scratch buffer between calls of different sizes', () => {
    const calls = fc.array(fc.tuple(voterSets, ackedMaps), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(calls, (sequence) => {
        for (const [voters, map] of sequence) {
          const acked = ackedFrom(map);
          expect(majorityCommitted(voters, acked)).toBe(committedBySort(voters, acked));
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it('is not fooled by a large value left by a previous, larger call', () => {
    const big = ackedFrom(
      new Map([
        [1, 100],
        [2, 100],
        [3, 100],
        [4, 100],
        [5, 100],
        [6, 100],
        [7, 100],
      ]),
    );
    expect(majorityCommitted(ids(1, 2, 3, 4, 5, 6, 7), big)).toBe(100);
    expect(
      majorityCommitted(
        ids(8, 9),
        ackedFrom(
          new Map([
            [8, 3],
            [9, 2],
          ]),
        ),
      ),
    ).toBe(2);
    expect(majorityCommitted(ids(8, 9, 10), ackedFrom(new Map([[8, 3]])))).toBe(0);
  });
});

describe(`majorityVoteResult (seed ${seed})`, () => {
  it('wins with no voters', () => {
    expect(majorityVoteResult([], new Map())).toBe('won');
  });

  it('wins once a majority granted, even with votes missing', () => {
    const votes = new Map(ids(1, 2).map((id) => [id, true]));
    expect(majorityVoteResult(ids(1, 2, 3), votes)).toBe('won');
  });

  it('stays pending while a majority is still reachable', () => {
    const votes = new Map([
      [1 as NodeId, true],
      [2 as NodeId, false],
    ]);
    expect(majorityVoteResult(ids(1, 2, 3), votes)).toBe('pending');
  });

  it('loses once a majority can no longer grant', () => {
    const votes = new Map([
      [1 as NodeId, false],
      [2 as NodeId, false],
    ]);
    expect(majorityVoteResult(ids(1, 2, 3), votes)).toBe('lost');
  });

  it('loses a two-voter election on a single rejection', () => {
    expect(majorityVoteResult(ids(1, 2), new Map([[2 as NodeId, false]]))).toBe('lost');
  });

  it('ignores votes from non-voters', () => {
    const votes = new Map([
      [7 as NodeId, true],
      [8 as NodeId, true],
      [1 as NodeId, true],
    ]);
    expect(majorityVoteResult(ids(1, 2, 3), votes)).toBe('pending');
  });

  it('equals counting granted and rejected votes', () => {
    fc.assert(tallyMatchesOracle(majorityVoteResult), { seed, numRuns: 200 });
  });

  it('the oracle property catches a quorum of half the voters', () => {
    const result = fc.check(tallyMatchesOracle(tallyHalfIsQuorum), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
  });
});
