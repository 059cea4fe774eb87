/**
 * The conformance suite of the `DurableLog` port: every implementation (the memory twin, the
 * level adapter, one a user writes over a storage engine they already run) passes it
 * unchanged. It checks the read view (`LogStorage`) after each kind of write the runtime
 * issues: appends, conflicting suffixes, hard state, snapshot installs and compactions; and,
 * for an implementation whose `features.durable` is true and whose factory can reopen it, that
 * a reopened log holds exactly what was written, with no truncated entry resurrected
 * (RELIABILITY §2.1 bug 11).
 *
 * The test functions come in as a parameter so this module never imports a test runner:
 *
 *   import { afterEach, describe, expect, it } from 'vitest';
 *   runDurableLogSuite({ describe, it, expect, afterEach }, 'MyLog', { open, reopen });
 */
import type { LogIndex, NodeId, Term } from '../ids.js';
import type { DurableLog } from '../ports/durable-log.js';
import type { ConfState, Entry, HardState, Snapshot } from '../types.js';

/** The assertions the suite uses; vitest's and Jest's `expect` provide them. */
export interface SuiteAssertion<T> {
  toBe(expected: T): void;
  toEqual(expected: T): void;
  toBeNull(): void;
}

/** The test-runner functions the suite registers its tests with (vitest's fit as they are). */
export interface SuiteRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
  expect<T>(actual: T, message?: string): SuiteAssertion<T>;
  beforeEach?(hook: () => Promise<void>): void;
  afterEach?(hook: () => Promise<void>): void;
}

/**
 * How the suite gets logs. `open` returns a fresh, empty log (not bootstrapped) each time; the
 * suite closes every log it opens. `reopen` closes `log` and opens the same storage again (for a
 * durable implementation: what a restart after a crash would find); without it the reopen
 * checks are skipped.
 */
export interface DurableLogFactory {
  open(): Promise<DurableLog>;
  reopen?(log: DurableLog): Promise<DurableLog>;
}

/** Bytes of data per entry in the byte-limit test; `entryBytes` adds 16 per entry. */
const DATA_BYTES = 100;
const ENTRY_COST = DATA_BYTES + 16;
/** No byte limit: large enough for every range the suite reads. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

const CONF: ConfState = {
  voters: [1, 2, 3] as NodeId[],
  votersOutgoing: [],
  learners: [4] as NodeId[],
  learnersNext: [],
  autoLeave: false,
};

function entry(index: number, term: number, dataBytes = 8): Entry {
  const data = new Uint8Array(dataBytes);
  // Content derived from index and term, so a misplaced or stale entry does not compare equal.
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index: index as LogIndex, term: term as Term, type: 'normal', data };
}

function entries(from: number, to: number, term: number, dataBytes?: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term, dataBytes));
  return list;
}

function snapshotAt(index: number, term: number, fill: number): Snapshot {
  return {
    metadata: { index: index as LogIndex, term: term as Term, confState: CONF },
    data: Uint8Array.from([fill, fill + 1, fill + 2, 0, 255]),
  };
}

/** Everything the read view answers, for comparing a log before and after reopening. */
function stateOf(log: DurableLog): unknown[] {
  const first = log.firstIndex();
  const last = log.lastIndex();
  const terms: (Term | null)[] = [];
  for (let i = first - 2; i <= last + 1; i++) terms.push(i < 0 ? null : log.term(i as LogIndex));
  return [
    first,
    last,
    terms,
    log.entries(first, (last + 1) as LogIndex, NO_LIMIT),
    log.initialState(),
    log.snapshot(),
  ];
}

export function runDurableLogSuite(t: SuiteRunner, name: string, factory: DurableLogFactory): void {
  const { describe, it, expect } = t;

  /** An open log for one test; `reopen` swaps it for a reopened one when supported. */
  interface Handle {
    log: DurableLog;
    /** Whether reopen checks apply: the log is durable and the factory can reopen it. */
    readonly durable: boolean;
    reopen(): Promise<void>;
  }

  async function withLog(body: (handle: Handle) => Promise<void>): Promise<void> {
    const log = await factory.open();
    const reopenLog = factory.reopen;
    const handle: Handle = {
      log,
      durable: log.features.durable && reopenLog !== undefined,
      async reopen(): Promise<void> {
        if (reopenLog === undefined || !log.features.durable) return;
        handle.log = await reopenLog(handle.log);
      },
    };
    try {
      await body(handle);
    } finally {
      await handle.log.close();
    }
  }

  function range(log: DurableLog, lo: number, hi: number, bytesMax = NO_LIMIT): Entry[] | null {
    return log.entries(lo as LogIndex, hi as LogIndex, bytesMax);
  }

  describe(`DurableLog conformance: ${name}`, () => {
    it('starts empty: firstIndex 1, lastIndex 0, term(0) = 0, zero hard state, no snapshot', () =>
      withLog(async ({ log }) => {
        expect(log.firstIndex()).toBe(1 as LogIndex);
        expect(log.lastIndex()).toBe(0 as LogIndex);
        expect(log.term(0 as LogIndex)).toBe(0 as Term);
        expect(log.term(1 as LogIndex)).toBeNull();
        expect(range(log, 1, 1)).toEqual([]);
        const initial = log.initialState();
        expect(initial.hardState).toEqual({ term: 0 as Term, vote: null, commit: 0 as LogIndex });
        expect(log.snapshot().metadata.index).toBe(0 as LogIndex);
        expect(log.snapshot().data.length).toBe(0);
      }));

    it('appends across writes and reads any range [lo, hi)', () =>
      withLog(async ({ log }) => {
        await log.write({ entries: entries(1, 4, 1), sync: true });
        await log.write({ entries: entries(5, 10, 2), sync: true });
        expect(log.firstIndex()).toBe(1 as LogIndex);
        expect(log.lastIndex()).toBe(10 as LogIndex);
        expect(range(log, 1, 11)).toEqual([...entries(1, 4, 1), ...entries(5, 10, 2)]);
        expect(range(log, 3, 6)).toEqual([entry(3, 1), entry(4, 1), entry(5, 2)]);
        expect(range(log, 10, 11)).toEqual([entry(10, 2)]);
        expect(range(log, 7, 7)).toEqual([]);
      }));

    it('limits entries() by bytes, but always returns at least one entry', () =>
      withLog(async ({ log }) => {
        await log.write({ entries: entries(1, 5, 1, DATA_BYTES), sync: true });
        expect(range(log, 1, 6, 0)?.length).toBe(1);
        expect(range(log, 1, 6, ENTRY_COST * 2 - 1)?.length).toBe(1);
        expect(range(log, 1, 6, ENTRY_COST * 2)?.length).toBe(2);
        expect(range(log, 2, 6, ENTRY_COST * 3)).toEqual(entries(2, 4, 1, DATA_BYTES));
        expect(range(log, 1, 6, ENTRY_COST * 100)?.length).toBe(5);
      }));

    it('answers term() for [firstIndex - 1, lastIndex] and null outside', () =>
      withLog(async ({ log }) => {
        await log.write({ entries: [...entries(1, 3, 1), ...entries(4, 6, 3)], sync: true });
        expect(log.term(0 as LogIndex)).toBe(0 as Term);
        expect(log.term(3 as LogIndex)).toBe(1 as Term);
        expect(log.term(4 as LogIndex)).toBe(3 as Term);
        expect(log.term(6 as LogIndex)).toBe(3 as Term);
        expect(log.term(7 as LogIndex)).toBeNull();
        await log.compact(snapshotAt(4, 3, 1), 4 as LogIndex);
        expect(log.term(4 as LogIndex)).toBe(3 as Term);
        expect(log.term(3 as LogIndex)).toBeNull();
        expect(log.term(5 as LogIndex)).toBe(3 as Term);
      }));

    it('an append at index i discards every stored entry from i on, also after reopening', () =>
      withLog(async (handle) => {
        await handle.log.write({ entries: entries(1, 3, 1), sync: true });
        await handle.log.write({ entries: entries(4, 8, 1), sync: true });
        // A new leader overwrites from 5 with a shorter suffix: 7 and 8 must not survive.
        await handle.log.write({ entries: entries(5, 6, 2), sync: true });
        const expected = [...entries(1, 4, 1), ...entries(5, 6, 2)];
        expect(handle.log.lastIndex()).toBe(6 as LogIndex);
        expect(handle.log.term(7 as LogIndex)).toBeNull();
        expect(range(handle.log, 1, 7)).toEqual(expected);
        await handle.reopen();
        expect(handle.log.lastIndex()).toBe(6 as LogIndex);
        expect(handle.log.term(7 as LogIndex)).toBeNull();
        expect(range(handle.log, 1, 7)).toEqual(expected);
        // Truncating back across earlier batches, then growing again.
        await handle.log.write({ entries: [entry(2, 3)], sync: true });
        await handle.reopen();
        expect(handle.log.lastIndex()).toBe(2 as LogIndex);
        expect(range(handle.log, 1, 3)).toEqual([entry(1, 1), entry(2, 3)]);
        await handle.log.write({ entries: entries(3, 4, 3), sync: true });
        await handle.reopen();
        expect(range(handle.log, 1, 5)).toEqual([entry(1, 1), ...entries(2, 4, 3)]);
      }));

    it('round-trips the hard state, alone and with entries', () =>
      withLog(async (handle) => {
        const first: HardState = { term: 2 as Term, vote: 3 as NodeId, commit: 0 as LogIndex };
        await handle.log.write({ hardState: first, entries: [], sync: true });
        expect(handle.log.initialState().hardState).toEqual(first);
        const second: HardState = { term: 5 as Term, vote: null, commit: 2 as LogIndex };
        await handle.log.write({ hardState: second, entries: entries(1, 2, 5), sync: true });
        expect(handle.log.initialState().hardState).toEqual(second);
        await handle.reopen();
        expect(handle.log.initialState().hardState).toEqual(second);
        expect(range(handle.log, 1, 3)).toEqual(entries(1, 2, 5));
      }));

    it('makes a write visible as soon as it resolves, with sync false too', () =>
      withLog(async ({ log }) => {
        await log.write({ entries: entries(1, 2, 1), sync: false });
        expect(log.lastIndex()).toBe(2 as LogIndex);
        expect(range(log, 1, 3)).toEqual(entries(1, 2, 1));
      }));

    it('installing a snapshot replaces the whole log', () =>
      withLog(async (handle) => {
        await handle.log.write({ entries: entries(1, 5, 1), sync: true });
        const snapshot = snapshotAt(10, 3, 7);
        const hardState: HardState = { term: 3 as Term, vote: null, commit: 10 as LogIndex };
        await handle.log.write({ snapshot, hardState, entries: [], sync: true });
        const check = (log: DurableLog): void => {
          expect(log.firstIndex()).toBe(11 as LogIndex);
          expect(log.lastIndex()).toBe(10 as LogIndex);
          expect(log.term(10 as LogIndex)).toBe(3 as Term);
          expect(log.term(5 as LogIndex)).toBeNull();
          expect(range(log, 5, 11)).toBeNull();
          expect(log.snapshot()).toEqual(snapshot);
          expect(log.initialState()).toEqual({ hardState, confState: CONF });
        };
        check(handle.log);
        await handle.reopen();
        check(handle.log);
        // A snapshot and the entries after it in one write.
        const later = snapshotAt(20, 4, 9);
        await handle.log.write({ snapshot: later, entries: entries(21, 23, 4), sync: true });
        await handle.reopen();
        expect(handle.log.firstIndex()).toBe(21 as LogIndex);
        expect(range(handle.log, 21, 24)).toEqual(entries(21, 23, 4));
        expect(handle.log.snapshot()).toEqual(later);
      }));

    it('compact keeps entries above compactTo readable and the term at compactTo', () =>
      withLog(async (handle) => {
        await handle.log.write({
          entries: [...entries(1, 4, 1), ...entries(5, 10, 2)],
          sync: true,
        });
        // Snapshot at 7, keeping a tail from 6 for slow followers.
        const snapshot = snapshotAt(7, 2, 3);
        await handle.log.compact(snapshot, 5 as LogIndex);
        const check = (log: DurableLog): void => {
          expect(log.firstIndex()).toBe(6 as LogIndex);
          expect(log.lastIndex()).toBe(10 as LogIndex);
          expect(log.term(5 as LogIndex)).toBe(2 as Term);
          expect(log.term(4 as LogIndex)).toBeNull();
          expect(range(log, 5, 11)).toBeNull();
          expect(range(log, 6, 11)).toEqual(entries(6, 10, 2));
          expect(log.snapshot()).toEqual(snapshot);
        };
        check(handle.log);
        await handle.reopen();
        check(handle.log);
        // Appends go on after a compaction; a second compaction reaches the snapshot index.
        await handle.log.write({ entries: entries(11, 12, 2), sync: true });
        await handle.log.compact(snapshotAt(12, 2, 5), 12 as LogIndex);
        await handle.reopen();
        expect(handle.log.firstIndex()).toBe(13 as LogIndex);
        expect(handle.log.lastIndex()).toBe(12 as LogIndex);
        expect(handle.log.term(12 as LogIndex)).toBe(2 as Term);
        expect(handle.log.snapshot()).toEqual(snapshotAt(12, 2, 5));
      }));

    it('reopening restores exactly what was written (durable implementations)', () =>
      withLog(async (handle) => {
        if (!handle.durable) return;
        await handle.log.write({ entries: entries(1, 30, 1, 40), sync: true });
        await handle.log.write({
          entries: entries(25, 40, 2, 40),
          hardState: { term: 2 as Term, vote: 1 as NodeId, commit: 20 as LogIndex },
          sync: true,
        });
        await handle.log.compact(snapshotAt(20, 1, 11), 15 as LogIndex);
        await handle.log.write({ entries: entries(41, 45, 2, 40), sync: false });
        const before = stateOf(handle.log);
        await handle.reopen();
        expect(stateOf(handle.log)).toEqual(before);
        await handle.reopen();
        expect(stateOf(handle.log)).toEqual(before);
      }));
  });
}
