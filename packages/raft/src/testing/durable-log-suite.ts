/**
 * The conformance suite of the `DurableLog` port: every implementation (the memory twin, the
 * level adapter, one a user writes over a storage engine they already run) passes it
 * unchanged. It checks the read view (`LogStorage`) after each kind of write the runtime
 * issues: appends, conflicting suffixes, hard state, snapshot installs and compactions; and,
 * for an implementation whose `features.durable` is true and whose factory can reopen it, that
 * a reopened log holds exactly what was written, with no truncated entry resurrected
 * (RELIABILITY §2.1 bug 11). Compactions overlapping later writes have their own tests
 * (durable-log-compaction-suite.ts). An implementation with `features.boundedCache` also gets the
 * cache tests (durable-log-cache-suite.ts): `'unavailable'` answers, the listener, read-back.
 * Reads go through `'unavailable'` everywhere (waiting for the listener), so the suite holds
 * for any cache size.
 *
 * The test functions come in as a parameter so this module never imports a test runner:
 *
 *   import { afterEach, describe, expect, it } from 'vitest';
 *   runDurableLogSuite({ describe, it, expect, afterEach }, 'MyLog', { open, reopen });
 */
import type { LogIndex, NodeId, Term } from '../ids.js';
import type { DurableLog } from '../ports/durable-log.js';
import type { HardState } from '../types.js';
import { runCacheTests } from './durable-log-cache-suite.js';
import { runCompactionTests } from './durable-log-compaction-suite.js';
import {
  CONF,
  DATA_BYTES,
  ENTRY_COST,
  entries,
  entry,
  type LogHandle,
  NO_LIMIT,
  snapshotAt,
  stateOf,
  withLog,
} from './durable-log-fixtures.js';

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
 * suite closes every log it opens. `reopen` closes `log` and opens the same storage again, with
 * the options it was opened with (for a durable implementation: what a restart after a crash
 * would find); without it the reopen checks are skipped.
 */
export interface DurableLogFactory {
  open(): Promise<DurableLog>;
  reopen?(log: DurableLog): Promise<DurableLog>;
  /**
   * Like `open`, with a cache so small that most reads miss: at most 1 KiB of entries in memory
   * beyond the uncommitted tail, read-ahead included. Required when `features.boundedCache`.
   */
  openSmallCache?(): Promise<DurableLog>;
}

export function runDurableLogSuite(t: SuiteRunner, name: string, factory: DurableLogFactory): void {
  const { describe, it, expect } = t;

  const run = (body: (handle: LogHandle) => Promise<void>): Promise<void> =>
    withLog(factory, () => factory.open(), body);

  /** Entries [lo, hi) of the handle's log, through misses; whole unless `bytesMax` is given. */
  function range(handle: LogHandle, lo: number, hi: number, bytesMax?: number) {
    return bytesMax === undefined
      ? handle.availability.readAll(handle.log, lo, hi)
      : handle.availability.read(handle.log, lo, hi, bytesMax);
  }

  describe(`DurableLog conformance: ${name}`, () => {
    it('starts empty: firstIndex 1, lastIndex 0, term(0) = 0, zero hard state, no snapshot', () =>
      run(async (handle) => {
        const log = handle.log;
        expect(log.firstIndex()).toBe(1 as LogIndex);
        expect(log.lastIndex()).toBe(0 as LogIndex);
        expect(log.term(0 as LogIndex)).toBe(0 as Term);
        expect(log.term(1 as LogIndex)).toBeNull();
        expect(await range(handle, 1, 1)).toEqual([]);
        const initial = log.initialState();
        expect(initial.hardState).toEqual({ term: 0 as Term, vote: null, commit: 0 as LogIndex });
        expect(log.snapshot().metadata.index).toBe(0 as LogIndex);
        expect(log.snapshot().data.length).toBe(0);
      }));

    it('appends across writes and reads any range [lo, hi)', () =>
      run(async (handle) => {
        const log = handle.log;
        await log.write({ entries: entries(1, 4, 1), sync: true });
        await log.write({ entries: entries(5, 10, 2), sync: true });
        expect(log.firstIndex()).toBe(1 as LogIndex);
        expect(log.lastIndex()).toBe(10 as LogIndex);
        expect(await range(handle, 1, 11)).toEqual([...entries(1, 4, 1), ...entries(5, 10, 2)]);
        expect(await range(handle, 3, 6)).toEqual([entry(3, 1), entry(4, 1), entry(5, 2)]);
        expect(await range(handle, 10, 11)).toEqual([entry(10, 2)]);
        expect(await range(handle, 7, 7)).toEqual([]);
      }));

    it('limits entries() by bytes, but always returns at least one entry', () =>
      run(async (handle) => {
        const log = handle.log;
        await log.write({ entries: entries(1, 5, 1, DATA_BYTES), sync: true });
        expect((await range(handle, 1, 6, 0))?.length).toBe(1);
        expect((await range(handle, 1, 6, ENTRY_COST * 2 - 1))?.length).toBe(1);
        expect((await range(handle, 1, 6, ENTRY_COST * 2))?.length).toBe(2);
        expect(await range(handle, 2, 6, ENTRY_COST * 3)).toEqual(entries(2, 4, 1, DATA_BYTES));
        expect((await range(handle, 1, 6, ENTRY_COST * 100))?.length).toBe(5);
      }));

    it('answers term() for [firstIndex - 1, lastIndex] and null outside', () =>
      run(async (handle) => {
        const log = handle.log;
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
      run(async (handle) => {
        await handle.log.write({ entries: entries(1, 3, 1), sync: true });
        await handle.log.write({ entries: entries(4, 8, 1), sync: true });
        // A new leader overwrites from 5 with a shorter suffix: 7 and 8 must not survive.
        await handle.log.write({ entries: entries(5, 6, 2), sync: true });
        const expected = [...entries(1, 4, 1), ...entries(5, 6, 2)];
        expect(handle.log.lastIndex()).toBe(6 as LogIndex);
        expect(handle.log.term(7 as LogIndex)).toBeNull();
        expect(await range(handle, 1, 7)).toEqual(expected);
        await handle.reopen();
        expect(handle.log.lastIndex()).toBe(6 as LogIndex);
        expect(handle.log.term(7 as LogIndex)).toBeNull();
        expect(await range(handle, 1, 7)).toEqual(expected);
        // Truncating back across earlier batches, then growing again.
        await handle.log.write({ entries: [entry(2, 3)], sync: true });
        await handle.reopen();
        expect(handle.log.lastIndex()).toBe(2 as LogIndex);
        expect(await range(handle, 1, 3)).toEqual([entry(1, 1), entry(2, 3)]);
        await handle.log.write({ entries: entries(3, 4, 3), sync: true });
        await handle.reopen();
        expect(await range(handle, 1, 5)).toEqual([entry(1, 1), ...entries(2, 4, 3)]);
      }));

    it('round-trips the hard state, alone and with entries', () =>
      run(async (handle) => {
        const first: HardState = { term: 2 as Term, vote: 3 as NodeId, commit: 0 as LogIndex };
        await handle.log.write({ hardState: first, entries: [], sync: true });
        expect(handle.log.initialState().hardState).toEqual(first);
        const second: HardState = { term: 5 as Term, vote: null, commit: 2 as LogIndex };
        await handle.log.write({ hardState: second, entries: entries(1, 2, 5), sync: true });
        expect(handle.log.initialState().hardState).toEqual(second);
        await handle.reopen();
        expect(handle.log.initialState().hardState).toEqual(second);
        expect(await range(handle, 1, 3)).toEqual(entries(1, 2, 5));
      }));

    it('makes a write visible as soon as it resolves, with sync false too', () =>
      run(async (handle) => {
        const log = handle.log;
        await log.write({ entries: entries(1, 2, 1), sync: false });
        expect(log.lastIndex()).toBe(2 as LogIndex);
        expect(await range(handle, 1, 3)).toEqual(entries(1, 2, 1));
      }));

    it('installing a snapshot replaces the whole log', () =>
      run(async (handle) => {
        await handle.log.write({ entries: entries(1, 5, 1), sync: true });
        const snapshot = snapshotAt(10, 3, 7);
        const hardState: HardState = { term: 3 as Term, vote: null, commit: 10 as LogIndex };
        await handle.log.write({ snapshot, hardState, entries: [], sync: true });
        const check = async (): Promise<void> => {
          const log = handle.log;
          expect(log.firstIndex()).toBe(11 as LogIndex);
          expect(log.lastIndex()).toBe(10 as LogIndex);
          expect(log.term(10 as LogIndex)).toBe(3 as Term);
          expect(log.term(5 as LogIndex)).toBeNull();
          expect(await range(handle, 5, 11)).toBeNull();
          expect(log.snapshot()).toEqual(snapshot);
          expect(log.initialState()).toEqual({ hardState, confState: CONF });
        };
        await check();
        await handle.reopen();
        await check();
        // A snapshot and the entries after it in one write.
        const later = snapshotAt(20, 4, 9);
        await handle.log.write({ snapshot: later, entries: entries(21, 23, 4), sync: true });
        await handle.reopen();
        expect(handle.log.firstIndex()).toBe(21 as LogIndex);
        expect(await range(handle, 21, 24)).toEqual(entries(21, 23, 4));
        expect(handle.log.snapshot()).toEqual(later);
      }));

    it('compact keeps entries above compactTo readable and the term at compactTo', () =>
      run(async (handle) => {
        await handle.log.write({
          entries: [...entries(1, 4, 1), ...entries(5, 10, 2)],
          sync: true,
        });
        // Snapshot at 7, keeping a tail from 6 for slow followers.
        const snapshot = snapshotAt(7, 2, 3);
        await handle.log.compact(snapshot, 5 as LogIndex);
        const check = async (): Promise<void> => {
          const log = handle.log;
          expect(log.firstIndex()).toBe(6 as LogIndex);
          expect(log.lastIndex()).toBe(10 as LogIndex);
          expect(log.term(5 as LogIndex)).toBe(2 as Term);
          expect(log.term(4 as LogIndex)).toBeNull();
          expect(await range(handle, 5, 11)).toBeNull();
          expect(await range(handle, 6, 11)).toEqual(entries(6, 10, 2));
          expect(log.snapshot()).toEqual(snapshot);
        };
        await check();
        await handle.reopen();
        await check();
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
      run(async (handle) => {
        if (!handle.durable) return;
        await handle.log.write({ entries: entries(1, 30, 1, 40), sync: true });
        await handle.log.write({
          entries: entries(25, 40, 2, 40),
          hardState: { term: 2 as Term, vote: 1 as NodeId, commit: 20 as LogIndex },
          sync: true,
        });
        await handle.log.compact(snapshotAt(20, 1, 11), 15 as LogIndex);
        await handle.log.write({ entries: entries(41, 45, 2, 40), sync: false });
        const before = await stateOf(handle);
        await handle.reopen();
        expect(await stateOf(handle)).toEqual(before);
        await handle.reopen();
        expect(await stateOf(handle)).toEqual(before);
      }));

    it('accepts an onAvailable listener; without a bounded cache never answers unavailable', () =>
      run(async (handle) => {
        const log = handle.log;
        await log.write({ entries: entries(1, 20, 1, DATA_BYTES), sync: true });
        if (log.features.boundedCache) return;
        expect(log.entries(1 as LogIndex, 21 as LogIndex, NO_LIMIT)).toEqual(
          entries(1, 20, 1, DATA_BYTES),
        );
        expect(handle.availability.calls).toBe(0);
      }));

    runCompactionTests(t, factory);
    runCacheTests(t, factory);
  });
}
