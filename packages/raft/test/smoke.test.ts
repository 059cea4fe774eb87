import { nodeId, type Term } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';

describe('smoke', () => {
  it('elects and replicates', () => {
    const c = new Cluster({ voters: 3, seed: 1 });
    c.tickUntil(() => c.leader() !== null, 100, 'leader');
    for (let i = 0; i < 10; i++) c.propose(`v${i}`);
    c.tick(3);
    for (const id of c.ids()) expect(c.appliedData(id)).toHaveLength(10);
    const one = new Cluster({ voters: 1, seed: 1 });
    one.elect(nodeId(1));
    one.propose('x');
    expect(one.appliedData(nodeId(1))).toEqual(['x']);
  });
});

describe('runtime messages', () => {
  it('are ignored by the core: no state change, nothing to do', () => {
    const c = new Cluster({ voters: 3, seed: 2 });
    c.tickUntil(() => c.leader() !== null, 100, 'leader');
    c.tick(3);
    const core = c.core(nodeId(2));
    const before = core.status();
    expect(core.hasReady()).toBe(false);
    core.step({
      type: 'Runtime',
      from: nodeId(3),
      to: nodeId(2),
      term: 99 as Term,
      payload: new Uint8Array([1]),
    });
    expect(core.hasReady()).toBe(false);
    expect(core.status()).toEqual(before);
  });
});
