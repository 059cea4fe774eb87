/**
 * The `DurableLog` conformance tests for an implementation with a bounded cache
 * (`features.boundedCache`), run on logs from `DurableLogFactory.openSmallCache` so that most
 * reads miss. They check the `'unavailable'` contract: a miss is answered `'unavailable'` while
 * `term` still answers; the `onAvailable` listener fires once the entries are loaded and they
 * then read back exactly as written, across truncations, compactions, snapshot installs and a
 * reopen; entries above the commit index of the last hard state written are never unavailable;
 * misses on several ranges at once are all answered. An implementation without a bounded cache
 * passes them vacuously.
 */
import type { LogIndex, Term } from '../ids.js';
import type { HardState } from '../types.js';
import {
  DATA_BYTES,
  entries,
  entry,
  type LogHandle,
  NO_LIMIT,
  snapshotAt,
  stateOf,
  withLog,
} from './durable-log-fixtures.js';
import type { DurableLogFactory, SuiteRunner } from './durable-log-suite.js';

/** Appends [from, to] (term `term`, DATA_BYTES each) in writes of 20, each committing `commit`. */
async function append(
  handle: LogHandle,
  from: number,
  to: number,
  term: number,
  commit: (last: number) => number,
): Promise<void> {
  for (let first = from; first <= to; first += 20) {
    const last = Math.min(to, first + 19);
    const hardState: HardState = {
      term: term as Term,
      vote: null,
      commit: commit(last) as LogIndex,
    };
    await handle.log.write({
      entries: entries(first, last, term, DATA_BYTES),
      hardState,
      sync: true,
    });
  }
}

export function runCacheTests(t: SuiteRunner, factory: DurableLogFactory): void {
  const { describe, it, expect } = t;

  /** Runs `body` on a small-cache log when the implementation has a bounded cache. */
  async function runSmall(body: (handle: LogHandle) => Promise<void>): Promise<void> {
    const openSmall = factory.openSmallCache;
    if (openSmall === undefined) {
      const log = await factory.open();
      const bounded = log.features.boundedCache;
      await log.close();
      if (bounded) throw new Error('features.boundedCache needs DurableLogFactory.openSmallCache');
      return;
    }
    await withLog(
      factory,
      () => openSmall(),
      async (handle) => {
        if (handle.log.features.boundedCache) await body(handle);
      },
    );
  }

  describe('bounded cache', () => {
    it('answers unavailable beyond its cache, calls the listener once loaded, then serves', () =>
      runSmall(async (handle) => {
        const log = handle.log;
        await append(handle, 1, 200, 1, (last) => last);
        expect(log.entries(1 as LogIndex, 2 as LogIndex, NO_LIMIT)).toBe('unavailable');
        // Terms always answer, cached or not.
        expect(log.term(1 as LogIndex)).toBe(1 as Term);
        await handle.availability.next();
        expect(log.entries(1 as LogIndex, 2 as LogIndex, NO_LIMIT)).toEqual([
          entry(1, 1, DATA_BYTES),
        ]);
        expect(await handle.availability.readAll(log, 1, 201)).toEqual(
          entries(1, 200, 1, DATA_BYTES),
        );
      }));

    it('never answers unavailable above the commit index of the last hard state written', () =>
      runSmall(async (handle) => {
        const log = handle.log;
        await append(handle, 1, 60, 1, () => 10);
        expect(log.entries(11 as LogIndex, 61 as LogIndex, NO_LIMIT)).toEqual(
          entries(11, 60, 1, DATA_BYTES),
        );
        const hardState: HardState = { term: 1 as Term, vote: null, commit: 50 as LogIndex };
        await log.write({ hardState, entries: [], sync: true });
        expect(log.entries(51 as LogIndex, 61 as LogIndex, NO_LIMIT)).toEqual(
          entries(51, 60, 1, DATA_BYTES),
        );
        for (let i = 0; i <= 60; i++)
          expect(log.term(i as LogIndex)).toBe((i === 0 ? 0 : 1) as Term);
      }));

    it('reads back through misses after a truncation, a compaction and a snapshot install', () =>
      runSmall(async (handle) => {
        const log = handle.log;
        await append(handle, 1, 100, 1, () => 60);
        // A new leader replaces 70.. with a shorter suffix of term 2.
        await append(handle, 70, 90, 2, () => 60);
        const expected = [...entries(1, 69, 1, DATA_BYTES), ...entries(70, 90, 2, DATA_BYTES)];
        expect(log.lastIndex()).toBe(90 as LogIndex);
        expect(await handle.availability.readAll(log, 1, 91)).toEqual(expected);
        for (const lo of [1, 13, 40, 69, 70, 85]) {
          const part = await handle.availability.read(log, lo, lo + 5);
          expect(part !== null && part.length > 0).toBe(true);
          expect(part).toEqual(expected.slice(lo - 1, lo - 1 + (part?.length ?? 0)));
        }
        await log.compact(snapshotAt(50, 1, 3), 40 as LogIndex);
        expect(log.entries(40 as LogIndex, 41 as LogIndex, NO_LIMIT)).toBeNull();
        expect(log.term(40 as LogIndex)).toBe(1 as Term);
        expect(await handle.availability.readAll(log, 41, 91)).toEqual(expected.slice(40));
        const hardState: HardState = { term: 3 as Term, vote: null, commit: 200 as LogIndex };
        const snapshot = snapshotAt(200, 3, 9);
        await log.write({ snapshot, hardState, entries: entries(201, 205, 3), sync: true });
        expect(log.entries(150 as LogIndex, 151 as LogIndex, NO_LIMIT)).toBeNull();
        expect(await handle.availability.readAll(log, 201, 206)).toEqual(entries(201, 205, 3));
        expect(log.snapshot()).toEqual(snapshot);
      }));

    it('answers misses on several ranges at once', () =>
      runSmall(async (handle) => {
        const log = handle.log;
        await append(handle, 1, 200, 1, (last) => last);
        const ranges = [1, 60, 120, 150];
        for (const lo of ranges)
          expect(log.entries(lo as LogIndex, (lo + 3) as LogIndex, NO_LIMIT)).toBe('unavailable');
        const read = await Promise.all(
          ranges.map((lo) => handle.availability.readAll(log, lo, lo + 3)),
        );
        expect(read).toEqual(ranges.map((lo) => entries(lo, lo + 2, 1, DATA_BYTES)));
      }));

    it('a reopened log serves exactly what was written, through misses (durable)', () =>
      runSmall(async (handle) => {
        if (!handle.durable) return;
        await append(handle, 1, 150, 1, (last) => Math.min(last, 120));
        await append(handle, 130, 140, 2, () => 120);
        await handle.log.compact(snapshotAt(100, 1, 4), 90 as LogIndex);
        const before = await stateOf(handle);
        await handle.reopen();
        expect(await stateOf(handle)).toEqual(before);
      }));
  });
}
