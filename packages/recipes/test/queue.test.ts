/**
 * DistributedQueue and PriorityQueue on a 3-node TestCluster: 10 producers and 10 consumers on
 * sessions over the members move 60 items, each taken exactly once; one producer's items come
 * out in order; priorities come out lowest first; a consumer whose member is partitioned away
 * fails with SessionExpired and loses no item. The property test puts and takes from random
 * members at random times and checks that what was taken is what was put. Seeded, virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedQueue, PriorityQueue } from '../src/index.js';
import { codeOf, dec, enc, followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`queues (seed ${SEED})`, () => {
  it('10 producers and 10 consumers over three members: 60 items, each taken once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const sessions = await sessionsOn(c, 20, 5000);
    const taken: string[] = [];
    const producers = sessions.slice(0, 10).map(async (session, p) => {
      const queue = new DistributedQueue(session, '/q', { timers: c.time });
      for (let i = 0; i < 6; i++) await queue.put(enc(`p${p}-${i}`));
    });
    const consumers = sessions.slice(10).map(async (session) => {
      const queue = new DistributedQueue(session, '/q', { timers: c.time });
      for (let i = 0; i < 6; i++) taken.push(dec(await queue.take({ timeoutMs: 20_000 })));
    });
    await c.settle(Promise.all([...producers, ...consumers]), 60_000);
    expect(taken).toHaveLength(60);
    expect(new Set(taken).size).toBe(60);
    const queue = new DistributedQueue(sessions[0] as Session, '/q');
    expect(await c.settle(queue.size())).toBe(0);
    expect(await c.settle(queue.poll())).toBeNull();
  });

  it('is FIFO for one producer and orders priorities', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const [s1, s2] = (await sessionsOn(c, 2)) as [Session, Session];
    const q1 = new DistributedQueue(s1, '/fifo', { timers: c.time });
    for (let i = 0; i < 5; i++) await c.settle(q1.put(enc(`${i}`)));
    const q2 = new DistributedQueue(s2, '/fifo', { timers: c.time });
    await c.settle(s2.sync());
    const out: string[] = [];
    for (let i = 0; i < 5; i++) out.push(dec(await c.settle(q2.take())));
    expect(out).toEqual(['0', '1', '2', '3', '4']);
    const p1 = new PriorityQueue(s1, '/prio', { timers: c.time });
    for (const [name, priority] of [
      ['low', 9],
      ['high', 0],
      ['mid', 5],
      ['high2', 0],
    ] as const)
      await c.settle(p1.put(enc(name), priority));
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(dec(await c.settle(p1.take())));
    expect(got).toEqual(['high', 'high2', 'mid', 'low']);
  });

  it('a consumer cut off fails with SessionExpired; no item is lost', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const lonely = new DistributedQueue(await c.settle(cut.session({ timeoutMs: 600 })), '/q', {
      timers: c.time,
    });
    const steady = new DistributedQueue(await c.settle(other.session({ timeoutMs: 5000 })), '/q', {
      timers: c.time,
    });
    const waiting = codeOf(lonely.take());
    await c.run(50);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.run(50);
    await c.settle(steady.put(enc('a')));
    await c.settle(steady.put(enc('b')));
    await c.run(2000);
    c.network.heal();
    expect(await c.settle(waiting)).toBe('SessionExpired');
    expect(dec(await c.settle(steady.take()))).toBe('a');
    expect(dec(await c.settle(steady.take()))).toBe('b');
  });

  it(`property: items put and taken at random times from random members, each once (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            putMember: fc.integer({ min: 0, max: 2 }),
            takeMember: fc.integer({ min: 0, max: 2 }),
            putAtMs: fc.integer({ min: 0, max: 100 }),
            takeAtMs: fc.integer({ min: 0, max: 100 }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        fc.integer({ min: 1, max: 1000 }),
        async (items, seed) => {
          const c = await TestCluster.start({ size: 3, seed });
          try {
            const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
            const sessions = await Promise.all(
              nodes.map((n) => c.settle(n.session({ timeoutMs: 5000 }))),
            );
            const queueOn = (member: number): DistributedQueue =>
              new DistributedQueue(sessions[member] as Session, '/q', { timers: c.time });
            const at = (ms: number): Promise<void> =>
              new Promise((resolve) => c.time.setTimeout(resolve, ms));
            const taken: string[] = [];
            await c.settle(
              Promise.all(
                items.flatMap((item, i) => [
                  at(item.putAtMs).then(() => queueOn(item.putMember).put(enc(`i${i}`))),
                  at(item.takeAtMs).then(async () =>
                    taken.push(dec(await queueOn(item.takeMember).take({ timeoutMs: 30_000 }))),
                  ),
                ]),
              ),
              60_000,
            );
            expect([...taken].sort()).toEqual(items.map((_, i) => `i${i}`).sort());
          } finally {
            await c.close();
          }
        },
      ),
      { seed: SEED, numRuns: 30 },
    );
  });
});
