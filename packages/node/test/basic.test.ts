import { isCairnError } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error.code;
    throw error;
  }
  return 'Ok';
}

describe('a 3-node cluster in one process', () => {
  it('creates, reads, updates and deletes through a follower', async () => {
    cluster = await TestCluster.start({ size: 3, seed: 1 });
    const c = cluster;
    const follower = c.follower();
    const zk = await c.settle(follower.session({ timeoutMs: 1000 }));
    expect(zk.state).toBe('connected');
    expect(await c.settle(zk.create('/app', enc('v0')))).toBe('/app');
    const { data, stat } = await c.settle(zk.getData('/app'));
    expect(dec(data)).toBe('v0');
    expect(stat.version).toBe(0);
    const stat2 = await c.settle(zk.setData('/app', enc('v1'), 0));
    expect(stat2.version).toBe(1);
    expect(await c.settle(codeOf(zk.setData('/app', enc('v2'), 0)))).toBe('BadVersion');
    expect(await c.settle(codeOf(zk.create('/app')))).toBe('NodeExists');
    expect(await c.settle(codeOf(zk.delete('/missing')))).toBe('NoNode');
    const seq = await c.settle(zk.create('/app/item-', enc(''), { mode: 'persistent-sequential' }));
    expect(seq).toBe('/app/item-0000000000');
    expect(await c.settle(codeOf(zk.delete('/app')))).toBe('NotEmpty');
    expect((await c.settle(zk.getChildren('/app'))).children).toEqual(['item-0000000000']);
    // Every replica applied the same writes.
    await c.run(100);
    for (const node of c.nodes.values()) {
      const other = await c.settle(node.session({ timeoutMs: 1000 }));
      const read = await c.settle(other.getData('/app', { linearizable: true }));
      expect(dec(read.data)).toBe('v1');
    }
  });
});

describe('closing', () => {
  it('is closing from the call to close() until applied; new calls fail at once', async () => {
    cluster = await TestCluster.start({ size: 3, seed: 3 });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 1000 }));
    const states: string[] = [];
    zk.onStateChange((state) => states.push(state));
    // A ready-made op is taken as given: an empty ACL list is InvalidACL, as in ZooKeeper.
    const empty = zk
      .transaction()
      .add({ type: 'create', path: '/t', data: enc('x'), acl: [], mode: 'ephemeral' })
      .commit();
    expect(await c.settle(codeOf(empty))).toBe('InvalidACL');
    const [op] = await c.settle(
      zk
        .transaction()
        .create('/t', enc('x'), { mode: 'ephemeral' })
        .add({ type: 'check', path: '/t', version: 0 })
        .commit(),
    );
    expect(op?.type).toBe('create');
    const closing = zk.close();
    expect(zk.state).toBe('closing');
    expect(await c.settle(codeOf(zk.getData('/t')))).toBe('SessionExpired');
    await c.settle(closing);
    expect(states).toEqual(['closing', 'closed']);
  });
});
