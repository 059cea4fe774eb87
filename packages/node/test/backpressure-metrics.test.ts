/**
 * Backpressure and metrics on a 3-node cluster in one process. With `proposalsInflightMax`,
 * write calls beyond the limit wait for a slot (nothing is proposed for them), an AbortSignal
 * takes a waiting call out without costing a later one its turn, and every call eventually
 * completes. `node.metrics` counts the work as it happens, and `toPrometheus()` renders it.
 * Seeded, virtual time.
 */
import type { CairnNode } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function cutOffFollower(
  seed: number,
  proposalsInflightMax: number,
): Promise<{ c: TestCluster; f: CairnNode; leader: CairnNode }> {
  cluster = await TestCluster.start({ size: 3, seed, node: { proposalsInflightMax } });
  const c = cluster;
  const leader = await leaderOf(c);
  const [f] = followersOf(c, leader) as [CairnNode];
  return { c, f, leader };
}

describe(`backpressure (seed ${SEED})`, () => {
  it('calls past proposalsInflightMax wait, proposing nothing, then all complete', async () => {
    const { c, f, leader } = await cutOffFollower(SEED, 2);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/b'));
    c.network.partition(
      [f.id],
      [
        leader.id,
        ...followersOf(c, leader)
          .map((n) => n.id)
          .filter((id) => id !== f.id),
      ],
    );
    const before = f.metrics.proposals.value;
    const calls = [0, 1, 2, 3, 4].map((i) => zk.create(`/b/${i}`));
    await c.run(50);
    // Two proposed (and waiting for a leader); three wait for a slot.
    expect(f.metrics.proposals.value - before).toBe(2);
    c.network.heal();
    expect(await c.settle(Promise.all(calls), 10_000)).toEqual([
      '/b/0',
      '/b/1',
      '/b/2',
      '/b/3',
      '/b/4',
    ]);
    expect((await c.settle(zk.getChildren('/b'))).children).toEqual(['0', '1', '2', '3', '4']);
  });

  it('an aborted waiting call fails with its reason and does not cost a later call its turn', async () => {
    const { c, f, leader } = await cutOffFollower(SEED + 1, 1);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/a'));
    c.network.partition(
      [f.id],
      [
        leader.id,
        ...followersOf(c, leader)
          .map((n) => n.id)
          .filter((id) => id !== f.id),
      ],
    );
    const first = zk.create('/a/first');
    const controller = new AbortController();
    const aborted = zk.create('/a/aborted', enc(''), { signal: controller.signal });
    const abortedOutcome = aborted.then(
      () => 'Ok',
      (e: unknown) => e,
    );
    const last = zk.create('/a/last');
    await c.run(50);
    controller.abort(new Error('caller gave up'));
    await c.run(10);
    expect(await abortedOutcome).toMatchObject({ message: 'caller gave up' });
    c.network.heal();
    expect(await c.settle(first, 10_000)).toBe('/a/first');
    expect(await c.settle(last, 10_000)).toBe('/a/last');
    expect((await c.settle(zk.getChildren('/a', { linearizable: true }))).children).toEqual([
      'first',
      'last',
    ]);
  });

  it('a call with an already aborted signal is not sent', async () => {
    const { c, f } = await cutOffFollower(SEED + 2, 4);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    const controller = new AbortController();
    controller.abort(new Error('never mind'));
    const before = f.metrics.proposals.value;
    const outcome = await c.settle(
      zk.create('/never', enc(''), { signal: controller.signal }).catch((e: unknown) => e),
    );
    expect(outcome).toMatchObject({ message: 'never mind' });
    expect(f.metrics.proposals.value).toBe(before);
    await c.run(100);
    expect(await c.settle(zk.exists('/never', { linearizable: true }))).toBeNull();
  });

  it('opening a session on a cut-off member can be aborted', async () => {
    const { c, f, leader } = await cutOffFollower(SEED + 4, 4);
    c.network.partition(
      [f.id],
      [
        leader.id,
        ...followersOf(c, leader)
          .map((n) => n.id)
          .filter((id) => id !== f.id),
      ],
    );
    const controller = new AbortController();
    const opening = f
      .session({ timeoutMs: 1000, signal: controller.signal })
      .catch((e: unknown) => e);
    await c.run(100);
    controller.abort(new Error('no session'));
    expect(await c.settle(opening, 100)).toMatchObject({ message: 'no session' });
    c.network.heal();
    // Its createSession may still commit; nobody keeps it alive, so it expires.
    await c.run(3000);
    expect(f.status().sessions).toBe(0);
  });

  it('an aborted linearizable read fails with the reason', async () => {
    const { c, f, leader } = await cutOffFollower(SEED + 3, 4);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    c.network.partition(
      [f.id],
      [
        leader.id,
        ...followersOf(c, leader)
          .map((n) => n.id)
          .filter((id) => id !== f.id),
      ],
    );
    const controller = new AbortController();
    const read = zk
      .getData('/', { linearizable: true, signal: controller.signal })
      .catch((e: unknown) => e);
    await c.run(50);
    controller.abort(new Error('stop'));
    expect(await c.settle(read)).toMatchObject({ message: 'stop' });
    // Already aborted: fails at once with the reason, not after the read times out.
    const early = zk
      .sync('/', { signal: AbortSignal.abort(new Error('x')) })
      .catch((e: unknown) => e);
    expect(await c.settle(early, 100)).toMatchObject({ message: 'x' });
  });
});

describe(`metrics (seed ${SEED})`, () => {
  it('counters and histograms move as work happens', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 10 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [f] = followersOf(c, leader) as [CairnNode];
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    const m0 = f.metrics.toObject();
    await c.settle(zk.create('/m'));
    await c.settle(zk.setData('/m', enc('x')));
    await c.settle(zk.getData('/m'));
    await c.settle(zk.getChildren('/'));
    await c.settle(zk.exists('/m', { linearizable: true }));
    await c.settle(zk.getData('/m', { watch: () => {} }));
    await c.settle(zk.setData('/m', enc('y')));
    const m1 = f.metrics.toObject();
    const delta = (name: string): number => (m1[name] as number) - (m0[name] as number);
    expect(delta('cairn_proposals_total')).toBe(3);
    expect(delta('cairn_session_writes_total')).toBe(3);
    expect(delta('cairn_session_reads_total')).toBe(4);
    expect(delta('cairn_watch_events_total')).toBe(1);
    expect(delta('cairn_applied_entries_total')).toBeGreaterThanOrEqual(3);
    const writeSeconds = m1.cairn_write_duration_seconds as { count: number; sum: number };
    expect(writeSeconds.count - (m0.cairn_write_duration_seconds as { count: number }).count).toBe(
      3,
    );
    expect(writeSeconds.sum).toBeGreaterThan(0);
    expect((m1.cairn_read_index_duration_seconds as { count: number }).count).toBe(1);
    // The leader persisted and counted leader changes; nobody expired anything.
    const lm = leader.metrics.toObject();
    expect((lm.cairn_persist_duration_seconds as { count: number }).count).toBeGreaterThan(0);
    expect(lm.cairn_leader_changes_total).toBeGreaterThanOrEqual(1);
    expect(lm.cairn_sessions_expired_total).toBe(0);
    // A leader change is counted on the members that saw it.
    const changes = f.metrics.leaderChanges.value;
    await c.kill(leader.id);
    await leaderOf(c);
    expect(f.metrics.leaderChanges.value).toBe(changes + 1);
  });

  it('toPrometheus renders every metric with HELP, TYPE, labels and cumulative buckets', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 11 });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/p'));
    const text = c.follower().metrics.toPrometheus({ node: '2', cluster: 'a"b' });
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE cairn_proposals_total counter');
    expect(lines).toContain('# TYPE cairn_write_duration_seconds histogram');
    const proposals = lines.find((l) => l.startsWith('cairn_proposals_total{'));
    expect(proposals).toBe(
      `cairn_proposals_total{node="2",cluster="a\\"b"} ${c.follower().metrics.proposals.value}`,
    );
    const buckets = lines
      .filter((l) => l.startsWith('cairn_write_duration_seconds_bucket'))
      .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(buckets.length).toBeGreaterThan(2);
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1] as number);
    const count = lines.find((l) => l.startsWith('cairn_write_duration_seconds_count'));
    expect(count?.endsWith(` ${buckets[buckets.length - 1]}`)).toBe(true);
    expect(buckets[buckets.length - 1]).toBeGreaterThanOrEqual(1);
    // Every metric has a HELP line and a TYPE line.
    const helps = lines.filter((l) => l.startsWith('# HELP')).length;
    const types = lines.filter((l) => l.startsWith('# TYPE')).length;
    expect(helps).toBe(types);
    // toObject has one key per metric, and one per state for the role (a state set).
    const object = Object.keys(c.follower().metrics.toObject());
    const roleStates = object.filter((name) => name.startsWith('cairn_raft_role{')).length;
    expect(roleStates).toBe(4);
    expect(helps).toBe(object.length - roleStates + 1);
  });
});
