/**
 * Crash points inside one Ready (RELIABILITY F5, `src/crash-points.ts`): with every crash
 * action of the fault phase turned into an armed crash point, runs of the real runtime reach
 * the points (each fired one counted as `crashPoint:<name>`), every invariant and history
 * checker still passes, and a seed replays to the same trace hash. A point that stopped firing,
 * or a crash at one that broke the runtime, fails here. The split-vote shape must reach
 * `afterPersistVote` in every run (it arms it on every voter but the leader, round after round).
 */
import { describe, expect, it } from 'vitest';
import { SPLIT_VOTE_SHAPE } from '../src/batch.js';
import { CRASH_POINTS, crashPointCounter } from '../src/crash-points.js';
import { simulate } from '../src/simulate.js';

describe('crash points inside one Ready', () => {
  it('are reached, keep every invariant and replay exactly', async () => {
    const fired: Record<string, number> = {};
    for (let seed = 1; seed <= 8; seed++) {
      const options = { seed, voters: 3 as const, safetyMs: 2000, crashPoints: { chance: 1 } };
      const report = await simulate(options);
      expect(report.violations, `seed ${seed}: ${report.summary}`).toEqual([]);
      for (const point of CRASH_POINTS) {
        const counter = crashPointCounter(point);
        fired[counter] = (fired[counter] ?? 0) + (report.coverage[counter] ?? 0);
      }
      if (seed === 1) expect((await simulate(options)).traceHash).toBe(report.traceHash);
    }
    console.log(`crash points fired over 8 seeds: ${JSON.stringify(fired)}`);
    const total = Object.values(fired).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
  }, 300_000);

  it('the split-vote shape dies after a vote in every run, and passes', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      const report = await simulate({ ...SPLIT_VOTE_SHAPE.options, seed });
      expect(report.violations, `seed ${seed}: ${report.summary}`).toEqual([]);
      expect(report.coverage[crashPointCounter('afterPersistVote')]).toBeGreaterThan(0);
      for (const point of CRASH_POINTS)
        expect(report.coverage).toHaveProperty([crashPointCounter(point)]);
    }
  }, 300_000);
});
