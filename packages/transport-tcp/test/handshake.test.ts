// The cluster secret is proven both ways, in one process on 127.0.0.1. A real acceptor answers
// a good Hello with a Welcome whose proof covers the dialer's nonce, and refuses a Hello
// recorded from an earlier connection (its proof covers that connection's nonce). A real
// dialer sends no message to a server that cannot prove the secret: one that answers with a
// proof made from another secret, with no proof, with a proof replayed from another
// connection, or with the dialer's own Hello proof reflected back; each is `HandshakeRefused`
// and the fake server receives nothing after the Hello. Two real transports with different
// secrets never exchange a message, in either direction. Waits are bounded polls.
import { once } from 'node:events';
import * as net from 'node:net';
import type { Message } from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport, type TransportEvent } from '../src/index.js';
import {
  decodeHello,
  decodeWelcome,
  encodeJson,
  FrameKind,
  type Hello,
  handshakeProof,
  newNonce,
  WIRE_VERSION,
} from '../src/wire.js';
import { eventLog, frames, freePorts, heartbeat, LOOPBACK, pause, waitUntil } from './helpers.js';

const CLUSTER = 'handshake';
const SECRET = 'right';

const started: TcpTransport[] = [];
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    servers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

async function transport(
  nodeId: number,
  peers: Record<number, string>,
  secret: string,
): Promise<{ transport: TcpTransport; inbox: Message[]; events: TransportEvent[] }> {
  const log = eventLog();
  const t = new TcpTransport({
    nodeId,
    clusterId: CLUSTER,
    listen: peers[nodeId] ?? '',
    peers,
    secret,
    reconnect: { baseMs: 10, maxMs: 50 },
    onEvent: log.listener,
  });
  started.push(t);
  const inbox: Message[] = [];
  t.onMessage((m) => inbox.push(m));
  t.onUnreachable(() => {});
  await t.start();
  return { transport: t, inbox, events: log.events };
}

/**
 * A fake node 2 on `port`: sends a Challenge, reads the Hello and answers with the Welcome
 * `welcomeFor` makes from it. `framesAfterHello()` counts what dialers sent after their Hello.
 */
async function fakeAcceptor(
  port: number,
  welcomeFor: (hello: Hello, challengeNonce: string) => string | null,
): Promise<{ framesAfterHello(): number; hellos: number }> {
  const streams: ReturnType<typeof frames>[] = [];
  const record = {
    hellos: 0,
    framesAfterHello: () => streams.reduce((n, s) => n + Math.max(0, s.all.length - 1), 0),
  };
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    sockets.push(socket);
    const nonce = newNonce();
    const challenge = {
      version: WIRE_VERSION,
      clusterId: CLUSTER,
      nodeId: 2,
      incarnation: newNonce(),
      nonce,
    };
    socket.write(encodeJson(FrameKind.Challenge, challenge));
    const stream = frames(socket);
    streams.push(stream);
    void stream.next().then((first) => {
      const hello = decodeHello(first);
      record.hellos++;
      socket.write(encodeJson(FrameKind.Welcome, { proof: welcomeFor(hello, nonce) }));
    });
  });
  servers.push(server);
  server.listen(port, LOOPBACK);
  await once(server, 'listening');
  return record;
}

describe('the cluster secret is proven both ways', () => {
  it('an acceptor proves the secret over the dialer nonce, and refuses a replayed Hello', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const two = await transport(2, peers, SECRET);
    const dial = async (): Promise<{ socket: net.Socket; stream: ReturnType<typeof frames> }> => {
      const socket = net.connect({ host: LOOPBACK, port: p2 as number });
      socket.on('error', () => {});
      const stream = frames(socket);
      await once(socket, 'connect');
      return { socket, stream };
    };

    const first = await dial();
    const challenge = JSON.parse((await first.stream.next()).subarray(1).toString()) as {
      nonce: string;
    };
    const helloNonce = newNonce();
    const context = { challengeNonce: challenge.nonce, helloNonce, clusterId: CLUSTER };
    const hello = encodeJson(FrameKind.Hello, {
      version: WIRE_VERSION,
      clusterId: CLUSTER,
      nodeId: 1,
      to: 2,
      incarnation: newNonce(),
      latest: null,
      nonce: helloNonce,
      proof: handshakeProof(SECRET, 'hello', { ...context, from: 1, to: 2 }),
    });
    first.socket.write(hello);
    const welcome = decodeWelcome(await first.stream.next());
    expect(welcome.proof).toBe(handshakeProof(SECRET, 'welcome', { ...context, from: 2, to: 1 }));
    first.socket.destroy();

    // The same Hello on a new connection: the acceptor's nonce is new, so the proof is stale.
    const second = await dial();
    await second.stream.next();
    const closed = once(second.socket, 'close');
    second.socket.write(hello);
    await closed;
    expect(second.stream.all.length).toBe(1); // the Challenge, and no Welcome
    // (The first connection's close is a ConnectionLoss of the pair's connection, not asserted.)
    const refusals = two.events.filter((e) => e.code === 'HandshakeRefused');
    expect(refusals.map((e) => `${e.code}: ${e.detail}`)).toEqual([
      'HandshakeRefused: node 1: bad secret proof',
    ]);
  });

  const badWelcomes: [string, (hello: Hello, challengeNonce: string) => string | null][] = [
    [
      'a proof made from another secret',
      (hello, challengeNonce) =>
        handshakeProof('wrong', 'welcome', {
          challengeNonce,
          helloNonce: hello.nonce,
          clusterId: CLUSTER,
          from: 2,
          to: 1,
        }),
    ],
    ['no proof', () => null],
    [
      // What a recording of an earlier connection holds: right secret, another dialer nonce.
      'a proof replayed from another connection',
      (_hello, challengeNonce) =>
        handshakeProof(SECRET, 'welcome', {
          challengeNonce,
          helloNonce: newNonce(),
          clusterId: CLUSTER,
          from: 2,
          to: 1,
        }),
    ],
    ["the dialer's own Hello proof reflected back", (hello) => hello.proof],
  ];
  for (const [what, welcomeFor] of badWelcomes) {
    it(`a dialer refuses a server whose Welcome carries ${what}, and sends it nothing`, async () => {
      const [p1, p2] = await freePorts(2);
      const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
      const fake = await fakeAcceptor(p2 as number, welcomeFor);
      const one = await transport(1, peers, SECRET);
      one.transport.send([heartbeat(1, 2, 1)]);
      const refused = (): boolean =>
        one.events.filter((e) => e.detail === 'node 2: bad secret proof').length >= 2;
      expect(await waitUntil(refused)).toBe(true);
      expect(one.events.every((e) => e.code === 'HandshakeRefused')).toBe(true);
      expect(fake.hellos).toBeGreaterThanOrEqual(2);
      expect(fake.framesAfterHello()).toBe(0);
    });
  }

  it('two transports with different secrets exchange nothing, in either direction', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const one = await transport(1, peers, SECRET);
    const two = await transport(2, peers, 'wrong');
    one.transport.send([heartbeat(1, 2, 1)]);
    two.transport.send([heartbeat(2, 1, 1)]);
    const refusedBy = (events: TransportEvent[], dialer: number): boolean =>
      events.some(
        (e) => e.direction === 'inbound' && e.detail === `node ${dialer}: bad secret proof`,
      );
    expect(await waitUntil(() => refusedBy(two.events, 1) && refusedBy(one.events, 2))).toBe(true);
    await pause(20);
    expect(one.inbox).toEqual([]);
    expect(two.inbox).toEqual([]);
  });

  it('transports with the same secret talk both ways', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const one = await transport(1, peers, SECRET);
    const two = await transport(2, peers, SECRET);
    one.transport.send([heartbeat(1, 2, 1)]);
    two.transport.send([heartbeat(2, 1, 2)]);
    expect(await waitUntil(() => one.inbox.length === 1 && two.inbox.length === 1)).toBe(true);
    expect(one.events).toEqual([]);
    expect(two.events).toEqual([]);
    // Both directions on one connection, node 1's dial, each side proven to the other.
    const counts = (): string =>
      JSON.stringify([one.transport.connectionCounts(), two.transport.connectionCounts()]);
    const expected = JSON.stringify([
      { dialed: 1, accepted: 0 },
      { dialed: 0, accepted: 1 },
    ]);
    expect(await waitUntil(() => counts() === expected)).toBe(true);
  });
});
