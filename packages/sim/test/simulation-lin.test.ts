/**
 * The tier-2 checker over real simulated runs: for a few seeds (3 and 5 voters under every
 * fault), the client history of the run goes through the client-only linearizability checker
 * beside the tier-1 checkers, and no partition may be illegal or unknown (the 5-voter run of
 * seed 1 hit `statesMax` before unseen events were taken lazily); the counts (calls,
 * partitions, unknown verdicts, search steps) are printed. Then a planted bug: one
 * linearizable read of a real run is changed to the value its path held before the last write
 * acknowledged before the read began (a stale read), and the checker must call that history
 * illegal.
 */
import { describe, expect, it } from 'vitest';
import { History } from '../src/history.js';
import { checkLinearizability } from '../src/lin-checker.js';
import { simulate } from '../src/simulate.js';
import { simSeeds } from './seeds.js';

const LIMITS = { statesMax: 64, searchStepsMax: 100_000 };

describe('tier-2 checker on simulated runs', () => {
  for (const seed of simSeeds().slice(0, 2)) {
    for (const voters of [3, 5] as const) {
      it(`seed ${seed}, ${voters} voters: no illegal partition`, async () => {
        const report = await simulate({ seed, voters, linearizability: LIMITS });
        const stats = report.stats;
        console.log(
          `tier-2 seed ${seed} voters ${voters}: ${stats.linOps} calls, ${stats.linPartitions} partitions (largest ${stats.linLargest}), ${stats.linIllegal} illegal, ${stats.linUnknown} unknown, ${stats.linSteps} steps`,
        );
        const linear = report.violations.filter((v) => v.checker === 'linearizability');
        expect(
          linear.map((v) => v.message),
          `replay: CAIRN_SIM_SEED=${seed} npx vitest run packages/sim/test/simulation-lin.test.ts`,
        ).toEqual([]);
        expect(stats.linOps).toBeGreaterThan(300);
        expect(stats.linIllegal).toBe(0);
        expect(stats.linUnknown, 'a partition past statesMax or searchStepsMax').toBe(0);
      }, 180_000);
    }
  }

  it('finds a stale read planted in a real history (seed 2, 3 voters)', async () => {
    // Capture the run's History: the simulator asks it for pending calls once at the end.
    const captured: History[] = [];
    const pending = History.prototype.pending;
    History.prototype.pending = function (this: History) {
      captured.push(this);
      return pending.call(this);
    };
    try {
      await simulate({ seed: 2, voters: 3, safetyMs: 1500 });
    } finally {
      History.prototype.pending = pending;
    }
    const history = captured[0];
    if (history === undefined) throw new Error('no history captured');
    expect(checkLinearizability(history, LIMITS).stats.linIllegal).toBe(0);
    // A linearizable getData that saw data written by an acknowledged setData; make it return
    // the data that setData replaced, although the setData returned before the read began.
    const writes = history.ops.filter(
      (op) =>
        op.kind === 'setData' &&
        op.outcome.status === 'ok' &&
        op.request?.[0]?.type === 'setData' &&
        op.request[0].version === -1,
    );
    let planted = false;
    for (const read of history.ops) {
      const outcome = read.outcome;
      if (read.kind !== 'getData' || !read.linearizable || outcome.status !== 'ok') continue;
      const value = outcome.read;
      if (value?.kind !== 'getData' || value.stat.version < 1) continue;
      const before = writes.find(
        (w) =>
          w.path === read.path &&
          (w.returnOrder as number) < read.invokeOrder &&
          w.outcome.status === 'ok' &&
          w.outcome.results?.[0]?.type === 'setData' &&
          w.outcome.results[0].stat.version === value.stat.version,
      );
      if (before === undefined) continue;
      read.outcome = {
        status: 'ok',
        read: {
          ...value,
          data: `${value.data}-stale`,
          stat: { ...value.stat, version: value.stat.version - 1 },
        },
      };
      planted = true;
      break;
    }
    expect(planted, 'the run had a linearizable read after an acknowledged setData').toBe(true);
    const verdict = checkLinearizability(history, LIMITS);
    expect(verdict.stats.linIllegal).toBe(1);
    expect(verdict.violations[0]?.message).toContain('no linearization');
  }, 180_000);
});
