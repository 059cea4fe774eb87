// Proves that `apply` never throws on bad input and never breaks the tree (STYLE.md §4, §7;
// RELIABILITY.md §4.3, §4.4): fast-check throws random, well-typed but mostly nonsensical txns at
// a tree (invalid and reserved paths, stale versions, unknown sessions and ids that are no
// session owner, bad ACLs and TTLs, oversized data, multis, reaps) and after each one checks
// that a failed txn fired no events and that `checkInvariants` holds: every node reachable,
// numChildren equal to the child count, every parent present, every ephemeral owned by a live
// session and childless, versions non-negative, czxid <= mzxid, and the incremental digest
// equal to a full recomputation. A coverage tally shows the histories reach real successes.
// The one thing apply does throw on is a programmer error: a zxid that does not increase.
import { type CreateMode, kindOf, type Txn, ZTree, zxid } from '@cairn/znode';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInvariants, show } from './harness.js';
import { historyArb, Player, SEED } from './txn-arbitrary.js';

const KIND_OF_MODE: Readonly<Record<CreateMode, ReturnType<typeof kindOf>>> = {
  persistent: 'persistent',
  'persistent-sequential': 'persistent',
  ephemeral: 'ephemeral',
  'ephemeral-sequential': 'ephemeral',
  container: 'container',
  'persistent-with-ttl': 'ttl',
  'persistent-sequential-with-ttl': 'ttl',
};

describe(`apply on random txns (seed ${SEED})`, () => {
  it('never throws, fires no events for a failure, and keeps every invariant after each txn', () => {
    const tally = {
      createdOk: 0,
      multiOk: 0,
      multiFailed: 0,
      ephemeralsClosed: 0,
      reaped: 0,
      failed: 0,
    };
    fc.assert(
      fc.property(historyArb, (steps) => {
        const player = Player.fresh();
        for (const step of steps) {
          let outcome: ReturnType<Player['play']>;
          try {
            outcome = player.play(step);
          } catch (error) {
            throw new Error(`apply threw on ${show(step)}: ${String(error)}`);
          }
          const { result, events } = outcome;
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) {
            tally.failed++;
            expect(events).toEqual([]);
          }
          if (result.ok && result.type === 'op' && result.result.type === 'create') {
            tally.createdOk++;
            // The node is of the kind its mode asked for: an owner field that reads back as
            // another kind (a session id that looks like a container marker) would escape
            // the ephemeral bookkeeping.
            const mode = (step.txn as Extract<Txn, { type: 'create' }>).mode;
            expect(kindOf(result.result.stat.ephemeralOwner)).toBe(KIND_OF_MODE[mode]);
          }
          if (result.type === 'multi') result.ok ? tally.multiOk++ : tally.multiFailed++;
          if (result.ok && result.type === 'closeSession')
            tally.ephemeralsClosed += events.length / 2;
          if (result.ok && result.type === 'reap') tally.reaped += result.deleted.length;
          checkInvariants(player.tree);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    // The property is not vacuous: random histories do build trees and exercise every path.
    expect(tally.createdOk).toBeGreaterThan(200);
    expect(tally.multiOk).toBeGreaterThan(10);
    expect(tally.multiFailed).toBeGreaterThan(10);
    expect(tally.ephemeralsClosed).toBeGreaterThan(0);
    expect(tally.reaped).toBeGreaterThan(0);
    expect(tally.failed).toBeGreaterThan(100);
  });

  it('throws on a zxid that does not increase: applying out of order is a programmer error', () => {
    const tree = new ZTree();
    tree.apply({ type: 'reap', paths: [] }, zxid(5), 1);
    expect(() => tree.apply({ type: 'reap', paths: [] }, zxid(5), 2)).toThrow(/out of order/);
    expect(() => tree.apply({ type: 'reap', paths: [] }, zxid(4), 2)).toThrow(/out of order/);
    expect(tree.lastZxid).toBe(5);
  });
});
