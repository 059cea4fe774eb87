/**
 * Watches on a 3-node cluster in one process: one-shot watches set by reads follow ZooKeeper's
 * dispatch rules (which event fires which watch, once), reach the application before any later
 * read that reflects their change, and arrive in update order; persistent watch streams
 * (`session.watch`) carry every change with its zxid, resume `fromZxid` from the bounded history
 * (or fail with `CompactedError`), and never skip or repeat an event, even when resumed on
 * another member. Seeded; every wait is bounded in virtual time.
 */
import type { Session, WatchEvent } from '@cairn/node';
import { TestCluster } from '@cairn/node/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, codeOfCall, dec, enc, followersOf, leaderOf, SEED } from './helpers.js';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

type Seen = string;
const show = (e: WatchEvent): Seen => `${e.type} ${e.path}`;

/** Pulls `n` events from a stream, advancing virtual time while it waits. */
async function take(
  c: TestCluster,
  iterator: AsyncIterator<WatchEvent>,
  n: number,
): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for (let i = 0; i < n; i++) {
    const next = await c.settle(iterator.next(), 5000);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

/** Whether the stream has an event ready now (or ends); false if it would wait. */
async function pending(c: TestCluster, iterator: AsyncIterator<WatchEvent>): Promise<boolean> {
  let ready = false;
  const next = iterator.next().then((r) => {
    ready = true;
    return r;
  });
  await c.run(200);
  if (ready) return true;
  void next;
  return false;
}

async function start(seed: number): Promise<{ c: TestCluster; zk: Session; writer: Session }> {
  cluster = await TestCluster.start({ size: 3, seed });
  const c = cluster;
  const leader = await leaderOf(c);
  const zk = await c.settle(
    (followersOf(c, leader)[0] as typeof leader).session({ timeoutMs: 5000 }),
  );
  const writer = await c.settle(leader.session({ timeoutMs: 5000 }));
  return { c, zk, writer };
}

describe(`one-shot watches (seed ${SEED})`, () => {
  it('exists on a missing node fires NodeCreated once; getData fires NodeDataChanged', async () => {
    const { c, zk, writer } = await start(SEED);
    const seen: Seen[] = [];
    expect(
      await c.settle(zk.exists('/w', { watch: (e) => seen.push(`exists ${show(e)}`) })),
    ).toBeNull();
    await c.settle(writer.create('/w', enc('0')));
    await c.waitFor(() => seen.length === 1, 2000, 'NodeCreated');
    expect(seen).toEqual(['exists NodeCreated /w']);
    // One-shot: a second change does not fire it again.
    await c.settle(writer.setData('/w', enc('1')));
    await c.run(100);
    expect(seen).toHaveLength(1);
    await c.settle(zk.getData('/w', { watch: (e) => seen.push(`data ${show(e)}`) }));
    await c.settle(writer.setData('/w', enc('2')));
    await c.waitFor(() => seen.length === 2, 2000, 'NodeDataChanged');
    expect(seen[1]).toBe('data NodeDataChanged /w');
  });

  it('getChildren fires NodeChildrenChanged on create and delete of a child, not on its data', async () => {
    const { c, zk, writer } = await start(SEED + 1);
    const seen: Seen[] = [];
    await c.settle(writer.create('/p'));
    await c.settle(writer.create('/p/x'));
    const watch = (e: WatchEvent): void => {
      seen.push(show(e));
    };
    await c.settle(zk.getChildren('/p', { watch, linearizable: true }));
    await c.settle(writer.setData('/p/x', enc('d')));
    await c.settle(writer.setData('/p', enc('d')));
    await c.run(100);
    expect(seen).toEqual([]);
    await c.settle(writer.create('/p/y'));
    await c.waitFor(() => seen.length === 1, 2000, 'NodeChildrenChanged');
    await c.settle(zk.getChildren('/p', { watch }));
    await c.settle(writer.delete('/p/y'));
    await c.waitFor(() => seen.length === 2, 2000, 'NodeChildrenChanged');
    expect(seen).toEqual(['NodeChildrenChanged /p', 'NodeChildrenChanged /p']);
  });

  it('delete fires NodeDeleted to data and child watchers; setACL fires nothing', async () => {
    const { c, zk, writer } = await start(SEED + 2);
    await c.settle(writer.create('/d'));
    await c.run(50);
    const seen: Seen[] = [];
    await c.settle(zk.getData('/d', { watch: (e) => seen.push(`data ${show(e)}`) }));
    await c.settle(zk.getChildren('/d', { watch: (e) => seen.push(`child ${show(e)}`) }));
    await c.settle(zk.exists('/d', { watch: (e) => seen.push(`exists ${show(e)}`) }));
    await c.settle(writer.setACL('/d', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]));
    await c.run(100);
    expect(seen).toEqual([]);
    await c.settle(writer.delete('/d'));
    await c.waitFor(() => seen.length >= 3, 2000, 'NodeDeleted');
    await c.run(50);
    expect([...seen].sort()).toEqual([
      'child NodeDeleted /d',
      'data NodeDeleted /d',
      'exists NodeDeleted /d',
    ]);
  });

  it('one watcher registered by several reads fires once per notification', async () => {
    const { c, zk, writer } = await start(SEED + 3);
    await c.settle(writer.create('/once'));
    await c.run(50);
    const seen: WatchEvent[] = [];
    const watcher = (e: WatchEvent): void => {
      seen.push(e);
    };
    await c.settle(zk.getData('/once', { watch: watcher }));
    await c.settle(zk.exists('/once', { watch: watcher }));
    await c.settle(zk.getData('/once', { watch: watcher }));
    const stat = await c.settle(writer.setData('/once', enc('x')));
    await c.waitFor(() => seen.length > 0, 2000, 'the event');
    await c.run(100);
    expect(seen).toEqual([{ type: 'NodeDataChanged', path: '/once', zxid: stat.mzxid }]);
  });

  it('a watch event reaches the application before any later read that shows the change', async () => {
    const { c, zk, writer } = await start(SEED + 4);
    await c.settle(writer.create('/seen', enc('old')));
    await c.settle(zk.sync());
    const events: WatchEvent[] = [];
    await c.settle(zk.getData('/seen', { watch: (e) => events.push(e) }));
    const write = writer.setData('/seen', enc('new'));
    // Read on the follower in a tight loop while the write travels: the first read showing the
    // new value must come after the event.
    // Each read records how many events had reached the application when it was answered.
    let reads = 0;
    for (;;) {
      const read = zk
        .getData('/seen')
        .then(({ data }) => ({ value: dec(data), eventsSeen: events.length }));
      const { value, eventsSeen } = await c.settle(read, 1000, 1);
      reads++;
      if (value === 'new') {
        expect(eventsSeen).toBe(1);
        // The loop did see the old value first: the race was really run.
        expect(reads).toBeGreaterThan(1);
        break;
      }
      expect(eventsSeen).toBe(0);
      expect(reads).toBeLessThan(2000);
    }
    expect(events.map(show)).toEqual(['NodeDataChanged /seen']);
    await c.settle(write);
  });

  it('the writer session sees its own watch event before its write resolves', async () => {
    const { c, writer } = await start(SEED + 5);
    await c.settle(writer.create('/own'));
    const order: string[] = [];
    await c.settle(writer.getData('/own', { watch: () => order.push('event') }));
    await c.settle(writer.setData('/own', enc('v')).then(() => order.push('resolved')));
    expect(order).toEqual(['event', 'resolved']);
  });

  it('events arrive in the order of the updates, across paths', async () => {
    const { c, zk, writer } = await start(SEED + 6);
    for (const p of ['/o', '/o/a', '/o/b']) await c.settle(writer.create(p));
    await c.settle(zk.sync());
    const seen: WatchEvent[] = [];
    const w = (e: WatchEvent): void => {
      seen.push(e);
    };
    await c.settle(zk.getData('/o/b', { watch: w }));
    await c.settle(zk.getData('/o/a', { watch: w }));
    await c.settle(zk.getChildren('/o', { watch: w }));
    await c.settle(zk.exists('/o/c', { watch: w }));
    // Pipelined writes from another member: applied in this order, events in the same order.
    await c.settle(
      Promise.all([
        writer.setData('/o/b', enc('1')),
        writer.create('/o/c'),
        writer.setData('/o/a', enc('1')),
      ]),
    );
    await c.waitFor(() => seen.length === 4, 2000, 'four events');
    expect(seen.map(show)).toEqual([
      'NodeDataChanged /o/b',
      'NodeCreated /o/c',
      'NodeChildrenChanged /o',
      'NodeDataChanged /o/a',
    ]);
    const zxids = seen.map((e) => e.zxid);
    expect(zxids).toEqual([...zxids].sort((a, b) => a - b));
    expect(zxids[1]).toBe(zxids[2]);
  });

  it('removeWatches stops one watcher; NoWatcher when none is set', async () => {
    const { c, zk, writer } = await start(SEED + 7);
    await c.settle(writer.create('/rm'));
    await c.run(50);
    const seen: Seen[] = [];
    const a = (e: WatchEvent): void => {
      seen.push(`a ${show(e)}`);
    };
    const b = (e: WatchEvent): void => {
      seen.push(`b ${show(e)}`);
    };
    await c.settle(zk.getData('/rm', { watch: a }));
    await c.settle(zk.getData('/rm', { watch: b }));
    zk.removeWatches('/rm', 'data', a);
    expect(() => zk.removeWatches('/rm', 'children')).toThrow(
      expect.objectContaining({ code: 'NoWatcher' }),
    );
    expect(() => zk.removeWatches('/else', 'any')).toThrow(
      expect.objectContaining({ code: 'NoWatcher' }),
    );
    await c.settle(writer.setData('/rm', enc('1')));
    await c.waitFor(() => seen.length > 0, 2000, 'b fires');
    await c.run(50);
    expect(seen).toEqual(['b NodeDataChanged /rm']);
    // Removing every watcher of a path: nothing fires.
    await c.settle(zk.getData('/rm', { watch: a }));
    zk.removeWatches('/rm', 'any');
    await c.settle(writer.setData('/rm', enc('2')));
    await c.run(200);
    expect(seen).toHaveLength(1);
  });

  it('a session without READ on a node is not told of its changes', async () => {
    const { c, zk, writer } = await start(SEED + 8);
    await c.settle(writer.addAuth('digest', 'owner:pw'));
    await c.settle(
      writer.create('/hidden', enc(''), { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] }),
    );
    await c.run(50);
    const seen: Seen[] = [];
    expect(
      await c.settle(codeOf(zk.getData('/hidden', { watch: (e) => seen.push(show(e)) }))),
    ).toBe('NoAuth');
    const stream = zk.watch('/hidden')[Symbol.asyncIterator]();
    await c.settle(writer.setData('/hidden', enc('x')));
    expect(await pending(c, stream)).toBe(false);
    expect(seen).toEqual([]);
    await stream.return?.();
  });
});

describe(`persistent watch streams (seed ${SEED})`, () => {
  it('watch(path) sees the node created, changed, its children changing, deleted', async () => {
    const { c, zk, writer } = await start(SEED + 10);
    const stream = zk.watch('/s')[Symbol.asyncIterator]();
    const created = await c.settle(writer.create2('/s'));
    const changed = await c.settle(writer.setData('/s', enc('1')));
    const kid = await c.settle(writer.create2('/s/kid'));
    await c.settle(writer.setData('/s/kid', enc('not mine')));
    await c.settle(writer.delete('/s/kid'));
    await c.settle(writer.delete('/s'));
    const events = await take(c, stream, 5);
    expect(events.map(show)).toEqual([
      'NodeCreated /s',
      'NodeDataChanged /s',
      'NodeChildrenChanged /s',
      'NodeChildrenChanged /s',
      'NodeDeleted /s',
    ]);
    expect(events[0]?.zxid).toBe(created.stat.czxid);
    expect(events[1]?.zxid).toBe(changed.mzxid);
    expect(events[2]?.zxid).toBe(kid.stat.czxid);
    // Persistent: still there after the node is gone.
    await c.settle(writer.create('/s'));
    expect((await take(c, stream, 1)).map(show)).toEqual(['NodeCreated /s']);
    await stream.return?.();
  });

  it('a recursive watch sees the subtree, never NodeChildrenChanged, and nothing outside', async () => {
    const { c, zk, writer } = await start(SEED + 11);
    await c.settle(writer.create('/r'));
    const stream = zk.watch('/r', { recursive: true })[Symbol.asyncIterator]();
    await c.settle(writer.create('/rx'));
    await c.settle(writer.create('/r/a'));
    await c.settle(writer.create('/r/a/b', enc(''), { mode: 'ephemeral' }));
    await c.settle(writer.setData('/r/a/b', enc('1')));
    await c.settle(writer.setData('/r', enc('1')));
    await c.settle(writer.delete('/r/a/b'));
    const events = await take(c, stream, 5);
    expect(events.map(show)).toEqual([
      'NodeCreated /r/a',
      'NodeCreated /r/a/b',
      'NodeDataChanged /r/a/b',
      'NodeDataChanged /r',
      'NodeDeleted /r/a/b',
    ]);
    expect(await pending(c, stream)).toBe(false);
    await stream.return?.();
  });

  it('fromZxid replays the history after that zxid, then streams live, none twice', async () => {
    const { c, zk, writer } = await start(SEED + 12);
    await c.settle(writer.create('/h'));
    const zxids: number[] = [];
    for (let i = 0; i < 5; i++)
      zxids.push((await c.settle(writer.setData('/h', enc(`${i}`)))).mzxid);
    await c.settle(zk.sync());
    const from = zxids[1] as number;
    const stream = zk.watch('/h', { fromZxid: from })[Symbol.asyncIterator]();
    const replayed = await take(c, stream, 3);
    expect(replayed.map((e) => e.zxid)).toEqual(zxids.slice(2));
    for (let i = 5; i < 8; i++)
      zxids.push((await c.settle(writer.setData('/h', enc(`${i}`)))).mzxid);
    const live = await take(c, stream, 3);
    expect(live.map((e) => e.zxid)).toEqual(zxids.slice(5));
    expect(await pending(c, stream)).toBe(false);
    await stream.return?.();
  });

  it('fromZxid older than the history fails with CompactedError', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 13, node: { watchHistoryTxns: 5 } });
    const c = cluster;
    const zk = await c.settle(c.follower().session({ timeoutMs: 5000 }));
    const first = await c.settle(zk.create2('/k'));
    for (let i = 0; i < 10; i++) await c.settle(zk.setData('/k', enc(`${i}`)));
    const stream = zk.watch('/k', { fromZxid: first.stat.czxid })[Symbol.asyncIterator]();
    const error = await c.settle(stream.next().catch((e: unknown) => e));
    expect(error).toMatchObject({ code: 'Compacted', fromZxid: first.stat.czxid });
    const oldest = (error as { oldestZxid: number }).oldestZxid;
    expect(oldest).toBeGreaterThan(first.stat.czxid);
    // From the oldest held zxid it works, and replays exactly what is above it.
    const ok = zk.watch('/k', { fromZxid: oldest })[Symbol.asyncIterator]();
    const events = await take(c, ok, 5);
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.zxid > oldest)).toBe(true);
    expect(await pending(c, ok)).toBe(false);
    await ok.return?.();
  });

  it('resumed on another member from the last zxid seen, no event is skipped or repeated', async () => {
    const { c, zk, writer } = await start(SEED + 14);
    await c.settle(writer.create('/x'));
    const all: number[] = [];
    const stream = zk.watch('/x', { recursive: true })[Symbol.asyncIterator]();
    const write = async (i: number): Promise<void> => {
      all.push((await c.settle(writer.create2(`/x/n${i}`))).stat.czxid);
    };
    for (let i = 0; i < 4; i++) await write(i);
    const before = await take(c, stream, 2);
    await stream.return?.();
    for (let i = 4; i < 8; i++) await write(i);
    // Resume on the leader's member with a new session.
    const leader = await leaderOf(c);
    const other = await c.settle(leader.session({ timeoutMs: 5000 }));
    const last = before[before.length - 1]?.zxid as number;
    const resumed = other.watch('/x', { recursive: true, fromZxid: last })[Symbol.asyncIterator]();
    const after = await take(c, resumed, 6);
    expect([...before, ...after].map((e) => e.zxid)).toEqual(all);
    await resumed.return?.();
  });

  it('resumed on a lagging member with a zxid it has not reached, nothing is repeated', async () => {
    cluster = await TestCluster.start({ size: 3, seed: SEED + 15 });
    const c = cluster;
    const leader = await leaderOf(c);
    const [lagging, other] = followersOf(c, leader) as [typeof leader, typeof leader];
    const writer = await c.settle(leader.session({ timeoutMs: 10_000 }));
    const reader = await c.settle(lagging.session({ timeoutMs: 10_000 }));
    await c.settle(writer.create('/lag'));
    await c.waitFor(() => lagging.status().applied >= leader.status().commit, 5000, 'caught up');
    c.network.partition([lagging.id], [leader.id, other.id]);
    const zxids: number[] = [];
    for (let i = 0; i < 4; i++)
      zxids.push((await c.settle(writer.setData('/lag', enc(`${i}`)))).mzxid);
    // A client saw up to zxids[1] elsewhere, then resumes on the member that is behind.
    const stream = reader.watch('/lag', { fromZxid: zxids[1] as number })[Symbol.asyncIterator]();
    c.network.heal();
    const events = await take(c, stream, 2);
    expect(events.map((e) => e.zxid)).toEqual(zxids.slice(2));
    expect(await pending(c, stream)).toBe(false);
    await stream.return?.();
  });

  it('a stream ends on abort, on break, and on close; with SessionExpired on expiry', async () => {
    const { c, zk, writer } = await start(SEED + 16);
    const controller = new AbortController();
    const aborted = zk.watch('/e', { signal: controller.signal })[Symbol.asyncIterator]();
    controller.abort();
    expect(await c.settle(aborted.next())).toEqual({ value: undefined, done: true });
    // for-await with break ends it (and its sink is removed: later events go nowhere).
    const seen: Seen[] = [];
    const loop = (async () => {
      for await (const event of zk.watch('/e')) {
        seen.push(show(event));
        break;
      }
    })();
    await c.settle(writer.create('/e'));
    await c.settle(loop);
    expect(seen).toEqual(['NodeCreated /e']);
    const open = zk.watch('/e')[Symbol.asyncIterator]();
    await c.settle(zk.close());
    expect(await c.settle(open.next())).toEqual({ value: undefined, done: true });
    expect(await c.settle(codeOfCall(() => zk.watch('/e')))).toBe('SessionExpired');
  });

  it('a slow consumer past bufferMax gets an error naming where to resume', async () => {
    const { c, zk, writer } = await start(SEED + 17);
    await c.settle(writer.create('/slow'));
    const stream = zk.watch('/slow', { bufferMax: 3 })[Symbol.asyncIterator]();
    const zxids: number[] = [];
    for (let i = 0; i < 5; i++)
      zxids.push((await c.settle(writer.setData('/slow', enc(`${i}`)))).mzxid);
    await c.run(100);
    const got: number[] = [];
    let error: unknown = null;
    for (let i = 0; i < 5 && error === null; i++) {
      try {
        const next = await c.settle(stream.next());
        if (next.done) break;
        got.push(next.value.zxid);
      } catch (e) {
        error = e;
      }
    }
    expect(got).toEqual(zxids.slice(0, 3));
    expect(error).toMatchObject({ code: 'QuotaExceeded' });
    // Resuming from the last one received loses nothing.
    const resumed = zk.watch('/slow', { fromZxid: got[2] as number })[Symbol.asyncIterator]();
    expect((await take(c, resumed, 2)).map((e) => e.zxid)).toEqual(zxids.slice(3));
    await resumed.return?.();
  });
});
