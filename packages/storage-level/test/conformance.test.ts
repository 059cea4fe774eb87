// Runs the `DurableLog` conformance suite of `@cairn/raft` unchanged against both
// implementations in this package: the memory twin (`durable: false`, so the reopen checks are
// skipped) and `LevelLog`, each test on a fresh temporary folder and reopened through a real
// close and open of the same folder, so every durable check reads back from LevelDB. LevelLog's
// small-cache logs (for the bounded-cache tests) hold 512 bytes of entries and read 256 at a
// time, so nearly every read of a committed entry goes to disk.
import { nodeId } from '@cairn/raft';
// The suite's own module until `@cairn/raft/testing` has its index (it will re-export this).
import { runDurableLogSuite } from '@cairn/raft/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelLog, type LevelLogOptions, MemoryDurableLog } from '../src/index.js';
import { TempDirs } from './helpers.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

runDurableLogSuite({ describe, it, expect }, 'MemoryDurableLog', {
  open: () => Promise.resolve(new MemoryDurableLog()),
});

const CLUSTER = 'conformance';
const NODE = nodeId(1);
const SMALL_CACHE = { cacheBytes: 512, readAheadBytes: 256 };
/** The options each open LevelLog was opened with, so `reopen` opens it the same way. */
const opened = new WeakMap<object, LevelLogOptions>();

async function openLevel(options: LevelLogOptions): Promise<LevelLog> {
  const log = await LevelLog.open(options);
  opened.set(log, options);
  return log;
}

runDurableLogSuite({ describe, it, expect }, 'LevelLog', {
  open: () => openLevel({ dir: temp.make(), clusterId: CLUSTER, nodeId: NODE }),
  openSmallCache: () =>
    openLevel({ dir: temp.make(), clusterId: CLUSTER, nodeId: NODE, ...SMALL_CACHE }),
  async reopen(log) {
    const options = opened.get(log);
    if (options === undefined) throw new Error('reopen of a log this factory did not open');
    await log.close();
    return openLevel(options);
  },
});
