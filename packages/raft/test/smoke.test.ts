import { nodeId } from '@cairn/raft';
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
