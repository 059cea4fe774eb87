/**
 * The mutex on a 3-node TestCluster in virtual time: 50 contenders on sessions spread over the
 * members never overlap (an in-process occupancy count and a guarded znode counter would both
 * catch it), fencing tokens rise from holder to holder, and a holder learns it lost the lock
 * (suspended, from its own session's deadline) before the next contender can get it, whether
 * its member is partitioned away or killed. Also timeouts, aborts, re-entrancy, `await using`.
 */
import { type CairnNode, OPEN_ACL_UNSAFE, type Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Lease, Mutex } from '../src/index.js';
import { codeOf, dec, enc, followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`mutex (seed ${SEED})`, () => {
  it('50 contenders over three members: one holder at a time, tokens rising, a guarded counter', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const sessions = await sessionsOn(c, 50, 5000);
    const first = sessions[0] as Session;
    await c.settle(first.create('/count', enc('0')));
    let inside = 0;
    let insideMax = 0;
    const tokens: number[] = [];
    const contend = async (session: Session): Promise<void> => {
      const mutex = new Mutex(session, '/locks/m', { timers: c.time });
      const lease = await mutex.acquire();
      inside++;
      insideMax = Math.max(insideMax, inside);
      tokens.push(lease.fencingToken);
      const { data } = await session.getData('/count', { linearizable: true });
      // Read-modify-write with no version check: only the lock keeps it from losing updates.
      await session.multi([
        lease.guard(),
        { type: 'setData', path: '/count', data: enc(String(Number(dec(data)) + 1)), version: -1 },
      ]);
      inside--;
      await lease.release();
    };
    await c.settle(Promise.all(sessions.map(contend)), 120_000);
    expect(insideMax).toBe(1);
    expect(tokens).toHaveLength(50);
    for (let i = 1; i < tokens.length; i++)
      expect(tokens[i] as number).toBeGreaterThan(tokens[i - 1] as number);
    const { data } = await c.settle(first.getData('/count', { linearizable: true }));
    expect(dec(data)).toBe('50');
    expect((await c.settle(first.getChildren('/locks/m'))).children).toEqual([]);
  });

  it('a partitioned holder learns it lost the lock before the next contender gets it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const holder = await c.settle(cut.session({ timeoutMs: 900 }));
    const waiter = await c.settle(other.session({ timeoutMs: 900 }));
    const held = await c.settle(new Mutex(holder, '/lock', { timers: c.time }).acquire());
    const log: string[] = [];
    let lostAt = 0;
    let acquiredAt = 0;
    held.onLost((reason) => {
      lostAt = c.time.now();
      log.push(`lost ${(reason as { code?: string }).code}`);
    });
    const next = new Mutex(waiter, '/lock', { timers: c.time }).acquire().then((lease) => {
      acquiredAt = c.time.now();
      log.push('acquired');
      return lease;
    });
    await c.run(100);
    expect(log).toEqual([]);
    const cutAt = c.time.now();
    c.network.partition([cut.id], [leader.id, other.id]);
    const lease = await c.settle(next, 10_000);
    expect(log).toEqual(['lost ConnectionLoss', 'acquired']);
    expect(lostAt).toBeLessThan(acquiredAt);
    // The holder's own deadline fires within two thirds of the timeout (plus a tick); the
    // cluster cannot expire the session before a full timeout.
    expect(lostAt - cutAt).toBeLessThanOrEqual(900 * (2 / 3) + 20);
    expect(acquiredAt - cutAt).toBeGreaterThanOrEqual(900 - 300);
    expect(held.signal.aborted).toBe(true);
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
    // The old holder's guard now fails a multi; the new one's passes.
    expect(
      await c.settle(
        codeOf(
          waiter.multi([
            held.guard(),
            { type: 'create', path: '/x', data: enc(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' },
          ]),
        ),
      ),
    ).toBe('NoNode');
    expect(await c.settle(codeOf(waiter.multi([lease.guard()])))).toBe('Ok');
    c.network.heal();
    await c.waitFor(() => holder.state === 'expired', 5000, 'the holder expired');
    await c.settle(lease.release());
  });

  it('a holder on the killed leader loses the lock first; the next contender then gets it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [other] = followersOf(c, leader) as [CairnNode];
    const holder = await c.settle(leader.session({ timeoutMs: 900 }));
    const waiter = await c.settle(other.session({ timeoutMs: 900 }));
    const held = await c.settle(new Mutex(holder, '/lock', { timers: c.time }).acquire());
    const log: string[] = [];
    held.onLost(() => log.push('lost'));
    const next = new Mutex(waiter, '/lock', { timers: c.time }).acquire().then((lease) => {
      log.push('acquired');
      return lease;
    });
    await c.run(50);
    await c.kill(leader.id);
    expect(log).toEqual(['lost']);
    const lease = await c.settle(next, 10_000);
    expect(log).toEqual(['lost', 'acquired']);
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
  });

  it('a holder on a follower keeps the lock across a leader change (session timeout outlasts the election)', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 3 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [a, b] = followersOf(c, leader) as [CairnNode, CairnNode];
    const holder = await c.settle(a.session({ timeoutMs: 6000 }));
    const waiter = await c.settle(b.session({ timeoutMs: 6000 }));
    const held = await c.settle(new Mutex(holder, '/lock', { timers: c.time }).acquire());
    let acquired = false;
    const next = new Mutex(waiter, '/lock', { timers: c.time }).acquire().then((lease) => {
      acquired = true;
      return lease;
    });
    await c.kill(leader.id);
    await c.waitFor(() => c.leader() !== null, 10_000, 'a new leader');
    await c.run(1000);
    expect(held.lost).toBe(false);
    expect(acquired).toBe(false);
    await c.settle(
      holder.multi([
        held.guard(),
        { type: 'create', path: '/w', data: enc(''), acl: OPEN_ACL_UNSAFE, mode: 'persistent' },
      ]),
    );
    await c.settle(held.release());
    const lease = await c.settle(next);
    expect(lease.fencingToken).toBeGreaterThan(held.fencingToken);
  });

  it('a waiter whose member is partitioned away fails with SessionExpired; the others go on', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 4 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const holder = await c.settle(leader.session({ timeoutMs: 900 }));
    const held = await c.settle(new Mutex(holder, '/lock', { timers: c.time }).acquire());
    const lonely = await c.settle(cut.session({ timeoutMs: 900 }));
    const behind = await c.settle(other.session({ timeoutMs: 900 }));
    const cutOff = codeOf(new Mutex(lonely, '/lock', { timers: c.time }).acquire());
    await c.run(20);
    const later = new Mutex(behind, '/lock', { timers: c.time }).acquire();
    await c.run(20);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.run(3000);
    c.network.heal();
    expect(await c.settle(cutOff)).toBe('SessionExpired');
    expect(held.lost).toBe(false);
    await c.settle(held.release());
    const lease = await c.settle(later);
    expect(lease.lost).toBe(false);
  });

  it('times out, aborts, and leaves no znode behind either way', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 5 });
    const c = cluster;
    const [s1, s2] = await sessionsOn(c, 2);
    const held = await c.settle(new Mutex(s1 as Session, '/lock', { timers: c.time }).acquire());
    const m2 = new Mutex(s2 as Session, '/lock', { timers: c.time });
    const started = c.time.now();
    expect(await c.settle(codeOf(m2.acquire({ timeoutMs: 500 })))).toBe('OperationTimeout');
    expect(c.time.now() - started).toBeGreaterThanOrEqual(500);
    const controller = new AbortController();
    const aborted = m2.acquire({ signal: controller.signal }).then(
      () => 'acquired',
      (error: unknown) => (error === controller.signal.reason ? 'aborted' : String(error)),
    );
    await c.run(100);
    controller.abort(new Error('stop'));
    expect(await c.settle(aborted)).toBe('aborted');
    await c.run(50);
    expect((await c.settle((s1 as Session).getChildren('/lock'))).children).toHaveLength(1);
    await c.settle(held.release());
    expect((await c.settle(m2.acquire({ timeoutMs: 500 }))).lost).toBe(false);
  });

  it('is re-entrant per instance and releases with await using', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 6 });
    const c = cluster;
    const [s1, s2] = (await sessionsOn(c, 2)) as [Session, Session];
    const mutex = new Mutex(s1, '/lock', { timers: c.time });
    const work = async (): Promise<Lease> => {
      await using outer = await mutex.acquire();
      {
        await using inner = await mutex.acquire();
        expect(inner).toBe(outer);
      }
      expect(mutex.isHeld()).toBe(true);
      return outer;
    };
    const lease = await c.settle(work());
    expect(mutex.isHeld()).toBe(false);
    expect(lease.signal.aborted).toBe(true);
    expect(lease.lost).toBe(false);
    expect(
      (await c.settle(new Mutex(s2, '/lock', { timers: c.time }).acquire({ timeoutMs: 500 }))).lost,
    ).toBe(false);
    expect(await c.settle(codeOf(mutex.release()))).toBe('BadArguments');
  });
});
