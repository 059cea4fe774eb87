/**
 * Leader election, LeaderSelector and LeaderLatch on a 3-node TestCluster in virtual time:
 * many candidates over the members lead one at a time in candidacy order with rising fencing
 * tokens, and every observer learns each leader; a leader whose member is partitioned away or
 * killed is told it lost leadership before the next leader's task starts; a latch hands over
 * when its holder closes; a selector whose member is cut off only briefly (suspended, healed
 * before expiry) gives up leadership at suspension and campaigns again on the same session;
 * leadership is lost from the call to `session.close()`.
 */
import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderElection, LeaderLatch, LeaderSelector } from '../src/index.js';
import { followersOf, leaderOf, SEED, sessionsOn } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const pause = (c: TestCluster, ms: number): Promise<void> =>
  new Promise((resolve) => c.time.setTimeout(resolve, ms));

describe(`leader election (seed ${SEED})`, () => {
  it('12 selectors over three members lead one at a time, in order; observers see every leader', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const sessions = await sessionsOn(c, 12, 5000);
    const watcherSession = sessions[0] as Session;
    const seen: (string | null)[] = [];
    const stop = new LeaderElection(watcherSession, '/election', { id: 'observer' }).observe((id) =>
      seen.push(id),
    );
    await c.run(20);
    let inside = 0;
    let insideMax = 0;
    const led: { id: string; token: number }[] = [];
    const selectors = sessions.map(
      (session, i) =>
        new LeaderSelector(
          session,
          '/election',
          async (leadership) => {
            inside++;
            insideMax = Math.max(insideMax, inside);
            led.push({ id: `p${i}`, token: leadership.fencingToken });
            await pause(c, 30);
            inside--;
          },
          { id: `p${i}`, autoRequeue: false, timers: c.time },
        ),
    );
    for (const selector of selectors) {
      selector.start();
      await c.run(5);
    }
    await c.settle(Promise.all(selectors.map((s) => s.done)), 30_000);
    expect(insideMax).toBe(1);
    expect(led.map((l) => l.id)).toEqual(selectors.map((_, i) => `p${i}`));
    for (let i = 1; i < led.length; i++)
      expect(led[i]?.token as number).toBeGreaterThan(led[i - 1]?.token as number);
    await c.run(50);
    stop();
    // The observer saw no leader, then every leader in turn (at most skipping none here, as
    // each leads for 30 ms), then none again.
    expect(seen[0]).toBeNull();
    expect(seen.at(-1)).toBeNull();
    expect(seen.filter((id) => id !== null)).toEqual(led.map((l) => l.id));
  });

  it('a leader partitioned away is told before the next leader starts', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const log: string[] = [];
    const times: Record<string, number> = {};
    const selector = (session: Session, id: string): LeaderSelector =>
      new LeaderSelector(
        session,
        '/election',
        async (leadership) => {
          log.push(`${id} leads`);
          times[`${id} leads`] = c.time.now();
          await new Promise<void>((resolve) =>
            leadership.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          log.push(`${id} lost`);
          times[`${id} lost`] = c.time.now();
        },
        { id, timers: c.time },
      );
    const a = selector(await c.settle(cut.session({ timeoutMs: 900 })), 'a');
    a.start();
    await c.waitFor(() => a.isLeader, 2000, 'a leads');
    const b = selector(await c.settle(other.session({ timeoutMs: 900 })), 'b');
    b.start();
    const observerSession = await c.settle(leader.session({ timeoutMs: 900 }));
    const seen: (string | null)[] = [];
    new LeaderElection(observerSession, '/election', { id: 'o' }).observe((id) => seen.push(id));
    await c.run(100);
    expect(seen).toEqual(['a']);
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.waitFor(() => b.isLeader, 5000, 'b leads');
    expect(log).toEqual(['a leads', 'a lost', 'b leads']);
    expect(times['a lost'] as number).toBeLessThan(times['b leads'] as number);
    expect(seen).toEqual(['a', 'b']);
    expect(b.leadership?.fencingToken).toBeGreaterThan(0);
    // a's session expires: its selector stops with SessionExpired.
    c.network.heal();
    await expect(c.settle(a.done, 5000)).rejects.toMatchObject({ code: 'SessionExpired' });
    await c.settle(b.close());
  });

  it('a leader on a killed member loses first; a candidate elsewhere takes over', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [other] = followersOf(c, leader) as [CairnNode];
    const log: string[] = [];
    const latchA = new LeaderLatch(await c.settle(leader.session({ timeoutMs: 900 })), '/latch', {
      id: 'a',
      timers: c.time,
    });
    latchA.onChange((isLeader) => log.push(`a ${isLeader}`));
    latchA.start();
    await c.settle(latchA.await());
    const latchB = new LeaderLatch(await c.settle(other.session({ timeoutMs: 900 })), '/latch', {
      id: 'b',
      timers: c.time,
    });
    latchB.onChange((isLeader) => log.push(`b ${isLeader}`));
    latchB.start();
    await c.run(100);
    expect(latchB.hasLeadership()).toBe(false);
    const tokenA = latchA.leadership?.fencingToken as number;
    await c.kill(leader.id);
    const lease = await c.settle(latchB.await({ timeoutMs: 10_000 }));
    expect(log).toEqual(['a true', 'a false', 'b true']);
    expect(lease.fencingToken).toBeGreaterThan(tokenA);
    expect(latchA.hasLeadership()).toBe(false);
    await c.settle(latchB.close());
  });

  it('a latch hands over when its holder closes; await times out while another leads', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 3 });
    const c = cluster;
    const sessions = await sessionsOn(c, 3);
    const latches = sessions.map(
      (s, i) => new LeaderLatch(s, '/latch', { id: `l${i}`, timers: c.time }),
    );
    for (const latch of latches) {
      latch.start();
      await c.run(10);
    }
    await c.settle((latches[0] as LeaderLatch).await());
    expect(latches.map((l) => l.hasLeadership())).toEqual([true, false, false]);
    const e = (latches[2] as LeaderLatch).election;
    expect(await c.settle(e.leader())).toBe('l0');
    await expect(
      c.settle((latches[1] as LeaderLatch).await({ timeoutMs: 200 })),
    ).rejects.toMatchObject({
      code: 'OperationTimeout',
    });
    await c.settle((latches[0] as LeaderLatch).close());
    await c.settle((latches[1] as LeaderLatch).await({ timeoutMs: 2000 }));
    expect(latches.map((l) => l.hasLeadership())).toEqual([false, true, false]);
    expect(await c.settle(e.leader())).toBe('l1');
    for (const latch of latches) await c.settle(latch.close());
    expect(await c.settle(e.leader())).toBeNull();
  });

  it('a selector cut off briefly loses at suspension, then campaigns again on the same session', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 4 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const log: string[] = [];
    let inside = 0;
    let insideMax = 0;
    const tokens: number[] = [];
    const selector = (session: Session, id: string, tenureMs: number): LeaderSelector =>
      new LeaderSelector(
        session,
        '/election',
        async (leadership) => {
          inside++;
          insideMax = Math.max(insideMax, inside);
          tokens.push(leadership.fencingToken);
          log.push(`${id} leads`);
          // Leads for its tenure, or until told it lost leadership.
          await new Promise<void>((resolve) => {
            const onLost = (): void => {
              c.time.clearTimeout(handle);
              log.push(`${id} lost`);
              resolve();
            };
            const handle = c.time.setTimeout(() => {
              leadership.signal.removeEventListener('abort', onLost);
              resolve();
            }, tenureMs);
            leadership.signal.addEventListener('abort', onLost, { once: true });
          });
          inside--;
        },
        { id, timers: c.time },
      );
    const lonely = await c.settle(cut.session({ timeoutMs: 900 }));
    const a = selector(lonely, 'a', 5000);
    a.start();
    await c.waitFor(() => a.isLeader, 2000, 'a leads');
    const b = selector(await c.settle(other.session({ timeoutMs: 5000 })), 'b', 200);
    b.start();
    await c.run(50);
    const states: string[] = [];
    lonely.onStateChange((state) => states.push(state));
    // Cut off past two thirds of the timeout (suspended), healed well before it expires.
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.waitFor(() => lonely.state === 'suspended', 2000, 'suspended');
    expect(a.isLeader).toBe(false);
    expect(log).toEqual(['a leads', 'a lost']);
    c.network.heal();
    await c.waitFor(() => lonely.state === 'connected', 2000, 'reconnected');
    // b leads next (a's old candidacy is withdrawn), then a again: it campaigned anew.
    await c.waitFor(() => log.filter((line) => line === 'a leads').length === 2, 10_000, 'a again');
    expect(log.slice(0, 4)).toEqual(['a leads', 'a lost', 'b leads', 'a leads']);
    expect(states).toEqual(['suspended', 'connected']);
    expect(insideMax).toBe(1);
    for (let i = 1; i < tokens.length; i++)
      expect(tokens[i] as number).toBeGreaterThan(tokens[i - 1] as number);
    await c.settle(a.close());
    await c.settle(b.close());
  });

  it('leadership is lost from the call to close(), before the close applies', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 5 });
    const c = cluster;
    const [session] = (await sessionsOn(c, 1)) as [Session];
    const latch = new LeaderLatch(session, '/latch', { id: 'a', timers: c.time });
    latch.start();
    const lease = await c.settle(latch.await());
    const closed = session.close();
    expect(session.state).toBe('closing');
    expect(lease.lost).toBe(true);
    expect(lease.lostBecause).toMatchObject({ code: 'SessionExpired' });
    expect(latch.hasLeadership()).toBe(false);
    await c.settle(closed);
    await expect(c.settle(latch.await({ timeoutMs: 1000 }))).rejects.toMatchObject({
      code: 'SessionExpired',
    });
  });
});
