/**
 * Watches on a member that catches up by installing the leader's snapshot rather than by
 * applying entries: the changes the snapshot covers produce no events there, so a watch stream
 * on that member must not carry on as if nothing was missed. It ends with `CompactedError`
 * (naming the zxid to resume after), and a stream resumed on another member from the last
 * zxid received sees every change once. One-shot watches whose node changed under the
 * snapshot fire, as ZooKeeper's setWatches would on a reconnect. Seeded, virtual time.
 */
import type { CairnNode, WatchEvent } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`watches across a snapshot install (seed ${SEED})`, () => {
  it('a stream on a member that installs a snapshot ends with CompactedError; resuming loses nothing', async () => {
    cluster = await TestCluster.start({
      size: 3,
      seed: SEED,
      node: { snapshotEntries: 40, snapshotRetainedEntries: 5 },
    });
    const c = cluster;
    const leader = await leaderOf(c);
    const [lagging, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const writer = await c.settle(leader.session({ timeoutMs: 20_000 }));
    const reader = await c.settle(lagging.session({ timeoutMs: 20_000 }));
    await c.settle(writer.create('/s'));
    await c.waitFor(() => lagging.status().applied >= leader.status().commit, 2000, 'in step');
    const stream = reader.watch('/s', { recursive: true })[Symbol.asyncIterator]();
    const zxids: number[] = [];
    const first = (await c.settle(writer.create2('/s/first'))).stat.czxid;
    zxids.push(first);
    await c.waitFor(() => lagging.status().applied >= first, 2000, 'first applied');
    c.network.partition([lagging.id], [leader.id, other.id]);
    for (let i = 0; i < 120; i++)
      zxids.push((await c.settle(writer.create2(`/s/n${i}`))).stat.czxid);
    c.network.heal();
    await c.waitFor(
      () => lagging.metrics.snapshotsInstalled.value > 0,
      20_000,
      'snapshot installed',
    );
    await c.waitFor(() => lagging.status().applied >= leader.status().commit, 20_000, 'caught up');
    const received: number[] = [];
    let error: unknown = null;
    for (let i = 0; i < 200 && error === null; i++) {
      try {
        const next = await c.settle(stream.next(), 2000);
        if (next.done) break;
        received.push(next.value.zxid);
      } catch (e) {
        error = e;
      }
    }
    // No silent skip: either every change, or an error that says where to resume.
    expect(error).toMatchObject({ code: 'Compacted' });
    expect(received).toEqual(zxids.slice(0, received.length));
    const last = received[received.length - 1] ?? first - 1;
    const resumed = writer.watch('/s', { recursive: true, fromZxid: last })[Symbol.asyncIterator]();
    const rest: number[] = [];
    for (let i = received.length; i < zxids.length; i++) {
      const next = await c.settle(resumed.next(), 2000);
      if (!next.done) rest.push(next.value.zxid);
    }
    expect([...received, ...rest]).toEqual(zxids);
    await resumed.return?.();
  });

  it('a one-shot watch whose node changed under the snapshot fires', async () => {
    cluster = await TestCluster.start({
      size: 3,
      seed: SEED + 1,
      node: { snapshotEntries: 40, snapshotRetainedEntries: 5 },
    });
    const c = cluster;
    const leader = await leaderOf(c);
    const [lagging, other] = followersOf(c, leader) as [CairnNode, CairnNode];
    const writer = await c.settle(leader.session({ timeoutMs: 20_000 }));
    const reader = await c.settle(lagging.session({ timeoutMs: 20_000 }));
    await c.settle(writer.create('/cfg', enc('v0')));
    await c.settle(writer.create('/dir'));
    await c.settle(writer.create('/stay', enc('same')));
    await c.waitFor(() => lagging.status().applied >= leader.status().commit, 2000, 'in step');
    const seen: string[] = [];
    const w = (e: WatchEvent): void => {
      seen.push(`${e.type} ${e.path}`);
    };
    await c.settle(reader.getData('/cfg', { watch: w }));
    await c.settle(reader.getChildren('/dir', { watch: w }));
    await c.settle(reader.exists('/new', { watch: w }));
    await c.settle(reader.getData('/stay', { watch: w }));
    c.network.partition([lagging.id], [leader.id, other.id]);
    await c.settle(writer.setData('/cfg', enc('v1')));
    await c.settle(writer.create('/dir/kid'));
    await c.settle(writer.create('/new'));
    for (let i = 0; i < 100; i++) await c.settle(writer.create(`/filler${i}`));
    c.network.heal();
    await c.waitFor(
      () => lagging.metrics.snapshotsInstalled.value > 0,
      20_000,
      'snapshot installed',
    );
    await c.waitFor(() => seen.length >= 3, 2000, 'the watches fired');
    await c.run(100);
    expect([...seen].sort()).toEqual([
      'NodeChildrenChanged /dir',
      'NodeCreated /new',
      'NodeDataChanged /cfg',
    ]);
    // The watch on the node that did not change is still armed.
    await c.settle(writer.setData('/stay', enc('changed')));
    await c.waitFor(() => seen.length === 4, 2000, 'the remaining watch');
    expect(seen[3]).toBe('NodeDataChanged /stay');
  });
});
