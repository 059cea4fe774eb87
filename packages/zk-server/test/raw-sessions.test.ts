/**
 * Raw jute frames for what raw.test.ts leaves out, each compared with what ZooKeeper 3.8.0 (the
 * Debian package) was seen to do with the same frames: setWatches2 (105) re-registering data,
 * exist and child watches (those whose change came after relativeZxid fire at once) and
 * persistent and persistent-recursive ones (which then fire on every later change); a lone
 * `check` (13) outside a multi, answered like a check inside one (BadVersion, NoNode, header
 * only); a handshake whose lastZxidSeen is ahead of the server closed without an answer, for a
 * new session and for an existing one, whose current connection keeps it; and connectionsMax
 * (connections past it closed at once, room again once one leaves).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JuteWriter } from '../src/jute.js';
import { OP_CODES } from '../src/records.js';
import { type Harness, RawClient, readEvent, startHarness } from './helpers.js';

let harness: Harness;
const raws: RawClient[] = [];
beforeEach(async () => {
  harness = await startHarness();
});
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await harness.close();
});

async function connect(
  options: Parameters<typeof RawClient.connect>[1] = {},
  port = harness.port,
): Promise<RawClient> {
  const raw = await RawClient.connect(port, options);
  raws.push(raw);
  return raw;
}

const create =
  (path: string, flags = 0) =>
  (w: JuteWriter): void => {
    w.string(path)
      .buffer(Buffer.alloc(0))
      .vector([0], (e) => e.int(31).string('world').string('anyone'))
      .int(flags);
  };
const setData = (path: string, data: string) => (w: JuteWriter) => {
  w.string(path).buffer(Buffer.from(data)).int(-1);
};
const check = (path: string, version: number) => (w: JuteWriter) => {
  w.string(path).int(version);
};
const NODE_CREATED = 1;
const NODE_DATA_CHANGED = 3;
const NODE_CHILDREN_CHANGED = 4;
const SYNC_CONNECTED = 3;
const event = (type: number, path: string) => ({ type, state: SYNC_CONNECTED, path });

/** Reads notifications until `count` have arrived (or fails after the helpers' bound). */
async function events(raw: RawClient, count: number): Promise<ReturnType<typeof readEvent>[]> {
  while (raw.events.length < count) {
    const reply = await raw.nextReply();
    expect(reply.xid).toBe(-1);
    raw.events.push(readEvent(reply.body));
  }
  return raw.events.splice(0, count);
}

describe('zk-server: setWatches2', () => {
  it('re-registers every kind of watch; one-shot ones fire for changes after relativeZxid', async () => {
    const writer = await connect();
    for (const path of ['/p', '/q', '/d', '/c'])
      await writer.request(OP_CODES.create, create(path));
    const seen = (await writer.request(OP_CODES.exists, (w) => w.string('/d').boolean(false))).zxid;
    // Changes the watcher "missed": made after the zxid it will say it saw.
    await writer.request(OP_CODES.setData, setData('/d', 'missed'));
    await writer.request(OP_CODES.create, create('/e'));

    const watcher = await connect();
    const reply = await watcher.request(
      OP_CODES.setWatches2,
      (w) => {
        w.long(seen);
        for (const list of [['/d'], ['/e', '/never'], ['/c'], ['/p'], ['/q']])
          w.vector(list, (e, path) => e.string(path));
      },
      -8,
    );
    expect(reply.xid).toBe(-8);
    expect(reply.err).toBe(0);
    // Fired at once, in the order ZooKeeper checks them: data watches, then exist watches.
    const missed = [
      ...watcher.events.splice(0),
      ...(await events(watcher, 2 - watcher.events.length)),
    ];
    expect(missed).toEqual([event(NODE_DATA_CHANGED, '/d'), event(NODE_CREATED, '/e')]);

    await writer.request(OP_CODES.setData, setData('/p', '1'));
    await writer.request(OP_CODES.create, create('/p/x'));
    await writer.request(OP_CODES.create, create('/q/a'));
    await writer.request(OP_CODES.create, create('/q/a/b'));
    await writer.request(OP_CODES.setData, setData('/p', '2'));
    await writer.request(OP_CODES.create, create('/c/k'));
    await writer.request(OP_CODES.create, create('/c/k2')); // the child watch was one-shot
    await writer.request(OP_CODES.create, create('/never'));
    await writer.request(OP_CODES.setData, setData('/d', 'again')); // so was the data watch
    expect(await events(watcher, 7)).toEqual([
      event(NODE_DATA_CHANGED, '/p'),
      event(NODE_CHILDREN_CHANGED, '/p'),
      event(NODE_CREATED, '/q/a'),
      event(NODE_CREATED, '/q/a/b'),
      event(NODE_DATA_CHANGED, '/p'),
      event(NODE_CHILDREN_CHANGED, '/c'),
      event(NODE_CREATED, '/never'),
    ]);
    // Nothing more: a read round trip flushes any notification sent before its reply.
    await watcher.request(OP_CODES.exists, (w) => w.string('/').boolean(false));
    expect(watcher.events).toEqual([]);
  });
});

describe('zk-server: a lone check outside a multi', () => {
  it('answers BadVersion and NoNode with a bare header, as ZooKeeper 3.8 does, and keeps serving', async () => {
    const raw = await connect();
    await raw.request(OP_CODES.create, create('/c'));
    const bad = await raw.request(OP_CODES.check, check('/c', 5));
    expect(bad.err).toBe(-103);
    expect(bad.body.remaining).toBe(0);
    const missing = await raw.request(OP_CODES.check, check('/missing', -1));
    expect(missing.err).toBe(-101);
    expect(missing.body.remaining).toBe(0);
    // A matching check succeeds with a bare header. (ZooKeeper 3.8.0 never answers this one: its
    // reply carries a null Stat, the later requests overtake it, and the connection drops a few
    // seconds later. Cairn answers in order instead of reproducing that.)
    const ok = await raw.request(OP_CODES.check, check('/c', 0));
    expect(ok.err).toBe(0);
    expect(ok.body.remaining).toBe(0);
    const any = await raw.request(OP_CODES.check, check('/c', -1));
    expect(any.err).toBe(0);
    const after = await raw.request(OP_CODES.exists, (w) => w.string('/c').boolean(false));
    expect(after.err).toBe(0);
    expect(after.zxid).toBeGreaterThanOrEqual(ok.zxid);
    expect(raw.closed).toBe(false);
  });
});

describe('zk-server: lastZxidSeen ahead of the server', () => {
  it('closes the handshake without an answer; the session keeps its current connection', async () => {
    const holder = await connect();
    const created = await holder.request(OP_CODES.create, create('/x', 1));
    const zxid = created.zxid;

    const level = await connect({ lastZxidSeen: zxid });
    expect(level.timeoutMs).toBeGreaterThan(0); // exactly what the server has seen: accepted

    for (const options of [
      { lastZxidSeen: zxid + 1000n },
      { lastZxidSeen: zxid + 1000n, sessionId: holder.sessionId, password: holder.password },
    ]) {
      const ahead = await RawClient.open(harness.port);
      raws.push(ahead);
      ahead.write(
        new JuteWriter()
          .int(0)
          .long(options.lastZxidSeen)
          .int(4000)
          .long(options.sessionId ?? 0n)
          .buffer(options.password ?? Buffer.alloc(16))
          .boolean(false)
          .finish(),
      );
      await ahead.waitClosed();
      expect(ahead.frames).toEqual([]);
    }
    // The holder still owns its session and its ephemeral.
    const still = await holder.request(OP_CODES.exists, (w) => w.string('/x').boolean(false));
    expect(still.err).toBe(0);
    expect(holder.closed).toBe(false);
    expect(harness.node.status().sessions).toBe(2);
  });
});

describe('zk-server: connectionsMax', () => {
  it('closes connections past the limit at once and takes new ones when one leaves', async () => {
    const limited = await startHarness({ connectionsMax: 2 });
    try {
      const first = await connect({}, limited.port);
      await connect({}, limited.port);
      const third = await RawClient.open(limited.port);
      raws.push(third);
      await third.waitClosed();
      expect(third.frames).toEqual([]);
      first.close();
      // The server sees the close asynchronously: retry the handshake (bounded) until it fits.
      let again: RawClient | null = null;
      for (let i = 0; i < 100 && again === null; i++) {
        again = await RawClient.connect(limited.port).catch(() => null);
        if (again === null) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (again !== null) raws.push(again);
      expect(again?.timeoutMs).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
