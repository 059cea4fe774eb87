/**
 * The leader member killed while the data recipes are in use, on a 3-node TestCluster in
 * virtual time. Producers and updaters on the killed member fail their in-flight call (whose
 * outcome is then unknown: it may have applied) and stop; those on the survivors carry on under
 * the new leader. A queue then gives every acknowledged item to exactly one consumer, never an
 * item twice and never one nobody put; a counter's final count and an atomic list's contents
 * account for every acknowledged update exactly once and for an unknown one at most once.
 */
import type { Session } from '@cairn/node';
import { seededNodeRandom } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicValue, DistributedQueue, SharedCounter } from '../src/index.js';
import {
  codeOf,
  dec,
  enc,
  followersOf,
  GONE_WITH_THE_NODE,
  killLeader,
  leaderOf,
  pause,
  SEED,
  sessionsAcross,
} from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`leader killed: queue, counter, atomic value (seed ${SEED})`, () => {
  it('queue: producers on every member, consumers on the survivors; each acknowledged item taken once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 30 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const doomed = await sessionsAcross(c, [leader], 2, 900);
    const steady = await sessionsAcross(c, survivors, 6, 6000);
    const acknowledged = new Set<string>();
    const unknown = new Set<string>();
    const produce = async (session: Session, name: string): Promise<void> => {
      const queue = new DistributedQueue(session, '/q', { timers: c.time });
      for (let i = 0; i < 10; i++) {
        const item = `${name}-${i}`;
        try {
          await queue.put(enc(item));
          acknowledged.add(item);
        } catch (error) {
          unknown.add(item);
          throw error;
        }
        await pause(c, 15);
      }
    };
    const taken: string[] = [];
    const consume = async (session: Session): Promise<void> => {
      const queue = new DistributedQueue(session, '/q', { timers: c.time });
      // Until the queue stays empty for a while after the producers are done.
      for (let i = 0; i < 200; i++) {
        const code = await codeOf(
          queue.take({ timeoutMs: 1500 }).then((item) => {
            taken.push(dec(item));
          }),
        );
        if (code === 'OperationTimeout') return;
        expect(code).toBe('Ok');
      }
    };
    const doomedWork = doomed.map((s, i) => codeOf(produce(s, `d${i}`)));
    const steadyWork = steady.slice(0, 3).map((s, i) => produce(s, `s${i}`));
    const consumers = steady.slice(3).map(consume);
    await c.run(60);
    expect(acknowledged.size).toBeGreaterThan(0);
    await killLeader(c, leader);
    for (const code of await c.settle(Promise.all(doomedWork)))
      expect(GONE_WITH_THE_NODE).toContain(code);
    await c.settle(Promise.all([...steadyWork, ...consumers]), 60_000);
    expect(new Set(taken).size).toBe(taken.length);
    for (const item of acknowledged) expect(taken).toContain(item);
    for (const item of taken) expect(acknowledged.has(item) || unknown.has(item)).toBe(true);
    expect([...acknowledged].filter((item) => item.startsWith('s'))).toHaveLength(30);
    expect(await c.settle(new DistributedQueue(steady[0] as Session, '/q').size())).toBe(0);
  });

  it('counter and atomic list: every acknowledged update counted once, an unknown one at most once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 31 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const doomed = await sessionsAcross(c, [leader], 2, 900);
    const steady = await sessionsAcross(c, survivors, 6, 6000);
    const random = seededNodeRandom(SEED + 31);
    const jitter = (): number => random.nextInt(1_000_000) / 1_000_000;
    const acknowledged: string[] = [];
    const unknown: string[] = [];
    const returned: number[] = [];
    const update = async (session: Session, name: string, rounds: number): Promise<void> => {
      const options = { timers: c.time, random: jitter, attemptsMax: 200 };
      const counter = new SharedCounter(session, '/count', options);
      const list = new AtomicValue<string[]>(session, '/list', { ...options, initial: [] });
      for (let i = 0; i < rounds; i++) {
        const op = `${name}-${i}`;
        try {
          returned.push(await counter.increment());
          await list.update((ops) => [...ops, op]);
          acknowledged.push(op);
        } catch (error) {
          unknown.push(op);
          throw error;
        }
      }
    };
    const doomedWork = doomed.map((s, i) => codeOf(update(s, `d${i}`, 1000)));
    const steadyWork = steady.map((s, i) => update(s, `s${i}`, 5));
    await c.run(80);
    expect(acknowledged.length).toBeGreaterThan(0);
    await killLeader(c, leader);
    for (const code of await c.settle(Promise.all(doomedWork)))
      expect(GONE_WITH_THE_NODE).toContain(code);
    await c.settle(Promise.all(steadyWork), 60_000);
    expect(unknown).toHaveLength(2);
    // No two increments returned the same count: none was lost or applied twice.
    expect(new Set(returned).size).toBe(returned.length);
    const count = await c.settle(
      new SharedCounter(steady[0] as Session, '/count').get({ linearizable: true }),
    );
    expect(count).toBeGreaterThanOrEqual(returned.length);
    expect(count).toBeLessThanOrEqual(returned.length + unknown.length);
    const { value: ops } = await c.settle(
      new AtomicValue<string[]>(steady[0] as Session, '/list', { initial: [] }).get({
        linearizable: true,
      }),
    );
    expect(new Set(ops).size).toBe(ops.length);
    expect([...ops].sort()).toEqual(
      [...acknowledged, ...unknown.filter((op) => ops.includes(op))].sort(),
    );
    expect(acknowledged.filter((op) => op.startsWith('s'))).toHaveLength(30);
  });
});
