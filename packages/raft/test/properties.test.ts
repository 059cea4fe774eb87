/**
 * Raft's safety and liveness as fast-check properties over random fault schedules
 * (STYLE.md §9.5, RELIABILITY.md §2 F1-F6, F8, F12 and §4.1). Each run builds a cluster of
 * real `RaftCore`s (`cluster.ts`) with a generated config (election and heartbeat ticks,
 * pre-vote, check-quorum, flow-control limits, snapshots every 5-20 entries with 0-3 retained so
 * that lagging followers catch up by InstallSnapshot), then plays a generated schedule
 * (`schedule.ts`): ticks, proposals (to the leader or forwarded by any node), message faults
 * (drop <= 30%, duplicate <= 20%, delay/reorder <= 3 rounds), partitions (random halves, an
 * isolated node, one-way links), crashes between steps and inside the handling of a Ready,
 * restarts, pauses, simultaneous campaigns and leadership transfers. In about half the runs the
 * cores read committed entries from a storage that answers `'unavailable'` at random and
 * notifies later (`flaky-reads.ts`), as a bounded cache does.
 *
 * Safety phase: the cluster checks election safety and leader completeness on every new leader,
 * state machine safety on every apply and snapshot restore; log matching is checked after each
 * step. Liveness phase: everything heals (network, faults, crashed and paused nodes) and within
 * LIVENESS_ELECTION_TIMEOUTS x 2 x electionTicks rounds a leader must be elected, a new
 * proposal must be applied by every node (learners too), and all nodes must have applied
 * identical sequences. "Sometimes" counters then prove the runs reached leader changes,
 * crashes, compactions and snapshot installs.
 *
 * Every property has a sibling that plants a bug through the harness's `mutateOnDelivery` hook
 * and proves the checkers catch it (STYLE.md §9.2), on random schedules and on a fixed script.
 *
 * One seed reproduces everything: CAIRN_SEED (default 1) seeds fast-check, which generates the
 * cluster's own seed as part of each case. A failure prints the shrunk schedule (a `Scenario`
 * that `runScenario` replays as is) and fast-check's `{ seed, path }`; replay just that case with
 * `CAIRN_SEED=<seed> CAIRN_PATH=<path> npx vitest run packages/raft/test/properties.test.ts -t '<test>'`.
 * CAIRN_RUNS_SCALE multiplies the runs of the properties for longer soaks (nightly).
 */
import { logIndex, type Message, nodeId } from '@cairn/raft';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import {
  type Coverage,
  emptyCoverage,
  LIVENESS_ELECTION_TIMEOUTS,
  runScenario,
  type Scenario,
  type Shape,
  scenarioArb,
} from './schedule.js';

const SEED = parseInteger('CAIRN_SEED', 1);
const RUNS_SCALE = parseInteger('CAIRN_RUNS_SCALE', 1);
/** A fast-check replay path; only meaningful together with `-t` naming the failed test. */
const PATH = process.env.CAIRN_PATH;

function parseInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${text}`);
  return value;
}

function property(
  shape: Shape,
  coverage: Coverage,
  mutateOnDelivery?: Mutation,
): fc.IPropertyWithHooks<[Scenario]> {
  return fc.property(scenarioArb, (scenario) => {
    runScenario(shape, scenario, {
      coverage,
      ...(mutateOnDelivery === undefined ? {} : { mutateOnDelivery }),
    });
  });
}

// ---- planted bugs ------------------------------------------------------------------------------

type Mutation = (message: Message, cluster: Cluster) => Message;

/**
 * A voter that grants a vote it refused because it had voted for another candidate in the term:
 * it votes twice (breaks Figure 2's votedFor). Refusals of a candidate whose durable log is less
 * up to date than the voter's stay refusals, so this bug breaks election safety only.
 */
function voteTwice(message: Message, cluster: Cluster): Message {
  if (message.type !== 'VoteResponse' || !message.reject) return message;
  const voter = cluster.member(message.from).storage;
  const candidate = cluster.member(message.to).storage;
  const [voterIndex, candidateIndex] = [voter.lastIndex(), candidate.lastIndex()];
  const [voterTerm, candidateTerm] = [
    voter.term(voterIndex) ?? 0,
    candidate.term(candidateIndex) ?? 0,
  ];
  const upToDate =
    candidateTerm > voterTerm || (candidateTerm === voterTerm && candidateIndex >= voterIndex);
  return upToDate ? { ...message, reject: false } : message;
}

/** Candidates claim the longest possible log, so voters skip the up-to-date check (§5.4.1). */
function claimLongestLog(message: Message): Message {
  if (message.type !== 'Vote' && message.type !== 'PreVote') return message;
  return { ...message, lastTerm: message.term, lastIndex: logIndex(Number.MAX_SAFE_INTEGER) };
}

/** Appends to node 2 arrive with their entries' data altered (a corrupting link). */
function corruptAppendsTo2(message: Message): Message {
  if (message.type !== 'Append' || message.to !== nodeId(2)) return message;
  return {
    ...message,
    entries: message.entries.map((entry) =>
      entry.data.length === 0 ? entry : { ...entry, data: new Uint8Array([...entry.data, 0x21]) },
    ),
  };
}

/** Voters that refuse every real vote: no election can succeed. */
function neverGrant(message: Message): Message {
  if (message.type === 'VoteResponse' && !message.reject) return { ...message, reject: true };
  return message;
}

const PLANTED_BUGS: readonly { name: string; mutation: Mutation; caughtBy: RegExp }[] = [
  { name: 'a voter that votes twice in a term', mutation: voteTwice, caughtBy: /election safety/ },
  {
    name: 'voters that skip the up-to-date check',
    mutation: claimLongestLog,
    caughtBy: /leader completeness/,
  },
  {
    name: 'a link that corrupts entry data',
    mutation: corruptAppendsTo2,
    caughtBy: /state machine safety|log matching/,
  },
  { name: 'voters that never grant a vote', mutation: neverGrant, caughtBy: /liveness: no leader/ },
];

/** Plays a short fixed script on 3 voters, with or without a planted bug. */
function playFixed(script: (cluster: Cluster) => void, mutation?: Mutation): Cluster {
  const cluster = new Cluster({
    voters: 3,
    seed: 1,
    ...(mutation === undefined ? {} : { mutateOnDelivery: mutation }),
  });
  script(cluster);
  return cluster;
}

// ---- the properties ----------------------------------------------------------------------------

const SHAPES: readonly { name: string; shape: Shape; numRuns: number }[] = [
  { name: '3 voters', shape: { voters: 3, learners: 0 }, numRuns: 10_000 },
  { name: '5 voters', shape: { voters: 5, learners: 0 }, numRuns: 4000 },
  { name: '3 voters and a learner', shape: { voters: 3, learners: 1 }, numRuns: 3000 },
];

describe(`raft safety and liveness under random faults (CAIRN_SEED=${SEED})`, () => {
  for (const { name, shape, numRuns } of SHAPES) {
    it(`${name}: one leader per term, log matching, leader completeness, state machine safety, convergence after healing`, () => {
      const coverage = emptyCoverage();
      const runs = Math.max(1, numRuns * RUNS_SCALE);
      fc.assert(property(shape, coverage), {
        seed: SEED,
        numRuns: runs,
        ...(PATH === undefined ? {} : { path: PATH }),
      });
      if (PATH !== undefined) return;
      // "Sometimes" assertions: the schedules did reach what the properties are about.
      expect(coverage.runs).toBe(runs);
      expect(coverage.runsWithLeaderChanges).toBeGreaterThan(runs / 10);
      expect(coverage.crashes).toBeGreaterThan(runs / 2);
      expect(coverage.compactions).toBeGreaterThan(0);
      expect(coverage.snapshotsInstalled).toBeGreaterThan(0);
      expect(coverage.proposalsApplied).toBeGreaterThan(runs);
      expect(coverage.storageMisses).toBeGreaterThan(runs);
    });
  }
});

describe(`the checkers catch planted bugs (CAIRN_SEED=${SEED})`, () => {
  for (const { name, mutation, caughtBy } of PLANTED_BUGS) {
    it(`random schedules catch ${name}`, () => {
      const result = fc.check(property({ voters: 3, learners: 0 }, emptyCoverage(), mutation), {
        seed: SEED,
        numRuns: 300,
        endOnFailure: true,
      });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(caughtBy);
    });
  }

  it('random schedules catch a storage that never calls its listener after a miss (liveness)', () => {
    const result = fc.check(
      fc.property(scenarioArb, (scenario) => {
        runScenario({ voters: 3, learners: 0 }, scenario, { storageNeverNotifies: true });
      }),
      { seed: SEED, numRuns: 300, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/liveness/);
  });

  it('a fixed scenario catches a voter that votes twice in a term (election safety)', () => {
    // 1 leads term 2 and crashes; 2 and 3 campaign in the same round, pass pre-vote and stand
    // in term 3. Each refuses the other (it voted for itself); the planted bug turns both
    // refusals into grants, so both win term 3. Without it, one of them leads a later term.
    const script = (cluster: Cluster): void => {
      cluster.elect(nodeId(1));
      cluster.propose('x');
      cluster.crash(nodeId(1));
      cluster.core(nodeId(2)).campaign();
      cluster.core(nodeId(3)).campaign();
      cluster.settle();
      cluster.tick(50);
    };
    const healthy = playFixed(script);
    expect(healthy.leader()).not.toBeNull();
    expect(() => playFixed(script, voteTwice)).toThrow(/election safety: 2 and 3 both lead term 3/);
  });

  it('a fixed scenario catches voters that skip the up-to-date check (leader completeness)', () => {
    // 3 misses "x", which 1 and 2 commit; 1 crashes and 3 campaigns. 2 must refuse 3 (its log
    // is shorter); with the planted bug it grants, and 3 leads without a committed entry.
    const script = (cluster: Cluster): void => {
      cluster.elect(nodeId(1));
      cluster.isolate(nodeId(3));
      cluster.propose('x');
      cluster.tick(2);
      cluster.heal();
      cluster.crash(nodeId(1));
      cluster.core(nodeId(3)).campaign();
      cluster.settle();
      cluster.tick(50);
    };
    const healthy = playFixed(script);
    expect(healthy.leader()).toBe(nodeId(2));
    expect(() => playFixed(script, claimLongestLog)).toThrow(
      /leader completeness: leader 3 of term 3 has term 3 at 3, committed 2\/3 "x"/,
    );
  });

  it('a fixed scenario catches corrupted entry data once applied (state machine safety)', () => {
    const script = (cluster: Cluster): void => {
      cluster.elect(nodeId(1));
      cluster.propose('x');
      cluster.tick(5);
    };
    const healthy = playFixed(script);
    for (const id of healthy.ids()) expect(healthy.appliedData(id)).toEqual(['x']);
    expect(() => playFixed(script, corruptAppendsTo2)).toThrow(
      /state machine safety: node 2 applied/,
    );
  });

  it('a fixed scenario catches corrupted entry data before it commits (log matching)', () => {
    // No acknowledgement reaches the leader, so nothing commits and only log matching can see
    // that 2 holds a different entry at the same index and term.
    const script = (cluster: Cluster): void => {
      cluster.elect(nodeId(1));
      cluster.blockOneWay(nodeId(2), nodeId(1));
      cluster.blockOneWay(nodeId(3), nodeId(1));
      cluster.propose('x');
      cluster.checkLogMatching();
    };
    playFixed(script);
    expect(() => playFixed(script, corruptAppendsTo2)).toThrow(
      /log matching: nodes 1 and 2 differ/,
    );
  });
});

/**
 * Known core bugs, pinned as scripted scenarios. Each asserts today's wrong behaviour, so it
 * fails the day a fix lands: then assert the right behaviour instead and widen the generator in
 * schedule.ts where its comment says so.
 */
describe('regressions found by these properties', () => {
  // A follower in `replicate` whose inflight window filled with appends that were all lost was
  // never sent another append: heartbeat responses reached the leader but freed no window slot,
  // and nothing else did while the leader kept its quorum. Silent loss is normal (STYLE §5:
  // transports drop on queue overflow), so this broke liveness (RELIABILITY F3: "progress
  // resumes when loss stops"). Fixed: a heartbeat response frees one slot of a full window.
  for (const window of [1, 256]) {
    it(`a follower catches up after ${window} lost appends fill its window of ${window}`, () => {
      const cluster = new Cluster({ voters: 3, seed: 1, config: { inflightMessagesMax: window } });
      cluster.elect(nodeId(1));
      cluster.propose('a');
      cluster.tick(1);
      expect(cluster.core(nodeId(1)).status().progress.get(nodeId(2))?.state).toBe('replicate');
      cluster.blockOneWay(nodeId(1), nodeId(2));
      for (let i = 0; i < window; i++) cluster.propose(`lost${i}`);
      cluster.heal();
      cluster.tick(LIVENESS_ELECTION_TIMEOUTS * 2 * 10);
      cluster.propose('b');
      cluster.tick(5);
      expect(cluster.leader()).toBe(nodeId(1));
      expect(cluster.appliedData(nodeId(3))).toHaveLength(window + 2);
      expect(cluster.appliedData(nodeId(2))).toEqual(cluster.appliedData(nodeId(3)));
    });
  }
});
