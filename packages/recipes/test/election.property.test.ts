/**
 * Property: over random interleavings (member, start, tenure, resign or session close, whether
 * a candidate gives up after a timeout), leader election never has two leaders that have not
 * been told of their loss, fencing tokens rise from leader to leader, every patient candidate
 * leads, and an observer's sequence of leaders is a subsequence of the real one. Seeded from
 * CAIRN_SEED, virtual time.
 */
import type { CairnNode } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../src/index.js';
import { SEED } from './helpers.js';

interface Candidate {
  readonly member: number;
  readonly startMs: number;
  readonly tenureMs: number;
  readonly timeoutMs: number | null;
  readonly closeAfterMs: number | null;
}

const candidate = fc.record({
  member: fc.integer({ min: 0, max: 2 }),
  startMs: fc.integer({ min: 0, max: 200 }),
  tenureMs: fc.integer({ min: 0, max: 80 }),
  timeoutMs: fc.option(fc.integer({ min: 20, max: 400 }), { nil: null }),
  closeAfterMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
});

function isSubsequence(part: readonly string[], whole: readonly string[]): boolean {
  let at = 0;
  for (const item of whole) if (item === part[at]) at++;
  return at === part.length;
}

async function run(plans: readonly Candidate[], seed: number): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const observerSession = await c.settle((nodes[0] as CairnNode).session({ timeoutMs: 3000 }));
    const observed: string[] = [];
    new LeaderElection(observerSession, '/e', { id: 'observer' }).observe((id) => {
      if (id !== null) observed.push(id);
    });
    let inside = 0;
    let overlap = false;
    const leaders: string[] = [];
    const tokens: number[] = [];
    let served = 0;
    const one = async (plan: Candidate, index: number): Promise<void> => {
      const session = await (nodes[plan.member] as CairnNode).session({ timeoutMs: 3000 });
      await new Promise<void>((resolve) => c.time.setTimeout(resolve, plan.startMs));
      let leading = false;
      // Once it has asked to close its own session, a participant knows it no longer holds,
      // even if the acquire resolves during the close.
      let closing = false;
      const leave = (): void => {
        if (!leading) return;
        leading = false;
        inside--;
      };
      if (plan.closeAfterMs !== null)
        c.time.setTimeout(() => {
          leave();
          closing = true;
          void session.close().catch(() => {});
        }, plan.closeAfterMs);
      const election = new LeaderElection(session, '/e', { id: `c${index}`, timers: c.time });
      try {
        const lease = await election.campaign(
          plan.timeoutMs === null ? {} : { timeoutMs: plan.timeoutMs },
        );
        leading = !closing;
        if (leading) inside++;
        if (inside > 1) overlap = true;
        lease.onLost(leave);
        leaders.push(`c${index}`);
        tokens.push(lease.fencingToken);
        await new Promise<void>((resolve) => c.time.setTimeout(resolve, plan.tenureMs));
        leave();
        await lease.release();
        served++;
      } catch {
        // Timed out or the session closed: not served.
      }
    };
    await c.settle(Promise.all(plans.map(one)), 60_000);
    await c.run(50);
    if (overlap) return 'two leaders at once';
    for (let i = 1; i < tokens.length; i++)
      if ((tokens[i] as number) <= (tokens[i - 1] as number)) return `tokens not rising: ${tokens}`;
    const patient = plans.filter((p) => p.timeoutMs === null && p.closeAfterMs === null).length;
    if (served < patient) return 'a patient candidate never led';
    // The observer reports the candidate at the front of the queue; one that gives up at that
    // very moment (timeout, close) is reported without ever being handed the lease.
    const led = new Set(leaders);
    const gaveUp = new Set(
      plans.flatMap((p, i) => (p.timeoutMs !== null || p.closeAfterMs !== null ? [`c${i}`] : [])),
    );
    if (observed.some((id) => !led.has(id) && !gaveUp.has(id)))
      return `observer saw ${observed}: one never led and never gave up`;
    if (
      !isSubsequence(
        observed.filter((id) => led.has(id)),
        leaders,
      )
    )
      return `observer saw ${observed} but the leaders were ${leaders}`;
    return null;
  } finally {
    await c.close();
  }
}

describe(`leader election properties (seed ${SEED})`, () => {
  it('one leader at a time, rising tokens, patient candidates served, observers consistent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(candidate, { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 1000 }),
        async (plans, seed) => {
          expect(await run(plans, seed)).toBeNull();
        },
      ),
      { seed: SEED, numRuns: 50 },
    );
  });

  it('notices a planted bug: an observer that reports a leader that never led', () => {
    expect(isSubsequence(['c1', 'c0'], ['c0', 'c1'])).toBe(false);
    expect(isSubsequence(['c0', 'c2'], ['c0', 'c1', 'c2'])).toBe(true);
  });
});
