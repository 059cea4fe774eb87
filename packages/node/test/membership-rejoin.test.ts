/**
 * A removed member's data incarnation is forgotten by the conf change that removes it, in the
 * same apply step, so a replaced machine can rejoin under the id as soon as the removal commits
 * (no later entry has to), and it replays the log from before the removal (with the old
 * machine's record) without stopping itself. A record of a removed id that lands after the
 * removal (a late hello of the old machine) is ignored, until the id is added again; without a
 * removal, a wiped voter is still refused (amnesia.test.ts). Memory transport, virtual time.
 * Found by the simulator (`membership` shape, seed 3): the re-added node stopped with an
 * incarnation mismatch while replaying the old record.
 */

import { MemoryDurableLog, TestCluster } from '@cairn/node/testing';
import { type Entry, encodeConfChange, type LogIndex, type NodeId, type Term } from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../src/command.js';
import { StateMachine } from '../src/state-machine.js';

const SEED = Number(process.env.CAIRN_SEED ?? 20261122);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const four = 4 as NodeId;

function record(index: number, incarnation: string | null): Entry {
  return {
    index: index as LogIndex,
    term: 1 as Term,
    type: 'normal',
    data: encodeCommand({ kind: 'incarnation', nodeId: four, incarnation }, index),
  };
}

function conf(index: number, type: 'addLearner' | 'addVoter' | 'removeNode'): Entry {
  return {
    index: index as LogIndex,
    term: 1 as Term,
    type: 'confChange',
    data: encodeConfChange({ changes: [{ type, nodeId: four }], transition: 'auto' }),
  };
}

describe('the state machine forgets a removed member with its removal', () => {
  it('forgets at the conf change, ignores a late record, accepts a new one after re-adding', () => {
    const machine = new StateMachine();
    machine.apply(conf(1, 'addLearner'));
    machine.apply(record(2, 'old'));
    expect(machine.incarnations.get(four)).toBe('old');
    const removal = machine.apply(conf(3, 'removeNode'));
    expect(removal).toEqual({ kind: 'confChange', index: 3, removed: [four] });
    expect(machine.incarnations.has(four)).toBe(false);
    // A late hello of the removed machine got recorded by the leader after the removal.
    const late = machine.apply(record(4, 'old'));
    expect(late).toMatchObject({ kind: 'incarnation', incarnation: null });
    expect(machine.incarnations.has(four)).toBe(false);
    // Carried by a snapshot too.
    const copy = new StateMachine();
    copy.restore(machine.snapshot(), 4 as LogIndex);
    copy.apply(record(5, 'old'));
    expect(copy.incarnations.has(four)).toBe(false);
    // Added again: the new machine's record is taken, and a record is never replaced.
    for (const m of [machine, copy]) {
      m.apply(conf(6, 'addLearner'));
      m.apply(record(7, 'new'));
      m.apply(record(8, 'old'));
      expect(m.incarnations.get(four)).toBe('new');
    }
  });
});

/** The cluster's incarnation records as a member's state machine holds them. */
function recorded(node: object): ReadonlyMap<NodeId, string> {
  return (node as { machine: StateMachine }).machine.incarnations;
}

describe(`a member replaced after its removal rejoins (seed ${SEED})`, () => {
  it('a wiped, removed member added again on an empty disk replays the log and serves', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 2000 }));
    await c.settle(zk.create('/before'));
    const leader = () => {
      const found = c.leader();
      if (found === null) throw new Error('no leader');
      return found;
    };
    await c.startNode(4, { join: true });
    await c.settle(leader().addMember(4, 'mem://4', { learner: true }));
    // Its incarnation gets recorded (hellos every few ticks), then it votes.
    await c.run(500);
    await c.settle(leader().promote(4));
    expect(leader().status().voters).toEqual([1, 2, 3, 4]);
    await c.settle(zk.create('/voter'));
    // Removed, then its machine replaced: the removal alone must be enough to rejoin.
    await c.settle(leader().removeMember(4));
    await c.kill(4);
    // The replacement's disk: a level folder records a fresh incarnation; the memory log draws
    // one from the node's seeded randomness, which would repeat the old machine's, so it is
    // given the identity a new folder would have.
    const disk = new MemoryDurableLog();
    Object.defineProperty(disk, 'identity', { value: { incarnation: 'replacement-machine' } });
    c.storages.set(4, disk);
    await c.settle(zk.create('/removed'));
    const fresh = await c.startNode(4, { join: true });
    await c.settle(leader().addMember(4, null, { learner: true }));
    await c.waitFor(
      () => fresh.status().applied >= leader().status().commit,
      10_000,
      'node 4 caught up',
    );
    await c.run(500);
    expect(() => fresh.assertOpen()).not.toThrow();
    expect(recorded(leader()).get(four)).toBe('replacement-machine');
    await c.settle(leader().promote(4));
    const onFour = await c.settle(fresh.session({ timeoutMs: 2000 }));
    expect(await c.settle(onFour.exists('/removed', { linearizable: true }))).not.toBeNull();
    expect(() => fresh.assertOpen()).not.toThrow();
  });
});
