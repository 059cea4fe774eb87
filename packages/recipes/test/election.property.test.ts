/**
 * Property: over random interleavings (member, start, tenure, resign or session close, whether
 * a candidate gives up after a timeout), leader election never has two leaders that have not
 * been told of their loss, fencing tokens rise from leader to leader, every patient candidate
 * leads, and an observer's sequence of leaders is a subsequence of the real one. Its sibling
 * plants a bug in the recipe itself (a candidate that leads as soon as the one just ahead is
 * gone, without reading the queue again) and proves the property catches two leaders at once.
 * Seeded from CAIRN_SEED, virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AcquireOptions, LeaderElection, type Lease } from '../src/index.js';
import {
  deadlineSignal,
  enc,
  ensurePath,
  sortBySequence,
  untilAnyGone,
} from '../src/internal/util.js';
import { deleteQuietly, leaseOf } from '../src/lease.js';
import { SEED } from './helpers.js';

/** How a participant campaigns: the recipe, or a broken variant of it. */
type MakeElection = (
  session: Session,
  id: string,
  c: TestCluster,
) => { campaign(options: AcquireOptions): Promise<Lease> };

const recipe: MakeElection = (session, id, c) =>
  new LeaderElection(session, '/e', { id, timers: c.time });

/**
 * The planted bug: the recipe's own steps (ephemeral-sequential candidate, watch only the one
 * just ahead, deadline, lease) but, once that one is gone, it leads without reading the queue
 * again. When the one ahead gave up (timed out, closed) while an earlier one still leads, two
 * lead at once.
 */
const trusting: MakeElection = (session, id, c) => ({
  campaign: async (options) => {
    const deadline = deadlineSignal(c.time, options, 'election /e');
    await ensurePath(session, '/e');
    const created = await session.create2('/e/candidate-', enc(id), {
      mode: 'ephemeral-sequential',
    });
    try {
      const mine = created.path.slice('/e/'.length);
      const names = sortBySequence((await session.getChildren('/e')).children, ['candidate-']);
      const index = names.indexOf(mine);
      if (index > 0) await untilAnyGone(session, [`/e/${names[index - 1]}`], deadline.signal);
      return await leaseOf(session, { path: created.path, czxid: created.stat.czxid }, (lease) =>
        lease.end(),
      );
    } catch (error) {
      await deleteQuietly(session, created.path);
      throw error;
    } finally {
      deadline.dispose();
    }
  },
});

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

async function run(
  plans: readonly Candidate[],
  seed: number,
  makeElection: MakeElection = recipe,
): Promise<string | null> {
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
      const election = makeElection(session, `c${index}`, c);
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

  it('notices a planted bug: a candidate that leads once the one ahead is gone, without re-checking', async () => {
    // Long tenures and impatient candidates: one in the middle of the queue often gives up
    // while the one ahead of it still leads.
    const rush = fc.array(
      fc.record({
        member: fc.integer({ min: 0, max: 2 }),
        startMs: fc.integer({ min: 0, max: 30 }),
        tenureMs: fc.integer({ min: 150, max: 300 }),
        timeoutMs: fc.option(fc.integer({ min: 20, max: 120 }), { nil: null, freq: 2 }),
        closeAfterMs: fc.constant(null),
      }),
      { minLength: 3, maxLength: 6 },
    );
    const found: string[] = [];
    const result = await fc.check(
      fc.asyncProperty(rush, async (plans) => {
        const broken = await run(plans, SEED, trusting);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 30 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toBe('two leaders at once');
    // The recipe itself passes the very plan that caught the broken variant.
    const counterexample = result.counterexample?.[0];
    expect(counterexample).toBeDefined();
    expect(await run(counterexample as Candidate[], SEED)).toBeNull();
  });
});
