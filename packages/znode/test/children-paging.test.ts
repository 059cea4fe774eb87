// Paging through a znode's children with `getChildrenPage(path, session, { after, limit })`.
// Proves, against a plain sorted array kept as the model: every page is exactly the model's
// names sorting after `after`, cut at `limit`, including while names are created and deleted
// between pages (created after the cursor: returned; before it: not; deleted: not), both
// below and above the size at which the tree keeps a sorted child index; a parent of 100,000
// children whose names total more than 1 MiB pages through in order with no name skipped or
// repeated; and the index is a pure read-side cache: a tree that was paged through has the
// same digest, snapshot bytes and apply results as one that never was, and a multi rolled
// back under an indexed parent leaves no trace in later pages.
import { type SessionId, sessionId, type Txn, writeSnapshot, ZTree, zxid } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import { CHILD_INDEX_MIN } from '../src/tree.js';
import { createOp, Harness, show } from './harness.js';

const SEED = Number(process.env.CAIRN_SEED ?? 20261206);
const T0 = 1_700_000_000_000;
const SESSION = sessionId(0x1_0000n);

/** xorshift32: deterministic picks from a seed. */
function random(seed: number): (bound: number) => number {
  let state = seed >>> 0 || 1;
  return (bound) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % bound;
  };
}

/** Feeds txns at increasing zxids, collecting every result (to compare two trees by). */
class Feeder {
  readonly tree = new ZTree();
  /** Each result and its events as text, while `recording` (set once a big tree is built). */
  readonly results: string[] = [];
  recording = false;
  private zxid = 0;

  constructor() {
    this.apply({
      type: 'createSession',
      sessionId: SESSION,
      timeoutMs: 10_000,
      password: new Uint8Array(16),
    });
  }

  apply(txn: Txn): boolean {
    this.zxid++;
    const outcome = this.tree.apply(txn, zxid(this.zxid), T0 + this.zxid);
    if (this.recording) this.results.push(show(outcome));
    return outcome.result.ok;
  }

  create(path: string): boolean {
    return this.apply({ sessionId: SESSION, ...createOp(path) });
  }

  delete(path: string): boolean {
    return this.apply({ type: 'delete', sessionId: SESSION, path, version: -1 });
  }
}

/** Names created between pages are numbered by this counter, so no two runs pick the same. */
let newNames = 0;

/** A tree to page through, and how to change its children between pages. */
interface Pageable {
  readonly tree: ZTree;
  create(path: string): boolean;
  delete(path: string): boolean;
}

/** The model: the child names as a sorted array, changed by splicing. */
class SortedNames {
  readonly names: string[];

  constructor(names: Iterable<string>) {
    this.names = [...names].sort();
  }

  /** The first index sorting strictly after `name`. */
  after(name: string | undefined): number {
    if (name === undefined) return 0;
    let lo = 0;
    let hi = this.names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.names[mid] as string) <= name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(name: string): void {
    const at = this.after(name);
    if (this.names[at - 1] === name) throw new Error(`model: ${name} twice`);
    this.names.splice(at, 0, name);
  }

  remove(name: string): void {
    const at = this.after(name) - 1;
    if (this.names[at] !== name) throw new Error(`model: no ${name}`);
    this.names.splice(at, 1);
  }

  page(after: string | undefined, limit: number): { names: string[]; more: boolean } {
    const start = this.after(after);
    const end = Math.min(this.names.length, start + limit);
    return { names: this.names.slice(start, end), more: end < this.names.length };
  }
}

function page(tree: ZTree, path: string, after: string | undefined, limit: number) {
  const found = tree.getChildrenPage(path, SESSION, { after, limit });
  if (!found.ok) throw new Error(`getChildrenPage ${path}: ${show(found.error)}`);
  return found.value;
}

/** Names of about 20 characters, inserted in an order unrelated to their sort order. */
function memberName(n: number, pick: (bound: number) => number): string {
  return `m-${pick(0x7fff_ffff).toString(36).padStart(6, '0')}-${String(n).padStart(10, '0')}`;
}

/**
 * Pages through `/p` with `limit`, and after each page creates and deletes names picked at
 * random (some before the cursor, some after), checking each page against the model.
 * Returns every name returned, in order, and the names that were present from start to end.
 */
function pageWithChurn(
  feeder: Pageable,
  model: SortedNames,
  limit: number,
  pick: (bound: number) => number,
  churnPerPage: number,
): { seen: string[]; stable: Set<string>; createdAheadSeen: number; createdAhead: number } {
  const stable = new Set(model.names);
  const seen: string[] = [];
  let createdAhead = 0;
  let createdAheadSeen = 0;
  const pendingAhead = new Set<string>();
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const got = page(feeder.tree, '/p', after, limit);
    const want = model.page(after, limit);
    if (!sameNames(got.children, want.names) || got.more !== want.more)
      throw new Error(
        `page after ${after}: got ${got.children.length} names (more ${got.more}), ` +
          `want ${want.names.length} (more ${want.more}); first ${got.children[0]} vs ${want.names[0]}`,
      );
    for (const name of got.children) if (pendingAhead.delete(name)) createdAheadSeen++;
    seen.push(...got.children);
    if (!got.more) return { seen, stable, createdAheadSeen, createdAhead };
    after = got.children[got.children.length - 1] as string;
    for (let c = 0; c < churnPerPage; c++) {
      const name = `${pick(2) === 0 ? 'a' : 'z'}-new-${String(newNames++).padStart(6, '0')}`;
      if (!feeder.create(`/p/${name}`)) throw new Error(`create ${name} failed`);
      model.add(name);
      if (name > after) {
        createdAhead++;
        pendingAhead.add(name);
      }
      const victim = model.names[pick(model.names.length)] as string;
      if (!feeder.delete(`/p/${victim}`)) throw new Error(`delete ${victim} failed`);
      model.remove(victim);
      stable.delete(victim);
      if (pendingAhead.delete(victim)) createdAhead--;
    }
  }
  throw new Error('paging did not finish within 10,000 pages');
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function expectOnceInOrder(seen: readonly string[], stable: ReadonlySet<string>): void {
  for (let i = 1; i < seen.length; i++)
    if (!((seen[i - 1] as string) < (seen[i] as string)))
      throw new Error(`out of order or repeated at ${i}: ${seen[i - 1]} then ${seen[i]}`);
  const returned = new Set(seen);
  for (const name of stable) if (!returned.has(name)) throw new Error(`skipped ${name}`);
}

describe(`getChildrenPage (seed ${SEED})`, () => {
  it('pages a small child list (no index) in order, with after and limit', () => {
    const h = new Harness();
    const s = h.openSession(1n);
    h.mustCreate(s, '/list');
    for (const name of ['d', 'b', 'e', 'a', 'c']) h.mustCreate(s, `/list/${name}`);
    const read = (after: string | undefined, limit: number | undefined) => {
      const found = h.tree.getChildrenPage('/list', s, { after, limit });
      if (!found.ok) throw new Error(show(found.error));
      return [found.value.children.join(''), found.value.more];
    };
    expect(read(undefined, 2)).toEqual(['ab', true]);
    expect(read('b', 2)).toEqual(['cd', true]);
    expect(read('d', 2)).toEqual(['e', false]);
    expect(read('bb', undefined)).toEqual(['cde', false]);
    expect(read('e', 1)).toEqual(['', false]);
    expect(read(undefined, 5)).toEqual(['abcde', false]);
    const missing = h.tree.getChildrenPage('/nope', s, {});
    expect(missing.ok ? 'Ok' : missing.error.code).toBe('NoNode');
    h.mustCreate(s, '/leaf');
    const leaf = h.tree.getChildrenPage('/leaf', s, { limit: 3 });
    expect(leaf.ok && leaf.value.children).toEqual([]);
  });

  for (const size of [CHILD_INDEX_MIN - 200, CHILD_INDEX_MIN + 500]) {
    it(`matches the model page by page under creates and deletes (${size} children)`, () => {
      const pick = random(SEED + size);
      const feeder = new Feeder();
      feeder.create('/p');
      const model = new SortedNames([]);
      for (let n = 0; n < size; n++) {
        const name = memberName(n, pick);
        feeder.create(`/p/${name}`);
        model.add(name);
      }
      // Two or four changes between pages are spliced into the index; sixty take a merge.
      for (const [limit, churn] of [
        [1, 1],
        [7, 2],
        [100, 30],
      ] as const) {
        const run = pageWithChurn(feeder, model, limit, pick, churn);
        expectOnceInOrder(run.seen, run.stable);
        expect(run.createdAheadSeen).toBe(run.createdAhead);
      }
      // getChildren (every name) agrees with the model too, index or not.
      const all = feeder.tree.getChildren('/p', SESSION);
      expect(all.ok && all.value.children).toEqual(model.names);
    });
  }

  it('keeps pages right when the index goes stale and when every child is deleted', () => {
    const feeder = new Feeder();
    feeder.create('/p');
    const model = new SortedNames([]);
    const add = (name: string) => {
      expect(feeder.create(`/p/${name}`)).toBe(true);
      model.add(name);
    };
    for (let n = 0; n < CHILD_INDEX_MIN; n++) add(`c${String(n).padStart(5, '0')}`);
    expect(page(feeder.tree, '/p', undefined, 3).children).toEqual(model.names.slice(0, 3));
    // More pending changes than indexed names: the index is dropped, then rebuilt on read.
    for (let n = 0; n < 3 * CHILD_INDEX_MIN; n++) add(`b${String(n).padStart(5, '0')}`);
    expect(page(feeder.tree, '/p', 'b00010', 4).children).toEqual(model.page('b00010', 4).names);
    for (const name of [...model.names]) {
      expect(feeder.delete(`/p/${name}`)).toBe(true);
      model.remove(name);
    }
    expect(page(feeder.tree, '/p', undefined, 10)).toMatchObject({ children: [], more: false });
    add('again');
    expect(page(feeder.tree, '/p', undefined, 10).children).toEqual(['again']);
  });

  it('forgets the children of a multi rolled back under an indexed parent', () => {
    const feeder = new Feeder();
    feeder.create('/p');
    for (let n = 0; n < CHILD_INDEX_MIN; n++) feeder.create(`/p/c${String(n).padStart(5, '0')}`);
    expect(page(feeder.tree, '/p', undefined, 1).children).toEqual(['c00000']);
    const ok = feeder.apply({
      type: 'multi',
      sessionId: SESSION,
      ops: [
        createOp('/p/a-new'),
        { type: 'delete', path: '/p/c00000', version: -1 },
        createOp('/p/c00001'),
      ],
    });
    expect(ok).toBe(false);
    expect(page(feeder.tree, '/p', undefined, 2).children).toEqual(['c00000', 'c00001']);
    expect(page(feeder.tree, '/p', 'c01022', 5)).toEqual(
      expect.objectContaining({ children: ['c01023'], more: false }),
    );
  });

  it('pages 100,000 children (names over 1 MiB) in order, none skipped or repeated, under churn', () => {
    const pick = random(SEED);
    const paged = new Feeder();
    const unread = new Feeder();
    const both = (txn: (f: Feeder) => boolean): boolean => {
      const a = txn(paged);
      const b = txn(unread);
      if (a !== b) throw new Error('the two trees disagree on an apply');
      return a;
    };
    both((f) => f.create('/p'));
    const names: string[] = [];
    let nameBytes = 0;
    for (let n = 0; n < 100_000; n++) {
      const name = memberName(n, pick);
      names.push(name);
      nameBytes += name.length;
      both((f) => f.create(`/p/${name}`));
    }
    expect(nameBytes).toBeGreaterThan(1024 * 1024);
    const model = new SortedNames(names);
    paged.recording = true;
    unread.recording = true;
    // The churn goes to both trees; only `paged` is read.
    const target: Pageable = {
      tree: paged.tree,
      create: (path) => both((f) => f.create(path)),
      delete: (path) => both((f) => f.delete(path)),
    };
    const run = pageWithChurn(target, model, 1_000, pick, 5);
    expectOnceInOrder(run.seen, run.stable);
    expect(run.stable.size).toBeGreaterThan(99_000);
    expect(run.createdAhead).toBeGreaterThan(0);
    expect(run.createdAheadSeen).toBe(run.createdAhead);
    // A read-side cache only: same results, digest and snapshot bytes as the unread tree.
    expect(paged.results.length).toBeGreaterThan(500);
    expect(paged.results.length).toBe(unread.results.length);
    expect(paged.results.every((result, i) => result === unread.results[i])).toBe(true);
    expect(paged.tree.digest()).toBe(unread.tree.digest());
    const bytesOf = (tree: ZTree) => Buffer.concat([...writeSnapshot(tree)]);
    expect(bytesOf(paged.tree).equals(bytesOf(unread.tree))).toBe(true);
  }, 120_000);

  it('answers pages by ACL like getChildren (NoAuth without READ)', () => {
    const h = new Harness();
    const s: SessionId = h.openSession(1n);
    h.mustCreate(s, '/secret', { acl: [{ perms: 0, id: { scheme: 'world', id: 'anyone' } }] });
    const found = h.tree.getChildrenPage('/secret', s, { limit: 1 });
    expect(found.ok ? 'Ok' : found.error.code).toBe('NoAuth');
  });
});
