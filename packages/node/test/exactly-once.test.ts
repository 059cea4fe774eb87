/**
 * Exactly-once writes. The state machine keeps each session's last request number and recent
 * results: a retry is answered with the original result and changes nothing, a request that
 * arrives before its predecessor is a `gap` (not applied; the proposer resends in order), and
 * results the proposer acknowledged are forgotten. First on the state machine alone (entries
 * built by hand), then on a 3-node cluster where a reply is lost and the leader killed, so the
 * session's retry really crosses a leader change. Seeded, virtual time.
 */

import { TestCluster } from '@cairn/node/testing';
import type { Entry, LogIndex, Term } from '@cairn/raft';
import { OPEN_ACL_UNSAFE, type SessionId, type Txn, type TxnResult } from '@cairn/znode';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../src/command.js';
import { type AppliedCommand, StateMachine } from '../src/state-machine.js';
import { enc, followersOf, leaderOf, SEED } from './helpers.js';

const SID = ((1n << 48n) | 7n) as SessionId;
const T0 = 1_700_000_000_000;

/** Feeds a state machine txns as committed entries, numbering the indexes. */
class Feeder {
  readonly machine = new StateMachine();
  private index = 1;
  constructor() {
    this.machine.applied = 1 as LogIndex;
  }
  txn(txn: Txn, seq: number | null, acked = 0): Extract<AppliedCommand, { kind: 'txn' }> {
    this.index++;
    const entry: Entry = {
      term: 1 as Term,
      index: this.index as LogIndex,
      type: 'normal',
      data: encodeCommand({ kind: 'txn', txn, seq, acked, epoch: 0 }, T0 + this.index),
    };
    const applied = this.machine.apply(entry);
    if (applied.kind !== 'txn') throw new Error(`not a txn: ${applied.kind}`);
    return applied;
  }
  open(): void {
    const applied = this.txn(
      { type: 'createSession', sessionId: SID, timeoutMs: 1000, password: new Uint8Array(16) },
      0,
    );
    expect(applied.outcome).toBe('applied');
  }
}

const create = (
  path: string,
  mode: 'persistent' | 'persistent-sequential' = 'persistent',
): Txn => ({
  type: 'create',
  sessionId: SID,
  path,
  data: new Uint8Array(0),
  acl: OPEN_ACL_UNSAFE,
  mode,
});

const pathOf = (result: TxnResult | null): string | null =>
  result?.ok === true && result.type === 'op' && result.result.type === 'create'
    ? result.result.path
    : null;

describe('the state machine applies each request of a session once', () => {
  it('answers a retry with the original result and changes nothing', () => {
    const f = new Feeder();
    f.open();
    const first = f.txn(create('/a'), 1);
    expect(first.outcome).toBe('applied');
    expect(pathOf(first.result)).toBe('/a');
    const digest = f.machine.tree.digest();
    const retry = f.txn(create('/a'), 1);
    // Not NodeExists: the original answer.
    expect(retry.outcome).toBe('duplicate');
    expect(retry.result).toEqual(first.result);
    expect(retry.events).toEqual([]);
    expect(f.machine.tree.digest()).toBe(digest);
    expect(f.machine.lastSeq(SID)).toBe(1);
  });

  it('a retried sequential create keeps its name and makes one node', () => {
    const f = new Feeder();
    f.open();
    const first = f.txn(create('/n-', 'persistent-sequential'), 1);
    const retry = f.txn(create('/n-', 'persistent-sequential'), 1);
    expect(pathOf(first.result)).toBe('/n-0000000000');
    expect(pathOf(retry.result)).toBe('/n-0000000000');
    expect(f.machine.tree.getChildren('/', SID)).toMatchObject({
      ok: true,
      value: { children: ['n-0000000000', 'zookeeper'] },
    });
  });

  it('a request ahead of its predecessor is a gap: not applied until the gap is filled', () => {
    const f = new Feeder();
    f.open();
    f.txn(create('/one'), 1);
    const early = f.txn(create('/three'), 3);
    expect(early.outcome).toBe('gap');
    expect(early.result).toBeNull();
    expect(f.machine.tree.node('/three')).toBeUndefined();
    expect(f.machine.lastSeq(SID)).toBe(1);
    expect(f.txn(create('/two'), 2).outcome).toBe('applied');
    expect(f.txn(create('/three'), 3).outcome).toBe('applied');
    expect(f.machine.lastSeq(SID)).toBe(3);
    // Applied in request order: /two was created before /three.
    const two = f.machine.tree.node('/two');
    const three = f.machine.tree.node('/three');
    expect(two?.czxid).toBeLessThan(three?.czxid as number);
  });

  it('a failed request is remembered too: its retry gets the same error', () => {
    const f = new Feeder();
    f.open();
    const first = f.txn({ type: 'delete', sessionId: SID, path: '/none', version: -1 }, 1);
    expect(first.result).toEqual({
      ok: false,
      type: 'op',
      error: { code: 'NoNode', path: '/none' },
    });
    f.txn(create('/none'), 2);
    const retry = f.txn({ type: 'delete', sessionId: SID, path: '/none', version: -1 }, 1);
    expect(retry.outcome).toBe('duplicate');
    expect(retry.result).toEqual(first.result);
    expect(f.machine.tree.node('/none')).toBeDefined();
  });

  it('forgets results the proposer acknowledged, but still refuses to reapply them', () => {
    const f = new Feeder();
    f.open();
    f.txn(create('/x'), 1);
    f.txn(create('/y'), 2);
    expect(f.machine.resultOf(SID, 1)).not.toBeNull();
    f.txn(create('/z'), 3, 2);
    expect(f.machine.resultOf(SID, 1)).toBeNull();
    expect(f.machine.resultOf(SID, 2)).toBeNull();
    expect(f.machine.resultOf(SID, 3)).not.toBeNull();
    const stale = f.txn(create('/x'), 1, 2);
    expect(stale.outcome).toBe('duplicate');
    expect(stale.result).toBeNull();
  });

  it('keeps the request tables across snapshot and restore', () => {
    const f = new Feeder();
    f.open();
    const first = f.txn(create('/s', 'persistent-sequential'), 1);
    const copy = new StateMachine();
    copy.restore(f.machine.snapshot(), f.machine.applied);
    expect(copy.lastSeq(SID)).toBe(1);
    expect(copy.resultOf(SID, 1)).toEqual(first.result);
    expect(copy.tree.digest()).toBe(f.machine.tree.digest());
  });

  it('a closed session cannot be revived by a late createSession retry', () => {
    const f = new Feeder();
    f.open();
    expect(f.txn({ type: 'closeSession', sessionId: SID, reason: 'close' }, 1).outcome).toBe(
      'applied',
    );
    const late = f.txn(
      { type: 'createSession', sessionId: SID, timeoutMs: 1000, password: new Uint8Array(16) },
      0,
    );
    expect(late.outcome).toBe('duplicate');
    expect(late.result).toMatchObject({ ok: false, error: { code: 'SessionExpired' } });
    expect(f.machine.tree.session(SID)).toBeNull();
    expect(f.txn(create('/after'), 2).result).toMatchObject({
      ok: false,
      error: { code: 'SessionExpired' },
    });
  });

  it('an ended session keeps its last request number and results: retries and restores get them', () => {
    const f = new Feeder();
    f.open();
    const first = f.txn(create('/e', 'persistent-sequential'), 1);
    // Expired by the leader (no request number), with request 1's result not yet acknowledged.
    expect(f.txn({ type: 'closeSession', sessionId: SID, reason: 'expire' }, null).outcome).toBe(
      'applied',
    );
    // A retry of request 1 after the end: its own result, nothing applied again.
    const retry = f.txn(create('/e', 'persistent-sequential'), 1);
    expect(retry.outcome).toBe('duplicate');
    expect(retry.result).toEqual(first.result);
    // Request 2 was never applied and cannot be now.
    expect(f.txn(create('/late'), 2).result).toMatchObject({
      ok: false,
      error: { code: 'SessionExpired' },
    });
    const ended = f.machine.endedRequests(SID);
    expect(ended?.lastSeq).toBe(1);
    expect(ended?.resultOf(1)).toEqual(first.result);
    // A member that learns of the end from a snapshot knows the same.
    const copy = new StateMachine();
    copy.restore(f.machine.snapshot(), f.machine.applied);
    expect(copy.endedRequests(SID)?.lastSeq).toBe(1);
    expect(copy.endedRequests(SID)?.resultOf(1)).toEqual(first.result);
    expect(copy.endedRequests((SID + 1n) as SessionId)).toBeNull();
  });

  it('a createSession for a live id with another password is refused, not shared', () => {
    const f = new Feeder();
    f.open();
    const retry = f.txn(
      { type: 'createSession', sessionId: SID, timeoutMs: 1000, password: new Uint8Array(16) },
      0,
    );
    expect(retry.result).toEqual({ ok: true, type: 'createSession' });
    const other = f.txn(
      {
        type: 'createSession',
        sessionId: SID,
        timeoutMs: 1000,
        password: new Uint8Array(16).fill(9),
      },
      0,
    );
    expect(other.outcome).toBe('duplicate');
    expect(other.result).toMatchObject({ ok: false, error: { code: 'NodeExists' } });
    expect(f.machine.tree.session(SID)?.password).toEqual(new Uint8Array(16));
  });
});

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe(`exactly-once across a leader change (seed ${SEED})`, () => {
  it('a write whose reply was lost is retried to the new leader and answered once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const leader = await leaderOf(c);
    const [f, o] = followersOf(c, leader) as [typeof leader, typeof leader];
    const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
    await c.settle(zk.create('/q'));
    await c.waitFor(() => f.status().applied === leader.status().commit, 2000, 'in step');
    const proposalsBefore = f.metrics.proposals.value;
    // The leader hears the follower but cannot answer it: the writes commit on the leader and
    // the other follower, and the session's member never learns.
    c.network.partitionOneWay(leader.id, f.id);
    const plain = zk.create('/x', enc('once'));
    const sequential = zk.create('/q/n-', enc(''), { mode: 'persistent-sequential' });
    const outcome: string[] = [];
    void plain.then(() => outcome.push('plain'));
    await c.waitFor(
      () =>
        o.machine.tree.node('/x') !== undefined &&
        o.machine.tree.node('/q/n-0000000000') !== undefined,
      2000,
      'committed on the majority',
    );
    await c.run(50);
    expect(outcome).toEqual([]);
    // The leader dies; the two left elect one of them and the session's member catches up.
    await c.kill(leader.id);
    c.network.heal();
    expect(await c.settle(plain, 10_000)).toBe('/x');
    expect(await c.settle(sequential, 10_000)).toBe('/q/n-0000000000');
    const newLeader = await leaderOf(c);
    expect(newLeader.id).not.toBe(leader.id);
    // The session did retry (more proposals than calls), yet everything happened once.
    expect(f.metrics.proposals.value).toBeGreaterThan(proposalsBefore + 2);
    expect((await c.settle(zk.getChildren('/q', { linearizable: true }))).children).toEqual([
      'n-0000000000',
    ]);
    expect((await c.settle(zk.exists('/x')))?.version).toBe(0);
    // Later writes of the same session go on normally, numbered after the retried ones.
    expect(await c.settle(zk.create('/q/n-', enc(''), { mode: 'persistent-sequential' }))).toBe(
      '/q/n-0000000001',
    );
    await c.run(100);
    expect(f.status().digest).toBe(o.status().digest);
  });

  it('pipelined writes across a leader kill: each acknowledged once, none lost', async () => {
    let retried = 0;
    for (const [seed, delayMs] of [
      [SEED + 1, 0],
      [SEED + 2, 1],
      [SEED + 3, 2],
      [SEED + 4, 4],
    ] as const) {
      cluster = await TestCluster.start({ size: 3, seed });
      const c = cluster;
      const leader = await leaderOf(c);
      const [f] = followersOf(c, leader) as [typeof leader];
      const zk = await c.settle(f.session({ timeoutMs: 10_000 }));
      await c.settle(zk.create('/p'));
      const before = f.metrics.proposals.value;
      const calls = Array.from({ length: 40 }, (_, i) =>
        zk.create('/p/w-', enc(String(i)), { mode: 'persistent-sequential' }),
      );
      // Cut the leader off at some point of the pipeline, then kill it: whatever it had not
      // replicated is lost and must be resent to the next leader.
      await c.run(delayMs);
      c.network.partition(
        [leader.id],
        [...c.nodes.keys()].filter((id) => id !== leader.id),
      );
      await c.kill(leader.id);
      c.network.heal();
      const paths = await c.settle(Promise.all(calls), 20_000);
      retried += f.metrics.proposals.value - before - 40;
      // Every call got its own name, in call order (FIFO client order), and the tree holds
      // exactly those names.
      expect(new Set(paths).size).toBe(40);
      expect([...paths].sort()).toEqual(paths);
      const children = (await c.settle(zk.getChildren('/p', { linearizable: true }), 10_000))
        .children;
      expect(children).toEqual(paths.map((p) => p.slice('/p/'.length)));
      for (let i = 0; i < 40; i++) {
        const { data } = await c.settle(zk.getData(paths[i] as string));
        expect(new TextDecoder().decode(data)).toBe(String(i));
      }
      await c.close();
      cluster = null;
    }
    // The runs did exercise the retry path.
    expect(retried).toBeGreaterThan(0);
  });
});
