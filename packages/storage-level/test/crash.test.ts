// Kill -9 while writing (RELIABILITY F4, F8): a child process drives a LevelLog like a node's
// Ready loop (crash-child.ts: appends, suffix truncations with a new term, hard-state writes,
// and compactions switching in a new snapshot file in the background) and prints each step as
// it begins and once it resolved (acknowledged as durable). The parent kills it with SIGKILL at
// a seeded random moment, reopens the folder and checks it against a model of the acknowledged
// steps: the hard state and every entry (content and term, in order, nothing after a gap: a gap
// fails `open` itself) are exactly those of the acknowledged writes, or of those plus the one
// write in flight at the kill, whole (never half of it); the snapshot is the last acknowledged
// one or the one being switched in, its data intact, and the log starts where that snapshot's
// compaction left it. Then it starts the child again on the same folder, KILLS times, and checks
// the kills landed during writes and during snapshot switch-overs. The seed is CAIRN_SEED
// (default 1, printed in the test name); the delays are wall-clock, so the exact kill points
// vary between runs, but each run checks the same property.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type Random, seededRandom } from '@cairn/raft';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelLog } from '../src/index.js';
import { CRASH_CLUSTER, CRASH_NODE, crashEntry, crashSnapshotData } from './crash-child.js';
import { readAll, TempDirs } from './helpers.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);
/** Kills per run (the issue asks for at least 50). */
const KILLS = 50;
/** The longest wait, after the child reports ready, before a kill not tied to its progress. */
const KILL_DELAY_MAX_MS = 40;
/** A kill tied to progress comes after 0 to this many acknowledged writes... */
const ACKS_BEFORE_KILL_MAX = 24;
/** ...or the start of a compaction, then 0 to this many milliseconds more. */
const KILL_JITTER_MS = 4;
/**
 * A bound on the whole test, to catch a hang: each kill costs a child start-up, which a loaded
 * machine makes several times slower.
 */
const TEST_TIMEOUT_MS = 600_000;
/** A bound on one child's start-up, so a hang fails the test instead of stalling it. */
const READY_TIMEOUT_MS = 60_000;

const childScript = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** The log as the acknowledged steps left it. */
interface Model {
  /** The log start: entries from offset + 1 on are held. */
  offset: number;
  /** The term of each held entry, from offset + 1. */
  terms: number[];
  /** `term:vote:commit` (vote 0 for none), or `-` before the first hard state. */
  hardState: string;
  snapshot: { index: number; term: number };
}

interface WriteStep {
  from: number;
  count: number;
  term: number;
  hardState: string;
}

interface CompactionStep {
  index: number;
  term: number;
  compactTo: number;
}

/** What one child printed: acknowledged steps applied to the model, and what was in flight. */
interface Run {
  acked: number;
  write: WriteStep | null;
  compaction: CompactionStep | null;
}

function cloneModel(model: Model): Model {
  return { ...model, terms: [...model.terms], snapshot: { ...model.snapshot } };
}

function applyWrite(model: Model, write: WriteStep): void {
  if (write.count > 0) {
    model.terms.length = write.from - model.offset - 1;
    for (let i = 0; i < write.count; i++) model.terms.push(write.term);
  }
  if (write.hardState !== '-') model.hardState = write.hardState;
}

function applyCompaction(model: Model, compaction: CompactionStep): void {
  model.snapshot = { index: compaction.index, term: compaction.term };
  if (compaction.compactTo > model.offset) {
    model.terms.splice(0, compaction.compactTo - model.offset);
    model.offset = compaction.compactTo;
  }
}

/** Applies the acknowledged steps of `output` (complete lines only) to `model`. */
function replay(model: Model, output: string): Run {
  const lines = output.split('\n');
  lines.pop(); // empty, or a line the kill cut short
  const run: Run = { acked: 0, write: null, compaction: null };
  for (const line of lines) {
    const [kind, ...fields] = line.split(' ');
    if (kind === 'bw') {
      const [from, count, term, hardState] = fields;
      run.write = {
        from: Number(from),
        count: Number(count),
        term: Number(term),
        hardState: String(hardState),
      };
    } else if (kind === 'aw' && run.write !== null) {
      applyWrite(model, run.write);
      run.write = null;
      run.acked++;
    } else if (kind === 'bc') {
      const [index, term, compactTo] = fields.map(Number);
      run.compaction = { index: Number(index), term: Number(term), compactTo: Number(compactTo) };
    } else if (kind === 'ac' && run.compaction !== null) {
      applyCompaction(model, run.compaction);
      run.compaction = null;
      run.acked++;
    }
  }
  return run;
}

/** What the reopened folder holds, in the model's terms. */
async function observe(log: LevelLog): Promise<Model> {
  const { term, vote, commit } = log.initialState().hardState;
  const { index: snapshotIndex, term: snapshotTerm } = log.snapshot().metadata;
  const offset = log.firstIndex() - 1;
  const last = log.lastIndex();
  const stored = (await readAll(log, offset + 1, last + 1)) ?? [];
  expect(stored.length, 'entries from the log start to the last index').toBe(last - offset);
  const terms: number[] = [];
  for (const entry of stored) {
    expect(entry, `entry ${entry.index}`).toEqual(crashEntry(entry.index, entry.term));
    terms.push(entry.term);
  }
  if (snapshotIndex > 0) {
    const data = log.snapshot().data;
    const expected = crashSnapshotData(snapshotIndex, snapshotTerm, data.length);
    expect(Buffer.compare(data, expected), `snapshot ${snapshotIndex} data`).toBe(0);
  }
  const hardState =
    term === 0 && commit === 0 && vote === null ? '-' : `${term}:${vote ?? 0}:${commit}`;
  return { offset, terms, hardState, snapshot: { index: snapshotIndex, term: snapshotTerm } };
}

/**
 * The acknowledged state, with or without the write in flight (whole) and with or without the
 * compaction in flight: the one the folder holds, or null when it holds none of them.
 */
function match(model: Model, run: Run, found: Model): Model | null {
  for (const withWrite of run.write === null ? [false] : [false, true]) {
    for (const withCompaction of run.compaction === null ? [false] : [false, true]) {
      const candidate = cloneModel(model);
      if (withWrite && run.write !== null) applyWrite(candidate, run.write);
      if (withCompaction && run.compaction !== null) applyCompaction(candidate, run.compaction);
      if (JSON.stringify(candidate) === JSON.stringify(found)) return candidate;
    }
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A started child, modules loaded, waiting for `go` before it opens the folder. */
interface Prepared {
  child: ChildProcess;
  loaded: Promise<void>;
  ready: Promise<void>;
  closed: Promise<unknown>;
  output(): string;
  errors(): string;
  /** Resolves once `count` lines of output start with `prefix`. */
  printed(prefix: string, count: number): Promise<void>;
}

/** Counts the lines of `output` that start with `prefix`. */
function linesStarting(output: string, prefix: string): number {
  let count = 0;
  for (const line of output.split('\n')) if (line.startsWith(prefix)) count++;
  return count;
}

function prepare(dir: string, childSeed: number): Prepared {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', childScript, dir, String(childSeed)],
    { cwd: packageDir, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  let errors = '';
  let loaded: () => void = () => undefined;
  let ready: () => void = () => undefined;
  const watchers = new Set<() => void>();
  const prepared: Prepared = {
    child,
    loaded: new Promise<void>((resolve) => {
      loaded = resolve;
    }),
    ready: new Promise<void>((resolve) => {
      ready = resolve;
    }),
    closed: once(child, 'close'),
    output: () => output,
    errors: () => errors,
    printed: (prefix, count) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (linesStarting(output, prefix) < count) return;
          watchers.delete(check);
          resolve();
        };
        watchers.add(check);
        check();
      }),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (output.includes('loaded\n')) loaded();
    if (output.includes('ready\n')) ready();
    for (const check of [...watchers]) check();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    errors += chunk;
  });
  return prepared;
}

/** Within READY_TIMEOUT_MS, or the child is killed and the test fails with its stderr. */
async function waitFor(prepared: Prepared, what: Promise<void>, name: string): Promise<void> {
  const timeout = sleep(READY_TIMEOUT_MS).then(() => 'timeout' as const);
  const outcome = await Promise.race([
    what.then(() => 'ok' as const),
    prepared.closed.then(() => 'exited' as const),
    timeout,
  ]);
  if (outcome !== 'ok') {
    prepared.child.kill('SIGKILL');
    throw new Error(`child not ${name} (${outcome}): ${prepared.errors()}`);
  }
}

/**
 * When to kill: after the child printed `count` lines starting with `prefix` (`aw` for a write
 * acknowledged, `bc` for a compaction begun; count 0: once ready), then `delayMs` more.
 */
interface KillPoint {
  prefix: string;
  count: number;
  delayMs: number;
}

/** Kill points tied to the child's progress, so they land mid-write on a slow machine too. */
function drawKillPoint(random: Random): KillPoint {
  const roll = random.nextInt(100);
  if (roll < 45) {
    return {
      prefix: 'aw',
      count: random.nextInt(ACKS_BEFORE_KILL_MAX + 1),
      delayMs: random.nextInt(KILL_JITTER_MS + 1),
    };
  }
  if (roll < 85) {
    // The snapshot file is being written and fsynced, or its batch is queued or landing.
    return { prefix: 'bc', count: 1, delayMs: random.nextInt(KILL_JITTER_MS + 1) };
  }
  return { prefix: 'ready', count: 1, delayMs: random.nextInt(KILL_DELAY_MAX_MS + 1) };
}

/** Lets a loaded child open the folder, kills it at `point`, returns its output. */
async function runAndKill(prepared: Prepared, point: KillPoint): Promise<string> {
  await waitFor(prepared, prepared.loaded, 'loaded');
  prepared.child.stdin?.write('go\n');
  await waitFor(prepared, prepared.ready, 'ready');
  await waitFor(
    prepared,
    prepared.printed(point.prefix, point.count),
    `at ${point.prefix} ${point.count}`,
  );
  await sleep(point.delayMs);
  prepared.child.kill('SIGKILL');
  await prepared.closed;
  if (prepared.errors().length > 0) throw new Error(`child failed: ${prepared.errors()}`);
  return prepared.output();
}

describe('LevelLog under SIGKILL', () => {
  it(
    `keeps every acknowledged write and snapshot across ${KILLS} kills (seed ${seed})`,
    async () => {
      const dir = temp.make();
      const random = seededRandom(seed);
      let model: Model = { offset: 0, terms: [], hardState: '-', snapshot: { index: 0, term: 0 } };
      const kills = { withAcks: 0, inWrite: 0, inTruncation: 0, inHardState: 0, inCompaction: 0 };
      let next = prepare(dir, seed * 1000);
      try {
        for (let kill = 0; kill < KILLS; kill++) {
          const current = next;
          const runPromise = runAndKill(current, drawKillPoint(random));
          // The next child loads while this one runs; it opens nothing until told to.
          if (kill + 1 < KILLS) next = prepare(dir, seed * 1000 + kill + 1);
          const output = await runPromise;
          const acknowledged = cloneModel(model);
          const run = replay(acknowledged, output);
          if (run.acked > 0) kills.withAcks++;
          if (run.write !== null) {
            kills.inWrite++;
            if (
              run.write.count > 0 &&
              run.write.from <= acknowledged.offset + acknowledged.terms.length
            )
              kills.inTruncation++;
            if (run.write.hardState !== '-') kills.inHardState++;
          }
          if (run.compaction !== null) kills.inCompaction++;
          const log = await LevelLog.open({ dir, clusterId: CRASH_CLUSTER, nodeId: CRASH_NODE });
          try {
            const found = await observe(log);
            const matched = match(acknowledged, run, found);
            expect(
              matched,
              `kill ${kill} (seed ${seed}): the folder holds ${JSON.stringify(found)}, ` +
                `acknowledged ${JSON.stringify(acknowledged)}, in flight ${JSON.stringify(run)}`,
            ).not.toBeNull();
            model = matched ?? model;
          } finally {
            await log.close();
          }
        }
      } finally {
        // A child started ahead of a failed iteration must not outlive the test.
        next.child.kill('SIGKILL');
      }
      console.log(`crash test (seed ${seed}): ${JSON.stringify(kills)}`);
      // The kills landed while the child was writing and switching snapshots, not only before
      // its first write.
      // (About 40% of the kill points come before the first acknowledged write of their
      // child: at its start, or at a compaction it begins first.)
      expect(kills.withAcks).toBeGreaterThan(KILLS / 4);
      expect(kills.inWrite).toBeGreaterThan(KILLS / 2);
      expect(kills.inCompaction).toBeGreaterThan(KILLS / 4);
    },
    TEST_TIMEOUT_MS,
  );
});
