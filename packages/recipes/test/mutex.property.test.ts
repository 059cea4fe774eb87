/**
 * Property: over random interleavings (which member each contender's session is on, when it
 * starts, how long it holds, whether it gives up after a timeout, whether its session closes
 * while it waits or holds), the mutex never has two holders at once, hands out rising fencing
 * tokens, and every patient contender gets the lock. The sibling plants a bug (a queue that
 * never waits) and proves the property notices. Seeded from CAIRN_SEED, virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Mutex } from '../src/index.js';
import type { QueueKind } from '../src/internal/turn.js';
import { SEED } from './helpers.js';

interface Contender {
  readonly member: number;
  readonly startMs: number;
  readonly holdMs: number;
  readonly timeoutMs: number | null;
  /** Close the session this long after starting (while waiting or holding), or never. */
  readonly closeAfterMs: number | null;
}

const contender = fc.record({
  member: fc.integer({ min: 0, max: 2 }),
  startMs: fc.integer({ min: 0, max: 200 }),
  holdMs: fc.integer({ min: 0, max: 80 }),
  timeoutMs: fc.option(fc.integer({ min: 20, max: 400 }), { nil: null }),
  closeAfterMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
});

async function run(
  contenders: readonly Contender[],
  seed: number,
  kind?: QueueKind,
): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    let inside = 0;
    let overlap = false;
    const tokens: number[] = [];
    const outcomes: string[] = [];
    const one = async (plan: Contender): Promise<void> => {
      const node = nodes[plan.member] as CairnNode;
      const session: Session = await node.session({ timeoutMs: 3000 });
      await new Promise<void>((resolve) => c.time.setTimeout(resolve, plan.startMs));
      // A holder is "inside" from its acquire until it is told of the loss (or closes its own
      // session, or releases): a well-behaved holder stops its work at that moment.
      let holding = false;
      // Once it has asked to close its own session, a participant knows it no longer holds,
      // even if the acquire resolves during the close.
      let closing = false;
      const leave = (): void => {
        if (!holding) return;
        holding = false;
        inside--;
      };
      if (plan.closeAfterMs !== null)
        c.time.setTimeout(() => {
          leave();
          closing = true;
          void session.close().catch(() => {});
        }, plan.closeAfterMs);
      const mutex = new Mutex(session, '/lock', { timers: c.time }, kind);
      try {
        const lease = await mutex.acquire(
          plan.timeoutMs === null ? {} : { timeoutMs: plan.timeoutMs },
        );
        holding = !closing;
        if (holding) inside++;
        if (inside > 1) overlap = true;
        lease.onLost(leave);
        tokens.push(lease.fencingToken);
        await new Promise<void>((resolve) => c.time.setTimeout(resolve, plan.holdMs));
        leave();
        await lease.release();
        outcomes.push('held');
      } catch (error) {
        outcomes.push((error as { code?: string }).code ?? String(error));
      }
    };
    await c.settle(Promise.all(contenders.map(one)), 60_000);
    if (overlap) return 'two holders at once';
    for (let i = 1; i < tokens.length; i++)
      if ((tokens[i] as number) <= (tokens[i - 1] as number)) return `tokens not rising: ${tokens}`;
    const patient = contenders.filter(
      (p) => p.timeoutMs === null && p.closeAfterMs === null,
    ).length;
    if (outcomes.filter((o) => o === 'held').length < patient)
      return 'a patient contender never got the lock';
    return null;
  } finally {
    await c.close();
  }
}

describe(`mutex properties (seed ${SEED})`, () => {
  it('never two holders, rising tokens, every patient contender served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(contender, { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 1000 }),
        async (plans, seed) => {
          expect(await run(plans, seed)).toBeNull();
        },
      ),
      { seed: SEED, numRuns: 50 },
    );
  });

  it('notices a planted bug: a queue that never waits gives two holders', async () => {
    const noWait: QueueKind = { prefix: 'lock-', prefixes: ['lock-'], blockersOf: () => [] };
    const overlapping = fc.array(
      fc.record({
        member: fc.integer({ min: 0, max: 2 }),
        startMs: fc.constant(0),
        holdMs: fc.constant(50),
        timeoutMs: fc.constant(null),
        closeAfterMs: fc.constant(null),
      }),
      { minLength: 2, maxLength: 4 },
    );
    const result = await fc.check(
      fc.asyncProperty(overlapping, async (plans) => (await run(plans, SEED, noWait)) === null),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
  });
});
