import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, isCairnError, NodeError } from '@cairn/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-embedded-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the embedded default: one member, level storage, real timers', () => {
  it('restarts on the same dataDir with all data; close leaves no timer behind', async () => {
    const before = timers();
    const node = await createNode({ id: 1, dataDir: dir, tickMs: 20, snapshotEntries: 30 });
    const zk = await node.session();
    await zk.create('/config', enc('v1'));
    for (let i = 0; i < 50; i++)
      await zk.create(`/config/item-`, enc(String(i)), { mode: 'persistent-sequential' });
    await zk.setData('/config', enc('v2'));
    const ephemeral = await zk.create('/owner', enc(''), { mode: 'ephemeral' });
    const pending = zk.create('/never-answered-after-close').then(
      () => 'Ok',
      (error: unknown) => (isCairnError(error) ? error.code : String(error)),
    );
    await node.close();
    // A call in flight when the node closes fails with ConnectionLoss (or completed first).
    const outcome = await pending;
    expect(['Ok', 'ConnectionLoss']).toContain(outcome);
    await expect(zk.getData('/config')).rejects.toMatchObject({ code: 'ConnectionLoss' });
    expect(timers()).toBeLessThanOrEqual(before);

    const again = await createNode({ id: 1, dataDir: dir, tickMs: 20 });
    try {
      const zk2 = await again.session();
      expect(dec((await zk2.getData('/config')).data)).toBe('v2');
      expect((await zk2.getChildren('/config')).children).toHaveLength(50);
      // The old session's ephemeral is still there until the cluster expires that session.
      expect(await zk2.exists(ephemeral)).not.toBeNull();
      expect(again.status().applied).toBeGreaterThan(50);
    } finally {
      await again.close();
    }
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('replays more committed entries than its log cache holds (range reads from level)', async () => {
    const node = await createNode({ id: 1, dataDir: dir, tickMs: 20, logCacheBytes: 1024 });
    const zk = await node.session();
    for (let i = 0; i < 120; i++) await zk.create(`/k${i}`, enc(`value ${i}`));
    const applied = node.status().applied;
    await node.close();
    const again = await createNode({ id: 1, dataDir: dir, tickMs: 20, logCacheBytes: 1024 });
    try {
      const zk2 = await again.session();
      expect(again.status().applied).toBeGreaterThan(applied);
      for (const i of [0, 57, 119])
        expect(dec((await zk2.getData(`/k${i}`)).data)).toBe(`value ${i}`);
    } finally {
      await again.close();
    }
  });

  it('refuses a second node on the same folder, and options it cannot use', async () => {
    const node = await createNode({ id: 1, dataDir: dir, tickMs: 20 });
    try {
      await expect(createNode({ id: 1, dataDir: dir })).rejects.toMatchObject({
        code: 'StorageLocked',
      });
    } finally {
      await node.close();
    }
    await expect(createNode({ id: 1 })).rejects.toBeInstanceOf(NodeError);
    await expect(createNode({ id: 0, dataDir: dir })).rejects.toMatchObject({
      code: 'ConfigInvalid',
    });
    await expect(createNode({ id: 2, dataDir: dir, members: [1] })).rejects.toMatchObject({
      code: 'ConfigInvalid',
    });
    // A folder of node 1 is not node 2's.
    await expect(createNode({ id: 2, dataDir: dir })).rejects.toMatchObject({
      code: 'StorageMismatch',
    });
  });
});
