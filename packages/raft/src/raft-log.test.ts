// Proves the log as the core sees it, a MemoryStorage for the durable part plus the Unstable
// tail: the follower side of AppendEntries (matching, conflicts, and a commit index of
// min(leaderCommit, last new entry), so a stale entry past the verified prefix never commits:
// RELIABILITY §2.1 bug 2), findConflict and the fast back-off of findConflictByTerm (also at a
// compacted boundary), appends in all three truncation cases, slices across the stable/unstable
// boundary under byte limits, terms at compacted and snapshot boundaries, restore, the committed
// entries to apply, and the commit and applied assertions. Hand-written cases pin each rule;
// fast-check compares maybeAppend, term() and slice() with array models over random logs split
// between storage and the tail, and each property has a sibling with a planted bug that fails.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftAssertionError } from './assert.js';
import type { LogIndex, NodeId, Term } from './ids.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftLog } from './raft-log.js';
import type { LogStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

const at = (value: number): LogIndex => value as LogIndex;
const termOf = (value: number): Term => value as Term;
const ENTRY_OVERHEAD_BYTES = 16;

function entry(term: number, index: number, dataBytes = 0): Entry {
  return {
    term: term as Term,
    index: index as LogIndex,
    type: 'normal',
    data: new Uint8Array(dataBytes),
  };
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

/** A storage holding entries 1..n with the given terms. */
function storageWith(...terms: number[]): MemoryStorage {
  const storage = new MemoryStorage();
  if (terms.length > 0) storage.write({ entries: run(1, ...terms) });
  return storage;
}

function logWith(...terms: number[]): RaftLog {
  return new RaftLog(storageWith(...terms), null);
}

const pairs = (
  entries: readonly Entry[] | null | 'unavailable',
): string[] | null | 'unavailable' =>
  entries === null || entries === 'unavailable'
    ? entries
    : entries.map((e) => `${e.term}/${e.index}`);

function termsOf(log: RaftLog): (number | null)[] {
  const terms: (number | null)[] = [];
  for (let index = 1; index <= log.lastIndex(); index++) terms.push(log.term(at(index)));
  return terms;
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

/** Planted bug 2 of RELIABILITY §2.1: the follower commits up to its own last index. */
class RaftLogTrustsLeaderCommit extends RaftLog {
  override maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    leaderCommit: LogIndex,
    entries: readonly Entry[],
  ): LogIndex | null {
    const lastNew = super.maybeAppend(prevIndex, prevTerm, at(0), entries);
    if (lastNew !== null) this.commitTo(Math.min(leaderCommit, this.lastIndex()) as LogIndex);
    return lastNew;
  }
}

/** Planted bug: the durable term wins over the tail that replaced it. */
class RaftLogStorageFirst extends RaftLog {
  override term(index: LogIndex): Term | null {
    if (index >= this.firstIndex() - 1 && index <= this.storage.lastIndex()) {
      return this.storage.term(index);
    }
    return super.term(index);
  }
}

/** Planted bug: a range crossing into the tail returns only its durable part. */
class RaftLogForgetsTail extends RaftLog {
  override slice(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null | 'unavailable' {
    const boundary = this.unstable.offset;
    return super.slice(lo, (lo < boundary ? Math.min(hi, boundary) : hi) as LogIndex, bytesMax);
  }
}

type MakeLog = (storage: MemoryStorage) => RaftLog;

/** Non-decreasing terms starting at `from`. */
const termRuns = (from: number, maxLength: number) =>
  fc
    .array(fc.nat(2), { maxLength })
    .map((steps) => steps.map((_, i) => from + steps.slice(0, i + 1).reduce((a, b) => a + b, 0)));

/** A log split between storage (maybe compacted) and an unstable tail that may overwrite it. */
const scenarios = fc
  .record({
    stable: termRuns(1, 10),
    tail: termRuns(4, 6),
    compactPick: fc.nat(),
    overwritePick: fc.nat(),
    sizes: fc.array(fc.nat(40), { minLength: 16, maxLength: 16 }),
  })
  .map(({ stable, tail, compactPick, overwritePick, sizes }) => {
    const compactTo = compactPick % (stable.length + 1);
    const overwriteFrom = compactTo + 1 + (overwritePick % (stable.length - compactTo + 1));
    return { stable, tail, compactTo, overwriteFrom, sizes };
  });

type Scenario = {
  stable: number[];
  tail: number[];
  compactTo: number;
  overwriteFrom: number;
  sizes: number[];
};

/** Builds the scenario's log and the model: model[i - 1] is the entry at index i. */
function build(scenario: Scenario, make: MakeLog): { log: RaftLog; model: Entry[] } {
  const sized = (term: number, index: number) =>
    entry(term, index, scenario.sizes[(index - 1) % scenario.sizes.length]);
  const storage = new MemoryStorage();
  const stable = scenario.stable.map((term, i) => sized(term, i + 1));
  if (stable.length > 0) storage.write({ entries: stable });
  if (scenario.compactTo > 0) {
    const compactTerm = scenario.stable[scenario.compactTo - 1] as number;
    storage.compact(snapshot(scenario.compactTo, compactTerm), at(scenario.compactTo));
  }
  const log = make(storage);
  const tail = scenario.tail.map((term, i) => sized(term, scenario.overwriteFrom + i));
  log.append(tail);
  const model =
    tail.length > 0 ? [...stable.slice(0, scenario.overwriteFrom - 1), ...tail] : stable;
  return { log, model };
}

function limitModel(entries: Entry[], bytesMax: number): Entry[] {
  const kept: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    bytes += e.data.length + ENTRY_OVERHEAD_BYTES;
    if (kept.length > 0 && bytes > bytesMax) break;
    kept.push(e);
  }
  return kept;
}

function termMatchesModel(make: MakeLog) {
  return fc.property(scenarios, (scenario) => {
    const { log, model } = build(scenario, make);
    const first = scenario.compactTo + 1;
    expect(log.firstIndex()).toBe(first);
    expect(log.lastIndex()).toBe(model.length);
    for (let index = 0; index <= model.length + 2; index++) {
      const known = index >= first - 1 && index <= model.length;
      const expected = index === 0 ? 0 : (model[index - 1]?.term ?? null);
      expect(log.term(at(index))).toBe(known ? expected : null);
    }
  });
}

function sliceMatchesModel(make: MakeLog) {
  return fc.property(
    scenarios,
    fc.nat(),
    fc.nat(),
    fc.integer({ min: 0, max: 150 }),
    (scenario, loPick, hiPick, bytesMax) => {
      const { log, model } = build(scenario, make);
      const first = scenario.compactTo + 1;
      const end = model.length + 1;
      const lo = first + (loPick % (end - first + 1));
      const hi = lo + (hiPick % (end - lo + 1));
      const expected = limitModel(model.slice(lo - 1, hi - 1), bytesMax);
      expect(pairs(log.slice(at(lo), at(hi), bytesMax))).toEqual(pairs(expected));
    },
  );
}

/** A leader log, and a follower that shares a prefix of it and then diverges. */
const appendScenarios = fc
  .record({
    leader: termRuns(1, 10).filter((terms) => terms.length > 0),
    sharedPick: fc.nat(),
    divergent: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 5 }),
    stablePick: fc.nat(),
    prevPick: fc.nat(),
    countPick: fc.nat(),
    commitPick: fc.nat(),
    wrongPrevTerm: fc.boolean(),
  })
  .map((s) => {
    const shared = s.sharedPick % (s.leader.length + 1);
    const follower = [...s.leader.slice(0, shared), ...s.divergent];
    const stable = s.stablePick % (follower.length + 1);
    const prevIndex = s.prevPick % (s.leader.length + 1);
    const count = s.countPick % (s.leader.length - prevIndex + 1);
    const leaderCommit = s.commitPick % (s.leader.length + 1);
    const leaderPrevTerm = prevIndex === 0 ? 0 : (s.leader[prevIndex - 1] as number);
    const prevTerm = s.wrongPrevTerm ? leaderPrevTerm + 7 : leaderPrevTerm;
    return { leader: s.leader, follower, stable, prevIndex, prevTerm, count, leaderCommit };
  });

function maybeAppendMatchesModel(make: MakeLog) {
  return fc.property(appendScenarios, (s) => {
    const storage = new MemoryStorage();
    if (s.stable > 0) storage.write({ entries: run(1, ...s.follower.slice(0, s.stable)) });
    const log = make(storage);
    log.append(run(s.stable + 1, ...s.follower.slice(s.stable)));
    const sent = run(s.prevIndex + 1, ...s.leader.slice(s.prevIndex, s.prevIndex + s.count));

    const result = log.maybeAppend(at(s.prevIndex), termOf(s.prevTerm), at(s.leaderCommit), sent);

    const followerPrevTerm = s.prevIndex === 0 ? 0 : s.follower[s.prevIndex - 1];
    if (followerPrevTerm !== s.prevTerm) {
      expect(result).toBeNull();
      expect(termsOf(log)).toEqual(s.follower);
      expect(log.committed).toBe(0);
      return;
    }
    const lastNew = s.prevIndex + s.count;
    const conflict = sent.find((e) => s.follower[e.index - 1] !== e.term);
    const expected =
      conflict === undefined
        ? s.follower
        : [
            ...s.follower.slice(0, conflict.index - 1),
            ...s.leader.slice(conflict.index - 1, lastNew),
          ];
    expect(result).toBe(lastNew);
    expect(termsOf(log)).toEqual(expected);
    expect(log.committed).toBe(Math.min(s.leaderCommit, lastNew));
  });
}

const plainLog: MakeLog = (storage) => new RaftLog(storage, null);

describe(`RaftLog (seed ${seed})`, () => {
  describe('construction', () => {
    it('starts empty with first index 1, last index 0 and term(0) = 0', () => {
      const log = logWith();
      expect(log.firstIndex()).toBe(1);
      expect(log.lastIndex()).toBe(0);
      expect(log.lastTerm()).toBe(0);
      expect(log.committed).toBe(0);
      expect(log.applied).toBe(0);
    });

    it('takes the commit index from the durable hard state and applied from the caller', () => {
      const storage = storageWith(1, 1, 2);
      storage.write({ entries: [], hardState: { term: termOf(2), vote: null, commit: at(2) } });
      const log = new RaftLog(storage, at(1));
      expect(log.committed).toBe(2);
      expect(log.applied).toBe(1);
    });

    it('starts committed and applied at the snapshot of a compacted storage', () => {
      const storage = storageWith(1, 1, 2, 2);
      storage.compact(snapshot(3, 2), at(3));
      const log = new RaftLog(storage, null);
      expect(log.committed).toBe(3);
      expect(log.applied).toBe(3);
    });
  });

  describe('maybeAppend', () => {
    it('refuses entries whose previous entry does not match', () => {
      const log = logWith(1, 2, 2);
      expect(log.maybeAppend(at(2), termOf(1), at(3), run(3, 3))).toBeNull();
      expect(log.maybeAppend(at(4), termOf(2), at(3), run(5, 3))).toBeNull();
      expect(termsOf(log)).toEqual([1, 2, 2]);
      expect(log.committed).toBe(0);
    });

    it('keeps matching entries untouched and returns the last new index', () => {
      const log = logWith(1, 2, 2);
      expect(log.maybeAppend(at(1), termOf(1), at(0), run(2, 2))).toBe(2);
      expect(termsOf(log)).toEqual([1, 2, 2]);
      expect(log.unstable.entries).toEqual([]);
    });

    it('keeps entries past a matching prefix when nothing conflicts', () => {
      const log = logWith(1, 2, 2);
      expect(log.maybeAppend(at(0), termOf(0), at(0), run(1, 1))).toBe(1);
      expect(log.lastIndex()).toBe(3);
    });

    it('appends new entries after the matching ones', () => {
      const log = logWith(1, 2);
      expect(log.maybeAppend(at(1), termOf(1), at(0), run(2, 2, 3, 3))).toBe(4);
      expect(termsOf(log)).toEqual([1, 2, 3, 3]);
    });

    it('truncates from the first conflict and appends the rest', () => {
      const log = logWith(1, 1, 1, 1);
      expect(log.maybeAppend(at(1), termOf(1), at(0), run(2, 1, 2))).toBe(3);
      expect(termsOf(log)).toEqual([1, 1, 2]);
    });

    it('commits up to the leader commit when it is covered by the new entries', () => {
      const log = logWith(1);
      log.maybeAppend(at(1), termOf(1), at(2), run(2, 1, 1));
      expect(log.committed).toBe(2);
    });

    it('commits no further than the last new entry, not past the verified prefix', () => {
      // Entries 3 and 4 of term 1 are left over from an old leader; the new leader only
      // vouched for the prefix up to 2 and says its commit index is 4.
      const log = logWith(1, 1, 1, 1);
      expect(log.maybeAppend(at(2), termOf(1), at(4), [])).toBe(2);
      expect(log.committed).toBe(2);
    });

    it('never moves the commit index backwards', () => {
      const log = logWith(1, 1, 1);
      log.commitTo(at(3));
      expect(log.maybeAppend(at(1), termOf(1), at(1), [])).toBe(1);
      expect(log.committed).toBe(3);
    });

    it('asserts when a conflict would overwrite a committed entry', () => {
      const log = logWith(1, 1, 1);
      log.commitTo(at(2));
      expectAssertion(() => log.maybeAppend(at(1), termOf(1), at(3), run(2, 2)));
    });

    it('matches a model of follower and leader logs', () => {
      fc.assert(maybeAppendMatchesModel(plainLog), { seed, numRuns: 200 });
    });

    it('the model property catches a follower that commits to its own last index', () => {
      const result = fc.check(
        maybeAppendMatchesModel((storage) => new RaftLogTrustsLeaderCommit(storage, null)),
        { seed, numRuns: 200 },
      );
      expect(result.failed).toBe(true);
    });
  });

  describe('findConflict', () => {
    const log = logWith(1, 2, 3);
    it.each([
      [[], 0],
      [run(1, 1, 2, 3), 0],
      [run(2, 2, 3), 0],
      [run(3, 3), 0],
      [run(1, 1, 2, 3, 4, 4), 4],
      [run(3, 3, 4, 4), 4],
      [run(1, 4, 4), 1],
      [run(2, 1, 4, 4), 2],
      [run(3, 1, 2, 4, 4), 3],
    ] as const)('for %j finds %i', (entries, expected) => {
      expect(log.findConflict(entries)).toBe(expected);
    });
  });

  describe('findConflictByTerm', () => {
    // Terms: index 1..6 → 1 1 2 2 4 4.
    const log = logWith(1, 1, 2, 2, 4, 4);
    it.each([
      [6, 4, 6, 4],
      [6, 3, 4, 2],
      [6, 2, 4, 2],
      [6, 1, 2, 1],
      [6, 0, 0, 0],
      [3, 1, 2, 1],
      [9, 3, 4, 2],
    ])('from index %i with term %i stops at %i (term %i)', (index, term, hintIndex, hintTerm) => {
      expect(log.findConflictByTerm(at(index), termOf(term))).toEqual({
        index: hintIndex,
        term: hintTerm,
      });
    });

    it('stops at the compaction boundary, whose term is still known', () => {
      const storage = storageWith(1, 1, 2, 2, 4, 4);
      storage.compact(snapshot(4, 2), at(4));
      const compacted = new RaftLog(storage, null);
      expect(compacted.findConflictByTerm(at(6), termOf(2))).toEqual({ index: 4, term: 2 });
    });

    it('returns the first compacted index with term 0 when it runs past the boundary', () => {
      const storage = storageWith(1, 1, 2, 2, 4, 4);
      storage.compact(snapshot(4, 2), at(4));
      const compacted = new RaftLog(storage, null);
      expect(compacted.findConflictByTerm(at(6), termOf(1))).toEqual({ index: 3, term: 0 });
    });

    it('stops at a pending snapshot', () => {
      const pending = logWith(1, 1);
      pending.restore(snapshot(10, 5));
      expect(pending.findConflictByTerm(at(12), termOf(5))).toEqual({ index: 10, term: 5 });
      expect(pending.findConflictByTerm(at(12), termOf(4))).toEqual({ index: 9, term: 0 });
    });
  });

  describe('append', () => {
    it('appends after the last index', () => {
      const log = logWith(1, 1);
      expect(log.append(run(3, 2))).toBe(3);
      expect(termsOf(log)).toEqual([1, 1, 2]);
    });

    it('replaces a durable suffix with the new entries', () => {
      const log = logWith(1, 1, 1);
      expect(log.append(run(2, 2))).toBe(2);
      expect(termsOf(log)).toEqual([1, 2]);
    });

    it('replaces part of the unstable tail', () => {
      const log = logWith(1);
      log.append(run(2, 1, 1, 1));
      expect(log.append(run(3, 2, 2))).toBe(4);
      expect(termsOf(log)).toEqual([1, 1, 2, 2]);
    });

    it('returns the last index and changes nothing for no entries', () => {
      const log = logWith(1, 1);
      expect(log.append([])).toBe(2);
    });

    it('asserts when the entries would overwrite a committed one', () => {
      const log = logWith(1, 1);
      log.commitTo(at(2));
      expectAssertion(() => log.append(run(2, 2)));
    });
  });

  describe('slice', () => {
    /** Entries 1..5 durable, 6..8 in the tail; each entry counts 16 bytes (no data). */
    function split(): RaftLog {
      const log = logWith(1, 1, 1, 2, 2);
      log.append(run(6, 3, 3, 3));
      return log;
    }

    it('reads across the durable/unstable boundary', () => {
      expect(pairs(split().slice(at(4), at(8), Number.MAX_SAFE_INTEGER))).toEqual([
        '2/4',
        '2/5',
        '3/6',
        '3/7',
      ]);
    });

    it('returns at least one entry even with no bytes allowed', () => {
      expect(pairs(split().slice(at(4), at(9), 0))).toEqual(['2/4']);
      expect(pairs(split().slice(at(7), at(9), 0))).toEqual(['3/7']);
    });

    it('stops inside the durable part when its bytes run out', () => {
      expect(pairs(split().slice(at(2), at(9), 2 * ENTRY_OVERHEAD_BYTES))).toEqual(['1/2', '1/3']);
    });

    it('stops exactly at the boundary when the durable part uses the bytes up', () => {
      expect(pairs(split().slice(at(4), at(9), 2 * ENTRY_OVERHEAD_BYTES))).toEqual(['2/4', '2/5']);
    });

    it('carries the byte limit over into the unstable part', () => {
      expect(pairs(split().slice(at(4), at(9), 3 * ENTRY_OVERHEAD_BYTES))).toEqual([
        '2/4',
        '2/5',
        '3/6',
      ]);
    });

    it('returns nothing for an empty range and null for a compacted start', () => {
      const storage = storageWith(1, 1, 1, 2, 2);
      storage.compact(snapshot(3, 1), at(3));
      const log = new RaftLog(storage, null);
      expect(log.slice(at(4), at(4), 100)).toEqual([]);
      expect(log.slice(at(3), at(5), 100)).toBeNull();
      expect(log.entriesFrom(at(2), 100)).toBeNull();
      expect(pairs(log.entriesFrom(at(4), 100))).toEqual(['2/4', '2/5']);
      expect(log.entriesFrom(at(6), 100)).toEqual([]);
    });

    it('asserts on a range beyond the last index', () => {
      expectAssertion(() => split().slice(at(7), at(10), 100));
    });

    it('matches a model of the whole log under random byte limits', () => {
      fc.assert(sliceMatchesModel(plainLog), { seed, numRuns: 200 });
    });

    it('the model property catches a slice that forgets the unstable tail', () => {
      const result = fc.check(
        sliceMatchesModel((storage) => new RaftLogForgetsTail(storage, null)),
        { seed, numRuns: 200 },
      );
      expect(result.failed).toBe(true);
    });
  });

  describe('term', () => {
    it('knows the term at the compaction boundary but not below it', () => {
      const storage = storageWith(1, 1, 2, 2, 3);
      storage.compact(snapshot(3, 2), at(3));
      const log = new RaftLog(storage, null);
      expect(log.term(at(3))).toBe(2);
      expect(log.term(at(2))).toBeNull();
      expect(log.term(at(5))).toBe(3);
      expect(log.term(at(6))).toBeNull();
    });

    it('answers from the tail where it replaced durable entries', () => {
      const log = logWith(1, 1, 1, 1);
      log.append(run(3, 2));
      expect(log.term(at(3))).toBe(2);
      expect(log.term(at(4))).toBeNull();
      expect(log.lastIndex()).toBe(3);
    });

    it('knows only the snapshot term right after a restore', () => {
      const log = logWith(1, 1, 1);
      log.restore(snapshot(10, 4));
      expect(log.term(at(10))).toBe(4);
      expect(log.term(at(9))).toBeNull();
      expect(log.term(at(3))).toBeNull();
      expect(log.term(at(11))).toBeNull();
    });

    it('matches a model over random compacted and overwritten logs', () => {
      fc.assert(termMatchesModel(plainLog), { seed, numRuns: 200 });
    });

    it('the model property catches durable terms shadowing the tail', () => {
      const result = fc.check(
        termMatchesModel((storage) => new RaftLogStorageFirst(storage, null)),
        { seed, numRuns: 200 },
      );
      expect(result.failed).toBe(true);
    });
  });

  describe('isUpToDate', () => {
    const log = logWith(1, 2, 2);
    it.each([
      [3, 2, true],
      [4, 2, true],
      [2, 2, false],
      [1, 3, true],
      [9, 1, false],
    ])('judges a log ending at index %i term %i: %s', (index, term, expected) => {
      expect(log.isUpToDate(at(index), termOf(term))).toBe(expected);
    });
  });

  describe('restore', () => {
    it('replaces the log with the snapshot and commits it', () => {
      const log = logWith(1, 1, 1);
      log.restore(snapshot(10, 4));
      expect(log.firstIndex()).toBe(11);
      expect(log.lastIndex()).toBe(10);
      expect(log.lastTerm()).toBe(4);
      expect(log.committed).toBe(10);
      expect(log.snapshot().metadata.index).toBe(10);
    });

    it('hands out no committed entries while the snapshot is not yet persisted', () => {
      const log = logWith(1, 1, 1);
      log.commitTo(at(2));
      log.restore(snapshot(10, 4));
      expect(log.hasNextCommittedEntries()).toBe(false);
      expect(log.nextCommittedEntries(100)).toEqual([]);
    });

    it('serves the durable snapshot when none is pending', () => {
      const storage = storageWith(1, 1, 2);
      storage.compact(snapshot(2, 1), at(2));
      expect(new RaftLog(storage, null).snapshot().metadata.index).toBe(2);
    });
  });

  describe('storage answering unavailable', () => {
    /** Entries 1..5 durable, 6..7 in the tail, the durable ones unavailable while `missing`. */
    function withMisses(): { log: RaftLog; storage: { missing: boolean } } {
      const inner = storageWith(1, 1, 1, 2, 2);
      const storage: LogStorage & { missing: boolean } = {
        missing: true,
        initialState: () => inner.initialState(),
        entries: (lo, hi, bytesMax) =>
          storage.missing ? 'unavailable' : inner.entries(lo, hi, bytesMax),
        term: (index) => inner.term(index),
        firstIndex: () => inner.firstIndex(),
        lastIndex: () => inner.lastIndex(),
        snapshot: () => inner.snapshot(),
      };
      const log = new RaftLog(storage, null);
      log.append(run(6, 3, 3));
      return { log, storage };
    }

    it('passes unavailable through slice, but serves the unstable tail', () => {
      const { log } = withMisses();
      expect(log.slice(at(2), at(7), 1000)).toBe('unavailable');
      expect(log.entriesFrom(at(5), 1000)).toBe('unavailable');
      expect(pairs(log.slice(at(6), at(8), 1000))).toEqual(['3/6', '3/7']);
      expect(log.term(at(3))).toBe(1);
    });

    it('hands out no committed entries while waiting, then resumes once cleared', () => {
      const { log, storage } = withMisses();
      log.commitTo(at(4));
      expect(log.nextCommittedEntries(1000)).toEqual([]);
      expect(log.waitingForStorage).toBe(true);
      expect(log.hasNextCommittedEntries()).toBe(false);
      storage.missing = false;
      log.waitingForStorage = false;
      expect(pairs(log.nextCommittedEntries(1000))).toEqual(['1/1', '1/2', '1/3', '2/4']);
    });
  });

  describe('commit and apply', () => {
    it('hands out committed entries from applied + 1 to the commit index', () => {
      const log = logWith(1, 1, 1, 1, 1);
      log.commitTo(at(4));
      log.appliedTo(at(1));
      expect(log.hasNextCommittedEntries()).toBe(true);
      expect(pairs(log.nextCommittedEntries(Number.MAX_SAFE_INTEGER))).toEqual([
        '1/2',
        '1/3',
        '1/4',
      ]);
    });

    it('hands out at least one committed entry under a tiny byte limit', () => {
      const log = logWith(1, 1, 1);
      log.commitTo(at(3));
      expect(pairs(log.nextCommittedEntries(1))).toEqual(['1/1']);
    });

    it('hands out committed entries that are still in the unstable tail', () => {
      const log = logWith(1);
      log.append(run(2, 1, 1));
      log.commitTo(at(3));
      expect(pairs(log.nextCommittedEntries(Number.MAX_SAFE_INTEGER))).toEqual([
        '1/1',
        '1/2',
        '1/3',
      ]);
    });

    it('hands out nothing once everything committed is applied', () => {
      const log = logWith(1, 1);
      log.commitTo(at(2));
      log.appliedTo(at(2));
      expect(log.hasNextCommittedEntries()).toBe(false);
      expect(log.nextCommittedEntries(100)).toEqual([]);
    });

    it('commits by counting only an entry of the current term', () => {
      const log = logWith(1, 1, 2);
      expect(log.maybeCommit(at(2), termOf(2))).toBe(false);
      expect(log.committed).toBe(0);
      expect(log.maybeCommit(at(3), termOf(2))).toBe(true);
      expect(log.committed).toBe(3);
      expect(log.maybeCommit(at(3), termOf(2))).toBe(false);
    });

    it('ignores a commit index at or below the current one', () => {
      const log = logWith(1, 1, 1);
      log.commitTo(at(3));
      log.commitTo(at(1));
      expect(log.committed).toBe(3);
    });

    it('asserts on a commit index beyond the last index', () => {
      const log = logWith(1, 1);
      expectAssertion(() => log.commitTo(at(3)));
    });

    it('asserts when applying beyond the commit index', () => {
      const log = logWith(1, 1);
      log.commitTo(at(1));
      expectAssertion(() => log.appliedTo(at(2)));
    });

    it('asserts when applied moves backwards', () => {
      const log = logWith(1, 1);
      log.commitTo(at(2));
      log.appliedTo(at(2));
      expectAssertion(() => log.appliedTo(at(1)));
    });

    it('accepts applying the same index again', () => {
      const log = logWith(1, 1);
      log.commitTo(at(2));
      log.appliedTo(at(2));
      log.appliedTo(at(2));
      expect(log.applied).toBe(2);
    });

    it('asserts at construction when applied is ahead of the durable commit', () => {
      const storage = storageWith(1, 1);
      expectAssertion(() => new RaftLog(storage, at(2)));
    });

    it('passes its own invariant check through a normal life', () => {
      const log = logWith(1, 1);
      log.append(run(3, 2, 2));
      log.commitTo(at(3));
      log.appliedTo(at(2));
      log.assertInvariants();
      log.restore(snapshot(20, 3));
      log.assertInvariants();
    });
  });
});
