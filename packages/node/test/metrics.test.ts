/**
 * The node's metrics beyond proposals and writes (3-node clusters in one process, memory
 * transport and storage, virtual time): commit and apply latency are observed once per entry
 * on every member that commits and applies it, local reads once per read, sessions created on
 * the member that opened them, expired by the leader, and active everywhere (local only on
 * their owner), persistent-stream events apart from one-shot watch events, and the Raft gauges
 * (role, term, commit index, applied index) equal to what `status()` reports. Each assertion is
 * an exact delta or an equality, so a metric left unwired fails it. The last test checks the
 * Prometheus text against the naming conventions: `cairn_` prefix, `_total` counters,
 * `_seconds` latency histograms, one HELP and TYPE per metric, a state set for the role.
 */
import type { CairnNode, Metrics, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function start(
  seed: number,
): Promise<{ c: TestCluster; leader: CairnNode; f: CairnNode; g: CairnNode }> {
  cluster = await TestCluster.start({ size: 3, seed });
  const c = cluster;
  const leader = await leaderOf(c);
  const [f, g] = followersOf(c, leader) as [CairnNode, CairnNode];
  return { c, leader, f, g };
}

/** Counts that should move together, read at once. */
function counts(m: Metrics) {
  return {
    applied: m.applied.value,
    applyCount: m.applyLatency.count,
    commitCount: m.commitLatency.count,
    reads: m.reads.value,
    readCount: m.readLatency.count,
    created: m.sessionsCreated.value,
    streamEvents: m.streamEvents.value,
    watchEvents: m.watchEvents.value,
  };
}

function roleOf(m: Metrics): string {
  const object = m.toObject();
  const current = Object.entries(object).filter(
    ([name, value]) => name.startsWith('cairn_raft_role{') && value === 1,
  );
  expect(current).toHaveLength(1);
  return (current[0] as [string, number])[0];
}

describe(`metrics (seed ${SEED})`, () => {
  it('commit and apply latency are observed once per entry on every member', async () => {
    const { c, leader, f, g } = await start(SEED + 20);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/warm'));
    await c.run(200);
    const before = [leader, f, g].map((n) => counts(n.metrics));
    for (let i = 0; i < 5; i++) await c.settle(zk.create(`/e${i}`));
    await c.settle(zk.sync('/'));
    await c.run(200); // every member hears the commit index and applies
    [leader, f, g].forEach((n, i) => {
      const b = before[i] as ReturnType<typeof counts>;
      const a = counts(n.metrics);
      const applied = a.applied - b.applied;
      expect(applied).toBeGreaterThanOrEqual(5);
      // One apply observation per applied entry; every applied entry was appended here first
      // (no snapshot in this test), so one commit observation each as well.
      expect(a.applyCount - b.applyCount).toBe(applied);
      expect(a.commitCount - b.commitCount).toBe(applied);
      expect(n.metrics.applyLatency.count).toBe(n.metrics.applied.value);
    });
    // The gauges agree with status() on every member.
    for (const n of [leader, f, g]) {
      const status = n.status();
      const object = n.metrics.toObject();
      expect(object.cairn_raft_term).toBe(status.term);
      expect(object.cairn_raft_commit_index).toBe(status.commit);
      expect(object.cairn_raft_applied_index).toBe(status.applied);
      expect(n.metrics.appliedIndex.value).toBeGreaterThan(5);
    }
    expect(roleOf(leader.metrics)).toBe('cairn_raft_role{role="leader"}');
    expect(roleOf(f.metrics)).toBe('cairn_raft_role{role="follower"}');
  });

  it('gauges follow a leader change: role, term, commit and applied index', async () => {
    const { c, leader, f } = await start(SEED + 21);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/x'));
    const term = f.metrics.term.value;
    const commit = f.metrics.commitIndex.value;
    await c.kill(leader.id);
    const next = await leaderOf(c);
    await c.settle(zk.setData('/x', enc('after')));
    expect(next.metrics.role.value).toBe('leader');
    expect(next.metrics.term.value).toBeGreaterThan(term);
    expect(f.metrics.term.value).toBe(next.metrics.term.value);
    expect(f.metrics.commitIndex.value).toBeGreaterThan(commit);
    expect(f.metrics.appliedIndex.value).toBe(f.status().applied);
  });

  it('local reads are observed once per read, linearizable ones too', async () => {
    const { c, f } = await start(SEED + 22);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/r', enc('v')));
    const b = counts(f.metrics);
    await c.settle(zk.getData('/r'));
    await c.settle(zk.exists('/r'));
    await c.settle(zk.getChildren('/'));
    await c.settle(zk.getData('/r', { linearizable: true }));
    const a = counts(f.metrics);
    expect(a.reads - b.reads).toBe(4);
    expect(a.readCount - b.readCount).toBe(4);
    const text = f.metrics.toPrometheus();
    const count = text.split('\n').find((l) => l.startsWith('cairn_read_duration_seconds_count '));
    expect(count).toBe(`cairn_read_duration_seconds_count ${f.metrics.readLatency.count}`);
  });

  it('sessions: created on their member, active everywhere, local on the owner, expired by the leader', async () => {
    const { c, leader, f, g } = await start(SEED + 23);
    const b = [leader, f, g].map((n) => counts(n.metrics));
    const active = leader.metrics.sessionsActive.value;
    const mortal = await c.settle(f.session({ timeoutMs: 500 }));
    const keeper = await c.settle(g.session({ timeoutMs: 10_000 }));
    await c.settle(keeper.sync('/'));
    await c.run(100);
    expect(f.metrics.sessionsCreated.value - (b[1]?.created ?? 0)).toBe(1);
    expect(g.metrics.sessionsCreated.value - (b[2]?.created ?? 0)).toBe(1);
    expect(leader.metrics.sessionsCreated.value - (b[0]?.created ?? 0)).toBe(0);
    for (const n of [leader, f, g]) expect(n.metrics.sessionsActive.value).toBe(active + 2);
    expect([leader, f, g].map((n) => n.metrics.sessionsLocal.value)).toEqual([0, 1, 1]);
    expect(mortal.state).toBe('connected');
    // The owner dies: the leader expires its session after the timeout.
    const expired = leader.metrics.sessionsExpired.value;
    await c.kill(f.id);
    await c.waitFor(
      () => leader.metrics.sessionsActive.value === active + 1,
      10_000,
      'the dead member’s session expired',
    );
    expect(leader.metrics.sessionsExpired.value - expired).toBe(1);
    await c.waitFor(() => g.metrics.sessionsActive.value === active + 1, 5000, 'g applied it');
    // A closed session leaves the table and its member's local count.
    await c.settle(keeper.close());
    await c.run(100);
    expect(g.metrics.sessionsLocal.value).toBe(0);
    expect(g.metrics.sessionsActive.value).toBe(active);
    expect(leader.metrics.sessionsExpired.value - expired).toBe(1);
  });

  it('persistent-stream events are counted apart from one-shot watch events', async () => {
    const { c, f } = await start(SEED + 24);
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    const created = await c.settle(zk.create2('/s'));
    const b = counts(f.metrics);
    const stream = zk.watch('/s', { recursive: true });
    const seen: string[] = [];
    const reader = (async () => {
      for await (const event of stream) {
        seen.push(`${event.type} ${event.path}`);
        if (seen.length === 3) return;
      }
    })();
    await c.settle(zk.setData('/s', enc('1')));
    await c.settle(zk.create('/s/a'));
    await c.settle(zk.delete('/s/a'));
    await c.settle(reader);
    const a = counts(f.metrics);
    expect(seen).toHaveLength(3);
    expect(a.streamEvents - b.streamEvents).toBe(3);
    expect(a.watchEvents - b.watchEvents).toBe(0);
    // A one-shot watch counts there, not as a stream event (the stream has ended its loop).
    await c.settle(zk.getData('/s', { watch: () => {} }));
    const before = counts(f.metrics);
    await c.settle(zk.setData('/s', enc('2')));
    const after = counts(f.metrics);
    expect(after.watchEvents - before.watchEvents).toBe(1);
    // A replay from history counts as stream events too.
    const replayed = zk.watch('/s', { recursive: true, fromZxid: created.stat.czxid });
    const iterator = replayed[Symbol.asyncIterator]();
    await c.settle(iterator.next());
    // setData, create, delete, setData since the create: four events replayed and queued.
    expect(f.metrics.streamEvents.value - after.streamEvents).toBe(4);
    await iterator.return?.();
  });

  it('the Prometheus text follows the naming conventions', async () => {
    const { c, leader } = await start(SEED + 25);
    const zk: Session = await c.settle(leader.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/p'));
    const lines = leader.metrics
      .toPrometheus({ node: String(leader.id) })
      .trimEnd()
      .split('\n');
    const types = new Map<string, string>();
    const helps = new Set<string>();
    for (const line of lines) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type !== null) types.set(type[1] as string, type[2] as string);
      const help = /^# HELP (\S+) (.+)$/.exec(line);
      if (help !== null) helps.add(help[1] as string);
    }
    expect([...helps].sort()).toEqual([...types.keys()].sort());
    for (const [name, type] of types) {
      expect(name).toMatch(/^cairn_[a-z_]+$/);
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (type === 'histogram' && !name.endsWith('_entries')) expect(name).toMatch(/_seconds$/);
    }
    for (const name of [
      'cairn_commit_latency_seconds',
      'cairn_apply_latency_seconds',
      'cairn_read_duration_seconds',
    ])
      expect(types.get(name)).toBe('histogram');
    for (const name of ['cairn_sessions_created_total', 'cairn_watch_stream_events_total'])
      expect(types.get(name)).toBe('counter');
    for (const name of [
      'cairn_raft_role',
      'cairn_raft_term',
      'cairn_raft_commit_index',
      'cairn_raft_applied_index',
      'cairn_sessions_active',
      'cairn_sessions_local',
    ])
      expect(types.get(name)).toBe('gauge');
    const node = `node="${leader.id}"`;
    expect(lines).toContain(`cairn_raft_role{${node},role="leader"} 1`);
    expect(lines).toContain(`cairn_raft_role{${node},role="follower"} 0`);
    expect(lines).toContain(`cairn_raft_term{${node}} ${leader.status().term}`);
    expect(lines).toContain(`cairn_sessions_local{${node}} 1`);
    // Latency buckets are seconds: the first bound is half a millisecond.
    expect(lines.find((l) => l.startsWith('cairn_apply_latency_seconds_bucket'))).toContain(
      'le="0.0005"',
    );
  });
});
