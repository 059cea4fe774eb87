// A local snapshot is written in slices, one per turn of the event loop, while entries go on
// being applied (docs/node.md, "Snapshots"). One member on a memory log with small slices: a
// write issued after the snapshot began is answered before the snapshot is finished, the
// finished snapshot holds the state as of its own index (not the later write), and a node
// restarted on the same log restores it and replays the rest.
import { createNode } from '@cairn/node';
import { MemoryStorage } from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';
import { describe, expect, it } from 'vitest';
import { ONE_VOTER, until } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const SNAPSHOT_ENTRIES = 40;
describe('snapshots written in slices', () => {
  it('applies writes between slices and snapshots the state as of its index', async () => {
    const storage = new MemoryDurableLog(MemoryStorage.bootstrap(ONE_VOTER));
    const options = {
      id: 1,
      storage,
      tickMs: 10,
      snapshotEntries: SNAPSHOT_ENTRIES,
      snapshotRetainedEntries: 0,
      snapshotSliceZnodes: 1,
    };
    const node = await createNode(options);
    let snapshotIndex = 0;
    try {
      const zk = await node.session();
      // Writes until a snapshot begins: the tree then holds dozens of znodes, written one a turn.
      let i = 0;
      while (node.metrics.snapshots.value === 0 && i < SNAPSHOT_ENTRIES * 2) {
        await zk.create(`/k${i}`, enc(`v${i}`));
        i++;
        if (node.status().applied >= SNAPSHOT_ENTRIES + 2) break;
      }
      expect(node.metrics.snapshots.value, 'the snapshot is still being written').toBe(0);
      // Changed and deleted while the snapshot is written: the snapshot keeps their old state.
      await zk.setData('/k0', enc('changed'));
      await zk.delete('/k1');
      await zk.create('/late', enc('late'));
      expect(node.metrics.snapshots.value, 'writes were answered between slices').toBe(0);
      await until(() => node.metrics.snapshots.value === 1, 'the snapshot finished');
      await until(() => storage.snapshot().metadata.index > 1, 'the compaction landed');
      snapshotIndex = storage.snapshot().metadata.index;
      expect(snapshotIndex).toBeLessThan(node.status().applied);
      expect(snapshotIndex).toBeGreaterThanOrEqual(SNAPSHOT_ENTRIES);
    } finally {
      await node.close();
    }
    // The snapshot alone holds /k0 and /k1 as they were; the log after it replays the rest.
    const restarted = await createNode({ ...options, snapshotEntries: 1_000_000 });
    try {
      const zk = await restarted.session();
      expect(dec((await zk.getData('/k0')).data)).toBe('changed');
      expect(await zk.exists('/k1')).toBeNull();
      expect(dec((await zk.getData('/late')).data)).toBe('late');
      expect(dec((await zk.getData('/k2')).data)).toBe('v2');
    } finally {
      await restarted.close();
    }
  });
});
