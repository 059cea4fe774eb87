// Proves the snapshot written in slices (beginSnapshot, snapshot-writer.ts): begun at zxid S,
// stepped by random amounts while random txns keep changing the tree (creates of every mode,
// deletes, setData, setACL, session closes that delete ephemerals, multis that succeed or undo,
// reaps), it restores to the tree as of S. The reference is a snapshot written all at once at
// S: the restored trees must be equal node by node and Stat by Stat (dumpTree, digest), and the
// records must be the same, in the same order. Sibling properties plant the bug this design
// fears, a mutation path that forgets to keep the pre-image (tree.preserve skipped for one txn
// type), and require the property to fail. Also: at most one job per tree, abort drops the
// pre-images and unregisters, a second snapshot may be written all at once meanwhile, a step
// writes at most its node count, and comparePaths (how the job tells written from unwritten)
// orders paths as the walk does, names with chars below '/' included. fast-check's seed comes
// from CAIRN_SEED.
import {
  beginSnapshot,
  readSnapshot,
  type SessionId,
  type Txn,
  type TxnType,
  writeSnapshot,
  type ZTree,
} from '@cairn/znode';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { comparePaths } from '../src/snapshot-writer.js';
import { checkInvariants, dumpTree, Harness, show } from './harness.js';
import {
  historyArb,
  Player,
  RANDOM_TREE_OPTIONS,
  SEED,
  type Step,
  stepArb,
} from './txn-arbitrary.js';

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
});

/** What happens between the beginning and the end: a step of the job, or a txn applied. */
type Action = { readonly kind: 'step'; readonly nodes: number } | Step;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      nodes: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: stepArb },
);

/** The header, and every node record and ACL list of a snapshot, chunk boundaries removed. */
function contents(chunks: readonly Uint8Array[]): unknown {
  const [header, ...rest] = chunks.map((chunk) => packr.unpack(chunk));
  return {
    header,
    acls: rest.flatMap((chunk: { acls: unknown[] }) => chunk.acls),
    nodes: rest.flatMap((chunk: { nodes: unknown[] }) => chunk.nodes),
  };
}

/**
 * Disables `tree.preserve` while txns of type `plant` are applied: the planted bug a mutation
 * path would be if it forgot its pre-image.
 */
function plantForgetfulness(tree: ZTree, plant: TxnType): void {
  const preserve = tree.preserve.bind(tree);
  const apply = tree.apply.bind(tree);
  let forgetting = false;
  Object.assign(tree, {
    preserve: (path: string, node: Parameters<ZTree['preserve']>[1]) => {
      if (!forgetting) preserve(path, node);
    },
    apply: (txn: Txn, ...rest: [Parameters<ZTree['apply']>[1], number]) => {
      forgetting = txn.type === plant;
      try {
        return apply(txn, ...rest);
      } finally {
        forgetting = false;
      }
    },
  });
}

/**
 * Builds a tree from `before`, snapshots it all at once (the reference) and in slices with
 * `actions` in between, then checks the slices restore to the reference. Throws on a mismatch.
 */
function sliceWhileChanging(
  before: readonly Step[],
  actions: readonly Action[],
  nodesPerChunk: number,
  plant: TxnType | null,
): void {
  const player = Player.fresh();
  for (const step of before) player.play(step);
  const reference = [...writeSnapshot(player.tree, 3)];
  if (plant !== null) plantForgetfulness(player.tree, plant);
  const job = beginSnapshot(player.tree, nodesPerChunk);
  expect(job.lastZxid).toBe(player.tree.lastZxid);
  const chunks: Uint8Array[] = [];
  for (const action of actions) {
    if ('kind' in action) {
      const out = job.step(action.nodes);
      for (const chunk of out.slice(chunks.length === 0 ? 1 : 0))
        expect((packr.unpack(chunk) as { nodes: unknown[] }).nodes.length).toBeLessThanOrEqual(
          Math.min(action.nodes, nodesPerChunk),
        );
      chunks.push(...out);
    } else player.play(action);
  }
  while (!job.done) chunks.push(...job.step(2));
  const restored = readSnapshot(chunks, RANDOM_TREE_OPTIONS);
  const expected = readSnapshot(reference, RANDOM_TREE_OPTIONS);
  checkInvariants(restored);
  expect(dumpTree(restored)).toEqual(dumpTree(expected));
  expect(show(contents(chunks))).toBe(show(contents(reference)));
  // The live tree went on unharmed, and the job let go of it.
  checkInvariants(player.tree);
  beginSnapshot(player.tree).abort();
}

const propertyArgs = [
  historyArb,
  fc.array(actionArb, { maxLength: 80 }),
  fc.integer({ min: 1, max: 5 }),
] as const;

describe(`snapshot in slices (seed ${SEED})`, () => {
  it('restores to the tree as of its beginning, whatever is applied between steps', () => {
    fc.assert(
      fc.property(...propertyArgs, (before, actions, nodesPerChunk) =>
        sliceWhileChanging(before, actions, nodesPerChunk, null),
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  // Each plant must be caught: either the walk's own assertion (a node changed or detached
  // without a pre-image) or the comparison with the reference.
  for (const plant of ['create', 'delete', 'setData', 'setACL', 'closeSession', 'multi'] as const) {
    it(`fails if ${plant} forgets to keep pre-images (planted)`, () => {
      const run = fc.check(
        fc.property(...propertyArgs, (before, actions, nodesPerChunk) =>
          sliceWhileChanging(before, actions, nodesPerChunk, plant),
        ),
        { seed: SEED, numRuns: 2_000, endOnFailure: true },
      );
      expect(run.failed, `plant ${plant} was not caught`).toBe(true);
      // The walk's assertion, the restore's digest check, or the comparison with the reference.
      expect(String(run.errorInstance)).toMatch(/without a pre-image|does not match|expected/);
    });
  }
});

/** /p0 to /p9 with children c0 to c9 each, owned by session 2; session 1 owns ephemerals /e0 to /e4. */
function wideTree(): { h: Harness; s1: SessionId; s2: SessionId } {
  const h = new Harness();
  const s1 = h.openSession(1n);
  const s2 = h.openSession(2n);
  for (let p = 0; p < 10; p++) {
    h.mustCreate(s2, `/p${p}`);
    for (let c = 0; c < 10; c++) h.mustCreate(s2, `/p${p}/c${c}`);
  }
  for (let e = 0; e < 5; e++) h.mustCreate(s1, `/e${e}`, { mode: 'ephemeral' });
  return { h, s1, s2 };
}

function drain(job: ReturnType<typeof beginSnapshot>, chunks: Uint8Array[], nodes = 7): void {
  while (!job.done) chunks.push(...job.step(nodes));
}

describe(`snapshot in slices: the walk order (seed ${SEED})`, () => {
  it('comparePaths orders paths as tree.paths() visits them, names with chars below "/" too', () => {
    const name = fc
      .array(fc.constantFrom('a', 'b', '!', '-', '.', '0', '~', 'é', '\u{1F600}'), {
        minLength: 1,
        maxLength: 3,
      })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.array(fc.array(name, { minLength: 1, maxLength: 3 }), { maxLength: 30 }),
        (paths) => {
          const h = new Harness();
          h.checking = false;
          const s = h.openSession(1n);
          for (const parts of paths)
            for (let depth = 1; depth <= parts.length; depth++)
              h.create(s, `/${parts.slice(0, depth).join('/')}`);
          const walked = [...h.tree.paths()];
          for (let i = 1; i < walked.length; i++) {
            const [before, after] = [walked[i - 1] as string, walked[i] as string];
            expect(comparePaths(before, after), `${before} then ${after}`).toBeLessThan(0);
            expect(comparePaths(after, before)).toBeGreaterThan(0);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('snapshot in slices: the job', () => {
  it('keeps a node deleted after the beginning, leaves out one created after it', () => {
    const { h, s1, s2 } = wideTree();
    const at = dumpTree(h.tree);
    const job = beginSnapshot(h.tree, 4);
    const chunks = job.step(3);
    h.delete(s2, '/p9/c9');
    h.create(s2, '/p9/new');
    h.delete(s2, '/p0/c0');
    h.apply({ type: 'closeSession', sessionId: s1, reason: 'close' });
    h.create(s2, '/p5/c5/deeper');
    h.setData(s2, '/p5/c5', new Uint8Array([1]));
    drain(job, chunks);
    expect(dumpTree(readSnapshot(chunks))).toEqual(at);
  });

  it('keeps the state of a path deleted and created again, and of an ACL changed', () => {
    const { h, s2 } = wideTree();
    const at = dumpTree(h.tree);
    const job = beginSnapshot(h.tree);
    const chunks = job.step(1);
    h.delete(s2, '/p3/c3');
    h.create(s2, '/p3/c3', { mode: 'ephemeral', data: new Uint8Array([9]) });
    h.setACL(s2, '/p4', [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }]);
    h.setData(s2, '/p3/c3', new Uint8Array([8]));
    drain(job, chunks);
    expect(dumpTree(readSnapshot(chunks))).toEqual(at);
  });

  it('allows one job per tree; a snapshot all at once may be written meanwhile', () => {
    const { h, s2 } = wideTree();
    const job = beginSnapshot(h.tree);
    expect(() => beginSnapshot(h.tree)).toThrow(/in progress/);
    const chunks = job.step(10);
    h.setData(s2, '/p7', new Uint8Array([7]));
    const now = dumpTree(h.tree);
    expect(dumpTree(readSnapshot(writeSnapshot(h.tree)))).toEqual(now);
    drain(job, chunks);
    // Finished: it let go, and the next job may begin.
    beginSnapshot(h.tree).abort();
  });

  it('abort drops the pre-images and lets go of the tree', () => {
    const { h, s2 } = wideTree();
    const job = beginSnapshot(h.tree);
    job.step(1);
    for (let p = 0; p < 10; p++) h.setData(s2, `/p${p}/c1`, new Uint8Array([p]));
    const kept = (job as unknown as { preImages: Map<string, unknown> }).preImages;
    expect(kept.size).toBe(10);
    job.abort();
    expect(job.done).toBe(true);
    expect(kept.size).toBe(0);
    h.setData(s2, '/p0/c2', new Uint8Array([1]));
    expect(kept.size).toBe(0);
    expect(() => job.step(1)).toThrow(/abort/);
    const next = beginSnapshot(h.tree);
    const chunks: Uint8Array[] = [];
    drain(next, chunks);
    expect(dumpTree(readSnapshot(chunks))).toEqual(dumpTree(h.tree));
  });

  it('a pre-image is dropped once its node is written, and none is kept for written nodes', () => {
    const { h, s2 } = wideTree();
    const job = beginSnapshot(h.tree);
    const kept = (job as unknown as { preImages: Map<string, unknown> }).preImages;
    job.step(3); // /, /e0, /e1
    h.setData(s2, '/p0/c0', new Uint8Array([1]));
    h.create(s2, '/p0/c0/x'); // the same node again: one pre-image
    expect(kept.size).toBe(1);
    job.step(5); // /e2, /e3, /e4, /p0, /p0/c0
    expect(kept.size).toBe(0);
    h.setData(s2, '/p0/c1', new Uint8Array([1]));
    h.setData(s2, '/p0/c0', new Uint8Array([2]));
    expect(kept.size).toBe(1);
    const chunks: Uint8Array[] = [];
    drain(job, chunks);
    expect(kept.size).toBe(0);
  });

  it('writes at most maxNodes per step, ending its chunk', () => {
    const { h } = wideTree();
    const job = beginSnapshot(h.tree, 5);
    const [header, ...first] = job.step(12);
    expect((packr.unpack(header as Uint8Array) as { nodeCount: number }).nodeCount).toBe(
      h.tree.size(),
    );
    expect(
      first.map((chunk) => (packr.unpack(chunk) as { nodes: unknown[] }).nodes.length),
    ).toEqual([5, 5, 2]);
    expect(() => job.step(0)).toThrow(RangeError);
    job.abort();
  });
});
