import { isCairnError } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const SEED = Number(process.env.CAIRN_SEED ?? 20261122);

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'Ok';
  } catch (error) {
    if (isCairnError(error)) return error.code;
    throw error;
  }
}

describe(`moving a session to another member (seed ${SEED})`, () => {
  it('keeps the session and its ephemerals; the old owner lets go', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const first = await c.settle(c.node(1).session({ timeoutMs: 300 }));
    await c.settle(first.create('/eph', enc('x'), { mode: 'ephemeral' }));
    await c.settle(first.create('/n1'));
    const moved = await c.settle(c.node(2).attachSession(first.id, first.password));
    expect(moved.id).toBe(first.id);
    expect(moved.state).toBe('connected');
    // The old owner's copy is detached once the move is applied there.
    await c.waitFor(() => first.state === 'closed', 2000, 'old copy detached');
    expect(await c.settle(codeOf(first.create('/late')))).toBe('SessionExpired');
    // The moved session writes (numbering goes on from the old owner's) and owns the ephemeral.
    await c.settle(moved.create('/n2'));
    expect(await c.settle(moved.getEphemerals())).toEqual(['/eph']);
    // Kept alive by its new owner well past its timeout.
    await c.run(1500);
    expect(moved.state).toBe('connected');
    const other = await c.settle(c.node(3).session({ timeoutMs: 1000 }));
    expect(await c.settle(other.exists('/eph', { linearizable: true }))).not.toBeNull();
    // Closing it on the new owner removes the ephemeral.
    await c.settle(moved.close());
    expect(await c.settle(other.exists('/eph', { linearizable: true }))).toBeNull();
  });

  it('refuses a wrong password or an unknown session with SessionExpired', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 1000 }));
    const wrong = new Uint8Array(zk.password);
    wrong[0] = (wrong[0] as number) ^ 1;
    expect(await c.settle(codeOf(c.node(2).attachSession(zk.id, wrong)))).toBe('SessionExpired');
    expect(
      await c.settle(codeOf(c.node(2).attachSession((zk.id + 1n) as typeof zk.id, zk.password))),
    ).toBe('SessionExpired');
    // The real owner is unaffected.
    await c.settle(zk.create('/still-mine'));
    expect(zk.state).toBe('connected');
  });

  it("answers the old owner's stragglers SessionMoved", async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 2 });
    const c = cluster;
    const zk = await c.settle(c.node(1).session({ timeoutMs: 1000 }));
    // Cut node 1 off, so its next write waits; move the session; heal: the straggler is refused.
    const leader = c.leader();
    if (leader?.id === 1) {
      await c.settle(c.node(1).transferLeadership(2));
    }
    c.network.partition([1], [2, 3]);
    const straggler = zk.create('/straggler').then(
      () => 'Ok',
      (error: unknown) => (isCairnError(error) ? error.code : String(error)),
    );
    await c.run(50);
    const moved = await c.settle(c.node(3).attachSession(zk.id, zk.password));
    await c.settle(moved.create('/after-move'));
    c.network.heal();
    const outcome = await c.settle(straggler);
    expect(['SessionMoved', 'ConnectionLoss']).toContain(outcome);
    const reader = await c.settle(c.node(2).session({ timeoutMs: 1000 }));
    expect(await c.settle(reader.exists('/straggler', { linearizable: true }))).toBeNull();
    expect(await c.settle(reader.exists('/after-move', { linearizable: true }))).not.toBeNull();
  });
});
