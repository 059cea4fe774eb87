// LevelLog against MemoryStorage as the oracle: a seeded random history of appends (most of
// them truncating a suffix at a random point, some larger than one segment), compactions that
// keep a tail, snapshot installs, hard-state writes and reopenings is applied to both, and the
// whole read view must agree after every step. This is what exercises the segment bookkeeping
// (truncation inside a segment, a segment straddling the log start) far beyond the hand-written
// cases. The sibling test plants a bug (a reopen that forgets one truncation) and shows the
// comparison catches it, so the oracle is not blind.
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

function view(log: LogStorage): unknown[] {
  const first = log.firstIndex();
  const last = log.lastIndex();
  const terms: (Term | null)[] = [];
  for (let i = Math.max(0, first - 2); i <= last + 1; i++) terms.push(log.term(i as LogIndex));
  return [
    first,
    last,
    terms,
    log.entries(first, (last + 1) as LogIndex, Number.MAX_SAFE_INTEGER),
    log.initialState(),
    log.snapshot(),
  ];
}

interface Options {
  /** Plants a bug: after this step, the reopened log is compared with the pre-truncation model. */
  readonly plantStaleReopen?: boolean;
}

/** Runs one history; returns the number of truncating appends (to show the history bites). */
async function runHistory(random: Random, options: Options = {}): Promise<number> {
  const dir = temp.make();
  const open = (): Promise<LevelLog> =>
    LevelLog.open({ dir, clusterId: 'model', nodeId: nodeId(1) });
  let log = await open();
  let model = new MemoryStorage();
  let term = 1;
  let truncations = 0;
  let previousModel: MemoryStorage | null = null;
  try {
    for (let step = 0; step < STEPS; step++) {
      const roll = random.nextInt(100);
      const offset = model.firstIndex() - 1;
      const last = model.lastIndex();
      if (roll < 60) {
        // Never below the snapshot: it covers committed entries, which are never replaced
        // (LevelLog asserts it).
        const floor = Math.max(offset, model.snapshot().metadata.index) + 1;
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
        const hardState: HardState = {
          term: term as Term,
          vote: (1 + random.nextInt(3)) as NodeId,
          commit: offset as LogIndex,
        };
        await log.write({ hardState, entries: [], sync: true });
        model.write({ hardState, entries: [] });
      } else {
        await log.close();
        log = await open();
        if (previousModel !== null) {
          model = previousModel;
          previousModel = null;
        }
      }
      expect(view(log), `seed ${seed}, step ${step}`).toEqual(view(model));
    }
  } finally {
    await log.close();
  }
  return truncations;
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
    const truncations = await runHistory(seededRandom(seed));
    expect(truncations).toBeGreaterThan(STEPS / 10);
  });

  it('catches a planted bug: a model that still holds a truncated suffix', async () => {
    await expect(runHistory(seededRandom(seed), { plantStaleReopen: true })).rejects.toThrow(
      /step/,
    );
  });
});
