/**
 * `pnpm sim`: long seed searches and single-seed replays of the simulator.
 *
 *   pnpm sim --seeds N [--start S]   runs seeds S..S+N-1 (default S = 1), each in its shape,
 *                                     printing progress, every failing seed (with the minimal
 *                                     failing history and a timeline excerpt) and the aggregate
 *                                     coverage; exits 1 if any seed failed
 *   pnpm sim --seed S [--trace]      replays seed S: shape, verdict, coverage, and with --trace
 *                                     the run's timeline (faults, roles, calls, watch fires)
 *   --safety-ms MS                   virtual milliseconds of faults (default: the shape's)
 *   --shape TEXT                     run in the shape whose name contains TEXT instead of the
 *                                     seed's own (e.g. --shape membership, --shape split-vote)
 *   --plant NAME[=VALUE]             switch on a planted bug (ackUnsynced, forgetVote,
 *                                     forgeAppendAcks, lateWatchMs=40) to see it caught
 */
import process from 'node:process';
import {
  ALL_SHAPES,
  addCoverage,
  formatCoverage,
  missingCoverage,
  type RunShape,
  type SeedReport,
  seedFailureReport,
  shapeNamed,
  simulateSeed,
} from './batch.js';
import { PLANT_NAMES, type Plant } from './plant.js';
import type { SimulationOptions } from './simulate.js';

interface Args {
  seeds: number | null;
  start: number;
  seed: number | null;
  trace: boolean;
  safetyMs: number | null;
  plant: Plant;
  shape: RunShape | null;
  /** The flags a failing seed's replay command needs besides `--seed S --trace`. */
  replayFlags: string[];
}

const USAGE =
  'usage: pnpm sim --seeds N [--start S] | --seed S [--trace]  [--safety-ms MS] [--shape TEXT] [--plant NAME[=VALUE]]';

class UsageError extends Error {}

function integer(flag: string, text: string | undefined, min: number): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`${flag} needs an integer >= ${min}, got ${text ?? 'nothing'}`);
  return value;
}

function parse(argv: readonly string[]): Args {
  const args: Args = {
    seeds: null,
    start: 1,
    seed: null,
    trace: false,
    safetyMs: null,
    plant: {},
    shape: null,
    replayFlags: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const next = (): string | undefined => argv[++i];
    if (flag === '--') continue;
    if (flag === '--seeds') args.seeds = integer(flag, next(), 1);
    else if (flag === '--start') args.start = integer(flag, next(), 0);
    else if (flag === '--seed') args.seed = integer(flag, next(), 0);
    else if (flag === '--trace') args.trace = true;
    else if (flag === '--safety-ms') {
      args.safetyMs = integer(flag, next(), 0);
      args.replayFlags.push(flag, String(args.safetyMs));
    } else if (flag === '--shape') {
      const text = next() ?? '';
      const shape = shapeNamed(text);
      if (shape === undefined)
        throw new UsageError(
          `--shape needs text naming one shape of: ${ALL_SHAPES.map((s) => s.name).join('; ')}; got ${text}`,
        );
      args.shape = shape;
      args.replayFlags.push(flag, text);
    } else if (flag === '--plant') {
      const text = next() ?? '';
      const [name, value] = text.split('=');
      if (!PLANT_NAMES.includes(name as (typeof PLANT_NAMES)[number]))
        throw new UsageError(`--plant takes one of ${PLANT_NAMES.join(', ')}, got ${name}`);
      args.plant =
        name === 'lateWatchMs'
          ? { ...args.plant, lateWatchMs: integer('--plant lateWatchMs', value ?? '40', 1) }
          : { ...args.plant, [name as string]: true };
      args.replayFlags.push(flag, text);
    } else throw new UsageError(`unknown argument ${flag}`);
  }
  if ((args.seeds === null) === (args.seed === null))
    throw new UsageError('give exactly one of --seeds N and --seed S');
  if (args.trace && args.seed === null) throw new UsageError('--trace replays one --seed');
  return args;
}

function options(args: Args): Partial<Omit<SimulationOptions, 'seed'>> {
  return {
    ...(args.safetyMs === null ? {} : { safetyMs: args.safetyMs }),
    ...(Object.keys(args.plant).length === 0 ? {} : { plant: args.plant }),
  };
}

function describeFailure(report: SeedReport, args: Args): string {
  const replay = ['pnpm sim --seed', report.seed, '--trace', ...args.replayFlags.map(quoted)];
  return seedFailureReport(report, replay.join(' '));
}

/** `text` as one shell word. */
function quoted(text: string): string {
  return /^[\w.=:/-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

async function replay(seed: number, args: Args): Promise<number> {
  const report = await simulateSeed(
    seed,
    { ...options(args), trace: args.trace },
    ...(args.shape === null ? [] : [args.shape]),
  );
  if (args.trace) for (const line of report.timeline) console.log(line);
  console.log(`seed ${seed} (${report.shape}): trace hash ${report.traceHash}`);
  console.log(report.summary);
  console.log(`coverage:\n${formatCoverage(report.coverage)}`);
  if (report.violations.length === 0) {
    console.log(`seed ${seed}: ok`);
    return 0;
  }
  console.log(describeFailure(report, args));
  return 1;
}

async function search(count: number, args: Args): Promise<number> {
  const total: Record<string, number> = {};
  const failed: number[] = [];
  const started = Date.now();
  let lastProgress = started;
  for (let i = 0; i < count; i++) {
    const seed = args.start + i;
    const report = await simulateSeed(
      seed,
      options(args),
      ...(args.shape === null ? [] : [args.shape]),
    );
    addCoverage(total, report.coverage);
    if (report.violations.length > 0) {
      failed.push(seed);
      console.log(describeFailure(report, args));
    }
    const now = Date.now();
    if (now - lastProgress >= 5000 || i === count - 1) {
      lastProgress = now;
      const rate = ((i + 1) / ((now - started) / 1000)).toFixed(1);
      console.log(`${i + 1}/${count} seeds, ${failed.length} failed, ${rate} seeds/s`);
    }
  }
  console.log(`coverage over ${count} runs:\n${formatCoverage(total)}`);
  const missing = missingCoverage(total);
  if (missing.length > 0) console.log(`never reached: ${missing.join(', ')}`);
  console.log(
    failed.length === 0
      ? `all ${count} seeds passed (seeds ${args.start}..${args.start + count - 1})`
      : `${failed.length} of ${count} seeds failed: ${failed.join(' ')}`,
  );
  return failed.length === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  if (args.seed !== null) return replay(args.seed, args);
  return search(args.seeds as number, args);
}

process.exitCode = await main();
