// Proves the incremental digest (digest.ts; RELIABILITY.md §4.3 "same log, same tree"; STYLE.md
// §4): two trees fed the same txns have equal digests; any single successful change (each kind
// of write, a session opening, closing or gaining an auth id, a reap) changes it, while a failed
// txn, a read or an empty multi leaves it alone. Then the determinism property, with fast-check
// and the seed from CAIRN_SEED: a random history applied to tree A and, from a snapshot of A
// taken at a random point, to tree B, gives the same result for every txn and equal digests and
// equal trees at the end. `Harness` recomputes the digest from scratch after every txn, so the
// incremental bookkeeping is checked too.
import { PERMS, readSnapshot, type SessionId, writeSnapshot } from '@cairn/znode';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, checkInvariants, createOp, dumpTree, Harness, OPEN, show } from './harness.js';
import { historyArb, Player, RANDOM_TREE_OPTIONS, SEED } from './txn-arbitrary.js';

const BOB = { scheme: 'digest', id: 'bob:GuOI5jBhZ0cxFRHiiMa0jJpLdOM=' };

function setup(): { h: Harness; s1: SessionId } {
  const h = new Harness();
  const s1 = h.openSession(1n);
  h.mustCreate(s1, '/app', { data: bytes('v0') });
  h.mustCreate(s1, '/app/x');
  h.mustCreate(s1, '/app/c', { mode: 'container' });
  h.mustCreate(s1, '/app/c/k');
  h.delete(s1, '/app/c/k');
  return { h, s1 };
}

describe('digest: equal logs, equal digests', () => {
  it('is equal for two trees fed the same txns', () => {
    const [a, b] = [setup(), setup()];
    expect(a.h.tree.digest()).toBe(b.h.tree.digest());
    expect(dumpTree(a.h.tree)).toEqual(dumpTree(b.h.tree));
  });

  it('differs for the same txns stamped with different times', () => {
    const a = setup();
    const b = new Harness();
    b.now += 1;
    const s1 = b.openSession(1n);
    b.mustCreate(s1, '/app', { data: bytes('v0') });
    expect(b.tree.digest()).not.toBe(a.h.tree.digest());
  });
});

describe('digest: every single change moves it', () => {
  const changes: ReadonlyArray<[string, (h: Harness, s1: SessionId) => void]> = [
    ['a create', (h, s1) => h.mustCreate(s1, '/app/new')],
    ['an ephemeral create', (h, s1) => h.mustCreate(s1, '/app/e', { mode: 'ephemeral' })],
    ['a delete', (h, s1) => h.delete(s1, '/app/x')],
    ['a setData with the same bytes', (h, s1) => h.setData(s1, '/app', bytes('v0'))],
    ['a setACL with the same ACL', (h, s1) => h.setACL(s1, '/app', OPEN)],
    [
      'a setACL that only changes the ACL',
      (h, s1) =>
        h.setACL(s1, '/app', [{ perms: PERMS.READ, id: { scheme: 'world', id: 'anyone' } }]),
    ],
    ['a multi', (h, s1) => h.multi(s1, [createOp('/app/m')])],
    ['a createSession', (h) => h.openSession(2n)],
    [
      'a closeSession without ephemerals',
      (h, s1) => h.apply({ type: 'closeSession', sessionId: s1, reason: 'close' }),
    ],
    ['an addAuth', (h, s1) => h.apply({ type: 'addAuth', sessionId: s1, id: BOB })],
    ['a reap', (h) => h.apply({ type: 'reap', paths: ['/app/c'] })],
  ];
  for (const [what, change] of changes) {
    it(`changes after ${what}`, () => {
      const { h, s1 } = setup();
      const before = h.tree.digest();
      change(h, s1);
      expect(h.tree.digest()).not.toBe(before);
    });
  }

  it('tells apart auth ids added in a different order', () => {
    const a = setup();
    const b = setup();
    const alice = { scheme: 'digest', id: 'alice:x' };
    a.h.apply({ type: 'addAuth', sessionId: a.s1, id: BOB });
    a.h.apply({ type: 'addAuth', sessionId: a.s1, id: alice });
    b.h.apply({ type: 'addAuth', sessionId: b.s1, id: alice });
    b.h.apply({ type: 'addAuth', sessionId: b.s1, id: BOB });
    expect(a.h.tree.digest()).not.toBe(b.h.tree.digest());
  });
});

describe('digest: what leaves it alone', () => {
  const nonChanges: ReadonlyArray<[string, (h: Harness, s1: SessionId) => void]> = [
    ['a failed create', (h, s1) => h.create(s1, '/app/x')],
    ['a failed delete', (h, s1) => h.delete(s1, '/app', 5)],
    [
      'a failed multi that had created and deleted',
      (h, s1) =>
        h.multi(s1, [
          createOp('/app/y'),
          { type: 'delete', path: '/app/x', version: -1 },
          createOp('/nope/z'),
        ]),
    ],
    ['an empty multi', (h, s1) => h.multi(s1, [])],
    ['a check', (h, s1) => h.apply({ type: 'check', sessionId: s1, path: '/app', version: 0 })],
    [
      'an addAuth of an id the session already has',
      (h, s1) => h.apply({ type: 'addAuth', sessionId: s1, id: { scheme: 'x509', id: 'CN=a' } }),
    ],
    ['a reap of nothing due', (h) => h.apply({ type: 'reap', paths: ['/app', '/app/x'] })],
    [
      'reads',
      (h, s1) =>
        h.tree.multiRead(
          [
            { type: 'getData', path: '/app' },
            { type: 'getChildren', path: '/' },
          ],
          s1,
        ),
    ],
  ];
  for (const [what, run] of nonChanges) {
    it(`is unchanged by ${what}`, () => {
      const { h, s1 } = setup();
      h.apply({ type: 'addAuth', sessionId: s1, id: { scheme: 'x509', id: 'CN=a' } });
      const before = h.tree.digest();
      run(h, s1);
      expect(h.tree.digest()).toBe(before);
    });
  }
});

describe(`digest: determinism across a snapshot (seed ${SEED})`, () => {
  it('a random history gives A and B, restored from a snapshot of A midway, the same results and digest', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.nat(),
        fc.integer({ min: 1, max: 6 }),
        (steps, cutAt, nodesPerChunk) => {
          const cut = cutAt % (steps.length + 1);
          const a = Player.fresh();
          for (const step of steps.slice(0, cut)) a.play(step);
          const restored = readSnapshot(writeSnapshot(a.tree, nodesPerChunk), RANDOM_TREE_OPTIONS);
          const b = new Player(restored, { zxid: a.zxid, now: a.now });
          expect(restored.digest()).toBe(a.tree.digest());
          for (const [i, step] of steps.slice(cut).entries()) {
            const resultA = show(a.play(step));
            const resultB = show(b.play(step));
            if (resultA !== resultB)
              throw new Error(
                `step ${cut + i} ${show(step)}: A gave ${resultA}, B gave ${resultB}`,
              );
          }
          checkInvariants(b.tree);
          expect(b.tree.digest()).toBe(a.tree.digest());
          expect(dumpTree(b.tree)).toEqual(dumpTree(a.tree));
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('a random history gives two fresh trees equal digests at every step', () => {
    fc.assert(
      fc.property(historyArb, (steps) => {
        const [a, b] = [Player.fresh(), Player.fresh()];
        for (const step of steps) {
          a.play(step);
          b.play(step);
          expect(b.tree.digest()).toBe(a.tree.digest());
        }
      }),
      { seed: SEED, numRuns: 50 },
    );
  });
});
