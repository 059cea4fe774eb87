/**
 * DistributedQueue and PriorityQueue on a 3-node TestCluster: 10 producers and 10 consumers on
 * sessions over the members move 60 items, each taken exactly once; one producer's items come
 * out in order; priorities come out lowest first; a consumer whose member is partitioned away
 * fails with SessionExpired and loses no item. The property test puts and takes from random
 * members at random times and checks that what was taken is what was put; its sibling plants a
 * bug (a take that does not own the item it deletes) and proves the property notices. Seeded,
 * virtual time.
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
      fc.asyncProperty(items, fc.integer({ min: 1, max: 1000 }), async (plan, seed) => {
        expect(await putAndTake(plan, seed, distributedQueue)).toBeNull();
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it('notices a planted bug: a take that reads the first item without winning its delete', async () => {
    // Takes the first item it sees and deletes it quietly: two takers can both get it.
    const careless: MakeQueue = (session, c) => {
      const queue = new DistributedQueue(session, '/q', { timers: c.time });
      return {
        put: (data) => queue.put(data),
        take: async () => {
          for (;;) {
            const names = (await session.getChildren('/q')).children.filter((n) =>
              n.startsWith('item-'),
            );
            const first = names.sort()[0];
            if (first !== undefined) {
              const { data } = await session.getData(`/q/${first}`);
              await codeOf(session.delete(`/q/${first}`));
              return data;
            }
            await new Promise<void>((resolve) => c.time.setTimeout(resolve, 5));
          }
        },
      };
    };
    const found: string[] = [];
    const rush = fc.array(
      fc.record({
        putMember: fc.integer({ min: 0, max: 2 }),
        takeMember: fc.integer({ min: 0, max: 2 }),
        putAtMs: fc.constant(0),
        takeAtMs: fc.constant(30),
      }),
      { minLength: 3, maxLength: 6 },
    );
    const result = await fc.check(
      fc.asyncProperty(rush, async (plan) => {
        const broken = await putAndTake(plan, SEED, careless);
        if (broken !== null) found.push(broken);
        return broken === null;
      }),
      { seed: SEED, numRuns: 5 },
    );
    expect(result.failed).toBe(true);
    expect(found[0]).toMatch(/^taken .* but put /);
  });
});

interface Item {
  readonly putMember: number;
  readonly takeMember: number;
  readonly putAtMs: number;
  readonly takeAtMs: number;
}

const items = fc.array(
  fc.record({
    putMember: fc.integer({ min: 0, max: 2 }),
    takeMember: fc.integer({ min: 0, max: 2 }),
    putAtMs: fc.integer({ min: 0, max: 100 }),
    takeAtMs: fc.integer({ min: 0, max: 100 }),
  }),
  { minLength: 1, maxLength: 10 },
);

type MakeQueue = (
  session: Session,
  c: TestCluster,
) => { put(data: Uint8Array): Promise<unknown>; take(): Promise<Uint8Array> };

const distributedQueue: MakeQueue = (session, c) => {
  const queue = new DistributedQueue(session, '/q', { timers: c.time });
  return { put: (data) => queue.put(data), take: () => queue.take({ timeoutMs: 30_000 }) };
};

/** Puts and takes one item per plan entry; null when what was taken is what was put. */
async function putAndTake(
  plan: readonly Item[],
  seed: number,
  makeQueue: MakeQueue,
): Promise<string | null> {
  const c = await TestCluster.start({ size: 3, seed });
  try {
    const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
    const sessions = await Promise.all(nodes.map((n) => c.settle(n.session({ timeoutMs: 5000 }))));
    const queueOn = (member: number) => makeQueue(sessions[member] as Session, c);
    const at = (ms: number): Promise<void> =>
      new Promise((resolve) => c.time.setTimeout(resolve, ms));
    const taken: string[] = [];
    await c.settle(
      Promise.all(
        plan.flatMap((item, i) => [
          at(item.putAtMs).then(() => queueOn(item.putMember).put(enc(`i${i}`))),
          at(item.takeAtMs).then(async () =>
            taken.push(dec(await queueOn(item.takeMember).take())),
          ),
        ]),
      ),
      60_000,
    );
    const got = [...taken].sort().join(',');
    const put = plan
      .map((_, i) => `i${i}`)
      .sort()
      .join(',');
    return got === put ? null : `taken ${got} but put ${put}`;
  } finally {
    await c.close();
  }
}
