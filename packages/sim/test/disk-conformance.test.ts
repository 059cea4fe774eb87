/**
 * The `DurableLog` conformance suite of `@cairn/raft`, run unchanged against `SimDisk`, so the
 * simulator's disk keeps the promises the node runtime relies on (a compaction overlapping a
 * later write included). Reopening replays the disk's records, as a restart would. It runs
 * twice: with the writes issued in one turn of the event loop completing in the order they
 * were issued, and in the reverse order (a write issued after a compaction finishes first, as
 * random latencies make it in the simulator: sim seed 77).
 */
import { runDurableLogSuite } from '@cairn/raft/testing';
import { describe, expect, it } from 'vitest';
import { type DiskTimers, SimDisk } from '../src/disk.js';
import { Rng } from '../src/rng.js';

const identity = { clusterId: 'conformance', nodeId: 1 };

/** Completes the writes issued in one turn of the event loop together, in `order`. */
class TurnTimers implements DiskTimers {
  private due: (() => void)[] = [];

  constructor(private readonly order: 'issued' | 'reversed') {}

  setTimeout(callback: () => void): unknown {
    if (this.due.length === 0) setImmediate(() => this.runDue());
    this.due.push(callback);
    return undefined;
  }

  private runDue(): void {
    const due = this.due.splice(0);
    if (this.order === 'reversed') due.reverse();
    for (const complete of due) complete();
  }
}

for (const order of ['issued', 'reversed'] as const) {
  const timers = new TurnTimers(order);
  runDurableLogSuite({ describe, it, expect }, `SimDisk (completing in ${order} order)`, {
    open() {
      const disk = SimDisk.empty({ identity, rng: new Rng(1) });
      disk.open(identity, timers);
      return Promise.resolve(disk);
    },
    reopen(log) {
      const disk = log as SimDisk;
      disk.open(identity, timers);
      if (disk.openFailure !== null) return Promise.reject(disk.openFailure);
      return Promise.resolve(disk);
    },
  });
}
