/**
 * Session lifecycle on a 3-node cluster in one process: ephemerals go when their session closes
 * or expires (on every replica, with their watches fired); expiry is decided by the leader's
 * deadlines, so a session whose member is cut off expires, its owner sees `expired` and
 * SessionExpired on later calls, and a new session can take its place; a live idle session does
 * not expire. Also the leader's reaping of TTL and container nodes. Seeded, virtual time.
 */
import type { CairnNode, Session, SessionState, WatchEvent } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, codeOfCall, enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** Waits until `path` is gone on every running member. */
async function goneEverywhere(c: TestCluster, path: string, maxMs = 10_000): Promise<void> {
  await c.waitFor(
    () => [...c.nodes.values()].every((n) => n.machine.tree.node(path) === undefined),
    maxMs,
    `${path} gone on every member`,
  );
}

describe(`sessions (seed ${SEED})`, () => {
  it('close() removes the session and its ephemerals everywhere, firing their watches', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const leader = await leaderOf(c);
    const [f1] = followersOf(c, leader) as [CairnNode];
    const owner = await c.settle(f1.session({ timeoutMs: 2000 }));
    const observer = await c.settle(leader.session({ timeoutMs: 2000 }));
    await c.settle(owner.create('/app'));
    await c.settle(owner.create('/app/e1', enc(''), { mode: 'ephemeral' }));
    await c.settle(owner.create('/app/e2-', enc(''), { mode: 'ephemeral-sequential' }));
    await c.settle(owner.create('/app/keep'));
    const seen: string[] = [];
    const w = (e: WatchEvent): void => {
      seen.push(`${e.type} ${e.path}`);
    };
    await c.settle(observer.exists('/app/e1', { watch: w, linearizable: true }));
    await c.settle(observer.getData('/app/e2-0000000001', { watch: w }));
    await c.settle(observer.getChildren('/app', { watch: w }));
    const sessionsBefore = leader.status().sessions;
    await c.settle(owner.close());
    expect(owner.state).toBe('closed');
    await goneEverywhere(c, '/app/e1');
    await c.waitFor(() => seen.length === 3, 2000, 'three events');
    expect(seen).toEqual([
      'NodeDeleted /app/e1',
      'NodeChildrenChanged /app',
      'NodeDeleted /app/e2-0000000001',
    ]);
    expect((await c.settle(observer.getChildren('/app', { linearizable: true }))).children).toEqual(
      ['keep'],
    );
    await c.run(50);
    for (const node of c.nodes.values()) expect(node.status().sessions).toBe(sessionsBefore - 1);
    // Expiring it later is a no-op: it stays closed, not expired.
    await c.run(5000);
    expect(owner.state).toBe('closed');
  });

  it('a session on a cut-off member expires: ephemerals vanish, the owner sees expired', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const owner = await c.settle(cut.session({ timeoutMs: 600 }));
    const states: SessionState[] = [];
    owner.onStateChange((s) => states.push(s));
    await c.settle(owner.create('/lock', enc(''), { mode: 'ephemeral' }));
    const observer = await c.settle(other.session({ timeoutMs: 5000 }));
    const seen: string[] = [];
    expect(
      await c.settle(
        observer.exists('/lock', {
          watch: (e) => seen.push(`${e.type} ${e.path}`),
          linearizable: true,
        }),
      ),
    ).not.toBeNull();

    c.network.partition([cut.id], [leader.id, other.id]);
    // Before the timeout, nothing happens; the owner is suspended after two thirds of it.
    await c.run(300);
    expect(await c.settle(observer.exists('/lock'))).not.toBeNull();
    await c.waitFor(() => owner.state === 'suspended', 1000, 'suspended');
    // The leader expires it (a write: the majority side applies it).
    await c.waitFor(() => seen.length > 0, 3000, 'the ephemeral deleted');
    expect(seen).toEqual(['NodeDeleted /lock']);
    expect(leader.metrics.sessionsExpired.value).toBeGreaterThanOrEqual(1);
    // The owner cannot know yet: it is cut off. A write it makes now waits.
    const late = owner.create('/late');
    const lateCode = codeOf(late);
    expect(owner.state).toBe('suspended');
    c.network.heal();
    await c.waitFor(() => owner.state === 'expired', 5000, 'expired');
    expect(states).toEqual(['suspended', 'expired']);
    expect(await c.settle(lateCode)).toBe('SessionExpired');
    expect(await c.settle(codeOfCall(() => owner.getData('/')))).toBe('SessionExpired');
    expect(await c.settle(codeOfCall(() => owner.create('/again')))).toBe('SessionExpired');
    expect(await c.settle(observer.exists('/late', { linearizable: true }))).toBeNull();
    await goneEverywhere(c, '/lock');
    // A new session replaces it and may take the lock.
    const fresh = await c.settle(cut.session({ timeoutMs: 600 }));
    expect(fresh.id).not.toBe(owner.id);
    expect(await c.settle(fresh.create('/lock', enc(''), { mode: 'ephemeral' }))).toBe('/lock');
    expect((await c.settle(observer.exists('/lock', { linearizable: true })))?.ephemeralOwner).toBe(
      fresh.id,
    );
  });

  it('a cut-off session is suspended, and connected again if the cut heals before expiry', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 5 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const owner = await c.settle(cut.session({ timeoutMs: 900 }));
    await c.settle(owner.create('/held', enc(''), { mode: 'ephemeral' }));
    const states: SessionState[] = [];
    owner.onStateChange((s) => states.push(s));
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.waitFor(() => owner.state === 'suspended', 1000, 'suspended');
    c.network.heal();
    await c.waitFor(() => owner.state === 'connected', 1000, 'connected again');
    await c.run(3000);
    expect(states).toEqual(['suspended', 'connected']);
    expect(leader.metrics.sessionsExpired.value).toBe(0);
    expect(await c.settle(owner.getEphemerals('/', { linearizable: true }))).toEqual(['/held']);
  });

  it('an expired session ends its watch streams with SessionExpired', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 6 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [cut, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const owner = await c.settle(cut.session({ timeoutMs: 300 }));
    const stream = owner.watch('/', { recursive: true })[Symbol.asyncIterator]();
    const outcome = stream.next().then(
      (r) => r,
      (e: unknown) => e,
    );
    c.network.partition([cut.id], [leader.id, other.id]);
    await c.run(2000);
    c.network.heal();
    await c.waitFor(() => owner.state === 'expired', 5000, 'expired');
    expect(await c.settle(outcome)).toMatchObject({ code: 'SessionExpired' });
  });

  it('an idle live session does not expire, on a follower or on the leader', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [f1] = followersOf(c, leader) as [CairnNode];
    const onFollower = await c.settle(f1.session({ timeoutMs: 300 }));
    const onLeader = await c.settle(leader.session({ timeoutMs: 300 }));
    await c.settle(onFollower.create('/a', enc(''), { mode: 'ephemeral' }));
    await c.settle(onLeader.create('/b', enc(''), { mode: 'ephemeral' }));
    const states: SessionState[] = [];
    onFollower.onStateChange((s) => states.push(s));
    await c.run(10_000);
    expect(onFollower.state).toBe('connected');
    expect(onLeader.state).toBe('connected');
    expect(states).toEqual([]);
    expect(leader.metrics.sessionsExpired.value).toBe(0);
    expect(await c.settle(onLeader.getEphemerals())).toEqual(['/b']);
    expect(await c.settle(onFollower.getEphemerals())).toEqual(['/a']);
  });

  it('sessions of a member that died expire, and their ephemerals go', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 3 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [dying, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const doomed = await c.settle(dying.session({ timeoutMs: 500 }));
    await c.settle(doomed.create('/member-1', enc(''), { mode: 'ephemeral' }));
    const watcher = await c.settle(other.session({ timeoutMs: 5000 }));
    await c.kill(dying.id);
    expect(doomed.state).toBe('closed');
    await goneEverywhere(c, '/member-1', 5000);
    expect(await c.settle(watcher.exists('/member-1', { linearizable: true }))).toBeNull();
    expect(leader.status().sessions).toBe(1); // the observer's, none other
  });

  it('the session timeout is clamped into [sessionTimeoutMinMs, sessionTimeoutMaxMs]', async () => {
    cluster = await TestCluster.start({
      size: 3,
      seed: SEED + 4,
      node: { sessionTimeoutMinMs: 200, sessionTimeoutMaxMs: 2000 },
    });
    const c = cluster;
    const n = c.follower();
    expect((await c.settle(n.session({ timeoutMs: 1 }))).timeoutMs).toBe(200);
    expect((await c.settle(n.session({ timeoutMs: 999_999 }))).timeoutMs).toBe(2000);
    expect((await c.settle(n.session({ timeoutMs: 700 }))).timeoutMs).toBe(700);
    expect((await c.settle(n.session())).timeoutMs).toBe(2000);
  });
});

describe(`TTL and container nodes (seed ${SEED})`, () => {
  it('a TTL node is reaped by the leader once unchanged for its TTL and childless', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 10 });
    const c = cluster;
    const zk: Session = await c.settle(c.follower().session({ timeoutMs: 5000 }));
    const made = await c.settle(
      zk.create2('/ttl', enc(''), { mode: 'persistent-with-ttl', ttlMs: 500 }),
    );
    // The owner field encodes the TTL as ZooKeeper does: high byte 0xFF, TTL below.
    expect(BigInt.asUintN(64, made.stat.ephemeralOwner)).toBe((0xffn << 56n) | 500n);
    await c.settle(zk.create('/ttl-parent', enc(''), { mode: 'persistent-with-ttl', ttlMs: 500 }));
    await c.settle(zk.create('/ttl-parent/kid'));
    const seq = await c.settle(
      zk.create('/ttl-seq-', enc(''), { mode: 'persistent-sequential-with-ttl', ttlMs: 500 }),
    );
    // A change restarts the clock.
    await c.run(300);
    await c.settle(zk.setData('/ttl', enc('touch')));
    await c.run(350);
    expect(await c.settle(zk.exists('/ttl'))).not.toBeNull();
    await goneEverywhere(c, seq, 2000);
    await goneEverywhere(c, '/ttl', 2000);
    // With a child it stays; once the child is gone it goes too.
    await c.run(500);
    expect(await c.settle(zk.exists('/ttl-parent'))).not.toBeNull();
    await c.settle(zk.delete('/ttl-parent/kid'));
    await goneEverywhere(c, '/ttl-parent', 3000);
  });

  it('a container is reaped once its last child goes, never before it had one', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 11 });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 5000 }));
    const box = await c.settle(zk.create2('/box', enc(''), { mode: 'container' }));
    expect(box.stat.ephemeralOwner).toBe(-(2n ** 63n));
    await c.settle(zk.create('/empty-box', enc(''), { mode: 'container' }));
    await c.settle(zk.create('/box/a'));
    await c.settle(zk.create('/box/b', enc(''), { mode: 'ephemeral' }));
    await c.settle(zk.delete('/box/a'));
    await c.run(500);
    expect(await c.settle(zk.exists('/box'))).not.toBeNull();
    const seen: string[] = [];
    await c.settle(zk.exists('/box', { watch: (e) => seen.push(`${e.type} ${e.path}`) }));
    await c.settle(zk.delete('/box/b'));
    await goneEverywhere(c, '/box', 3000);
    await c.waitFor(() => seen.length > 0, 1000, 'the watch');
    expect(seen).toEqual(['NodeDeleted /box']);
    await c.run(1000);
    expect(await c.settle(zk.exists('/empty-box'))).not.toBeNull();
    // Recreating a child under a reaped container fails with NoNode, as ZooKeeper warns.
    expect(await c.settle(codeOf(zk.create('/box/c')))).toBe('NoNode');
  });
});
