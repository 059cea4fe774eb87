/**
 * Raw jute frames over a plain socket, for what no npm client sends: the opcodes of 3.5–3.7
 * (create2, containers, TTL, multiRead, addWatch, checkWatches/removeWatches, getEphemerals,
 * getAllChildrenNumber, whoAmI), reconfig and SASL refused cleanly, unknown opcodes, malformed
 * and oversized frames (that connection closes, others carry on), the handshake's readOnly byte
 * and expired sessions, pings that keep a session alive, and the four-letter-word allow-list.
 * setWatches2, a lone check, lastZxidSeen ahead and connectionsMax are in raw-sessions.test.ts;
 * what each four-letter word says, line by line, in four-letter-words.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JuteWriter } from '../src/jute.js';
import { OP_CODES } from '../src/records.js';
import {
  fourLetterWord,
  type Harness,
  RawClient,
  readEvent,
  sleep,
  startHarness,
  until,
} from './helpers.js';

let harness: Harness;
const raws: RawClient[] = [];

beforeEach(async () => {
  harness = await startHarness({
    fourLetterWords: [
      'ruok',
      'srvr',
      'mntr',
      'stat',
      'cons',
      'wchs',
      'dump',
      'conf',
      'envi',
      'isro',
    ],
  });
});
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await harness.close();
});

async function connect(options: Parameters<typeof RawClient.connect>[1] = {}): Promise<RawClient> {
  const raw = await RawClient.connect(harness.port, options);
  raws.push(raw);
  return raw;
}

const create =
  (path: string, flags = 0, data = '', ttl?: bigint) =>
  (w: JuteWriter): void => {
    w.string(path)
      .buffer(Buffer.from(data))
      .vector([0], (e) => e.int(31).string('world').string('anyone'))
      .int(flags);
    if (ttl !== undefined) w.long(ttl);
  };
const pathOnly = (path: string) => (w: JuteWriter) => {
  w.string(path);
};
const pathWatch = (path: string, watch: boolean) => (w: JuteWriter) => {
  w.string(path).boolean(watch);
};

describe('zk-server over raw frames', () => {
  it('answers the handshake with the readOnly byte only when the client sent it', async () => {
    const modern = await connect();
    expect(modern.timeoutMs).toBe(4000);
    expect(modern.password.length).toBe(16);
    const legacy = await RawClient.open(harness.port);
    raws.push(legacy);
    legacy.write(
      Buffer.concat([
        Buffer.from([0, 0, 0, 44]),
        Buffer.alloc(4),
        Buffer.alloc(8),
        Buffer.from([0, 0, 0x27, 0x10]),
        Buffer.alloc(8),
        Buffer.from([0, 0, 0, 16]),
        Buffer.alloc(16),
      ]),
    );
    const frame = await legacy.nextFrame();
    expect(frame.length).toBe(36);
    expect(frame.readInt32BE(4)).toBe(10_000);
    // Timeouts are clamped into [min, max].
    const clamped = await connect({ timeoutMs: 1 });
    expect(clamped.timeoutMs).toBe(500);
  });

  it('serves create2, containers, TTL nodes, getChildren, sync, multiRead and the counting reads', async () => {
    const raw = await connect();
    const c2 = await raw.request(OP_CODES.create2, create('/a', 0, 'x'));
    expect(c2.err).toBe(0);
    expect(c2.body.text()).toBe('/a');
    const czxid = c2.body.long();
    expect(czxid).toBeGreaterThan(0n);
    expect(c2.zxid).toBeGreaterThanOrEqual(czxid);
    const box = await raw.request(OP_CODES.createContainer, create('/box', 4));
    expect(box.err).toBe(0);
    expect(box.body.text()).toBe('/box');
    box.body.long();
    box.body.long();
    box.body.long();
    box.body.long();
    box.body.int();
    box.body.int();
    box.body.int();
    expect(box.body.long()).toBe(-(2n ** 63n)); // ephemeralOwner of a container: Long.MIN_VALUE
    // A container flag on createTTL (or a TTL flag on create) is BadArguments.
    expect((await raw.request(OP_CODES.createTTL, create('/t', 4, '', 1000n))).err).toBe(-8);
    expect((await raw.request(OP_CODES.create, create('/t', 5))).err).toBe(-8);
    const ttl = await raw.request(OP_CODES.createTTL, create('/a/ttl-', 6, '', 60_000n));
    expect(ttl.err).toBe(0);
    expect(ttl.body.text()).toBe('/a/ttl-0000000000');
    await raw.request(OP_CODES.create, create('/a/e', 1));
    const kids = await raw.request(OP_CODES.getChildren, pathWatch('/a', false));
    expect(kids.body.vector((r) => r.text(), 4).sort()).toEqual(['e', 'ttl-0000000000']);
    const sync = await raw.request(OP_CODES.sync, pathOnly('/a'));
    expect(sync.err).toBe(0);
    expect(sync.body.text()).toBe('/a');
    const count = await raw.request(OP_CODES.getAllChildrenNumber, pathOnly('/a'));
    expect(count.body.int()).toBe(2);
    const eph = await raw.request(OP_CODES.getEphemerals, pathOnly('/'));
    expect(eph.body.vector((r) => r.text(), 4)).toEqual(['/a/e']);
    const reads = await raw.request(OP_CODES.multiRead, (w) => {
      w.int(OP_CODES.getData).boolean(false).int(-1);
      pathWatch('/a', false)(w);
      w.int(OP_CODES.getChildren).boolean(false).int(-1);
      pathWatch('/missing', false)(w);
      w.int(-1).boolean(true).int(-1);
    });
    expect(reads.err).toBe(0);
    expect([reads.body.int(), reads.body.boolean(), reads.body.int()]).toEqual([4, false, 0]);
    expect(reads.body.buffer()?.toString()).toBe('x');
    for (let i = 0; i < 17; i++) reads.body.int(); // the Stat: 6 longs and 5 ints
    expect([reads.body.int(), reads.body.boolean(), reads.body.int()]).toEqual([-1, false, -101]);
    expect(reads.body.int()).toBe(-101);
    expect([reads.body.int(), reads.body.boolean(), reads.body.int()]).toEqual([-1, true, -1]);
  });

  it('addWatch, checkWatches, removeWatches, whoAmI, reconfig and sasl', async () => {
    const raw = await connect();
    const other = await connect();
    await raw.request(OP_CODES.create, create('/p'));
    const added = await raw.request(OP_CODES.addWatch, (w) => w.string('/p').int(1));
    expect(added.err).toBe(0);
    expect(added.body.int()).toBe(0);
    await other.request(OP_CODES.create, create('/p/c'));
    await other.request(OP_CODES.setData, (w) => w.string('/p/c').buffer(Buffer.from('1')).int(-1));
    await until(() => raw.frames.length >= 2, 'two notifications');
    const events = [await raw.nextReply(), await raw.nextReply()].map((reply) => {
      expect(reply.xid).toBe(-1);
      expect(reply.zxid).toBe(-1n);
      return readEvent(reply.body);
    });
    expect(events).toEqual([
      { type: 1, state: 3, path: '/p/c' },
      { type: 3, state: 3, path: '/p/c' },
    ]);
    expect((await raw.request(OP_CODES.checkWatches, (w) => w.string('/p').int(5))).err).toBe(0);
    expect((await raw.request(OP_CODES.checkWatches, (w) => w.string('/p').int(2))).err).toBe(-121);
    expect((await raw.request(OP_CODES.removeWatches, (w) => w.string('/p').int(5))).err).toBe(0);
    expect((await raw.request(OP_CODES.removeWatches, (w) => w.string('/p').int(5))).err).toBe(
      -121,
    );
    await raw.request(
      OP_CODES.auth,
      (w) => w.int(0).string('digest').buffer(Buffer.from('bob:pw')),
      -4,
    );
    const who = await raw.request(OP_CODES.whoAmI);
    const ids = who.body.vector((r) => [r.text(), r.text()], 8);
    expect(ids).toEqual([
      ['ip', '127.0.0.1'],
      ['digest', 'bob'],
    ]);
    expect(
      (await raw.request(OP_CODES.reconfig, (w) => w.string('').string('').string('').long(-1)))
        .err,
    ).toBe(-123);
    expect((await raw.request(OP_CODES.sasl, (w) => w.buffer(Buffer.alloc(0)))).err).toBe(-6);
    // An unknown auth scheme: AuthFailed, then the server closes the connection.
    const failed = await raw.request(
      OP_CODES.auth,
      (w) => w.int(0).string('kerberos').buffer(Buffer.from('x')),
      -4,
    );
    expect(failed.err).toBe(-115);
    await raw.waitClosed();
  });

  it('answers pipelined requests in order; a read after a write sees the write', async () => {
    const raw = await connect();
    const xids: number[] = [];
    for (let i = 0; i < 20; i++) {
      xids.push(raw.send(OP_CODES.create, create(`/n${i}`, 0, String(i))));
      xids.push(raw.send(OP_CODES.getData, pathWatch(`/n${i}`, false)));
    }
    let zxid = 0n;
    for (let i = 0; i < 40; i++) {
      const reply = await raw.nextReply();
      expect(reply.xid).toBe(xids[i]);
      expect(reply.err).toBe(0);
      expect(reply.zxid).toBeGreaterThanOrEqual(zxid);
      zxid = reply.zxid;
      if (i % 2 === 1) expect(reply.body.buffer()?.toString()).toBe(String((i - 1) / 2));
    }
  });

  it('answers an unknown opcode Unimplemented and keeps the connection', async () => {
    const raw = await connect();
    const unknown = await raw.request(999, (w) => w.string('whatever'));
    expect(unknown.err).toBe(-6);
    const missing = await raw.request(OP_CODES.exists, pathWatch('/nope', false));
    expect(missing.err).toBe(-101);
    expect(raw.closed).toBe(false);
  });

  it('closes a connection that sends a malformed frame or a giant length; others carry on', async () => {
    const healthy = await connect();
    const malformed = await connect();
    // getData whose path claims 1000 bytes in a 20-byte frame.
    malformed.write(Buffer.from([0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0x03, 0xe8, 0x41]));
    await malformed.waitClosed();
    const giant = await RawClient.open(harness.port);
    raws.push(giant);
    giant.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    await giant.waitClosed();
    const afterHandshake = await connect();
    afterHandshake.write(Buffer.from([0x01, 0x00, 0x00, 0x00]));
    await afterHandshake.waitClosed();
    const garbageHandshake = await RawClient.open(harness.port);
    raws.push(garbageHandshake);
    garbageHandshake.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    await garbageHandshake.waitClosed();
    const created = await healthy.request(OP_CODES.create, create('/still-serving'));
    expect(created.err).toBe(0);
    expect(created.body.text()).toBe('/still-serving');
  });

  it('pings keep a session alive past its timeout; a silent client is dropped and expires', async () => {
    const pinging = await connect({ timeoutMs: 600 });
    const silent = await connect({ timeoutMs: 600 });
    expect(pinging.timeoutMs).toBe(600);
    await pinging.request(OP_CODES.create, create('/alive', 1));
    await silent.request(OP_CODES.create, create('/silent', 1));
    for (let i = 0; i < 12; i++) {
      const pong = await pinging.request(OP_CODES.ping, () => {}, -2);
      expect(pong.err).toBe(0);
      await sleep(150);
    }
    await silent.waitClosed();
    await until(() => harness.node.status().sessions === 1, 'the silent session to expire');
    const still = await pinging.request(OP_CODES.exists, pathWatch('/alive', false));
    expect(still.err).toBe(0);
    expect((await pinging.request(OP_CODES.exists, pathWatch('/silent', false))).err).toBe(-101);
    // The expired session cannot come back: timeOut 0, session 0, then close.
    const back = await RawClient.connect(harness.port, {
      sessionId: silent.sessionId,
      password: silent.password,
    });
    raws.push(back);
    expect(back.timeoutMs).toBe(0);
    expect(back.sessionId).toBe(0n);
    await back.waitClosed();
  });

  it('a wrong password is answered as an expired session', async () => {
    const raw = await connect();
    const wrong = await RawClient.connect(harness.port, {
      sessionId: raw.sessionId,
      password: Buffer.alloc(16, 7),
    });
    raws.push(wrong);
    expect(wrong.timeoutMs).toBe(0);
    await wrong.waitClosed();
  });

  it('closeSession answers, closes the connection and removes the ephemerals', async () => {
    const raw = await connect();
    const watcher = await connect();
    await raw.request(OP_CODES.create, create('/mine', 1));
    await watcher.request(OP_CODES.exists, pathWatch('/mine', true));
    const closed = await raw.request(OP_CODES.closeSession);
    expect(closed.err).toBe(0);
    await raw.waitClosed();
    const event = await watcher.nextReply();
    expect(event.xid).toBe(-1);
    expect(readEvent(event.body)).toEqual({ type: 2, state: 3, path: '/mine' });
  });

  it('answers four-letter words on the allow-list and refuses the rest', async () => {
    expect(await fourLetterWord(harness.port, 'ruok')).toBe('imok');
    const srvr = await fourLetterWord(harness.port, 'srvr');
    expect(srvr).toMatch(/^Zookeeper version: 3\.8\./);
    expect(srvr).toContain('Mode: standalone');
    expect(srvr).toMatch(/Node count: \d+/);
    const mntr = await fourLetterWord(harness.port, 'mntr');
    expect(mntr).toContain('zk_server_state\tstandalone\n');
    expect(mntr).toMatch(/zk_znode_count\t\d+\n/);
    for (const word of ['stat', 'cons', 'wchs', 'dump', 'conf', 'envi'])
      expect((await fourLetterWord(harness.port, word)).length).toBeGreaterThan(0);
    expect(await fourLetterWord(harness.port, 'isro')).toBe('rw');
    const strict = await startHarness();
    try {
      expect(await fourLetterWord(strict.port, 'ruok')).toBe(
        'ruok is not executed because it is not in the whitelist.\n',
      );
      expect(await fourLetterWord(strict.port, 'srvr')).toContain('Zookeeper version');
    } finally {
      await strict.close();
    }
  });
});
