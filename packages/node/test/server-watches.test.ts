import type { WatchEvent } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('server-side watches (the wire server facet)', () => {
  it('addWatch, watch: true, checkWatches, removeServerWatches, setWatches after a move', async () => {
    cluster = await TestCluster.start({ size: 3, seed: 11 });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 1000 }));
    const heard: string[] = [];
    const listen = (e: WatchEvent): void => {
      heard.push(`${e.type} ${e.path}`);
    };
    zk.onNotification(listen);
    await c.settle(zk.create('/a', enc('0')));
    zk.addWatch('/a', 'persistent-recursive');
    await c.settle(zk.getData('/a', { watch: true }));
    zk.checkWatches('/a', 'data');
    await c.settle(zk.create('/a/b'));
    await c.settle(zk.setData('/a', enc('1')));
    // One notification per event per session, however many watches matched.
    expect(heard).toEqual(['NodeCreated /a/b', 'NodeDataChanged /a']);
    expect(() => zk.checkWatches('/a', 'data')).toThrow(
      expect.objectContaining({ code: 'NoWatcher' }),
    );
    zk.removeServerWatches('/a', 'persistent-recursive');
    expect(() => zk.removeServerWatches('/a', 'persistent-recursive')).toThrow(
      expect.objectContaining({ code: 'NoWatcher' }),
    );
    // A client that saw zxid z reconnects elsewhere and re-sends its watches: missed changes fire.
    const seen = (await c.settle(zk.exists('/a')))?.mzxid as number;
    await c.settle(zk.setData('/a', enc('2')));
    await c.settle(zk.delete('/a/b'));
    const moved = await c.settle(c.node(2).attachSession(zk.id, zk.password));
    const after: string[] = [];
    moved.onNotification((e) => after.push(`${e.type} ${e.path} ${e.zxid}`));
    moved.setWatches(seen, { data: ['/a', '/a/b'], child: ['/a'] });
    expect(after).toEqual([
      'NodeDataChanged /a -1',
      'NodeDeleted /a/b -1',
      'NodeChildrenChanged /a -1',
    ]);
  });
});
