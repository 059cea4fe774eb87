import { formatFailure } from './failure-report.js';
import type { Violation } from './raft-checker.js';
import { mix } from './rng.js';
import { type SimulationOptions, type SimulationReport, simulate } from './simulate.js';

/** A cluster shape and fault mix a seed may run with. */
export interface RunShape {
  readonly name: string;
  readonly options: Omit<SimulationOptions, 'seed'>;
}

/**
 * The shapes of the CI batch and of `pnpm sim`. Virtual durations are short (2 s of faults, then
 * healing) so that 500 runs fit a few minutes on two cores; faults come every 50-300 virtual ms
 * and election timeouts are 100 ms, so one run still sees several elections, crashes, pauses
 * and partitions.
 */
export const SHAPES: readonly RunShape[] = [
  { name: '3 voters', options: { voters: 3, safetyMs: 2000 } },
  { name: '5 voters', options: { voters: 5, safetyMs: 2000 } },
  { name: '3 voters and a learner', options: { voters: 3, learner: true, safetyMs: 2000 } },

  {
    name: '3 voters, one disk corrupted',
    options: { voters: 3, faults: { corruption: true }, snapshotEntries: 40, safetyMs: 1500 },
  },
];

/**
 * Membership changes under faults: the extra member is promoted, removed, wiped and added again
 * while the other faults go on (`SimulationOptions.membership`).
 */
export const MEMBERSHIP_SHAPE: RunShape = {
  name: '3 voters, membership changes',
  options: { voters: 3, learner: true, membership: true, safetyMs: 2000 },
};

/**
 * Racing elections with voters that die right after a vote and come back in the same term
 * (`SimulationOptions.splitVote`, `split-vote.ts`): the schedule that finds the `forgetVote`
 * plant, and the batch's source of `afterPersistVote` crash points.
 */
export const SPLIT_VOTE_SHAPE: RunShape = {
  name: 'split-vote: 3 voters, leaders deposed, crashes right after a vote',
  options: { voters: 3, splitVote: true, safetyMs: 2000 },
};

/** Every shape a seed may run with. */
export const ALL_SHAPES: readonly RunShape[] = [...SHAPES, MEMBERSHIP_SHAPE, SPLIT_VOTE_SHAPE];

/**
 * The shape seed `seed` runs with: a function of the seed alone, so a seed replays by itself.
 * One seed in five runs membership changes, and one in eleven of the rest split votes, each taken
 * from every earlier shape alike (a split-vote run costs less than the runs it replaces); the
 * others keep the shape they had before these were added (no pinned seed moved).
 */
export function shapeOf(seed: number): RunShape {
  if (mix(seed, 'membership-changes') % 5 === 0) return MEMBERSHIP_SHAPE;
  // An odd modulus: FNV's low bits follow the seed's, so `% 10` would pick even seeds only.
  if (mix(seed, 'split-vote') % 11 === 0) return SPLIT_VOTE_SHAPE;
  return SHAPES[mix(seed, 'shape') % SHAPES.length] as RunShape;
}

/** The shape whose name contains `text` (for `pnpm sim --shape`); undefined if none or several. */
export function shapeNamed(text: string): RunShape | undefined {
  const found = ALL_SHAPES.filter((shape) => shape.name.includes(text));
  return found.length === 1 ? found[0] : undefined;
}

export interface SeedReport extends SimulationReport {
  readonly shape: string;
}

/**
 * The tier-2 checker's limits (client-only linearizability, `lin-checker.ts`) for every run of
 * the batch and of `pnpm sim`: about 0.05 s of CPU per run, a tenth of the run (docs/sim.md).
 */
export const BATCH_LINEARIZABILITY = { statesMax: 64, searchStepsMax: 100_000 } as const;

/** Runs seed `seed` in its shape (`trace` keeps the timeline), tier 2 included. */
export async function simulateSeed(
  seed: number,
  extra: Partial<Omit<SimulationOptions, 'seed'>> = {},
  shape: RunShape = shapeOf(seed),
): Promise<SeedReport> {
  const report = await simulate({
    linearizability: BATCH_LINEARIZABILITY,
    ...shape.options,
    ...extra,
    seed,
  });
  return { ...report, shape: shape.name };
}

/**
 * What a failed seed prints (issue 8): the seed and shape, the violations (`violations`, by
 * default all of the run's), the `replay` command, then the minimal failing history of the
 * primary violation and a timeline excerpt around it (`SimulationReport.failure`).
 */
export function seedFailureReport(
  report: SeedReport,
  replay: string,
  violations: readonly Violation[] = report.violations,
): string {
  return formatFailure({
    seed: report.seed,
    shape: report.shape,
    violations,
    replay,
    details: report.failure,
  });
}

/** The seeds of one CI batch: fixed ones (1..fixed) and fresh ones derived from `baseSeed`. */
export function batchSeeds(
  baseSeed: number,
  counts: { readonly fixed: number; readonly fresh: number },
): { readonly fixed: readonly number[]; readonly fresh: readonly number[] } {
  const fixed = Array.from({ length: counts.fixed }, (_, i) => i + 1);
  const fresh: number[] = [];
  const seen = new Set(fixed);
  for (let i = 0; fresh.length < counts.fresh; i++) {
    // Fresh seeds live above the fixed range, so a fresh seed never repeats a fixed one.
    const seed = 1_000_000 + (mix(baseSeed, `fresh-${i}`) % 1_000_000_000);
    if (seen.has(seed)) continue;
    seen.add(seed);
    fresh.push(seed);
  }
  return { fixed, fresh };
}

/** Shard `shard` (1-based) of `shards`: every shards-th seed. */
export function shardOf<T>(items: readonly T[], shard: number, shards: number): T[] {
  return items.filter((_, i) => i % shards === shard - 1);
}

/**
 * The coverage counters a CI batch must reach (> 0 summed over the batch): a batch that never
 * reached one of these situations has not tested it, whatever its verdict.
 */
export const KEY_COVERAGE: readonly string[] = [
  'elections',
  'electionsUnderPartition',
  'preVoteRejections',
  'snapshotsSent',
  'snapshotRestores',
  'confChanges',
  'confChangesUnderFaults',
  'crashes',
  'restarts',
  'pauses',
  'clockJumps',
  'lostRecords',
  'tornRecords',
  'corruptionDetected',
  'partitionsSymmetric',
  'partitionsLone',
  'partitionsOneWay',
  'partitionsBridge',
  'linkFaults',
  'messagesDropped',
  'messagesDuplicated',
  'sessionExpiries',
  'sessionCloses',
  'watchFires',
  'crashPoint:afterPersistVote',
];

/**
 * Open bugs the batch found and nobody has fixed yet (docs/sim.md, gaps found). A violation
 * matching one is reported as known instead of failing the batch; `simulation.test.ts` pins a
 * seed of each and fails once it stops reproducing, so the entry is removed with the fix.
 */
export interface KnownBug {
  readonly id: string;
  readonly checker: string;
  /** Every message of the run's violations of `checker` must match. */
  readonly message: RegExp;
  /** Only these seeds (a signature too broad to excuse in any seed). */
  readonly seeds?: readonly number[];
  readonly pinnedSeed: number;
}

export const KNOWN_BUGS: readonly KnownBug[] = [];

/** Splits a run's violations into known open bugs (by id) and the rest. */
export function classify(
  seed: number,
  violations: readonly { readonly checker: string; readonly message: string }[],
): { known: string[]; unknown: typeof violations } {
  const known = new Set<string>();
  const unknown = violations.filter((violation) => {
    const bug = KNOWN_BUGS.find(
      (b) =>
        b.checker === violation.checker &&
        b.message.test(violation.message) &&
        (b.seeds === undefined || b.seeds.includes(seed)),
    );
    if (bug !== undefined) known.add(bug.id);
    return bug === undefined;
  });
  return { known: [...known], unknown };
}

/** Adds one run's counters to `total`. */
export function addCoverage(
  total: Record<string, number>,
  run: Readonly<Record<string, number>>,
): void {
  for (const [name, value] of Object.entries(run)) total[name] = (total[name] ?? 0) + value;
}

/** The key counters that stayed at 0. */
export function missingCoverage(total: Readonly<Record<string, number>>): string[] {
  return KEY_COVERAGE.filter((name) => (total[name] ?? 0) <= 0);
}

/** A table of the counters, key ones first, for a batch summary. */
export function formatCoverage(total: Readonly<Record<string, number>>): string {
  const names = [
    ...KEY_COVERAGE,
    ...Object.keys(total)
      .filter((name) => !KEY_COVERAGE.includes(name))
      .sort(),
  ];
  const width = Math.max(...names.map((name) => name.length));
  return names
    .map((name) => {
      const value = total[name] ?? 0;
      const mark = KEY_COVERAGE.includes(name) && value <= 0 ? '  <-- never reached' : '';
      return `  ${name.padEnd(width)} ${String(value).padStart(9)}${mark}`;
    })
    .join('\n');
}
