/**
 * The leader member killed while the waiting recipes are in use, on a 3-node TestCluster in
 * virtual time. Participants on the killed member lose what they held at once (their sessions
 * close with the node) and their calls fail; participants on the two survivors (sessions that
 * outlast the election) carry on under the new leader, and the recipe's guarantee holds across
 * the change: a semaphore never has more live holders than permits, and the permits held on the
 * dead member are handed on only after those leases were lost; a read-write lock hands over in
 * queue order with writers alone; a barrier set before the kill still holds waiters until it is
 * removed; a double barrier lets survivors enter and leave whether the kill comes mid-`enter` or
 * after everyone entered (the dead member's participant leaves implicitly).
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Barrier, DoubleBarrier, type Lease, ReadWriteLock, Semaphore } from '../src/index.js';
import {
  codeOf,
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

describe(`leader killed: semaphore, read-write lock, barriers (seed ${SEED})`, () => {
  it('semaphore: permits held on the killed leader are handed on only after they were lost', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 20 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const doomed = await sessionsAcross(c, [leader], 3, 900);
    const steady = await sessionsAcross(c, survivors, 8, 6000);
    const log: string[] = [];
    let holders = 0;
    let holdersMax = 0;
    let served = 0;
    const hold = (lease: Lease): (() => void) => {
      let live = true;
      holders++;
      holdersMax = Math.max(holdersMax, holders);
      const leave = (): void => {
        if (!live) return;
        live = false;
        holders--;
      };
      lease.onLost(leave);
      return leave;
    };
    // The doomed hold their permits until they lose them.
    const doomedLeases = await c.settle(
      Promise.all(
        doomed.map(async (session, i) => {
          const lease = await new Semaphore(session, '/sem', 3, { timers: c.time }).acquire();
          hold(lease);
          lease.onLost(() => log.push(`lost d${i}`));
          return lease;
        }),
      ),
    );
    const work = Promise.all(
      steady.map(async (session, i) => {
        const semaphore = new Semaphore(session, '/sem', 3, { timers: c.time });
        for (let round = 0; round < 2; round++) {
          const lease = await semaphore.acquire({ timeoutMs: 30_000 });
          log.push(`acquired s${i}`);
          const leave = hold(lease);
          await pause(c, 30);
          leave();
          await lease.release();
          served++;
        }
      }),
    );
    await c.run(200);
    expect(log).toEqual([]);
    await killLeader(c, leader);
    await c.settle(work, 30_000);
    expect(doomedLeases.every((lease) => lease.lost)).toBe(true);
    const firstAcquired = log.findIndex((entry) => entry.startsWith('acquired'));
    expect(log.slice(0, firstAcquired).sort()).toEqual(['lost d0', 'lost d1', 'lost d2']);
    expect(holdersMax).toBe(3);
    expect(served).toBe(16);
    expect((await c.settle((steady[0] as Session).getChildren('/sem'))).children).toEqual([]);
  });

  it('read-write lock: a reader on the killed leader, then writers and readers on the survivors, served in order', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 21 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [doomed] = await sessionsAcross(c, [leader], 1, 900);
    const [w1, r1, r2, w2, r3] = await sessionsAcross(c, [a, b], 5, 6000);
    const held = await c.settle(
      new ReadWriteLock(doomed as Session, '/rw', { timers: c.time }).readLock.acquire(),
    );
    const log: string[] = [];
    held.onLost(() => log.push('lost doomed'));
    let readers = 0;
    let writers = 0;
    let bad = 0;
    const use = async (session: Session | undefined, name: string): Promise<void> => {
      const lock = new ReadWriteLock(session as Session, '/rw', { timers: c.time });
      const writing = name.startsWith('w');
      const lease = await (writing ? lock.writeLock : lock.readLock).acquire({ timeoutMs: 30_000 });
      log.push(name);
      if (writing) writers++;
      else readers++;
      if (writers > 1 || (writers === 1 && readers > 0)) bad++;
      await pause(c, 40);
      if (writing) writers--;
      else readers--;
      await lease.release();
    };
    // Queue order: doomed reader, w1, r1, r2, w2, r3 (each enters once the one before has).
    const work: Promise<void>[] = [];
    for (const [session, name] of [
      [w1, 'w1'],
      [r1, 'r1'],
      [r2, 'r2'],
      [w2, 'w2'],
      [r3, 'r3'],
    ] as const) {
      work.push(use(session, name));
      await c.run(30);
    }
    await c.run(200);
    expect(log).toEqual([]);
    await killLeader(c, leader);
    await c.settle(Promise.all(work), 30_000);
    expect(bad).toBe(0);
    expect(log[0]).toBe('lost doomed');
    expect(log[1]).toBe('w1');
    expect(log.slice(2, 4).sort()).toEqual(['r1', 'r2']);
    expect(log.slice(4)).toEqual(['w2', 'r3']);
  });

  it('barrier: set before the kill, it still holds survivors until removed; a waiter on the dead member fails', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 22 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const [doomed] = await sessionsAcross(c, [leader], 1, 900);
    const steady = await sessionsAcross(c, survivors, 4, 6000);
    await c.settle(new Barrier(doomed as Session, '/app/gate').set());
    let passed = 0;
    const waits = steady.map((s) =>
      new Barrier(s, '/app/gate', { timers: c.time }).wait().then(() => passed++),
    );
    const lost = codeOf(new Barrier(doomed as Session, '/app/gate', { timers: c.time }).wait());
    await c.run(100);
    await killLeader(c, leader);
    expect(GONE_WITH_THE_NODE).toContain(await c.settle(lost));
    await c.run(2000);
    expect(passed).toBe(0);
    await c.settle(new Barrier(steady[1] as Session, '/app/gate').remove());
    await c.settle(Promise.all(waits), 10_000);
    expect(passed).toBe(4);
  });

  it('double barrier: the leader killed mid-enter; survivors enter and leave together', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 23 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const sessions = await sessionsAcross(c, survivors, 4, 6000);
    const barriers = sessions.map(
      (s, i) => new DoubleBarrier(s, '/db', { id: `p${i}`, count: 4, timers: c.time }),
    );
    let enteredCount = 0;
    const enter = (i: number): Promise<void> =>
      (barriers[i] as DoubleBarrier).enter({ timeoutMs: 20_000 }).then(() => {
        enteredCount++;
      });
    const early = [enter(0), enter(1)];
    await c.run(100);
    await killLeader(c, leader);
    await c.run(100);
    expect(enteredCount).toBe(0);
    await c.settle(Promise.all([...early, enter(2), enter(3)]), 20_000);
    expect(enteredCount).toBe(4);
    let leftCount = 0;
    const leaving = barriers.map((x) => x.leave({ timeoutMs: 20_000 }).then(() => leftCount++));
    await c.settle(Promise.all(leaving), 20_000);
    expect(leftCount).toBe(4);
    expect((await c.settle((sessions[0] as Session).getChildren('/db'))).children).toEqual([]);
  });

  it('double barrier: a participant on the killed leader leaves implicitly; the survivors leave', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 24 });
    const c = cluster;
    const leader = await leaderOf(c);
    const survivors = followersOf(c, leader);
    const [doomed] = await sessionsAcross(c, [leader], 1, 900);
    const steady = await sessionsAcross(c, survivors, 3, 6000);
    const barriers = [doomed as Session, ...steady].map(
      (s, i) => new DoubleBarrier(s, '/db', { id: `p${i}`, count: 4, timers: c.time }),
    );
    await c.settle(Promise.all(barriers.map((x) => x.enter({ timeoutMs: 5000 }))));
    await killLeader(c, leader);
    let leftCount = 0;
    const leaving = barriers
      .slice(1)
      .map((x) => x.leave({ timeoutMs: 20_000 }).then(() => leftCount++));
    await c.run(300);
    // The dead member's participant is still there until its session expires.
    expect(leftCount).toBe(0);
    await c.settle(Promise.all(leaving), 20_000);
    expect(leftCount).toBe(3);
    expect((await c.settle((steady[0] as Session).getChildren('/db'))).children).toEqual([]);
  });
});
