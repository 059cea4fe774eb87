// Runs the `DurableLog` conformance suite of `@cairn/raft` unchanged against both
// implementations in this package: the memory twin (`durable: false`, so the reopen checks are
// skipped) and `LevelLog`, each test on a fresh temporary folder and reopened through a real
// close and open of the same folder, so every durable check reads back from LevelDB.
import { nodeId } from '@cairn/raft';
// The suite's own module until `@cairn/raft/testing` has its index (it will re-export this).
import { runDurableLogSuite } from '@cairn/raft/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelLog, MemoryDurableLog } from '../src/index.js';
import { TempDirs } from './helpers.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

runDurableLogSuite({ describe, it, expect }, 'MemoryDurableLog', {
  open: () => Promise.resolve(new MemoryDurableLog()),
});

const CLUSTER = 'conformance';
const NODE = nodeId(1);
/** The folder of each open LevelLog, so `reopen` finds it again. */
const folders = new WeakMap<object, string>();

runDurableLogSuite({ describe, it, expect }, 'LevelLog', {
  async open() {
    const dir = temp.make();
    const log = await LevelLog.open({ dir, clusterId: CLUSTER, nodeId: NODE });
    folders.set(log, dir);
    return log;
  },
  async reopen(log) {
    const dir = folders.get(log);
    if (dir === undefined) throw new Error('reopen of a log this factory did not open');
    await log.close();
    const reopened = await LevelLog.open({ dir, clusterId: CLUSTER, nodeId: NODE });
    folders.set(reopened, dir);
    return reopened;
  },
});
