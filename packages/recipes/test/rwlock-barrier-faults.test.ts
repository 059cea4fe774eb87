/**
 * ReadWriteLock and Barrier under session expiry and partitions, on a 3-node TestCluster in
 * virtual time. Expiry here is a client that went away (its session stops being reported live:
 * the member and network stay up); a partition cuts the participant's whole member off.
 *
 * Read-write lock: a writer whose session expires is told it lost the lock before the readers
 * queued behind it get in; a queued reader whose session expires fails with SessionExpired and
 * does not block the writer behind it; a reader cut off with its member loses its read lease
 * while a reader elsewhere keeps its own, and the writer waits for that one.
 * Barrier: a waiter whose session expires fails with SessionExpired, and the barrier (persistent)
 * outlives the session that set it; a waiter cut off briefly still passes once healed, one whose
 * session expired before the barrier was removed fails (the log's order decides).
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Barrier, ReadWriteLock } from '../src/index.js';
import { codeOf, expire, followersOf, leaderOf, SEED, sessionsAcross } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const rw = (c: TestCluster, session: Session | undefined): ReadWriteLock =>
  new ReadWriteLock(session as Session, '/rw', { timers: c.time });

describe(`read-write lock and barrier: expiry and partitions (seed ${SEED})`, () => {
  it('a writer whose session expires loses the lock before the queued readers get it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 40 });
    const c = cluster;
    const [writer, r1, r2] = await sessionsAcross(c, [...c.nodes.values()], 3, 900);
    const held = await c.settle(rw(c, writer).writeLock.acquire());
    const log: string[] = [];
    held.onLost((reason) => log.push(`lost ${(reason as { code?: string }).code}`));
    const readers = [r1, r2].map((s, i) =>
      rw(c, s)
        .readLock.acquire({ timeoutMs: 10_000 })
        .then((lease) => {
          log.push(`read r${i}`);
          return lease;
        }),
    );
    await c.run(300);
    expect(log).toEqual([]);
    await expire(c, writer as Session);
    const leases = await c.settle(Promise.all(readers), 10_000);
    expect(log[0]).toBe('lost ConnectionLoss');
    expect(log.slice(1).sort()).toEqual(['read r0', 'read r1']);
    expect(leases.every((lease) => !lease.lost)).toBe(true);
  });

  it('a queued reader whose session expires fails alone; the writer behind it gets the lock', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 41 });
    const c = cluster;
    const [w1, doomed, w2] = await sessionsAcross(c, [...c.nodes.values()], 3, 900);
    const first = await c.settle(rw(c, w1).writeLock.acquire());
    const waitingReader = codeOf(rw(c, doomed).readLock.acquire());
    await c.run(30);
    let second = false;
    const next = rw(c, w2)
      .writeLock.acquire({ timeoutMs: 10_000 })
      .then((lease) => {
        second = true;
        return lease;
      });
    await c.run(30);
    await expire(c, doomed as Session);
    expect(await c.settle(waitingReader)).toBe('SessionExpired');
    expect(second).toBe(false);
    await c.settle(first.release());
    const lease = await c.settle(next);
    expect(lease.lost).toBe(false);
    expect(lease.fencingToken).toBeGreaterThan(first.fencingToken);
    const { children } = await c.settle((w1 as Session).getChildren('/rw'));
    expect(children).toHaveLength(1);
  });

  it('a reader partitioned away loses its lease; the other reader keeps its own and the writer waits for it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 42 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [lonely] = await sessionsAcross(c, [cut], 1, 900);
    const [steady, writer] = await sessionsAcross(c, [other, leader], 2, 5000);
    const cutLease = await c.settle(rw(c, lonely).readLock.acquire());
    const keptLease = await c.settle(rw(c, steady).readLock.acquire());
    const log: string[] = [];
    cutLease.onLost(() => log.push('lost cut'));
    keptLease.onLost(() => log.push('lost kept'));
    const writing = rw(c, writer)
      .writeLock.acquire({ timeoutMs: 20_000 })
      .then((lease) => {
        log.push('write');
        return lease;
      });
    await c.run(50);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.waitFor(() => cutLease.lost, 10_000, 'the cut reader lost its lease');
    // Long enough for the majority to expire the cut reader's session and delete its znode.
    await c.run(2000);
    expect(log).toEqual(['lost cut']);
    expect(keptLease.lost).toBe(false);
    log.push('release kept');
    await c.settle(keptLease.release());
    const lease = await c.settle(writing);
    expect(log).toEqual(['lost cut', 'release kept', 'write']);
    expect(lease.fencingToken).toBeGreaterThan(keptLease.fencingToken);
    c.network.heal();
  });

  it('a barrier waiter whose session expires fails; the barrier outlives the session that set it', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 43 });
    const c = cluster;
    const [setter, doomed, steady] = await sessionsAcross(c, [...c.nodes.values()], 3, 900);
    await c.settle(new Barrier(setter as Session, '/gate').set());
    const lost = codeOf(new Barrier(doomed as Session, '/gate', { timers: c.time }).wait());
    let passed = false;
    const waiting = new Barrier(steady as Session, '/gate', { timers: c.time })
      .wait({ timeoutMs: 20_000 })
      .then(() => {
        passed = true;
      });
    await c.run(100);
    await expire(c, doomed as Session);
    expect(await c.settle(lost)).toBe('SessionExpired');
    await expire(c, setter as Session);
    await c.run(500);
    expect(passed).toBe(false);
    await c.settle(new Barrier(steady as Session, '/gate').remove());
    await c.settle(waiting);
    expect(passed).toBe(true);
  });

  it('a waiter cut off briefly passes once healed; one whose session expired before the barrier came down fails', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 44 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const [patient] = await sessionsAcross(c, [cut], 1, 6000);
    const [brief] = await sessionsAcross(c, [cut], 1, 600);
    const [remover] = await sessionsAcross(c, [other], 1, 6000);
    await c.settle(new Barrier(remover as Session, '/gate').set());
    await c.run(50);
    const patientWait = codeOf(new Barrier(patient as Session, '/gate', { timers: c.time }).wait());
    const briefWait = codeOf(new Barrier(brief as Session, '/gate', { timers: c.time }).wait());
    await c.run(50);
    c.network.partition([cut.id], [leader.id, other.id]);
    // The brief session expires (in the majority's log) before the barrier is removed; the
    // patient one is still alive when it is. The cut member applies both, in log order, on heal.
    await c.run(1500);
    await c.settle(new Barrier(remover as Session, '/gate').remove());
    await c.run(100);
    c.network.heal();
    expect(await c.settle(patientWait, 10_000)).toBe('Ok');
    expect(await c.settle(briefWait, 10_000)).toBe('SessionExpired');
    expect((patient as Session).state).toBe('connected');
  });
});
