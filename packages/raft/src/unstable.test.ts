// Proves the unpersisted tail of the log: what it answers for first index, last index and term
// with and without a pending snapshot; that stableTo drops only entries that were persisted and
// not replaced meanwhile; that truncateAndAppend handles its three cases (append at the end,
// replace the whole tail, cut inside the tail) and refuses a gap; and that slice stays inside the
// tail. Each case builds an Unstable by hand and checks the entries by (term, index).
import { describe, expect, it } from 'vitest';
import { RaftAssertionError } from './assert.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

const at = (value: number): LogIndex => value as LogIndex;
const termOf = (value: number): Term => value as Term;

function entry(term: number, index: number): Entry {
  return { term: term as Term, index: index as LogIndex, type: 'normal', data: new Uint8Array() };
}

/** Entries from `first` on, one per term in `terms`. */
function run(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => entry(term, first + i));
}

function snapshot(index: number, term: number): Snapshot {
  return {
    metadata: {
      index: index as LogIndex,
      term: term as Term,
      confState: {
        voters: [1 as NodeId],
        votersOutgoing: [],
        learners: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
    data: new Uint8Array(),
  };
}

function unstableWith(offset: number, ...terms: number[]): Unstable {
  const unstable = new Unstable(at(offset));
  if (terms.length > 0) unstable.truncateAndAppend(run(offset, ...terms));
  return unstable;
}

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

const pairs = (entries: readonly Entry[]): string[] => entries.map((e) => `${e.term}/${e.index}`);

describe('Unstable', () => {
  describe('indices and terms', () => {
    it('knows no first or last index when empty', () => {
      const unstable = new Unstable(at(5));
      expect(unstable.maybeFirstIndex()).toBeNull();
      expect(unstable.maybeLastIndex()).toBeNull();
      expect(unstable.maybeTerm(at(4))).toBeNull();
    });

    it('reports the last entry as last index', () => {
      const unstable = unstableWith(5, 1, 1, 2);
      expect(unstable.maybeLastIndex()).toBe(7);
      expect(unstable.maybeFirstIndex()).toBeNull();
    });

    it('answers terms of its own entries only', () => {
      const unstable = unstableWith(5, 1, 2);
      expect(unstable.maybeTerm(at(5))).toBe(1);
      expect(unstable.maybeTerm(at(6))).toBe(2);
      expect(unstable.maybeTerm(at(4))).toBeNull();
      expect(unstable.maybeTerm(at(7))).toBeNull();
    });

    it('takes first and last index and a term from a pending snapshot', () => {
      const unstable = new Unstable(at(1));
      unstable.restore(snapshot(10, 3));
      expect(unstable.maybeFirstIndex()).toBe(11);
      expect(unstable.maybeLastIndex()).toBe(10);
      expect(unstable.maybeTerm(at(10))).toBe(3);
      expect(unstable.maybeTerm(at(9))).toBeNull();
    });

    it('prefers entries after a pending snapshot for the last index', () => {
      const unstable = new Unstable(at(1));
      unstable.restore(snapshot(10, 3));
      unstable.truncateAndAppend(run(11, 3, 4));
      expect(unstable.maybeLastIndex()).toBe(12);
      expect(unstable.maybeFirstIndex()).toBe(11);
    });
  });

  describe('stableTo', () => {
    it('drops the persisted prefix and moves the offset', () => {
      const unstable = unstableWith(5, 1, 1, 2);
      unstable.stableTo(at(6), termOf(1));
      expect(unstable.offset).toBe(7);
      expect(pairs(unstable.entries)).toEqual(['2/7']);
    });

    it('ignores an index whose entry was replaced with another term', () => {
      const unstable = unstableWith(5, 1, 1);
      unstable.truncateAndAppend(run(6, 2));
      unstable.stableTo(at(6), termOf(1));
      expect(unstable.offset).toBe(5);
      expect(pairs(unstable.entries)).toEqual(['1/5', '2/6']);
    });

    it('ignores an index below the offset', () => {
      const unstable = unstableWith(5, 1);
      unstable.stableTo(at(4), termOf(1));
      expect(unstable.offset).toBe(5);
      expect(unstable.entries).toHaveLength(1);
    });

    it('ignores the snapshot index, which is not an entry of the tail', () => {
      const unstable = new Unstable(at(1));
      unstable.restore(snapshot(10, 3));
      unstable.stableTo(at(10), termOf(3));
      expect(unstable.offset).toBe(11);
      expect(unstable.snapshot).not.toBeNull();
    });

    it('drops a persisted snapshot only when the index matches', () => {
      const unstable = new Unstable(at(1));
      unstable.restore(snapshot(10, 3));
      unstable.stableSnapshotTo(at(9));
      expect(unstable.snapshot).not.toBeNull();
      unstable.stableSnapshotTo(at(10));
      expect(unstable.snapshot).toBeNull();
    });
  });

  describe('truncateAndAppend', () => {
    it('appends directly after the tail', () => {
      const unstable = unstableWith(5, 1, 1);
      unstable.truncateAndAppend(run(7, 2, 2));
      expect(unstable.offset).toBe(5);
      expect(pairs(unstable.entries)).toEqual(['1/5', '1/6', '2/7', '2/8']);
    });

    it('replaces the whole tail when the new entries start at the offset', () => {
      const unstable = unstableWith(5, 1, 1);
      unstable.truncateAndAppend(run(5, 2));
      expect(unstable.offset).toBe(5);
      expect(pairs(unstable.entries)).toEqual(['2/5']);
    });

    it('moves the offset back when the new entries start below it', () => {
      const unstable = unstableWith(5, 1, 1);
      unstable.truncateAndAppend(run(3, 2, 2));
      expect(unstable.offset).toBe(3);
      expect(pairs(unstable.entries)).toEqual(['2/3', '2/4']);
    });

    it('cuts the tail inside and appends after the kept part', () => {
      const unstable = unstableWith(5, 1, 1, 1, 1);
      unstable.truncateAndAppend(run(7, 3, 3, 3));
      expect(unstable.offset).toBe(5);
      expect(pairs(unstable.entries)).toEqual(['1/5', '1/6', '3/7', '3/8', '3/9']);
    });

    it("keeps its own copy, never the caller's array", () => {
      for (const offset of [5, 3]) {
        const unstable = unstableWith(5, 1);
        const incoming = run(offset, 2);
        unstable.truncateAndAppend(incoming);
        const before = pairs(unstable.entries);
        incoming.push(entry(9, 99));
        incoming[0] = entry(9, offset);
        expect(pairs(unstable.entries)).toEqual(before);
      }
    });

    it('asserts on entries that would leave a gap', () => {
      const unstable = unstableWith(5, 1);
      expectAssertion(() => unstable.truncateAndAppend(run(8, 2)));
    });

    it('restore drops the tail and starts after the snapshot', () => {
      const unstable = unstableWith(5, 1, 1);
      unstable.restore(snapshot(20, 4));
      expect(unstable.offset).toBe(21);
      expect(unstable.entries).toEqual([]);
      expect(unstable.snapshot?.metadata.index).toBe(20);
    });
  });

  describe('slice', () => {
    it('returns entries [lo, hi)', () => {
      const unstable = unstableWith(5, 1, 2, 3);
      expect(pairs(unstable.slice(at(6), at(8)))).toEqual(['2/6', '3/7']);
      expect(unstable.slice(at(6), at(6))).toEqual([]);
    });

    it('asserts on a range starting below the offset', () => {
      expectAssertion(() => unstableWith(5, 1).slice(at(4), at(6)));
    });

    it('asserts on a range ending beyond the tail', () => {
      expectAssertion(() => unstableWith(5, 1).slice(at(5), at(7)));
    });
  });
});
