// The process the crash test kills. It loads, prints `loaded`, and waits for a line on stdin
// (the parent starts the next child while the current one runs, hiding start-up time), then
// opens the LevelLog in the folder it is given, prints `ready`, and drives it like a node's
// Ready loop would, forever, with a seeded mix of steps, each write awaited before the next:
// appends at the end; suffix truncations (a new term replaces entries above the commit index,
// with the hard state of that term in the same write); hard-state-only writes (commit, term,
// vote); and, one at a time in the background while the writes go on, compactions to the
// commit index with a snapshot file of 128 KiB to 1 MiB. Before a write or compaction starts
// it prints what it is (`bw ...`, `bc ...`), and after it resolves `aw` or `ac` (the point at
// which a node would acknowledge it as durable); stdout to a pipe is synchronous on Linux, so a
// step printed as begun may have reached the disk and one not printed has not. Entry i of term
// t and the snapshot at i encode i and t (crashEntry, crashSnapshotData), so the parent checks
// content as well as position. Not a test file itself.
import {
  type Entry,
  type HardState,
  type LogIndex,
  nodeId,
  type Random,
  seededRandom,
  type Term,
} from '@cairn/raft';
import { LevelLog } from '../src/index.js';

export const CRASH_CLUSTER = 'crash';
export const CRASH_NODE = nodeId(1);
/** Entries per append: 1 to this many, so kills land in batches of different sizes. */
const BATCH_ENTRIES_MAX = 8;
/** Entries a truncation writes in place of the suffix it replaces. */
const TRUNCATION_ENTRIES_MAX = 4;
/** A compaction starts once the commit index is this far past the snapshot. */
const COMPACTION_ENTRIES_MIN = 16;
/** Entries kept below a compaction's snapshot: 0 to this many. */
const COMPACTION_RETAINED_MAX = 20;
const SNAPSHOT_BYTES_MIN = 128 * 1024;
const SNAPSHOT_BYTES_MAX = 1024 * 1024;

export function crashEntry(index: number, term: number): Entry {
  const data = new Uint8Array(16);
  new DataView(data.buffer).setFloat64(0, index);
  new DataView(data.buffer).setFloat64(8, index * 7 + term);
  return { index: index as LogIndex, term: term as Term, type: 'normal', data };
}

/** A snapshot image of `bytes` for index and term: a header naming both, then a fill byte. */
export function crashSnapshotData(index: number, term: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes).fill((index * 31 + term) & 0xff);
  new DataView(data.buffer).setFloat64(0, index);
  new DataView(data.buffer).setFloat64(8, term);
  return data;
}

function hardStateText(hardState: HardState | undefined): string {
  if (hardState === undefined) return '-';
  return `${hardState.term}:${hardState.vote ?? 0}:${hardState.commit}`;
}

/** The child's view of the log, kept as it writes (the log itself answers the same). */
interface State {
  last: number;
  term: number;
  vote: boolean;
  commit: number;
  snapshotIndex: number;
  compacting: boolean;
}

async function step(log: LevelLog, state: State, random: Random): Promise<void> {
  const roll = random.nextInt(100);
  if (!state.compacting && state.commit - state.snapshotIndex >= COMPACTION_ENTRIES_MIN) {
    startCompaction(log, state, random);
  }
  let entries: Entry[] = [];
  let hardState: HardState | undefined;
  if (roll < 20 && state.last > state.commit) {
    // A new leader's entries replace the uncommitted suffix from `from` on.
    const from = state.commit + 1 + random.nextInt(state.last - state.commit);
    state.term++;
    const count = 1 + random.nextInt(TRUNCATION_ENTRIES_MAX);
    for (let i = 0; i < count; i++) entries.push(crashEntry(from + i, state.term));
    state.last = from + count - 1;
    state.vote = random.nextInt(2) === 0;
    hardState = {
      term: state.term as Term,
      vote: state.vote ? CRASH_NODE : null,
      commit: state.commit as LogIndex,
    };
  } else if (roll < 45 && state.last > state.commit) {
    // Only the hard state: the commit index moves (sometimes with a new term or vote).
    state.commit += 1 + random.nextInt(state.last - state.commit);
    if (random.nextInt(4) === 0) state.term++;
    state.vote = random.nextInt(2) === 0;
    hardState = {
      term: state.term as Term,
      vote: state.vote ? CRASH_NODE : null,
      commit: state.commit as LogIndex,
    };
  } else {
    const count = 1 + random.nextInt(BATCH_ENTRIES_MAX);
    entries = [];
    for (let i = 1; i <= count; i++) entries.push(crashEntry(state.last + i, state.term));
    state.last += count;
  }
  const from = entries[0]?.index ?? 0;
  process.stdout.write(`bw ${from} ${entries.length} ${state.term} ${hardStateText(hardState)}\n`);
  await log.write({ entries, ...(hardState === undefined ? {} : { hardState }), sync: true });
  process.stdout.write('aw\n');
}

function startCompaction(log: LevelLog, state: State, random: Random): void {
  const index = state.commit;
  const term = log.term(index as LogIndex);
  if (term === null) throw new Error(`no term for commit index ${index}`);
  const compactTo = Math.max(
    state.snapshotIndex,
    index - random.nextInt(COMPACTION_RETAINED_MAX + 1),
  );
  const bytes = SNAPSHOT_BYTES_MIN + random.nextInt(SNAPSHOT_BYTES_MAX - SNAPSHOT_BYTES_MIN + 1);
  const data = crashSnapshotData(index, term, bytes);
  const metadata = { ...log.snapshot().metadata, index: index as LogIndex, term };
  state.compacting = true;
  process.stdout.write(`bc ${index} ${term} ${compactTo}\n`);
  log.compact({ metadata, data }, compactTo as LogIndex).then(
    () => {
      state.compacting = false;
      state.snapshotIndex = index;
      process.stdout.write(`ac ${index}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`compaction failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

async function main(): Promise<void> {
  const [dir, seedText] = process.argv.slice(2);
  if (dir === undefined || seedText === undefined)
    throw new Error('usage: crash-child <dir> <seed>');
  const random = seededRandom(Number(seedText));
  process.stdout.write('loaded\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.pause();
  const log = await LevelLog.open({ dir, clusterId: CRASH_CLUSTER, nodeId: CRASH_NODE });
  const { hardState } = log.initialState();
  const last = log.lastIndex();
  const state: State = {
    last,
    term: Math.max(hardState.term, log.term(last as LogIndex) ?? 0, 1),
    vote: hardState.vote !== null,
    commit: hardState.commit,
    snapshotIndex: log.snapshot().metadata.index,
    compacting: false,
  };
  process.stdout.write('ready\n');
  for (;;) await step(log, state, random);
}

if (process.argv[1]?.endsWith('crash-child.ts')) await main();
