// The conformance suite's compaction tests are not blind: run through a runner that collects
// its tests, against a planted bug, a memory log whose compaction at or below the snapshot it
// holds still drops the retained entries up to `compactTo` (what MemoryStorage and LevelLog did
// before the DurableLog port promised that such a compaction changes nothing), the test of that
// promise must fail, and the tests that compact only newer snapshots must still pass.
import { type LogIndex, MemoryStorage, type Snapshot } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { MemoryDurableLog } from '../src/index.js';
import { suiteVerdicts } from './helpers.js';

/** A log whose stale compactions still discard entries up to `compactTo`. */
class TrimmingLog extends MemoryDurableLog {
  constructor(private readonly memory = new MemoryStorage()) {
    super(memory);
  }

  override compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    const held = this.memory.snapshot().metadata.index;
    if (snapshot.metadata.index > held) return super.compact(snapshot, compactTo);
    this.memory.discardEntriesTo(Math.min(compactTo, held) as LogIndex);
    return Promise.resolve();
  }
}

describe('DurableLog compaction tests against a planted bug', () => {
  it('fail on a log whose stale compaction still drops retained entries', async () => {
    const { failed } = await suiteVerdicts('TrimmingLog', {
      open: () => Promise.resolve(new TrimmingLog()),
    });
    expect(failed).toEqual(['a compaction at or below the snapshot the log holds changes nothing']);
  });
});
