/**
 * Barrier and DoubleBarrier on a 3-node TestCluster: waiters on every member pass only once the
 * barrier is removed; six participants arriving at different times all pass `enter` only after
 * the last has entered and pass `leave` only after the last has left; a participant whose
 * member is partitioned away leaves implicitly when its session expires. Virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Barrier, DoubleBarrier } from '../src/index.js';
import { followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const at = (c: TestCluster, ms: number): Promise<void> =>
  new Promise((resolve) => c.time.setTimeout(resolve, ms));

describe(`barriers (seed ${SEED})`, () => {
  it('a barrier holds waiters on every member until it is removed', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const sessions = await sessionsOn(c, 6);
    await c.settle(new Barrier(sessions[0] as Session, '/app/barrier').set());
    let passed = 0;
    const waits = sessions.map((s) =>
      new Barrier(s, '/app/barrier', { timers: c.time }).wait().then(() => passed++),
    );
    await c.run(500);
    expect(passed).toBe(0);
    await c.settle(new Barrier(sessions[1] as Session, '/app/barrier').remove());
    await c.settle(Promise.all(waits));
    expect(passed).toBe(6);
    await expect(
      c.settle(new Barrier(sessions[2] as Session, '/app/barrier', { timers: c.time }).wait()),
    ).resolves.toBeUndefined();
  });

  it('six participants enter together and leave together', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const sessions = await sessionsOn(c, 6);
    const entered: number[] = [];
    const passedEnter: number[] = [];
    const left: number[] = [];
    const passedLeave: number[] = [];
    await c.settle(
      Promise.all(
        sessions.map(async (s, i) => {
          const barrier = new DoubleBarrier(s, '/db', { id: `p${i}`, count: 6, timers: c.time });
          await at(c, i * 40);
          entered.push(c.time.now());
          await barrier.enter({ timeoutMs: 5000 });
          passedEnter.push(c.time.now());
          await at(c, (5 - i) * 30);
          left.push(c.time.now());
          await barrier.leave({ timeoutMs: 5000 });
          passedLeave.push(c.time.now());
        }),
      ),
      20_000,
    );
    expect(Math.min(...passedEnter)).toBeGreaterThanOrEqual(Math.max(...entered));
    expect(Math.min(...passedLeave)).toBeGreaterThanOrEqual(Math.max(...left));
    expect((await c.settle((sessions[0] as Session).getChildren('/db'))).children).toEqual([]);
  });

  it('four participants reuse one double barrier for three rounds', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 3 });
    const c = cluster;
    const sessions = await sessionsOn(c, 4);
    const rounds = 3;
    const entered = Array.from({ length: rounds }, () => [] as number[]);
    const passedEnter = Array.from({ length: rounds }, () => [] as number[]);
    const left = Array.from({ length: rounds }, () => [] as number[]);
    const passedLeave = Array.from({ length: rounds }, () => [] as number[]);
    await c.settle(
      Promise.all(
        sessions.map(async (s, i) => {
          const barrier = new DoubleBarrier(s, '/db', { id: `p${i}`, count: 4, timers: c.time });
          for (let round = 0; round < rounds; round++) {
            // p0 is always first back; p3 dawdles before entering and leaving.
            await at(c, i * 25);
            entered[round]?.push(c.time.now());
            await barrier.enter({ timeoutMs: 5000 });
            passedEnter[round]?.push(c.time.now());
            await at(c, i * 15);
            left[round]?.push(c.time.now());
            await barrier.leave({ timeoutMs: 5000 });
            passedLeave[round]?.push(c.time.now());
          }
        }),
      ),
      30_000,
    );
    for (let round = 0; round < rounds; round++) {
      expect(passedEnter[round]).toHaveLength(4);
      expect(Math.min(...(passedEnter[round] ?? []))).toBeGreaterThanOrEqual(
        Math.max(...(entered[round] ?? [])),
      );
      expect(Math.min(...(passedLeave[round] ?? []))).toBeGreaterThanOrEqual(
        Math.max(...(left[round] ?? [])),
      );
    }
    expect((await c.settle((sessions[0] as Session).getChildren('/db'))).children).toEqual([]);
  });

  it('a participant partitioned away leaves implicitly when its session expires', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const lonely = await c.settle(cut.session({ timeoutMs: 600 }));
    const a = await c.settle(other.session({ timeoutMs: 5000 }));
    const b = await c.settle(leader.session({ timeoutMs: 5000 }));
    const barriers = [lonely, a, b].map(
      (s, i) => new DoubleBarrier(s, '/db', { id: `p${i}`, count: 3, timers: c.time }),
    );
    await c.settle(Promise.all(barriers.map((x) => x.enter({ timeoutMs: 5000 }))));
    c.network.partition([cut.id], [leader.id, other.id]);
    const leaving = Promise.all([
      (barriers[1] as DoubleBarrier).leave(),
      (barriers[2] as DoubleBarrier).leave(),
    ]);
    await c.settle(leaving, 10_000);
    c.network.heal();
    await c.waitFor(() => lonely.state === 'expired', 5000, 'expired');
  });
});
