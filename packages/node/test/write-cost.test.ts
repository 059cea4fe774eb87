/**
 * A create costs the node what a setData costs: on a one-member cluster (memory storage,
 * virtual time) a lone create under a parent that already has thousands of children, like a
 * lone setData, is one proposal batch of one entry, one storage write carrying that one entry,
 * and is answered without any virtual time passing (no timer, batching delay or tick on its
 * path), in the same number of event-loop turns whether the parent has 10 or 3,000 children.
 * Everything is counted, never timed. This pins the finding of bench/README.md (2026-12-06,
 * "create against setData"): the slow one-node create row was the bench's first, cold row, not
 * a cost of the create path; a timer, a batching delay, an extra storage write or an extra
 * asynchronous hop added to the create path (or only under a big parent) fails here.
 */

import type { CairnNode, Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { enc, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
  vi.restoreAllMocks();
});

/** Event-loop turns allowed for one write to be answered before the test gives up. */
const TURNS_MAX = 200;
const CALLS = 20;

interface Cost {
  /** Storage writes carrying entries, and the entries they carried. */
  writes: number;
  entries: number;
  /** Proposal batches and the entries proposed in them. */
  batches: number;
  proposed: number;
  /** Event-loop turns (with virtual time standing still) until the answer, summed over calls. */
  turns: number;
  /** Virtual milliseconds that passed while the calls were in flight. */
  virtualMs: number;
}

/** Runs `call` CALLS times, one at a time, counting what each costs the node. */
async function cost(c: TestCluster, node: CairnNode, call: (i: number) => Promise<unknown>) {
  const storage = c.storages.get(node.id);
  if (storage === undefined) throw new Error('no storage for the node');
  const counted: Cost = { writes: 0, entries: 0, batches: 0, proposed: 0, turns: 0, virtualMs: 0 };
  const write = storage.write.bind(storage);
  const spy = vi.spyOn(storage, 'write').mockImplementation((update) => {
    if (update.entries.length > 0) {
      counted.writes++;
      counted.entries += update.entries.length;
    }
    return write(update);
  });
  const batches = node.metrics.batchSize.count;
  const proposed = node.metrics.batchSize.sum;
  const startMs = c.time.now();
  for (let i = 0; i < CALLS; i++) {
    let done = false;
    let failure: unknown = null;
    call(i).then(
      () => {
        done = true;
      },
      (error: unknown) => {
        failure = error;
        done = true;
      },
    );
    let turns = 0;
    while (!done && turns < TURNS_MAX) {
      await c.run(0); // runs what is due now and lets promises settle; the clock stays
      turns++;
    }
    if (failure !== null) throw failure;
    expect(done, `call ${i} answered within ${TURNS_MAX} turns without time passing`).toBe(true);
    counted.turns += turns;
  }
  counted.virtualMs = c.time.now() - startMs;
  counted.batches = node.metrics.batchSize.count - batches;
  counted.proposed = node.metrics.batchSize.sum - proposed;
  spy.mockRestore();
  return counted;
}

async function oneMember(seed: number): Promise<{ c: TestCluster; node: CairnNode; zk: Session }> {
  cluster = await TestCluster.start({ size: 1, seed });
  const c = cluster;
  const node = c.nodes.get(1);
  if (node === undefined) throw new Error('no member 1');
  await c.waitFor(() => node.status().role === 'leader', 10_000, 'a leader');
  const zk = await c.settle(node.session({ timeoutMs: 10_000 }));
  await c.run(100);
  return { c, node, zk };
}

/** Gives `parent` `count` children, in batches (not counted). */
async function fill(c: TestCluster, zk: Session, parent: string, count: number): Promise<void> {
  await c.settle(zk.create(parent));
  for (let done = 0; done < count; done += 500) {
    const calls: Promise<string>[] = [];
    for (let i = done; i < Math.min(count, done + 500); i++)
      calls.push(zk.create(`${parent}/old-${i}`, enc('v')));
    await c.settle(Promise.all(calls));
  }
}

describe(`a write's cost on a one-member node (seed ${SEED})`, () => {
  it('a lone create is one entry, one storage write and no virtual time, as a setData is', async () => {
    const { c, node, zk } = await oneMember(SEED + 60);
    await fill(c, zk, '/small', 10);
    await fill(c, zk, '/big', 3_000);
    await c.settle(zk.create('/target', enc('v')));
    const value = enc('x'.repeat(100));

    const setData = await cost(c, node, () => zk.setData('/target', value));
    const createSmall = await cost(c, node, (i) => zk.create(`/small/new-${i}`, value));
    const createBig = await cost(c, node, (i) => zk.create(`/big/new-${i}`, value));

    for (const counted of [setData, createSmall, createBig]) {
      expect(counted.batches).toBe(CALLS);
      expect(counted.proposed).toBe(CALLS);
      expect(counted.writes).toBe(CALLS);
      expect(counted.entries).toBe(CALLS);
      expect(counted.virtualMs).toBe(0);
    }
    // The same path, step for step: a big parent adds no turn, and a create none over a setData.
    expect(createBig.turns).toBe(createSmall.turns);
    expect(createSmall.turns).toBe(setData.turns);
    expect((await c.settle(zk.getChildren('/big'))).children).toHaveLength(3_000 + CALLS);
  });
});
