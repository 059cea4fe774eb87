// The conformance suite is not blind: it is run, through a runner that collects its tests
// instead of registering them, against a planted bug, a "durable" log whose reopen replays its
// journal the way etcd#22442's WAL replay did, keeping the first entry written at each index and
// so resurrecting a truncated suffix (RELIABILITY §2.1 bug 11). The truncation test must fail
// on it, and the tests that never reopen must still pass (the failure is the bug, not noise).
import {
  type DurableLog,
  type Entry,
  type HardState,
  MemoryStorage,
  type Snapshot,
} from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { MemoryDurableLog } from '../src/index.js';
import { suiteVerdicts } from './helpers.js';

/** A log that forgets truncations when reopened: the first write at each index wins. */
class ResurrectingLog extends MemoryDurableLog {
  override readonly features = { durable: true, snapshotsStreamed: false, boundedCache: false };
  readonly journal: { entries: readonly Entry[]; hardState?: HardState; snapshot?: Snapshot }[] =
    [];

  override write(update: Parameters<DurableLog['write']>[0]): Promise<void> {
    this.journal.push({
      entries: update.entries,
      ...(update.hardState === undefined ? {} : { hardState: update.hardState }),
      ...(update.snapshot === undefined ? {} : { snapshot: update.snapshot }),
    });
    return super.write(update);
  }

  /** The buggy replay: an entry at an index already seen is skipped instead of truncating. */
  replay(): ResurrectingLog {
    const storage = new MemoryStorage();
    for (const record of this.journal) {
      if (record.snapshot !== undefined) storage.write({ snapshot: record.snapshot, entries: [] });
      const fresh = record.entries.filter((entry) => entry.index > storage.lastIndex());
      storage.write({ entries: fresh, hardState: record.hardState });
    }
    const log = new ResurrectingLog(storage);
    log.journal.push(...this.journal);
    return log;
  }
}

describe('DurableLog conformance suite against a planted bug', () => {
  it('fails the truncation test on a log that resurrects truncated entries', async () => {
    const { failed, ran } = await suiteVerdicts('ResurrectingLog', {
      open: () => Promise.resolve(new ResurrectingLog()),
      reopen: (log) => Promise.resolve((log as ResurrectingLog).replay()),
    });
    expect(failed).toContain(
      'an append at index i discards every stored entry from i on, also after reopening',
    );
    expect(failed).not.toContain('appends across writes and reads any range [lo, hi)');
    expect(ran.length).toBeGreaterThan(8);
  });
});
