// While one Ready's storage write is in flight, the runtime applies the committed entries it
// already holds durably from earlier writes (docs/node.md, "The Ready loop"). One member runs
// on a memory log whose writes that carry no entries (the hard state moving the commit index)
// are held until the test releases them: a create is answered while the write that records its
// commit is still held. Before, the answer waited for that write.
import { createNode } from '@cairn/node';
import { MemoryStorage } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { enc, HeldWriteLog, ONE_VOTER } from './helpers.js';

describe('applying while a write is in flight', () => {
  it('answers a write whose entry is durable while the commit-index write is still held', async () => {
    // Holds the writes without entries (or a snapshot): the hard state moving the commit index.
    const storage = new HeldWriteLog(
      MemoryStorage.bootstrap(ONE_VOTER),
      (update) => update.entries.length === 0 && update.snapshot === undefined,
    );
    const node = await createNode({ id: 1, storage, tickMs: 10 });
    try {
      const zk = await node.session();
      await zk.create('/before', enc('x'));
      storage.holding = true;
      const heldBefore = storage.held;
      let answered = false;
      const created = zk.create('/during', enc('y')).then((path) => {
        answered = true;
        return path;
      });
      // The entry's own write completes; the next Ready (commit moved) is held, yet the create
      // is answered, and its node is readable, before that write is released.
      await expect(created).resolves.toBe('/during');
      expect(answered).toBe(true);
      expect(storage.held).toBeGreaterThan(heldBefore);
      expect(storage.holding).toBe(true);
      // Its apply latency is observed when it was applied, not when the held write ends.
      expect(node.metrics.applyLatency.count).toBe(node.metrics.applied.value);
      expect((await zk.getData('/during')).data).toEqual(enc('y'));
      storage.release();
      await zk.setData('/during', enc('z'));
      expect(node.status().applied).toBe(node.status().commit);
    } finally {
      storage.release();
      await node.close();
    }
  });
});
