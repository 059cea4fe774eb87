/**
 * The `DurableLog` conformance tests for compactions that overlap later writes (the port's
 * promise: the runtime does not await `compact` before its next Ready). A compaction is started
 * without awaiting it, then a write installs a newer snapshot (and the reverse: the write is
 * started first), or appends and rewrites entries above `compactTo`; both are awaited and the
 * read view is checked, then checked again after reopening. An implementation may finish the
 * two in either order; whichever it picks, a compaction whose snapshot is at or below the one
 * the log holds changes nothing, and no compaction removes an entry above `compactTo`.
 * Sim seed 77 found a member whose log started past its snapshot when this did not hold.
 */
import type { LogIndex, Term } from '../ids.js';
import type { HardState, Snapshot } from '../types.js';
import { entries, entry, type LogHandle, snapshotAt, withLog } from './durable-log-fixtures.js';
import type { DurableLogFactory, SuiteRunner } from './durable-log-suite.js';

/** The stale compaction every overlap test starts: a snapshot at 7, keeping entries from 6. */
const STALE = snapshotAt(7, 1, 3);
const STALE_COMPACT_TO = 5 as LogIndex;
/** The snapshot a later write installs, and the entries that write brings after it. */
const NEWER = snapshotAt(20, 2, 9);
const NEWER_HARD_STATE: HardState = { term: 2 as Term, vote: null, commit: 20 as LogIndex };
const AFTER_NEWER = entries(21, 23, 2);

export function runCompactionTests(t: SuiteRunner, factory: DurableLogFactory): void {
  const { describe, it, expect } = t;

  const run = (body: (handle: LogHandle) => Promise<void>): Promise<void> =>
    withLog(factory, () => factory.open(), body);

  /** Entries 1..10 at term 1, all committed. */
  async function tenCommitted(handle: LogHandle): Promise<void> {
    const hardState: HardState = { term: 1 as Term, vote: null, commit: 10 as LogIndex };
    await handle.log.write({ entries: entries(1, 10, 1), hardState, sync: true });
  }

  function installNewer(handle: LogHandle): Promise<void> {
    return handle.log.write({
      snapshot: NEWER,
      hardState: NEWER_HARD_STATE,
      entries: AFTER_NEWER,
      sync: true,
    });
  }

  /** The log holds exactly the newer snapshot and the entries after it, now and reopened. */
  async function expectNewerOnly(handle: LogHandle): Promise<void> {
    const check = async (): Promise<void> => {
      const log = handle.log;
      expect(log.snapshot(), 'the newer snapshot stays').toEqual(NEWER);
      expect(log.firstIndex()).toBe(21 as LogIndex);
      expect(log.lastIndex()).toBe(23 as LogIndex);
      expect(log.term(20 as LogIndex)).toBe(2 as Term);
      expect(log.term(7 as LogIndex)).toBeNull();
      expect(await handle.availability.readAll(log, 21, 24)).toEqual(AFTER_NEWER);
      expect(log.initialState().hardState).toEqual(NEWER_HARD_STATE);
    };
    await check();
    await handle.reopen();
    await check();
  }

  describe('compaction overlapping later writes', () => {
    it('a compaction still running when a later write installs a newer snapshot changes nothing', () =>
      run(async (handle) => {
        await tenCommitted(handle);
        const compacting = handle.log.compact(STALE, STALE_COMPACT_TO);
        const installing = installNewer(handle);
        await Promise.all([compacting, installing]);
        await expectNewerOnly(handle);
      }));

    it('a compaction started while a newer snapshot is being installed changes nothing', () =>
      run(async (handle) => {
        await tenCommitted(handle);
        const installing = installNewer(handle);
        const compacting = handle.log.compact(STALE, STALE_COMPACT_TO);
        await Promise.all([installing, compacting]);
        await expectNewerOnly(handle);
      }));

    it('a compaction overlapping appends and a rewritten suffix removes nothing above compactTo', () =>
      run(async (handle) => {
        await tenCommitted(handle);
        const snapshot = snapshotAt(8, 1, 4);
        const hardState: HardState = { term: 2 as Term, vote: null, commit: 8 as LogIndex };
        const compacting = handle.log.compact(snapshot, 6 as LogIndex);
        // A new leader rewrites 9 and 10 (never committed here: the commit index is 8).
        await handle.log.write({ entries: entries(9, 14, 2), hardState, sync: true });
        await handle.log.write({ entries: entries(15, 16, 2), sync: false });
        await compacting;
        const expected = [entry(7, 1), entry(8, 1), ...entries(9, 16, 2)];
        const check = async (): Promise<void> => {
          const log = handle.log;
          expect(log.snapshot()).toEqual(snapshot);
          expect(log.firstIndex()).toBe(7 as LogIndex);
          expect(log.lastIndex()).toBe(16 as LogIndex);
          expect(log.term(6 as LogIndex)).toBe(1 as Term);
          expect(await handle.availability.readAll(log, 7, 17)).toEqual(expected);
        };
        await check();
        await handle.reopen();
        await check();
      }));

    it('a compaction at or below the snapshot the log holds changes nothing', () =>
      run(async (handle) => {
        const hardState: HardState = { term: 1 as Term, vote: null, commit: 20 as LogIndex };
        await handle.log.write({ entries: entries(1, 20, 1), hardState, sync: true });
        const held = snapshotAt(15, 1, 6);
        await handle.log.compact(held, 10 as LogIndex);
        const stale: Snapshot[] = [snapshotAt(12, 1, 7), snapshotAt(15, 1, 8)];
        const check = async (): Promise<void> => {
          const log = handle.log;
          expect(log.snapshot(), 'the held snapshot stays').toEqual(held);
          expect(log.firstIndex(), 'no retained entry is dropped').toBe(11 as LogIndex);
          expect(log.term(10 as LogIndex)).toBe(1 as Term);
          expect(await handle.availability.readAll(log, 11, 21)).toEqual(entries(11, 20, 1));
        };
        for (const snapshot of stale) {
          await handle.log.compact(snapshot, snapshot.metadata.index);
          await check();
        }
        await handle.reopen();
        await check();
      }));
  });
}
