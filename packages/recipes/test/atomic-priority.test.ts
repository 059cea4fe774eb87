/**
 * AtomicValue and PriorityQueue with many participants and under session expiry, on a 3-node
 * TestCluster in virtual time.
 *
 * AtomicValue: 20 sessions over the members appending to one JSON list concurrently lose no
 * append and make none twice; 10 compare-and-sets racing from the same version have exactly one
 * winner; an updater whose session expires fails with SessionExpired and leaves the value as it
 * was for everyone else.
 * PriorityQueue: 6 producers over the members put seeded random priorities; 6 consumers take
 * every item exactly once, and each consumer's takes come out in (priority, arrival) order;
 * a consumer whose session expires while waiting fails with SessionExpired and loses no item.
 */
import type { Session } from '@cairn/node';
import { seededNodeRandom } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicValue, PriorityQueue } from '../src/index.js';
import { codeOf, dec, enc, expire, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`atomic value and priority queue: concurrency and expiry (seed ${SEED})`, () => {
  it('20 sessions append to one atomic list: every append once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 50 });
    const c = cluster;
    const sessions = await sessionsOn(c, 20, 5000);
    const random = seededNodeRandom(SEED + 50);
    await c.settle(
      Promise.all(
        sessions.map(async (session, i) => {
          const list = new AtomicValue<string[]>(session, '/app/list', {
            initial: [],
            timers: c.time,
            random: () => random.nextInt(1_000_000) / 1_000_000,
            attemptsMax: 200,
          });
          for (let k = 0; k < 3; k++) await list.update((items) => [...items, `p${i}-${k}`]);
        }),
      ),
      60_000,
    );
    const reader = new AtomicValue<string[]>(sessions[0] as Session, '/app/list', { initial: [] });
    const { value, version } = await c.settle(reader.get({ linearizable: true }));
    expect(value).toHaveLength(60);
    expect(new Set(value).size).toBe(60);
    // Each participant's own appends stay in its order.
    for (let i = 0; i < 20; i++)
      expect(value.filter((item) => item.startsWith(`p${i}-`))).toEqual([
        `p${i}-0`,
        `p${i}-1`,
        `p${i}-2`,
      ]);
    // 60 writes: one create, then 59 version bumps.
    expect(version).toBe(59);
  });

  it('10 compare-and-sets from the same version: exactly one wins', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 51 });
    const c = cluster;
    const sessions = await sessionsOn(c, 10, 5000);
    const values = sessions.map(
      (session) => new AtomicValue<number>(session, '/v', { initial: 0, timers: c.time }),
    );
    await c.settle((values[0] as AtomicValue<number>).set(1));
    await c.settle(Promise.all(sessions.map((s) => s.sync())));
    const seen = await c.settle(Promise.all(values.map((v) => v.get())));
    expect(seen.every((s) => s.version === 0)).toBe(true);
    const won = await c.settle(Promise.all(values.map((v, i) => v.compareAndSet(0, 100 + i))));
    expect(won.filter((w) => w)).toHaveLength(1);
    const winner = won.indexOf(true);
    const after = await c.settle((values[0] as AtomicValue<number>).get({ linearizable: true }));
    expect(after).toMatchObject({ value: 100 + winner, version: 1 });
  });

  it('an updater whose session expires fails with SessionExpired; the value is intact', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 52 });
    const c = cluster;
    const [doomed, steady] = (await sessionsOn(c, 2, 900)) as [Session, Session];
    const mine = new AtomicValue<{ n: number }>(doomed, '/v', {
      initial: { n: 0 },
      timers: c.time,
    });
    const theirs = new AtomicValue<{ n: number }>(steady, '/v', {
      initial: { n: 0 },
      timers: c.time,
    });
    await c.settle(mine.set({ n: 7 }));
    await expire(c, doomed);
    expect(await c.settle(codeOf(mine.update((v) => ({ n: v.n + 1 }))))).toBe('SessionExpired');
    expect(await c.settle(codeOf(mine.compareAndSet(0, { n: 99 })))).toBe('SessionExpired');
    expect((await c.settle(theirs.get({ linearizable: true }))).value).toEqual({ n: 7 });
    expect(await c.settle(theirs.update((v) => ({ n: v.n + 1 })))).toEqual({ n: 8 });
  });

  it('6 producers and 6 consumers: every item taken once, each consumer in priority order', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 53 });
    const c = cluster;
    const sessions = await sessionsOn(c, 12, 5000);
    const random = seededNodeRandom(SEED + 53);
    const priorities = new Map<string, number>();
    await c.settle(
      Promise.all(
        sessions.slice(0, 6).map(async (session, p) => {
          const queue = new PriorityQueue(session, '/pq', { timers: c.time });
          for (let i = 0; i < 8; i++) {
            const item = `p${p}-${i}`;
            const priority = random.nextInt(4);
            priorities.set(item, priority);
            await queue.put(enc(item), priority);
          }
        }),
      ),
      30_000,
    );
    await c.settle(Promise.all(sessions.map((s) => s.sync())));
    const takenBy = sessions.slice(6).map(() => [] as string[]);
    await c.settle(
      Promise.all(
        sessions.slice(6).map(async (session, k) => {
          const queue = new PriorityQueue(session, '/pq', { timers: c.time });
          for (let i = 0; i < 100; i++) {
            const item = await queue.poll();
            if (item === null) return;
            takenBy[k]?.push(dec(item));
          }
        }),
      ),
      30_000,
    );
    const taken = takenBy.flat();
    expect(taken).toHaveLength(48);
    expect(new Set(taken).size).toBe(48);
    // All puts were done before the takes began: what remains only shrinks, so each consumer's
    // next item is never of a lower priority than its last.
    for (const mine of takenBy) {
      const order = mine.map((item) => priorities.get(item) as number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(takenBy.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
  });

  it('a priority-queue consumer whose session expires while waiting fails; no item is lost', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 54 });
    const c = cluster;
    const [doomed, producer, consumer] = (await sessionsOn(c, 3, 900)) as [
      Session,
      Session,
      Session,
    ];
    const waiting = codeOf(new PriorityQueue(doomed, '/pq', { timers: c.time }).take());
    await c.run(100);
    await expire(c, doomed);
    expect(await c.settle(waiting)).toBe('SessionExpired');
    const queue = new PriorityQueue(producer, '/pq', { timers: c.time });
    for (const [name, priority] of [
      ['c', 3],
      ['a', 1],
      ['b', 1],
    ] as const)
      await c.settle(queue.put(enc(name), priority));
    const other = new PriorityQueue(consumer, '/pq', { timers: c.time });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push(dec(await c.settle(other.take())));
    expect(got).toEqual(['a', 'b', 'c']);
  });
});
