/**
 * Random fault schedules for a `Cluster` (cluster.ts): the fast-check arbitraries that generate
 * them and the runner that plays one, then heals everything and demands convergence. The
 * properties in properties.test.ts use them; a schedule that once failed can be replayed as a
 * plain value (`runScenario(shape, scenario)`), which is how regressions are pinned.
 */
import { type Message, type NodeId, nodeId } from '@cairn/raft';
import fc from 'fast-check';
import { Cluster, type ClusterStats, type CrashPoint } from './cluster.js';

/** The liveness bound, in election timeouts (each up to 2 x electionTicks rounds). */
export const LIVENESS_ELECTION_TIMEOUTS = 10;

// ---- schedules ---------------------------------------------------------------------------------

/** A node by position in the cluster (taken modulo its size), or whoever leads right now. */
export type Target = 'leader' | number;

export type Step =
  | { kind: 'tick'; rounds: number }
  | { kind: 'propose'; count: number }
  | { kind: 'proposeVia'; node: number }
  | { kind: 'faults'; dropPercent: number; duplicatePercent: number; delayMax: number }
  | { kind: 'partition'; sides: boolean[] }
  | { kind: 'isolate'; target: Target }
  | { kind: 'oneWay'; from: Target; to: Target }
  | { kind: 'heal' }
  | { kind: 'crash'; target: Target }
  | { kind: 'crashLater'; target: Target; afterMessages: number; point: CrashPoint }
  | { kind: 'restart'; node: number }
  | { kind: 'pause'; target: Target }
  | { kind: 'unpause'; node: number }
  | { kind: 'campaign'; nodes: number[] }
  | { kind: 'transfer'; node: number };

export interface Scenario {
  /** The harness seed (network faults and election jitter), generated so shrinking keeps it. */
  seed: number;
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** 0: no snapshots. */
  snapshotEvery: number;
  compactionRetainedEntries: number;
  /** Flow control, small in some runs so that windows fill and batches split (0: default). */
  inflightMessagesMax: number;
  messageBytesMax: number;
  committedBytesMax: number;
  uncommittedBytesMax: number;
  /** Reads of committed entries that answer `'unavailable'`, in percent (0: a memory log). */
  storageMissPercent: number;
  steps: Step[];
}

const NODE_MAX = 5;
const nodeArb = fc.integer({ min: 0, max: NODE_MAX });
const targetArb: fc.Arbitrary<Target> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('leader' as const) },
  { weight: 3, arbitrary: nodeArb },
);

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('tick'), rounds: fc.integer({ min: 1, max: 30 }) }),
  },
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('propose'), count: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('proposeVia'), node: nodeArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('faults'),
      dropPercent: fc.integer({ min: 0, max: 30 }),
      duplicatePercent: fc.integer({ min: 0, max: 20 }),
      delayMax: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('partition'),
      sides: fc.array(fc.boolean(), { minLength: NODE_MAX + 1, maxLength: NODE_MAX + 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('isolate'), target: targetArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('oneWay'), from: targetArb, to: targetArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('heal') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('crash'), target: targetArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('crashLater'),
      target: targetArb,
      afterMessages: fc.integer({ min: 0, max: 8 }),
      point: fc.constantFrom<CrashPoint>('before-ready', 'after-send', 'after-persist'),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('restart'), node: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause'), target: targetArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unpause'), node: nodeArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('campaign'),
      nodes: fc.uniqueArray(nodeArb, { minLength: 1, maxLength: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('transfer'), node: nodeArb }) },
);

export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
    electionTicks: fc.integer({ min: 5, max: 12 }),
    heartbeatTicks: fc.integer({ min: 1, max: 3 }),
    preVote: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    checkQuorum: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    snapshotEvery: fc.oneof(fc.constant(0), fc.integer({ min: 5, max: 20 })),
    compactionRetainedEntries: fc.integer({ min: 0, max: 3 }),
    // Small windows (1..4) found a liveness bug (a window filled by lost appends was never
    // freed); the regression test is in properties.test.ts.
    inflightMessagesMax: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 })),
    // At least the largest proposal (an entry counts its data plus 16), else it is refused.
    messageBytesMax: fc.oneof(fc.constant(0), fc.integer({ min: 32, max: 80 })),
    committedBytesMax: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
    uncommittedBytesMax: fc.oneof(fc.constant(0), fc.integer({ min: 32, max: 160 })),
    storageMissPercent: fc.oneof(fc.constant(0), fc.integer({ min: 10, max: 80 })),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 120, size: 'max' }),
  })
  .map((scenario) => ({
    ...scenario,
    heartbeatTicks: Math.min(scenario.heartbeatTicks, scenario.electionTicks - 1),
  }));

// ---- running a schedule ------------------------------------------------------------------------

export interface Shape {
  voters: number;
  learners: number;
}

/** What runs exercised, summed over a property, to prove it did not pass vacuously. */
export interface Coverage extends ClusterStats {
  runs: number;
  elections: number;
  /** Runs with leaders in at least two terms. */
  runsWithLeaderChanges: number;
  proposalsApplied: number;
}

export function emptyCoverage(): Coverage {
  return {
    runs: 0,
    elections: 0,
    runsWithLeaderChanges: 0,
    proposalsApplied: 0,
    crashes: 0,
    restarts: 0,
    compactions: 0,
    snapshotsInstalled: 0,
    snapshotsLost: 0,
    storageMisses: 0,
  };
}

export interface RunOptions {
  /** Summed into as the run goes (a property passes one per property). */
  coverage?: Coverage;
  /** A planted bug for the checkers' self-tests (see `ClusterOptions.mutateOnDelivery`). */
  mutateOnDelivery?: (message: Message, cluster: Cluster) => Message;
  /** A planted bug: storage that misses never notifies (see `ClusterOptions`). */
  storageNeverNotifies?: boolean;
  /** Records every delivered message and persisted hard state in the trace (for debugging). */
  traceMessages?: boolean;
  /** How many trace lines a failure carries. Default 40. */
  traceLines?: number;
}

/**
 * Plays `scenario` on a fresh cluster of `shape`, then heals everything and demands
 * convergence. Throws (with the cluster's trace) when a checker or the liveness bound fails.
 */
export function runScenario(shape: Shape, scenario: Scenario, options: RunOptions = {}): void {
  const { coverage = emptyCoverage(), mutateOnDelivery } = options;
  const cluster = new Cluster({
    voters: shape.voters,
    learners: shape.learners,
    seed: scenario.seed,
    snapshotEvery: scenario.snapshotEvery,
    storageMissPercent: scenario.storageMissPercent,
    config: {
      electionTicks: scenario.electionTicks,
      heartbeatTicks: scenario.heartbeatTicks,
      preVote: scenario.preVote,
      checkQuorum: scenario.checkQuorum,
      compactionRetainedEntries: scenario.compactionRetainedEntries,
      ...(scenario.inflightMessagesMax > 0
        ? { inflightMessagesMax: scenario.inflightMessagesMax }
        : {}),
      ...(scenario.messageBytesMax > 0 ? { messageBytesMax: scenario.messageBytesMax } : {}),
      ...(scenario.committedBytesMax > 0 ? { committedBytesMax: scenario.committedBytesMax } : {}),
      ...(scenario.uncommittedBytesMax > 0
        ? { uncommittedBytesMax: scenario.uncommittedBytesMax }
        : {}),
    },
    ...(mutateOnDelivery === undefined ? {} : { mutateOnDelivery }),
    ...(options.storageNeverNotifies === true ? { storageNeverNotifies: true } : {}),
  });
  cluster.traceMessages = options.traceMessages ?? false;
  const proposals = { next: 0 };
  try {
    for (const step of scenario.steps) {
      cluster.trace.push(`round ${cluster.round}: step ${JSON.stringify(step)}`);
      runStep(cluster, step, proposals);
      cluster.checkLogMatching();
    }
    converge(cluster, scenario, shape);
    cluster.checkLogMatching();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n-- last events --\n${cluster.trace.slice(-(options.traceLines ?? 40)).join('\n')}`,
      {
        cause: error,
      },
    );
  }
  coverage.runs++;
  coverage.elections += cluster.leaders.size;
  if (cluster.leaders.size >= 2) coverage.runsWithLeaderChanges++;
  coverage.proposalsApplied += cluster.appliedData(nodeId(1)).length;
  for (const key of Object.keys(cluster.stats) as (keyof ClusterStats)[])
    coverage[key] += cluster.stats[key];
}

function runStep(cluster: Cluster, step: Step, proposals: { next: number }): void {
  const ids = cluster.ids();
  const at = (node: number): NodeId => ids[node % ids.length] as NodeId;
  const resolve = (target: Target): NodeId | null =>
    target === 'leader' ? cluster.leader() : at(target);
  switch (step.kind) {
    case 'tick':
      cluster.tick(step.rounds);
      return;
    case 'propose':
      for (let i = 0; i < step.count; i++) cluster.propose(`v${proposals.next++}`);
      return;
    case 'proposeVia': {
      // Through any node: a follower forwards it to the leader it knows.
      const id = at(step.node);
      if (!cluster.isUp(id) || cluster.member(id).paused) return;
      cluster.core(id).propose(new TextEncoder().encode(`v${proposals.next++}`));
      cluster.settle();
      return;
    }
    case 'faults':
      cluster.faults = {
        drop: step.dropPercent / 100,
        duplicate: step.duplicatePercent / 100,
        delayMax: step.delayMax,
      };
      return;
    case 'partition': {
      const left = ids.filter((_, i) => step.sides[i] === true);
      const right = ids.filter((_, i) => step.sides[i] !== true);
      if (left.length === 0 || right.length === 0) cluster.heal();
      else cluster.partition(left, right);
      return;
    }
    case 'isolate': {
      const id = resolve(step.target);
      if (id !== null) cluster.isolate(id);
      return;
    }
    case 'oneWay': {
      const from = resolve(step.from);
      const to = resolve(step.to);
      if (from !== null && to !== null && from !== to) cluster.blockOneWay(from, to);
      return;
    }
    case 'heal':
      cluster.heal();
      return;
    case 'crash': {
      // Memory storage is written only while a Ready is handled, so any node may crash at any
      // time: what it loses is exactly its unpersisted memory.
      const id = resolve(step.target);
      if (id !== null) cluster.crash(id);
      return;
    }
    case 'crashLater': {
      const id = resolve(step.target);
      if (id !== null) cluster.armCrash(id, step.afterMessages, step.point);
      return;
    }
    case 'restart':
      cluster.restart(at(step.node));
      return;
    case 'pause': {
      const id = resolve(step.target);
      if (id !== null) cluster.pause(id, true);
      return;
    }
    case 'unpause':
      cluster.pause(at(step.node), false);
      return;
    case 'campaign':
      // Several nodes campaigning in the same round: the split-vote case.
      for (const node of step.nodes) {
        const id = at(node);
        if (cluster.isUp(id) && !cluster.member(id).paused) cluster.core(id).campaign();
      }
      cluster.settle();
      return;
    case 'transfer': {
      const leader = cluster.leader();
      if (leader === null) return;
      cluster.core(leader).transferLeadership(at(step.node));
      cluster.settle();
      return;
    }
  }
}

/**
 * The liveness phase: heal everything, then within the bound a leader must exist, a new
 * proposal must be applied everywhere and every node must have applied the same sequence. A
 * proposal can be lost with a leader that is deposed before replicating it, so it is proposed
 * again to each new leader until some node applies it; duplicates are harmless here because
 * the demand is that all nodes agree.
 */
function converge(cluster: Cluster, scenario: Scenario, shape: Shape): void {
  cluster.healAll();
  const bound = LIVENESS_ELECTION_TIMEOUTS * 2 * scenario.electionTicks;
  const start = cluster.round;
  const ids = cluster.ids();
  const marker = 'liveness';
  let proposedTo = '';
  let leaderSeen = false;
  for (;;) {
    const applied = ids.map((id) => cluster.appliedData(id));
    const appliedSomewhere = applied.some((data) => data.includes(marker));
    const first = applied[0] ?? [];
    const converged =
      applied.every((data) => data.includes(marker)) &&
      applied.every((data) => sameStrings(data, first));
    if (converged) return;
    const leader = cluster.leader();
    if (leader !== null) {
      leaderSeen = true;
      const term = `${leader}@${cluster.core(leader).status().term}`;
      // A leader refuses proposals while it transfers leadership: try again next round.
      if (!appliedSomewhere && term !== proposedTo && cluster.propose(marker) !== null)
        proposedTo = term;
    }
    if (cluster.round - start >= bound) {
      const what = leaderSeen
        ? `liveness: no convergence (new proposal applied by all, same sequences) within ${bound} rounds after healing`
        : `liveness: no leader within ${bound} rounds after healing`;
      const summary = ids
        .map((id, i) => {
          if (!cluster.isUp(id)) return `  ${id}: down`;
          const status = cluster.core(id).status();
          return `  ${id}: ${status.role} term=${status.term} commit=${status.commit} applied=${status.applied} last=${status.lastIndex} data=${(applied[i] ?? []).length}`;
        })
        .join('\n');
      throw new Error(
        `${what} (${shape.voters} voters, ${shape.learners} learners, seed ${scenario.seed})\n${summary}`,
      );
    }
    cluster.tick();
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
