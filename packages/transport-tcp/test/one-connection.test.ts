// One TCP connection per pair of members, in one process on 127.0.0.1 (issue 4). It proves:
// after both members of a pair send, exactly one connection joins them, dialed by the lower id
// (counted by the transports and, independently, by Node's list of open TCP handles); members
// that send to each other in the same turn, before any connection exists, converge on one
// connection with nothing lost or reordered and no failure reported; once the higher id adopts
// a newer connection from the lower, it closes the older and delivers nothing more from it,
// while its own messages ride the newer one; a member known only to the higher id (or only to
// the lower) gets what was queued for it, in order, once the other side learns its address;
// and the lower id answers a solicit (a fake higher node's Hello) by the rule of wire.ts: it
// dials when it holds no connection, ignores one that crossed its connection, and replaces its
// connection when the solicit names it (the peer lost it) or comes from another incarnation
// (the peer restarted); it delivers nothing that follows a solicit's Hello, and refuses a Hello
// whose `latest` is not a nonce. Waits are bounded polls; absence is checked after a pause.
import { once } from 'node:events';
import * as net from 'node:net';
import { encodeMessage, type Message } from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport, type TcpTransportOptions, type TransportEvent } from '../src/index.js';
import {
  decodeChallenge,
  encodeJson,
  FrameKind,
  frame,
  newNonce,
  WIRE_VERSION,
} from '../src/wire.js';
import { eventLog, frames, freePorts, heartbeat, LOOPBACK, pause, waitUntil } from './helpers.js';

const CLUSTER = 'one-connection';

const commits = (messages: readonly Message[]): number[] =>
  messages.map((m) => (m.type === 'Heartbeat' ? m.commit : -1));

interface Member {
  transport: TcpTransport;
  inbox: Message[];
  events: TransportEvent[];
  unreachable: number[];
}

const started: TcpTransport[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function member(
  nodeId: number,
  listen: string,
  peers: Record<number, string>,
  options: Partial<TcpTransportOptions> = {},
): Promise<Member> {
  const log = eventLog();
  const transport = new TcpTransport({
    nodeId,
    clusterId: CLUSTER,
    listen,
    peers,
    reconnect: { baseMs: 10, maxMs: 50 },
    onEvent: log.listener,
    ...options,
  });
  started.push(transport);
  const inbox: Message[] = [];
  const unreachable: number[] = [];
  transport.onMessage((m) => inbox.push(m));
  transport.onUnreachable((peer) => unreachable.push(peer));
  await transport.start();
  return { transport, inbox, events: log.events, unreachable };
}

async function pair(): Promise<{ one: Member; two: Member; peers: Record<number, string> }> {
  const [p1, p2] = await freePorts(2);
  const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
  const one = await member(1, peers[1], peers);
  const two = await member(2, peers[2], peers);
  return { one, two, peers };
}

/** Open TCP sockets in this process, by Node's own count (servers are another kind). */
const tcpSockets = (): number =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

const oneConnection = (one: Member, two: Member): boolean =>
  one.transport.connectionCounts().dialed === 1 &&
  one.transport.connectionCounts().accepted === 0 &&
  two.transport.connectionCounts().dialed === 0 &&
  two.transport.connectionCounts().accepted === 1;

/** A raw client that completes the handshake as `nodeId` (no secret, no TLS). */
async function rawMember(
  port: number,
  nodeId: number,
  to: number,
  options: { incarnation?: string; latest?: string | null } = {},
): Promise<{ socket: net.Socket; stream: ReturnType<typeof frames>; challengeNonce: string }> {
  const socket = net.connect({ host: LOOPBACK, port });
  socket.on('error', () => {});
  cleanups.push(() => socket.destroy());
  const stream = frames(socket, 1024 * 1024);
  await once(socket, 'connect');
  const challenge = decodeChallenge(await stream.next());
  socket.write(
    encodeJson(FrameKind.Hello, {
      version: WIRE_VERSION,
      clusterId: CLUSTER,
      nodeId,
      to,
      incarnation: options.incarnation ?? newNonce(),
      latest: options.latest ?? null,
      nonce: newNonce(),
      proof: null,
    }),
  );
  await stream.next(); // the Welcome
  return { socket, stream, challengeNonce: challenge.nonce };
}

describe('one connection per pair of members', () => {
  it('keeps exactly one connection between two members after both send, dialed by the lower id', async () => {
    await pause(20); // sockets an earlier test closed are freed on a later loop turn
    const before = tcpSockets();
    const { one, two } = await pair();
    for (let i = 0; i < 100; i++) {
      one.transport.send([heartbeat(1, 2, i)]);
      two.transport.send([heartbeat(2, 1, i)]);
      if (i % 10 === 0) await pause(1);
    }
    const ascending = Array.from({ length: 100 }, (_, i) => i);
    expect(await waitUntil(() => one.inbox.length === 100 && two.inbox.length === 100)).toBe(true);
    expect(commits(one.inbox)).toEqual(ascending);
    expect(commits(two.inbox)).toEqual(ascending);
    expect(await waitUntil(() => oneConnection(one, two))).toBe(true);
    // Both ends of one connection, and nothing else: no second connection, no stray solicit.
    expect(await waitUntil(() => tcpSockets() - before === 2)).toBe(true);
  });

  it('converges on one connection when both members first send in the same turn', async () => {
    for (let round = 0; round < 10; round++) {
      const { one, two } = await pair();
      // Both reach for the other at once: node 1 dials, node 2 solicits; they cross.
      one.transport.send([heartbeat(1, 2, 0), heartbeat(1, 2, 1)]);
      two.transport.send([heartbeat(2, 1, 0), heartbeat(2, 1, 1)]);
      expect(await waitUntil(() => one.inbox.length === 2 && two.inbox.length === 2)).toBe(true);
      expect(await waitUntil(() => oneConnection(one, two)), `round ${round}`).toBe(true);
      expect(commits(one.inbox)).toEqual([0, 1]);
      expect(commits(two.inbox)).toEqual([0, 1]);
      expect(one.unreachable).toEqual([]);
      expect(two.unreachable).toEqual([]);
      await Promise.all(started.splice(0).map((t) => t.close()));
    }
  });

  it('closes a replaced connection and delivers nothing more from it, sending on the newer', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const two = await member(2, peers[2], peers);
    const older = await rawMember(p2 as number, 1, 2);
    const olderClosed = once(older.socket, 'close');
    older.socket.write(frame(FrameKind.Message, encodeMessage(heartbeat(1, 2, 1))));
    expect(await waitUntil(() => two.inbox.length === 1)).toBe(true);

    // Node 1 dials again (it lost the older connection, or restarted): node 2 adopts the newer.
    const newer = await rawMember(p2 as number, 1, 2);
    await olderClosed;
    older.socket.write(frame(FrameKind.Message, encodeMessage(heartbeat(1, 2, 2))));
    newer.socket.write(frame(FrameKind.Message, encodeMessage(heartbeat(1, 2, 3))));
    expect(await waitUntil(() => two.inbox.length >= 2)).toBe(true);
    await pause(20);
    expect(commits(two.inbox)).toEqual([1, 3]);

    // Node 2's own messages to node 1 ride the same (newer) connection.
    two.transport.send([heartbeat(2, 1, 9)]);
    expect(await waitUntil(() => newer.stream.all.length === 3)).toBe(true);
    const got = newer.stream.all[2] as Buffer;
    expect(got[0]).toBe(FrameKind.Message);
    expect(got.subarray(1)).toEqual(Buffer.from(encodeMessage(heartbeat(2, 1, 9))));
  });

  it('delivers what waited for a member known only to the higher id once the lower learns it', async () => {
    const [p1, p2] = await freePorts(2);
    const addresses = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    // Node 2 knows node 1; node 1 does not know node 2 yet (as before it applies a member entry).
    const one = await member(1, addresses[1], {});
    const two = await member(2, addresses[2], { 1: addresses[1] });
    two.transport.send([1, 2, 3].map((i) => heartbeat(2, 1, i)));
    const refused = (): boolean =>
      one.events.some((e) => e.detail === 'unknown node id 2' && e.direction === 'inbound');
    expect(await waitUntil(refused)).toBe(true);
    expect(await waitUntil(() => two.unreachable.length >= 2)).toBe(true);
    expect(one.inbox).toEqual([]);

    one.transport.setPeer(2, addresses[2]);
    // Node 1 has nothing to send: node 2's next solicit is what makes it dial.
    expect(await waitUntil(() => one.inbox.length === 3)).toBe(true);
    expect(commits(one.inbox)).toEqual([1, 2, 3]);
    one.transport.send([heartbeat(1, 2, 7)]);
    expect(await waitUntil(() => two.inbox.length === 1)).toBe(true);
    expect(await waitUntil(() => oneConnection(one, two))).toBe(true);
  });

  it('delivers what waited for a member known only to the lower id once the higher learns it', async () => {
    const [p1, p2] = await freePorts(2);
    const addresses = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const one = await member(1, addresses[1], { 2: addresses[2] });
    const two = await member(2, addresses[2], {});
    one.transport.send([1, 2, 3].map((i) => heartbeat(1, 2, i)));
    const refused = (): boolean => two.events.some((e) => e.detail === 'unknown node id 1');
    expect(await waitUntil(refused)).toBe(true);
    expect(two.inbox).toEqual([]);

    two.transport.setPeer(1, addresses[1]);
    // Node 1 still has its messages queued, so it redials after its backoff.
    expect(await waitUntil(() => two.inbox.length === 3)).toBe(true);
    expect(commits(two.inbox)).toEqual([1, 2, 3]);
    expect(await waitUntil(() => oneConnection(one, two))).toBe(true);
  });
});

describe('the lower id answers solicits', () => {
  /** A fake node 2: accepts node 1's dials (recording their Challenge nonces) and solicits. */
  async function fakeHigher(port: number, incarnation: string) {
    const accepted: { socket: net.Socket; nonce: string; closed: boolean }[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      const nonce = newNonce();
      const record = { socket, nonce, closed: false };
      socket.on('close', () => {
        record.closed = true;
      });
      const stream = frames(socket);
      socket.write(
        encodeJson(FrameKind.Challenge, {
          version: WIRE_VERSION,
          clusterId: CLUSTER,
          nodeId: 2,
          incarnation: fake.incarnation,
          nonce,
        }),
      );
      void stream.next().then(() => {
        socket.write(encodeJson(FrameKind.Welcome, { proof: null }));
        accepted.push(record);
      });
    });
    cleanups.push(() => {
      for (const { socket } of accepted) socket.destroy();
      server.close();
    });
    server.listen(port, LOOPBACK);
    await once(server, 'listening');
    const fake = {
      incarnation,
      accepted,
      /** Dials node 1 with a solicit; resolves once node 1 has hung up on it. */
      async solicit(onePort: number, latest: string | null): Promise<number> {
        const s = await rawMember(onePort, 2, 1, { incarnation: fake.incarnation, latest });
        if (!s.socket.destroyed) await once(s.socket, 'close');
        return s.stream.all.length; // Challenge and Welcome, nothing more
      },
    };
    return fake;
  }

  it('delivers nothing sent on a solicit, and refuses a Hello whose latest is not a nonce', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const one = await member(1, peers[1], peers);
    const solicit = net.connect({ host: LOOPBACK, port: p1 as number });
    solicit.on('error', () => {});
    cleanups.push(() => solicit.destroy());
    const stream = frames(solicit);
    await once(solicit, 'connect');
    await stream.next(); // the Challenge
    const hello = (latest: string | null): Buffer =>
      encodeJson(FrameKind.Hello, {
        version: WIRE_VERSION,
        clusterId: CLUSTER,
        nodeId: 2,
        to: 1,
        incarnation: newNonce(),
        latest,
        nonce: newNonce(),
        proof: null,
      });
    // A message right behind the solicit's Hello, as if the higher id sent on its own dial.
    solicit.write(
      Buffer.concat([hello(null), frame(FrameKind.Message, encodeMessage(heartbeat(2, 1, 1)))]),
    );
    await once(solicit, 'close');
    await pause(20);
    expect(one.inbox).toEqual([]);

    const bad = net.connect({ host: LOOPBACK, port: p1 as number });
    bad.on('error', () => {});
    cleanups.push(() => bad.destroy());
    await once(bad, 'data'); // the Challenge
    bad.write(hello('not-a-nonce'));
    await once(bad, 'close');
    expect(one.events.map((e) => e.detail)).toContain('bad handshake field latest');
  });

  it('dials when it holds none, ignores a crossed solicit, and replaces its connection for a lost or restarted peer', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const fake = await fakeHigher(p2 as number, newNonce());
    const one = await member(1, peers[1], peers);

    // No connection yet: node 1 dials at once, though it has nothing to send.
    expect(await fake.solicit(p1 as number, null)).toBe(2);
    expect(await waitUntil(() => fake.accepted.length === 1)).toBe(true);
    const first = fake.accepted[0];

    // Sent before the fake adopted that connection (it names none): node 1 keeps it.
    expect(await fake.solicit(p1 as number, null)).toBe(2);
    await pause(50);
    expect(fake.accepted.length).toBe(1);
    expect(first?.closed).toBe(false);
    expect(one.unreachable).toEqual([]);

    // Names the connection node 1 holds: the fake lost it, so node 1 replaces it.
    expect(await fake.solicit(p1 as number, first?.nonce ?? '')).toBe(2);
    expect(await waitUntil(() => fake.accepted.length === 2 && first?.closed === true)).toBe(true);
    expect(one.unreachable).toEqual([2]);

    // Another incarnation (the fake restarted): node 1 replaces its connection again.
    fake.incarnation = newNonce();
    const second = fake.accepted[1];
    expect(await fake.solicit(p1 as number, null)).toBe(2);
    expect(await waitUntil(() => fake.accepted.length === 3 && second?.closed === true)).toBe(true);
    expect(one.unreachable).toEqual([2, 2]);
  });
});
