// The memory twin's fault hooks, driven round by round with a seeded random (CAIRN_SEED, printed
// in the suite name): drop loses about the asked share and replays exactly from one seed; delay
// holds messages the asked number of rounds; duplicate delivers twice; reorder shuffles one
// link's round but never mixes links; symmetric and one-way partitions cut what they say (and
// report the peer unreachable) until heal; the per-link bound drops instead of growing.
import type { Message } from '@cairn/raft';
import { seededRandom } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { heartbeat } from '../test/helpers.js';
import { MemoryNetwork } from './memory-network.js';

const SEED = Number(process.env.CAIRN_SEED ?? 7);

function wire(
  network: MemoryNetwork,
  ids: number[],
): Map<number, Message[]> & { unreachable: string[] } {
  const inboxes = Object.assign(new Map<number, Message[]>(), { unreachable: [] as string[] });
  for (const id of ids) {
    const inbox: Message[] = [];
    inboxes.set(id, inbox);
    const transport = network.transport(id);
    transport.onMessage((m) => inbox.push(m));
    transport.onUnreachable((peer) => inboxes.unreachable.push(`${id}->${peer}`));
    void transport.start();
  }
  return inboxes;
}

const commitsOf = (messages: Message[] | undefined): number[] =>
  (messages ?? []).map((m) => (m.type === 'Heartbeat' ? m.commit : -1));

describe(`MemoryNetwork fault hooks (seed ${SEED})`, () => {
  it('drops about the given share, and the same seed drops the same messages', () => {
    const run = (): number[] => {
      const network = new MemoryNetwork({ random: seededRandom(SEED) });
      const inboxes = wire(network, [1, 2]);
      network.setLink(1, 2, { dropProbability: 0.3 });
      for (let i = 0; i < 1000; i++) network.transport(1).send([heartbeat(1, 2, i)]);
      network.deliverAll();
      return commitsOf(inboxes.get(2));
    };
    const first = run();
    expect(first.length, `seed ${SEED}`).toBeGreaterThan(600);
    expect(first.length, `seed ${SEED}`).toBeLessThan(800);
    expect(run()).toEqual(first);
  });

  it('delays a link by whole rounds and leaves the others alone', () => {
    const network = new MemoryNetwork();
    const inboxes = wire(network, [1, 2, 3]);
    network.setLink(1, 2, { delayRounds: 3 });
    network.transport(1).send([heartbeat(1, 2, 1), heartbeat(1, 3, 1)]);
    network.tick();
    expect(commitsOf(inboxes.get(3))).toEqual([1]);
    expect(commitsOf(inboxes.get(2))).toEqual([]);
    network.tick();
    network.tick();
    expect(commitsOf(inboxes.get(2))).toEqual([]);
    network.tick();
    expect(commitsOf(inboxes.get(2))).toEqual([1]);
  });

  it('duplicates when asked, and each copy is a separate decoded object', () => {
    const network = new MemoryNetwork({ random: seededRandom(SEED) });
    const inboxes = wire(network, [1, 2]);
    network.setLink(1, 2, { duplicateProbability: 1 });
    network.transport(1).send([heartbeat(1, 2, 5)]);
    network.deliverAll();
    const got = inboxes.get(2) ?? [];
    expect(commitsOf(got)).toEqual([5, 5]);
    expect(got[0]).not.toBe(got[1]);
    expect(network.stats.duplicated).toBe(1);
  });

  it('reorders within a round on one link only', () => {
    const network = new MemoryNetwork({ random: seededRandom(SEED) });
    const inboxes = wire(network, [1, 2, 3]);
    network.setLink(1, 2, { reorder: true });
    const ascending = Array.from({ length: 50 }, (_, i) => i);
    for (const i of ascending) network.transport(1).send([heartbeat(1, 2, i), heartbeat(1, 3, i)]);
    network.deliverAll();
    const reordered = commitsOf(inboxes.get(2));
    expect(reordered, `seed ${SEED}`).not.toEqual(ascending);
    expect([...reordered].sort((a, b) => a - b)).toEqual(ascending);
    expect(commitsOf(inboxes.get(3))).toEqual(ascending);
  });

  it('partitions symmetrically until heal, reporting the peer unreachable', () => {
    const network = new MemoryNetwork();
    const inboxes = wire(network, [1, 2, 3]);
    network.partition([1], [2, 3]);
    network.transport(1).send([heartbeat(1, 2, 1)]);
    network.transport(2).send([heartbeat(2, 1, 1), heartbeat(2, 3, 1)]);
    network.deliverAll();
    expect(commitsOf(inboxes.get(1))).toEqual([]);
    expect(commitsOf(inboxes.get(2))).toEqual([]);
    expect(commitsOf(inboxes.get(3))).toEqual([1]);
    expect(inboxes.unreachable).toEqual(['1->2', '2->1']);
    network.heal();
    network.transport(1).send([heartbeat(1, 2, 2)]);
    network.deliverAll();
    expect(commitsOf(inboxes.get(2))).toEqual([2]);
  });

  it('cuts one direction only with a one-way partition, including messages already in flight', () => {
    const network = new MemoryNetwork();
    const inboxes = wire(network, [1, 2]);
    network.transport(1).send([heartbeat(1, 2, 1)]);
    network.partitionOneWay(1, 2);
    network.transport(2).send([heartbeat(2, 1, 1)]);
    network.deliverAll();
    expect(commitsOf(inboxes.get(2))).toEqual([]);
    expect(commitsOf(inboxes.get(1))).toEqual([1]);
    expect(network.stats.dropped).toBe(1);
  });

  it('bounds each link: sends beyond queueMessagesMax are dropped, not kept', () => {
    const network = new MemoryNetwork({ queueMessagesMax: 10 });
    const inboxes = wire(network, [1, 2]);
    for (let i = 0; i < 25; i++) network.transport(1).send([heartbeat(1, 2, i)]);
    expect(network.pending).toBe(10);
    network.deliverAll();
    expect(commitsOf(inboxes.get(2))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(network.stats.dropped).toBe(15);
  });
});
