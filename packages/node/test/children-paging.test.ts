/**
 * `session.getChildren(path, { limit, after })` on a list big enough for the tree's sorted child
 * index (3,000 children, 3-node cluster in one process, memory transport and storage, virtual
 * time). Pages are read through a follower while another session creates and deletes children
 * between pages: each page is in order, `next` continues where the page ended, no name present
 * throughout is skipped or repeated, names created after the cursor are returned and names
 * created before it or deleted are not. Bad paging options fail that call alone with
 * BadArguments, before any watch is set.
 */
import type { Session } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const CHILDREN = 3_000;
const BATCH = 250;

function childName(n: number): string {
  // Insertion order unrelated to sort order: the sort key comes from a scrambled number.
  return `k${((n * 2_654_435_761) >>> 0).toString(36).padStart(7, '0')}-${n}`;
}

describe(`getChildren paging on a big list (seed ${SEED})`, () => {
  it('pages 3,000 children in order under creates and deletes between pages', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED });
    const c = cluster;
    const reader: Session = await c.settle(c.follower().session({ timeoutMs: 5000 }));
    const writer: Session = await c.settle(
      c.leader()?.session({ timeoutMs: 5000 }) as Promise<Session>,
    );
    await c.settle(writer.create('/big'));
    const present = new Set<string>();
    for (let start = 0; start < CHILDREN; start += BATCH) {
      const tx = writer.transaction();
      for (let n = start; n < start + BATCH; n++) {
        tx.create(`/big/${childName(n)}`);
        present.add(childName(n));
      }
      await c.settle(tx.commit());
    }
    await c.settle(reader.sync('/big'));
    const stable = new Set(present);
    const seen: string[] = [];
    const aheadCreated = new Set<string>();
    let behindCreated = 0;
    let after: string | undefined;
    let pages = 0;
    for (; pages < 100; pages++) {
      const page = await c.settle(
        reader.getChildren('/big', after === undefined ? { limit: 97 } : { limit: 97, after }),
      );
      // Every name returned exists at the time of the read (none deleted, none made up).
      for (const name of page.children)
        expect(present.has(name) || aheadCreated.has(name) || name.startsWith('a-')).toBe(true);
      seen.push(...page.children);
      if (page.next === null) break;
      expect(page.next).toBe(page.children[page.children.length - 1]);
      after = page.next;
      // Between pages: one name before the cursor, one after it, and one deletion.
      const before = `a-${pages}`;
      const ahead = `z-${pages}`;
      const victim = [...present][(pages * 7919) % present.size] as string;
      await c.settle(writer.create(`/big/${before}`));
      await c.settle(writer.create(`/big/${ahead}`));
      await c.settle(writer.delete(`/big/${victim}`));
      present.delete(victim);
      stable.delete(victim);
      aheadCreated.delete(victim);
      behindCreated++;
      aheadCreated.add(ahead);
      await c.settle(reader.sync('/big'));
    }
    expect(pages).toBeGreaterThan(30);
    for (let i = 1; i < seen.length; i++)
      expect((seen[i - 1] as string) < (seen[i] as string)).toBe(true);
    const returned = new Set(seen);
    expect(returned.size).toBe(seen.length);
    for (const name of stable) expect(returned.has(name)).toBe(true);
    for (const name of aheadCreated) expect(returned.has(name)).toBe(true);
    expect(seen.filter((name) => name.startsWith('a-'))).toEqual([]);
    expect(behindCreated).toBeGreaterThan(30);
  }, 120_000);

  it('rejects a bad limit or after with BadArguments and sets no watch', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 1 });
    const c = cluster;
    const zk: Session = await c.settle(c.follower().session({ timeoutMs: 5000 }));
    await c.settle(zk.create('/list'));
    let fired = 0;
    const watch = () => {
      fired++;
    };
    expect(await c.settle(codeOf(zk.getChildren('/list', { limit: 0, watch })))).toBe(
      'BadArguments',
    );
    const badAfter = { after: 7 } as unknown as { after: string };
    expect(await c.settle(codeOf(zk.getChildren('/list', { ...badAfter, watch })))).toBe(
      'BadArguments',
    );
    await c.settle(zk.create('/list/x'));
    await c.run(100);
    expect(fired).toBe(0);
    // A good call still works on the same session, and its watch fires.
    expect((await c.settle(zk.getChildren('/list', { limit: 1, watch }))).children).toEqual(['x']);
    await c.settle(zk.create('/list/y'));
    await c.run(100);
    expect(fired).toBe(1);
  });
});
