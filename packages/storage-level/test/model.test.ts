// LevelLog against MemoryStorage as the oracle: a seeded random history of appends (most of
// them truncating a suffix at a random point, some larger than one segment), compactions that
// keep a tail, snapshot installs, hard-state writes and reopenings is applied to both, and the
// whole read view must agree after every step. This is what exercises the segment bookkeeping
// (truncation inside a segment, a segment straddling the log start) far beyond the hand-written
// cases. The sibling test plants a bug (a reopen that forgets one truncation) and shows the
// comparison catches it, so the oracle is not blind. A third run uses a tiny cache (cacheBytes
// 64, readAheadBytes 32): most reads of committed entries then answer 'unavailable', and the
// comparison reads through them (wait for the listener, ask again), so it drives the miss, load,
// notify, retry loop across truncations, compactions, snapshot installs and reopenings, with
// some reads left loading while the next step writes (what they bring may be stale). There
// the uncommitted tail must always be served at once, and the in-memory view must stay
// consistent (assertInvariants) after every step.
import {
  type Entry,
  type HardState,
  type LogIndex,
  type LogStorage,
  MemoryStorage,
  type NodeId,
  nodeId,
  type Random,
  type Snapshot,
  seededRandom,
  type Term,
} from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelLog } from '../src/index.js';
import { TempDirs } from './helpers.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);
/** Steps per history. */
const STEPS = 300;
/** Occasionally a write this long, so it spans several segments (1024 entries each). */
const LONG_WRITE_ENTRIES = 2_100;

const temp = new TempDirs();
afterEach(() => temp.cleanup());

function entry(index: number, term: number): Entry {
  return {
    index: index as LogIndex,
    term: term as Term,
    type: 'normal',
    data: Uint8Array.of(index & 0xff, term & 0xff),
  };
}

/** Everything the read view answers; `readAll` reads the whole log (through misses). */
async function view(
  log: LogStorage,
  readAll: (lo: number, hi: number) => Promise<Entry[] | null>,
): Promise<unknown[]> {
  const first = log.firstIndex();
  const last = log.lastIndex();
  const terms: (Term | null)[] = [];
  for (let i = Math.max(0, first - 2); i <= last + 1; i++) terms.push(log.term(i as LogIndex));
  return [first, last, terms, await readAll(first, last + 1), log.initialState(), log.snapshot()];
}

function modelView(model: MemoryStorage): Promise<unknown[]> {
  return view(model, async (lo, hi) =>
    model.entries(lo as LogIndex, hi as LogIndex, Number.MAX_SAFE_INTEGER),
  );
}

/** Reads a LevelLog as the core would: on 'unavailable', wait for the listener and ask again. */
class Reader {
  misses = 0;
  private wake: (() => void) | null = null;

  constructor(readonly log: LevelLog) {
    log.onAvailable(() => this.wake?.());
  }

  async read(lo: number, hi: number): Promise<Entry[] | null> {
    for (let loads = 0; loads < LOADS_PER_READ_MAX; loads++) {
      const result = this.log.entries(lo as LogIndex, hi as LogIndex, Number.MAX_SAFE_INTEGER);
      if (result !== 'unavailable') return result;
      this.misses++;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    throw new Error(`entries(${lo}, ${hi}) still unavailable after ${LOADS_PER_READ_MAX} loads`);
  }

  async readAll(lo: number, hi: number): Promise<Entry[] | null> {
    const all: Entry[] = [];
    for (let next = lo; next < hi; ) {
      const part = await this.read(next, hi);
      if (part === null) return next === lo ? null : all;
      all.push(...part);
      next += part.length;
    }
    return all;
  }

  view(): Promise<unknown[]> {
    return view(this.log, (lo, hi) => this.readAll(lo, hi));
  }
}

const LOADS_PER_READ_MAX = 10_000;

interface Options {
  /** Plants a bug: after this step, the reopened log is compared with the pre-truncation model. */
  readonly plantStaleReopen?: boolean;
  /** LevelLog's cache options (defaults otherwise). */
  readonly cacheBytes?: number;
  readonly readAheadBytes?: number;
  /** Starts reads from disk that run concurrently with the next step's write. */
  readonly raceReads?: boolean;
  /** Lets appends replace committed entries (beyond the contract, to stress the caches). */
  readonly truncateCommitted?: boolean;
}

interface History {
  truncations: number;
  /** 'unavailable' answers met while comparing. */
  misses: number;
}

/** Runs one history; returns how much truncating and missing it did (to show it bites). */
async function runHistory(random: Random, options: Options = {}): Promise<History> {
  const dir = temp.make();
  const open = (): Promise<LevelLog> =>
    LevelLog.open({
      dir,
      clusterId: 'model',
      nodeId: nodeId(1),
      ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
      ...(options.readAheadBytes === undefined ? {} : { readAheadBytes: options.readAheadBytes }),
    });
  let log = await open();
  let reader = new Reader(log);
  let misses = 0;
  let model = new MemoryStorage();
  let term = 1;
  let truncations = 0;
  let previousModel: MemoryStorage | null = null;
  try {
    for (let step = 0; step < STEPS; step++) {
      const roll = random.nextInt(100);
      const offset = model.firstIndex() - 1;
      const last = model.lastIndex();
      const committed = Math.max(offset, model.initialState().hardState.commit);
      if (options.raceReads === true && last > offset && random.nextInt(3) === 0) {
        // A read that misses now loads while this step writes: a truncation, compaction or
        // snapshot install may make what it brings stale (ignore the answer: only loading counts).
        const lo = offset + 1 + random.nextInt(last - offset);
        log.entries(lo as LogIndex, (lo + 1) as LogIndex, Number.MAX_SAFE_INTEGER);
      }
      if (roll < 60) {
        // Never at or below the snapshot: it covers committed entries, which are never replaced
        // (LevelLog asserts it). Nor at or below the commit index, unless the run checks that
        // LevelLog's caches stay right even so (the core never does it).
        const lowest = options.truncateCommitted === true ? offset : committed;
        const floor = Math.max(lowest, model.snapshot().metadata.index) + 1;
        const from = Math.max(floor, last + 1 - random.nextInt(12));
        const count = random.nextInt(50) === 0 ? LONG_WRITE_ENTRIES : 1 + random.nextInt(30);
        if (from <= last) {
          term++;
          truncations++;
        }
        const entries: Entry[] = [];
        for (let i = 0; i < count; i++) entries.push(entry(from + i, term));
        if (options.plantStaleReopen === true && from <= last && previousModel === null) {
          previousModel = copyOf(model);
        }
        await log.write({ entries, sync: random.nextInt(2) === 0 });
        model.write({ entries });
      } else if (roll < 75 && last > offset) {
        const index = offset + 1 + random.nextInt(last - offset);
        const compactTo = Math.max(offset, index - random.nextInt(8));
        const snapshot: Snapshot = {
          metadata: {
            index: index as LogIndex,
            term: model.term(index as LogIndex) as Term,
            confState: {
              voters: [nodeId(1)],
              votersOutgoing: [],
              learners: [],
              learnersNext: [],
              autoLeave: false,
            },
          },
          data: Uint8Array.of(step & 0xff),
        };
        await log.compact(snapshot, compactTo as LogIndex);
        model.compact(snapshot, compactTo as LogIndex);
      } else if (roll < 80) {
        term++;
        const snapshot: Snapshot = {
          metadata: {
            index: (last + random.nextInt(5)) as LogIndex,
            term: term as Term,
            confState: {
              voters: [nodeId(1), nodeId(2)],
              votersOutgoing: [],
              learners: [],
              learnersNext: [],
              autoLeave: false,
            },
          },
          data: Uint8Array.of(1, 2, step & 0xff),
        };
        await log.write({ snapshot, entries: [], sync: true });
        model.write({ snapshot, entries: [] });
      } else if (roll < 90) {
        // Anywhere from the last commit index on (it never moves back), so a small cache
        // evicts below it.
        const hardState: HardState = {
          term: term as Term,
          vote: (1 + random.nextInt(3)) as NodeId,
          commit: (committed + random.nextInt(last - committed + 1)) as LogIndex,
        };
        await log.write({ hardState, entries: [], sync: true });
        model.write({ hardState, entries: [] });
      } else {
        await log.close();
        misses += reader.misses;
        log = await open();
        reader = new Reader(log);
        if (previousModel !== null) {
          model = previousModel;
          previousModel = null;
        }
      }
      log.assertInvariants();
      // Entries above the commit index are served at once, whatever the cache size.
      const commit = Math.min(
        Math.max(log.initialState().hardState.commit, log.firstIndex() - 1),
        log.lastIndex(),
      );
      const tail = log.entries((commit + 1) as LogIndex, (log.lastIndex() + 1) as LogIndex, 1e15);
      expect(tail, `seed ${seed}, step ${step}: tail above ${commit}`).not.toBe('unavailable');
      expect(await reader.view(), `seed ${seed}, step ${step}`).toEqual(await modelView(model));
    }
  } finally {
    await log.close();
  }
  return { truncations, misses: misses + reader.misses };
}

/** A MemoryStorage with the same read view (rebuilt through its own writes). */
function copyOf(source: MemoryStorage): MemoryStorage {
  const copy = new MemoryStorage();
  const offset = source.firstIndex() - 1;
  if (offset > 0) {
    copy.write({
      snapshot: {
        metadata: {
          index: offset as LogIndex,
          term: source.term(offset as LogIndex) as Term,
          confState: source.snapshot().metadata.confState,
        },
        data: new Uint8Array(0),
      },
      entries: [],
    });
  }
  const entries =
    source.entries(
      (offset + 1) as LogIndex,
      (source.lastIndex() + 1) as LogIndex,
      Number.MAX_SAFE_INTEGER,
    ) ?? [];
  copy.write({ entries, hardState: source.initialState().hardState });
  if (source.snapshot().metadata.index > offset)
    copy.compact(source.snapshot(), offset as LogIndex);
  return copy;
}

describe('LevelLog against the MemoryStorage oracle', () => {
  it(`agrees after every step of a random history (seed ${seed})`, async () => {
    const { truncations } = await runHistory(seededRandom(seed));
    expect(truncations).toBeGreaterThan(STEPS / 10);
  });

  it(`agrees through cache misses with a tiny cache (seed ${seed})`, async () => {
    const history = await runHistory(seededRandom(seed), {
      cacheBytes: 64,
      readAheadBytes: 32,
      raceReads: true,
      truncateCommitted: true,
    });
    expect(history.truncations).toBeGreaterThan(STEPS / 10);
    expect(history.misses).toBeGreaterThan(STEPS / 10);
  });

  it('catches a planted bug: a model that still holds a truncated suffix', async () => {
    await expect(runHistory(seededRandom(seed), { plantStaleReopen: true })).rejects.toThrow(
      /step/,
    );
  });
});
