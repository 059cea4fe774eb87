/**
 * SharedCounter and AtomicValue on a 3-node TestCluster: 30 sessions over the members adding
 * concurrently lose no update (compare-and-set on the version, retried with backoff); a
 * participant whose member is partitioned away fails or succeeds as a whole and the others go
 * on; the property test adds random deltas from random members at random times and checks the
 * total; its sibling plants a bug (a blind write, no version check) and proves the property
 * notices. Seeded from CAIRN_SEED, virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { seededNodeRandom } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicValue, SharedCounter } from '../src/index.js';
import { codeOf, followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`shared counter (seed ${SEED})`, () => {
  it('30 concurrent participants, 3 increments each: the count is 90', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const random = seededNodeRandom(SEED);
    const sessions = await sessionsOn(c, 30, 5000);
    const results: number[] = [];
    await c.settle(
      Promise.all(
        sessions.map(async (session) => {
          const counter = new SharedCounter(session, '/app/count', {
            timers: c.time,
            random: () => random.nextInt(1_000_000) / 1_000_000,
            attemptsMax: 100,
          });
          for (let i = 0; i < 3; i++) results.push(await counter.increment());
        }),
      ),
      60_000,
    );
    const counter = new SharedCounter(sessions[0] as Session, '/app/count');
    expect(await c.settle(counter.get({ linearizable: true }))).toBe(90);
    // Each successful add returned a distinct new value: no two saw the same old one.
    expect(new Set(results).size).toBe(90);
  });

  it('an atomic value: compare-and-set and a parse check', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const [s1, s2] = (await sessionsOn(c, 2)) as [Session, Session];
    const parse = (v: unknown): { n: number } => {
      if (typeof v !== 'object' || v === null || typeof (v as { n?: unknown }).n !== 'number')
        throw new Error('bad config');
      return v as { n: number };
    };
    const a = new AtomicValue(s1, '/v', { initial: { n: 0 }, parse, timers: c.time });
    const b = new AtomicValue(s2, '/v', { initial: { n: 0 }, parse, timers: c.time });
    expect(await c.settle(a.get())).toMatchObject({ value: { n: 0 }, version: -1 });
    expect(await c.settle(a.compareAndSet(-1, { n: 1 }))).toBe(true);
    expect(await c.settle(b.compareAndSet(-1, { n: 9 }))).toBe(false);
    const seen = await c.settle(b.get({ linearizable: true }));
    expect(seen.value).toEqual({ n: 1 });
    expect(await c.settle(a.compareAndSet(seen.version, { n: 2 }))).toBe(true);
    expect(await c.settle(b.compareAndSet(seen.version, { n: 3 }))).toBe(false);
    expect(await c.settle(b.update((v) => ({ n: v.n * 10 })))).toEqual({ n: 20 });
    await c.settle(s1.setData('/v', new TextEncoder().encode('"nope"')));
    await expect(c.settle(a.get({ linearizable: true }))).rejects.toThrow('bad config');
  });

  it('a participant cut off mid-way fails with SessionExpired; the count stays exact', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const lonely = await c.settle(cut.session({ timeoutMs: 600 }));
    const steady = await c.settle(other.session({ timeoutMs: 5000 }));
    const mine = new SharedCounter(lonely, '/count', { timers: c.time });
    const theirs = new SharedCounter(steady, '/count', { timers: c.time });
    await c.settle(mine.add(5));
    c.network.partition([cut.id], [leader.id, other.id]);
    const late = codeOf(mine.add(100));
    for (let i = 0; i < 5; i++) await c.settle(theirs.increment());
    await c.run(2000);
    c.network.heal();
    expect(await c.settle(late)).toBe('SessionExpired');
    expect(await c.settle(theirs.get({ linearizable: true }))).toBe(10);
  });

  it(`property: random adds from random members at random times sum exactly (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(adds, fc.integer({ min: 1, max: 1000 }), async (plan, seed) => {
        expect(await addAll(plan, seed, sharedCounter)).toBeNull();
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it('notices a planted bug: a counter that writes without checking the version', async () => {
    // Read, add, write back blindly: two concurrent adds can both read the same old value.
    const blind: MakeCounter = (session) => ({
      add: async (delta) => {
        const old = await new SharedCounter(session, '/n').get();
        const data = new TextEncoder().encode(JSON.stringify(old + delta));
        const created = await codeOf(session.create('/n', data));
        if (created !== 'Ok') await session.setData('/n', data, -1);
      },
    });
    const found: string[] = [];
    const concurrent = fc.array(
      fc.record({
        member: fc.integer({ min: 0, max: 2 }),
        atMs: fc.constant(0),
        delta: fc.integer({ min: 1, max: 5 }),
      }),
      { minLength: 2, maxLength: 6 },
    );
    const result = await fc.check(
      fc.asyncProperty(concurrent, async (plan) => {
        const broken = await addAll(plan, SEED, blind);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toMatch(/^the count is -?\d+, not -?\d+$/);
  });
});

interface Add {
  readonly member: number;
  readonly atMs: number;
  readonly delta: number;
}

const adds = fc.array(
  fc.record({
    member: fc.integer({ min: 0, max: 2 }),
    atMs: fc.integer({ min: 0, max: 100 }),
    delta: fc.integer({ min: -5, max: 5 }),
  }),
  { minLength: 1, maxLength: 12 },
);

type MakeCounter = (
  session: Session,
  c: TestCluster,
  random: () => number,
) => { add(delta: number): Promise<unknown> };

const sharedCounter: MakeCounter = (session, c, random) =>
  new SharedCounter(session, '/n', { timers: c.time, random, attemptsMax: 100 });

/** Runs the adds; returns null when the count is their sum, else what went wrong. */
async function addAll(
  plan: readonly Add[],
  seed: number,
  makeCounter: MakeCounter,
): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const random = seededNodeRandom(seed);
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const sessions = await Promise.all(nodes.map((n) => c.settle(n.session({ timeoutMs: 5000 }))));
    await c.settle(
      Promise.all(
        plan.map(async (add) => {
          await new Promise<void>((resolve) => c.time.setTimeout(resolve, add.atMs));
          const counter = makeCounter(
            sessions[add.member] as Session,
            c,
            () => random.nextInt(1_000_000) / 1_000_000,
          );
          await counter.add(add.delta);
        }),
      ),
      60_000,
    );
    const total = plan.reduce((sum, add) => sum + add.delta, 0);
    const counter = new SharedCounter(sessions[0] as Session, '/n');
    const count = await c.settle(counter.get({ linearizable: true }));
    return count === total ? null : `the count is ${count}, not ${total}`;
  } finally {
    await c.close();
  }
}
