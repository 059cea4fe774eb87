/**
 * The simulated disk (RELIABILITY F8-F10) and how the runtime meets it: a crash loses what was
 * not synced; a damaged record is detected on reopen and the node refuses to start with a
 * typed error instead of reading the damage as the end of its log; another node's disk is
 * refused. Amnesia (an empty disk under a voter's id) is refused by the cluster, which recorded
 * the incarnation of the member's data.
 */
import { VirtualTime } from '@cairn/node/testing';
import type { ConfState, LogIndex, NodeId, Term } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { installApplyTap } from '../src/apply-tap.js';
import { SimCluster } from '../src/cluster.js';
import { SimDisk } from '../src/disk.js';
import { Rng } from '../src/rng.js';

const conf: ConfState = {
  voters: [1 as NodeId],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};
const identity = { clusterId: 'c', nodeId: 1 };
const entry = (index: number) => ({
  index: index as LogIndex,
  term: 1 as Term,
  type: 'normal' as const,
  data: new Uint8Array([index]),
});

async function written(seed: number): Promise<{ disk: SimDisk; time: VirtualTime }> {
  const time = new VirtualTime();
  const disk = SimDisk.bootstrap(conf, { identity, rng: new Rng(seed) });
  disk.open(identity, time);
  const synced = disk.write({ entries: [entry(2), entry(3)], sync: true });
  await time.advance(1);
  await synced;
  const unsynced = disk.write({
    entries: [entry(4)],
    hardState: { term: 1 as Term, vote: null, commit: 3 as LogIndex },
    sync: false,
  });
  await time.advance(1);
  await unsynced;
  return { disk, time };
}

describe('SimDisk', () => {
  it('keeps synced writes and may lose unsynced ones in a crash (seeds 1-20)', async () => {
    const lastIndexes = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const { disk, time } = await written(seed);
      expect(disk.lastIndex()).toBe(4);
      disk.crash();
      disk.open(identity, time);
      expect(disk.openFailure, `seed ${seed}`).toBeNull();
      expect(disk.lastIndex(), `seed ${seed}`).toBeGreaterThanOrEqual(3);
      lastIndexes.add(disk.lastIndex());
    }
    expect([...lastIndexes].sort()).toEqual([3, 4]);
  });

  it('fails a write in flight when the process crashes', async () => {
    const time = new VirtualTime();
    const disk = SimDisk.bootstrap(conf, { identity, rng: new Rng(1), writeLatencyMs: [5, 5] });
    disk.open(identity, time);
    const pending = disk.write({ entries: [entry(2)], sync: true });
    disk.crash();
    await expect(pending).rejects.toMatchObject({ code: 'StorageFailed' });
  });

  for (const kind of ['flip', 'zero', 'truncate'] as const) {
    it(`detects a ${kind} in a synced record on reopen (seeds 1-10)`, async () => {
      for (let seed = 1; seed <= 10; seed++) {
        const { disk, time } = await written(seed);
        disk.crash();
        expect(disk.corrupt(kind)).toBe(true);
        disk.open(identity, time);
        expect(disk.openFailure?.code, `seed ${seed}`).toBe('StorageCorrupted');
        expect(() => disk.lastIndex()).toThrow(/checksum/);
      }
    });
  }

  it('refuses another node’s disk', async () => {
    const { disk, time } = await written(1);
    disk.open({ clusterId: 'c', nodeId: 2 }, time);
    expect(disk.openFailure?.code).toBe('StorageMismatch');
  });
});

describe('the runtime on a damaged disk', () => {
  it('a member whose disk was corrupted refuses to start; the others go on (seed 3)', async () => {
    await installApplyTap();
    const sim = new SimCluster({ seed: 3, voters: 3 });
    await sim.start();
    const session = sim.running()[0]?.session();
    await sim.run(200);
    const s = await session;
    for (let i = 0; i < 5; i++) {
      const created = s?.create(`/n${i}`);
      await sim.run(50);
      await created;
    }
    await sim.crash(2);
    expect(sim.corrupt(2, 'flip')).toBe(true);
    expect(await sim.startMember(2)).toBeNull();
    expect(sim.member(2).state).toBe('refused');
    expect(sim.member(2).refusal?.code).toBe('StorageCorrupted');
    const write = s?.create('/after');
    await sim.run(500);
    await expect(write).resolves.toBe('/after');
    expect(sim.checker.violations).toEqual([]);
    await sim.close();
  });

  it('a voter restarted on an empty disk is refused and stops (amnesia, F10)', async () => {
    await installApplyTap();
    const sim = new SimCluster({ seed: 5, voters: 3 });
    await sim.start();
    await sim.run(300);
    await sim.crash(3);
    // Replace node 3's disk with a fresh genesis disk, as after `rm -rf` of its data folder.
    const fresh = SimDisk.bootstrap(
      {
        voters: [1, 2, 3] as NodeId[],
        votersOutgoing: [],
        learners: [],
        learnersNext: [],
        autoLeave: false,
      },
      { identity: { clusterId: 'sim', nodeId: 3 }, rng: new Rng(1) },
    );
    sim.member(3).disk = fresh;
    // It starts (an empty disk looks like a new one), but the cluster recorded the incarnation
    // of its old data: its peers drop its messages and tell it, and it stops rather than vote
    // again in terms it forgot.
    expect(await sim.startMember(3)).not.toBeNull();
    await sim.run(1000);
    const node = sim.member(3).node;
    expect(node).not.toBeNull();
    expect(() => node?.assertOpen()).toThrow(/data was lost|log lost/);
    // Its stop is reported (and expected); nothing else broke.
    const others = sim.checker.violations.filter(
      (v) => !(v.checker === 'runtime' && /node 3.*(data was lost|log lost)/s.test(v.message)),
    );
    expect(others, JSON.stringify(sim.checker.violations)).toEqual([]);
    await sim.close();
  });
});
