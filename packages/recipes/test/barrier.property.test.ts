/**
 * Property of DoubleBarrier over random interleavings (which member each participant's session
 * is on, when it arrives, how long it works inside, how many rounds): in every round no
 * participant passes `enter` before the last has entered, nor `leave` before the last has
 * started leaving, and every round completes. The sibling plants a bug (participants told to
 * wait for one fewer than there are) and proves the property notices. Seeded from CAIRN_SEED,
 * virtual time.
 */
import type { CairnNode } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DoubleBarrier } from '../src/index.js';
import { SEED } from './helpers.js';

interface Participant {
  readonly member: number;
  readonly arriveMs: number;
  readonly workMs: number;
}

const participant = fc.record({
  member: fc.integer({ min: 0, max: 2 }),
  arriveMs: fc.integer({ min: 0, max: 100 }),
  workMs: fc.integer({ min: 0, max: 60 }),
});

/** Runs `rounds` rounds; `count` is what every participant is told to wait for. */
async function run(
  plans: readonly Participant[],
  rounds: number,
  seed: number,
  count = plans.length,
): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const at = (ms: number): Promise<void> =>
      new Promise((resolve) => c.time.setTimeout(resolve, ms));
    const times = Array.from({ length: rounds }, () => ({
      entered: [] as number[],
      passedEnter: [] as number[],
      left: [] as number[],
      passedLeave: [] as number[],
    }));
    let incomplete: string | null = null;
    await c
      .settle(
        Promise.all(
          plans.map(async (p, i) => {
            const session = await (nodes[p.member] as CairnNode).session({ timeoutMs: 3000 });
            const barrier = new DoubleBarrier(session, '/db', {
              id: `p${i}`,
              count,
              timers: c.time,
            });
            for (const round of times) {
              await at(p.arriveMs);
              round.entered.push(c.time.now());
              await barrier.enter({ timeoutMs: 10_000 });
              round.passedEnter.push(c.time.now());
              await at(p.workMs);
              round.left.push(c.time.now());
              await barrier.leave({ timeoutMs: 10_000 });
              round.passedLeave.push(c.time.now());
            }
          }),
        ),
        120_000,
      )
      .catch((error: unknown) => {
        incomplete = `a round did not complete: ${String(error)}`;
      });
    // Early passes are reported even when a round then failed to complete.
    for (const [r, round] of times.entries()) {
      if (Math.min(...round.passedEnter) < Math.max(...round.entered))
        return `round ${r}: one passed enter before the last entered`;
      if (Math.min(...round.passedLeave) < Math.max(...round.left))
        return `round ${r}: one passed leave before the last left`;
    }
    return incomplete;
  } finally {
    await c.close();
  }
}

describe(`double barrier properties (seed ${SEED})`, () => {
  it('every round: nobody passes enter before the last enters, nor leave before the last leaves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(participant, { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        async (plans, rounds, seed) => {
          expect(await run(plans, rounds, seed)).toBeNull();
        },
      ),
      { seed: SEED, numRuns: 20 },
    );
  });

  it('notices a planted bug: participants told to wait for one fewer than there are', async () => {
    const found: string[] = [];
    const staggered = fc.array(
      fc.record({
        member: fc.integer({ min: 0, max: 2 }),
        arriveMs: fc.integer({ min: 0, max: 100 }),
        workMs: fc.constant(20),
      }),
      { minLength: 3, maxLength: 5 },
    );
    const result = await fc.check(
      fc.asyncProperty(staggered, async (plans) => {
        // The last arrival must come clearly after the others for "too early" to show.
        const last = Math.max(...plans.map((p) => p.arriveMs));
        const latecomer = plans.map((p, i) => (i === 0 ? { ...p, arriveMs: last + 80 } : p));
        const broken = await run(latecomer, 1, SEED, latecomer.length - 1);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toBe('round 0: one passed enter before the last entered');
  });
});
