// Proves the in-memory LogStorage that tests and the simulator rely on: a fresh log's ranges,
// that a write whose entries conflict with the stored suffix truncates it for good (no entry
// comes back later: RELIABILITY §2.1 bug 11), that compaction keeps the term at its boundary
// and the newest snapshot, that installing a snapshot discards the whole log, that entries()
// returns null below the first index and at least one entry under any byte limit, and that
// misuse (gaps, writes below the first index, stale snapshots) trips an assertion. A fast-check
// property replays random writes and compactions against a map model of index → term; its
// sibling plants a write that keeps the old suffix and must be caught.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftAssertionError } from './assert.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import { MemoryStorage, type StorageWrite } from './memory-storage.js';
import type { ConfState, Entry, Snapshot } from './types.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const at = (value: number): LogIndex => value as LogIndex;

function entry(term: number, index: number, dataBytes = 0): Entry {
  return {
    term: term as Term,
    index: index as LogIndex,
    type: 'normal',
    data: new Uint8Array(dataBytes),
  };
}

function run(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => entry(term, first + i));
}

const confState: ConfState = {
  voters: [1, 2, 3] as NodeId[],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

function snapshot(index: number, term: number, state: ConfState = confState): Snapshot {
  return {
    metadata: { index: index as LogIndex, term: term as Term, confState: state },
    data: new Uint8Array([index]),
  };
}

function storageWith(...terms: number[]): MemoryStorage {
  const storage = new MemoryStorage();
  storage.write({ entries: run(1, ...terms) });
  return storage;
}

const pairs = (entries: readonly Entry[] | null): string[] | null =>
  entries === null ? null : entries.map((e) => `${e.term}/${e.index}`);

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

function expectAssertion(action: () => unknown): void {
  const error = caught(action);
  expect(error).toBeInstanceOf(RaftAssertionError);
  expect(error).toMatchObject({ code: 'AssertionFailed' });
}

const steps = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        fromBack: fc.nat(4),
        terms: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('compact' as const),
        pick: fc.nat(),
        keep: fc.nat(2),
      }),
    },
  ),
  { maxLength: 25 },
);

/** Planted bug: entries at indices already stored are skipped instead of overwriting them. */
class StorageKeepsOldSuffix extends MemoryStorage {
  override write(update: StorageWrite): void {
    const last = this.lastIndex();
    super.write({ ...update, entries: update.entries.filter((e) => e.index > last) });
  }
}

function matchesModel(make: () => MemoryStorage) {
  return fc.property(steps, (sequence) => {
    const storage = make();
    let model = new Map<number, number>([[0, 0]]);
    let offset = 0;
    let last = 0;
    let snapshotIndex = 0;
    for (const step of sequence) {
      if (step.kind === 'write') {
        const first = Math.max(offset + 1, last + 1 - step.fromBack);
        storage.write({ entries: run(first, ...step.terms) });
        model = new Map([...model].filter(([index]) => index < first));
        for (const [i, term] of step.terms.entries()) model.set(first + i, term);
        last = first + step.terms.length - 1;
      } else {
        if (last === 0) continue;
        const index = 1 + (step.pick % last);
        const compactTo = Math.max(0, index - step.keep);
        storage.compact(snapshot(index, model.get(index) as number), at(compactTo));
        // A compaction at or below the held snapshot changes nothing.
        if (index <= snapshotIndex) continue;
        snapshotIndex = index;
        if (compactTo > offset) {
          model = new Map([...model].filter(([i]) => i >= compactTo));
          offset = compactTo;
        }
      }
      expect(storage.firstIndex()).toBe(offset + 1);
      expect(storage.lastIndex()).toBe(last);
      for (let index = 0; index <= last + 1; index++) {
        expect(storage.term(at(index))).toBe(model.get(index) ?? null);
      }
    }
  });
}

describe(`MemoryStorage (seed ${seed})`, () => {
  it('starts with first index 1, last index 0 and term(0) = 0', () => {
    const storage = new MemoryStorage();
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(0);
    expect(storage.term(at(0))).toBe(0);
    expect(storage.term(at(1))).toBeNull();
    expect(storage.snapshot().metadata.index).toBe(0);
    expect(storage.initialState().hardState).toEqual({ term: 0, vote: null, commit: 0 });
  });

  it('bootstraps a founding member from a genesis snapshot at index 1, term 1', () => {
    const storage = MemoryStorage.bootstrap(confState);
    expect(storage.initialState().confState).toEqual(confState);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: null, commit: 1 });
    expect(storage.snapshot().metadata).toEqual({ index: 1, term: 1, confState });
    expect(storage.firstIndex()).toBe(2);
    expect(storage.lastIndex()).toBe(1);
    expect(storage.term(at(1))).toBe(1);
  });

  it('stores hard state with the entries of the same write', () => {
    const storage = new MemoryStorage();
    const hardState = { term: 2 as Term, vote: 1 as NodeId, commit: 1 as LogIndex };
    storage.write({ entries: run(1, 2), hardState });
    expect(storage.initialState().hardState).toEqual(hardState);
    expect(storage.lastIndex()).toBe(1);
  });

  describe('write', () => {
    it('appends after the last index', () => {
      const storage = storageWith(1, 1);
      storage.write({ entries: run(3, 2) });
      expect(pairs(storage.entries(at(1), at(4), Number.MAX_SAFE_INTEGER))).toEqual([
        '1/1',
        '1/2',
        '2/3',
      ]);
    });

    it('truncates a conflicting suffix', () => {
      const storage = storageWith(1, 1, 1, 1, 1);
      storage.write({ entries: run(3, 2) });
      expect(storage.lastIndex()).toBe(3);
      expect(storage.term(at(3))).toBe(2);
      expect(storage.term(at(4))).toBeNull();
    });

    it('never resurrects truncated entries on a later append', () => {
      const storage = storageWith(1, 1, 1, 1, 1);
      storage.write({ entries: run(3, 2) });
      storage.write({ entries: run(4, 2) });
      expect(storage.lastIndex()).toBe(4);
      expect(pairs(storage.entries(at(1), at(5), Number.MAX_SAFE_INTEGER))).toEqual([
        '1/1',
        '1/2',
        '2/3',
        '2/4',
      ]);
      expect(storage.term(at(5))).toBeNull();
    });

    it('asserts on a write that leaves a gap', () => {
      const storage = storageWith(1, 1);
      expectAssertion(() => storage.write({ entries: run(4, 1) }));
    });

    it('asserts on a write below the first index', () => {
      const storage = storageWith(1, 1, 1, 1);
      storage.compact(snapshot(3, 1), at(3));
      expectAssertion(() => storage.write({ entries: run(3, 2) }));
    });
  });

  describe('entries', () => {
    it('returns null below the first index', () => {
      const storage = storageWith(1, 1, 1, 1);
      storage.compact(snapshot(2, 1), at(2));
      expect(storage.entries(at(2), at(4), 100)).toBeNull();
      expect(storage.entries(at(1), at(4), 100)).toBeNull();
      expect(pairs(storage.entries(at(3), at(5), 100))).toEqual(['1/3', '1/4']);
    });

    it('returns at least one entry under any byte limit', () => {
      const storage = new MemoryStorage();
      storage.write({ entries: [entry(1, 1, 100), entry(1, 2, 100)] });
      expect(pairs(storage.entries(at(1), at(3), 0))).toEqual(['1/1']);
    });

    it('returns the longest prefix within the byte limit', () => {
      const storage = new MemoryStorage();
      storage.write({ entries: [entry(1, 1, 4), entry(1, 2, 4), entry(1, 3, 4)] });
      expect(pairs(storage.entries(at(1), at(4), 40))).toEqual(['1/1', '1/2']);
      expect(pairs(storage.entries(at(1), at(4), 60))).toEqual(['1/1', '1/2', '1/3']);
    });

    it('asserts on a range beyond the last index', () => {
      expectAssertion(() => storageWith(1, 1).entries(at(1), at(4), 100));
    });
  });

  describe('compact', () => {
    it('keeps the term at the compaction boundary', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(4, 2), at(4));
      expect(storage.firstIndex()).toBe(5);
      expect(storage.lastIndex()).toBe(5);
      expect(storage.term(at(4))).toBe(2);
      expect(storage.term(at(3))).toBeNull();
      expect(storage.snapshot().metadata.index).toBe(4);
    });

    it('can keep a tail below the snapshot index for slow followers', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(4, 2), at(2));
      expect(storage.firstIndex()).toBe(3);
      expect(storage.term(at(2))).toBe(1);
      expect(storage.snapshot().metadata.index).toBe(4);
      expect(pairs(storage.entries(at(3), at(6), 1000))).toEqual(['2/3', '2/4', '3/5']);
    });

    it('keeps the newer snapshot and ignores an older compaction point', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(4, 2), at(4));
      storage.compact(snapshot(3, 2), at(3));
      expect(storage.snapshot().metadata.index).toBe(4);
      expect(storage.firstIndex()).toBe(5);
    });

    it('changes nothing for a snapshot at or below the held one, retained tail included', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(4, 2), at(2));
      storage.compact(snapshot(3, 2), at(3));
      storage.compact(snapshot(4, 2), at(4));
      expect(storage.snapshot().metadata.index).toBe(4);
      expect(storage.firstIndex()).toBe(3);
      expect(storage.term(at(2))).toBe(1);
    });

    it('discards entries up to a point at or below the held snapshot, keeping it', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(4, 2), at(1));
      storage.discardEntriesTo(at(3));
      expect(storage.firstIndex()).toBe(4);
      expect(storage.term(at(3))).toBe(2);
      expect(storage.snapshot().metadata.index).toBe(4);
      storage.discardEntriesTo(at(2));
      expect(storage.firstIndex()).toBe(4);
      expectAssertion(() => storage.discardEntriesTo(at(5)));
    });

    it('asserts on a snapshot beyond the last index', () => {
      expectAssertion(() => storageWith(1, 1).compact(snapshot(3, 1), at(3)));
    });

    it('asserts on compacting beyond the snapshot index', () => {
      expectAssertion(() => storageWith(1, 1, 1).compact(snapshot(2, 1), at(3)));
    });
  });

  describe('snapshot install', () => {
    it('discards the whole log and starts after the snapshot', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      const learnerState = { ...confState, learners: [4] as NodeId[] };
      storage.write({ snapshot: snapshot(3, 2, learnerState), entries: [] });
      expect(storage.firstIndex()).toBe(4);
      expect(storage.lastIndex()).toBe(3);
      expect(storage.term(at(3))).toBe(2);
      expect(storage.term(at(4))).toBeNull();
      expect(storage.entries(at(1), at(4), 100)).toBeNull();
      expect(storage.initialState().confState).toEqual(learnerState);
    });

    it('appends entries of the same write after the snapshot', () => {
      const storage = storageWith(1, 1);
      storage.write({ snapshot: snapshot(10, 3), entries: run(11, 3, 4) });
      expect(storage.firstIndex()).toBe(11);
      expect(storage.lastIndex()).toBe(12);
      expect(storage.term(at(12))).toBe(4);
    });

    it('asserts on a snapshot older than the stored one', () => {
      const storage = new MemoryStorage();
      storage.write({ snapshot: snapshot(10, 3), entries: [] });
      expectAssertion(() => storage.write({ snapshot: snapshot(9, 3), entries: [] }));
    });
  });

  it('matches an index → term model over random writes and compactions', () => {
    fc.assert(
      matchesModel(() => new MemoryStorage()),
      { seed, numRuns: 200 },
    );
  });

  it('the model property catches a write that keeps the old suffix', () => {
    const result = fc.check(
      matchesModel(() => new StorageKeepsOldSuffix()),
      { seed, numRuns: 200 },
    );
    expect(result.failed).toBe(true);
  });
});
