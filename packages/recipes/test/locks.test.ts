/**
 * ReadWriteLock and Semaphore on a 3-node TestCluster: readers share while writers exclude
 * (checked by occupancy counts across 12 participants over the members), and a semaphore of 3
 * never has more than 3 holders among 12 contenders, with a holder partitioned away losing its
 * lease before its permit is handed on. Virtual time.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadWriteLock, Semaphore } from '../src/index.js';
import { followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const pause = (c: TestCluster, ms: number): Promise<void> =>
  new Promise((resolve) => c.time.setTimeout(resolve, ms));

describe(`read-write lock and semaphore (seed ${SEED})`, () => {
  it('readers share, writers exclude, over 12 participants', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const sessions = await sessionsOn(c, 12, 5000);
    let readers = 0;
    let writers = 0;
    let readersMax = 0;
    let bad = false;
    await c.settle(
      Promise.all(
        sessions.map(async (session, i) => {
          const lock = new ReadWriteLock(session, '/rw', { timers: c.time });
          await pause(c, i * 3);
          if (i % 4 === 0) {
            const lease = await lock.writeLock.acquire();
            writers++;
            if (writers > 1 || readers > 0) bad = true;
            await pause(c, 20);
            writers--;
            await lease.release();
          } else {
            const lease = await lock.readLock.acquire();
            readers++;
            readersMax = Math.max(readersMax, readers);
            if (writers > 0) bad = true;
            await pause(c, 20);
            readers--;
            await lease.release();
          }
        }),
      ),
      30_000,
    );
    expect(bad).toBe(false);
    expect(readersMax).toBeGreaterThan(1);
  });

  it('a semaphore of 3 never has more than 3 holders among 12 contenders', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const sessions = await sessionsOn(c, 12, 5000);
    let holders = 0;
    let holdersMax = 0;
    await c.settle(
      Promise.all(
        sessions.map(async (session) => {
          const lease = await new Semaphore(session, '/sem', 3, { timers: c.time }).acquire();
          holders++;
          holdersMax = Math.max(holdersMax, holders);
          await pause(c, 25);
          holders--;
          await lease.release();
        }),
      ),
      30_000,
    );
    expect(holdersMax).toBe(3);
  });

  it('a semaphore holder partitioned away loses its lease before the permit is handed on', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const lonely = await c.settle(cut.session({ timeoutMs: 900 }));
    const steady = await c.settle(other.session({ timeoutMs: 5000 }));
    const held = await c.settle(new Semaphore(lonely, '/sem', 1, { timers: c.time }).acquire());
    const log: string[] = [];
    held.onLost(() => log.push('lost'));
    const next = new Semaphore(steady as Session, '/sem', 1, { timers: c.time })
      .acquire()
      .then(() => log.push('acquired'));
    await c.run(50);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.settle(next, 10_000);
    expect(log).toEqual(['lost', 'acquired']);
  });
});
