// Real sockets on 127.0.0.1 between processes (STYLE.md §9.7, issue 4's transport tests). This
// process runs node 1 (node 2 in one test); a child process (test/peer-process.ts) runs the other
// member and echoes every message back. It proves: order per link across processes;
// reconnection after the child is SIGKILLed and restarted on the same port; order across that
// switch to a new connection, with the child as the acceptor (higher id) and as the dialer
// (lower id); that garbage bytes, a giant length prefix and an undecodable frame from a raw
// socket close that connection alone while the child keeps serving node 1; that a peer of
// another cluster, of another wire version or with a bad secret is refused; and that TLS with
// a certificate from another CA is refused while the cluster CA's certificates work. Waits are
// bounded polls; nothing asserts a duration.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from '@cairn/raft';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TcpTransport, type TcpTransportOptions, type TransportEvent } from '../src/index.js';
import { encodeJson, FrameKind, frame, WIRE_VERSION } from '../src/wire.js';
import { makeTestCertificates } from './certs.js';
import { eventLog, freePorts, heartbeat, LOOPBACK, waitUntil } from './helpers.js';

const rootDir = fileURLToPath(new URL('../../..', import.meta.url));
const PEER_SCRIPT = 'packages/transport-tcp/test/peer-process.ts';
const CLUSTER = 'cairn-test';
/** Bound on waiting for a child to print `ready` (tsx compiles on first start). */
const READY_POLLS = 3_000;
const MESSAGES = 2_000;

interface Peer {
  child: ChildProcess;
  events(): TransportEvent[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<Peer>();
const transports: TcpTransport[] = [];

async function spawnPeer(config: Record<string, unknown>): Promise<Peer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', PEER_SCRIPT, JSON.stringify(config)],
    { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = once(child, 'exit');
  const peer: Peer = {
    child,
    events: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('event '))
        .map((line) => JSON.parse(line.slice(6)) as TransportEvent),
    stop: async (signal = 'SIGTERM') => {
      running.delete(peer);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  running.add(peer);
  const ready = await waitUntil(
    () => stdout.includes('ready\n') || child.exitCode !== null,
    READY_POLLS,
  );
  if (!ready || !stdout.includes('ready\n')) throw new Error(`peer did not start: ${stderr}`);
  return peer;
}

function commits(messages: readonly Message[]): number[] {
  return messages.map((m) => (m.type === 'Heartbeat' ? m.commit : -1));
}

/** Node 1, in this process: what it received and what it reported. */
async function startLocal(
  options: Partial<TcpTransportOptions> & Pick<TcpTransportOptions, 'listen' | 'peers'>,
): Promise<{
  transport: TcpTransport;
  inbox: Message[];
  events: TransportEvent[];
  unreachable: number[];
}> {
  const log = eventLog();
  const transport = new TcpTransport({
    nodeId: 1,
    clusterId: CLUSTER,
    reconnect: { baseMs: 20, maxMs: 200 },
    onEvent: log.listener,
    ...options,
  });
  transports.push(transport);
  const inbox: Message[] = [];
  const unreachable: number[] = [];
  transport.onMessage((m) => inbox.push(m));
  transport.onUnreachable((peer) => unreachable.push(peer));
  await transport.start();
  return { transport, inbox, events: log.events, unreachable };
}

/** A raw client on `port`: it can speak the handshake, then anything at all. */
async function rawClient(port: number): Promise<{ socket: net.Socket; closed: Promise<unknown> }> {
  const socket = net.connect({ host: LOOPBACK, port });
  socket.on('error', () => {});
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  await once(socket, 'data'); // the Challenge
  return { socket, closed };
}

function hello(clusterId: string, nodeId: number, to: number, version = WIRE_VERSION): Buffer {
  const nonce = 'ab'.repeat(16);
  const incarnation = 'cd'.repeat(16);
  return encodeJson(FrameKind.Hello, {
    version,
    clusterId,
    nodeId,
    to,
    incarnation,
    latest: null,
    nonce,
    proof: null,
  });
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all([...running].map((p) => p.stop('SIGKILL')));
});

describe('TcpTransport between processes on 127.0.0.1', () => {
  it('delivers messages in order on each link, both ways', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    await spawnPeer({ nodeId: 2, clusterId: CLUSTER, listen: peers[2], peers });
    const local = await startLocal({ listen: peers[1], peers });
    for (let i = 0; i < MESSAGES; i += 10) {
      local.transport.send(Array.from({ length: 10 }, (_, k) => heartbeat(1, 2, i + k)));
    }
    expect(await waitUntil(() => local.inbox.length >= MESSAGES)).toBe(true);
    expect(commits(local.inbox)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
    expect(local.events).toEqual([]);
  });

  it('reports the peer unreachable when its process dies, and reconnects after it restarts', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const config = { nodeId: 2, clusterId: CLUSTER, listen: peers[2], peers };
    const first = await spawnPeer(config);
    const local = await startLocal({ listen: peers[1], peers });
    local.transport.send([heartbeat(1, 2, 1)]);
    expect(await waitUntil(() => local.inbox.length === 1)).toBe(true);

    await first.stop('SIGKILL');
    expect(await waitUntil(() => local.unreachable.includes(2))).toBe(true);
    expect(local.events.some((e) => e.code === 'ConnectionLoss' && e.peer === 2)).toBe(true);

    await spawnPeer(config);
    // Probe until an echo comes back; the link redials with backoff in the meantime.
    let probe = 100;
    const back = await waitUntil(() => {
      local.transport.send([heartbeat(1, 2, probe++)]);
      return local.inbox.length > 1;
    });
    expect(back).toBe(true);
  });

  // Node 1 in this process streams numbered Heartbeats to the child, which echoes them; the
  // child is SIGKILLed mid-stream and restarted on its port. Whichever side dials (the lower
  // id), the echoes that come back (both directions, across the switch to a new connection)
  // are strictly increasing: a message may be lost, never delivered after a later one.
  for (const [what, localId, childId] of [
    ['the higher id (the acceptor)', 1, 2],
    ['the lower id (the dialer)', 2, 1],
  ] as const) {
    it(`keeps order across a connection switch when ${what} restarts mid-stream`, async () => {
      const [pl, pc] = await freePorts(2);
      const peers = { [localId]: `${LOOPBACK}:${pl}`, [childId]: `${LOOPBACK}:${pc}` };
      const config = { nodeId: childId, clusterId: CLUSTER, listen: peers[childId], peers };
      await spawnPeer(config);
      const local = await startLocal({ nodeId: localId, listen: peers[localId] ?? '', peers });
      let next = 0;
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          local.transport.send(
            Array.from({ length: 5 }, () => heartbeat(localId, childId, next++)),
          );
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      try {
        expect(await waitUntil(() => local.inbox.length >= 200)).toBe(true);
        const [child] = [...running];
        await child?.stop('SIGKILL');
        expect(await waitUntil(() => local.unreachable.includes(childId))).toBe(true);
        const beforeRestart = local.inbox.length;
        await spawnPeer(config);
        expect(await waitUntil(() => local.inbox.length >= beforeRestart + 200)).toBe(true);
      } finally {
        streaming = false;
        await stream;
      }
      const echoed = commits(local.inbox);
      const ordered = echoed.every((commit, i) => i === 0 || commit > (echoed[i - 1] as number));
      expect(ordered, `echoes out of order: ${echoed.join(',')}`).toBe(true);
    });
  }

  it('closes a connection that sends garbage, a giant length prefix or an undecodable frame, and keeps serving the others', async () => {
    const [p1, p2, p3] = await freePorts(3);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}`, 3: `${LOOPBACK}:${p3}` };
    // The child is node 3, so a raw client claiming node 2 (a lower id) dials as a member would.
    const peer = await spawnPeer({ nodeId: 3, clusterId: CLUSTER, listen: peers[3], peers });
    const local = await startLocal({ listen: peers[1], peers });
    local.transport.send([heartbeat(1, 3, 1)]);
    expect(await waitUntil(() => local.inbox.length === 1)).toBe(true);

    // Before any handshake: bytes that are not a frame (an HTTP request: 'GET ' as a length).
    const garbage = await rawClient(p3 as number);
    garbage.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await garbage.closed;
    // After a valid handshake as node 2: a length prefix of 4 GiB - 1.
    const giant = await rawClient(p3 as number);
    giant.socket.write(hello(CLUSTER, 2, 3));
    giant.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await giant.closed;
    // After a valid handshake: a Message frame whose bytes are not a message.
    const malformed = await rawClient(p3 as number);
    malformed.socket.write(hello(CLUSTER, 2, 3));
    malformed.socket.write(frame(FrameKind.Message, Buffer.from([0xc1, 0x00, 0x13, 0x37])));
    await malformed.closed;
    // A well-formed message that claims another sender than the handshake named.
    const spoof = await rawClient(p3 as number);
    spoof.socket.write(hello(CLUSTER, 2, 3));
    const { encodeMessage } = await import('@cairn/raft');
    spoof.socket.write(frame(FrameKind.Message, encodeMessage(heartbeat(1, 3, 666))));
    await spoof.closed;

    local.transport.send([heartbeat(1, 3, 2)]);
    expect(await waitUntil(() => local.inbox.length === 2)).toBe(true);
    expect(commits(local.inbox)).toEqual([1, 2]);
    const codes = peer
      .events()
      .filter((e) => e.direction === 'inbound')
      .map((e) => e.code);
    expect(codes).toEqual([
      'FrameTooLarge',
      'FrameTooLarge',
      'MarshallingError',
      'MarshallingError',
    ]);
  });

  it('refuses a peer of another cluster or wire version, an unknown node id and a bad secret', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const peer = await spawnPeer({
      nodeId: 2,
      clusterId: CLUSTER,
      listen: peers[2],
      peers,
      secret: 'right',
    });

    // The dialer checks the acceptor's Challenge: another cluster id, so it hangs up.
    const stranger = await startLocal({
      listen: peers[1],
      peers,
      clusterId: 'other-cluster',
      secret: 'right',
    });
    stranger.transport.send([heartbeat(1, 2, 1)]);
    expect(await waitUntil(() => stranger.events.some((e) => e.code === 'HandshakeRefused'))).toBe(
      true,
    );
    await stranger.transport.close();

    // The acceptor checks the Hello: another cluster id, an unknown node id.
    const badHellos = [
      hello('other-cluster', 1, 2),
      hello(CLUSTER, 9, 2),
      hello(CLUSTER, 1, 2, WIRE_VERSION - 1),
      hello(CLUSTER, 1, 2),
    ];
    for (const bad of badHellos) {
      const client = await rawClient(p2 as number);
      client.socket.write(bad);
      await client.closed;
    }
    // A real transport with the wrong secret.
    const wrongSecret = await startLocal({ listen: peers[1], peers, secret: 'wrong' });
    wrongSecret.transport.send([heartbeat(1, 2, 1)]);
    const refusedSecret = (): boolean =>
      peer.events().filter((e) => e.detail.includes('bad secret proof')).length >= 2;
    expect(await waitUntil(refusedSecret)).toBe(true);
    expect(wrongSecret.inbox).toEqual([]);
    const details = peer.events().map((e) => `${e.code}: ${e.detail}`);
    expect(details).toContain(
      'HandshakeRefused: node 1 is in cluster "other-cluster", not "cairn-test"',
    );
    expect(details).toContain('HandshakeRefused: unknown node id 9');
    expect(details).toContain(`HandshakeRefused: wire version ${WIRE_VERSION - 1}`);
    // The raw Hello without a proof, then the transport's wrong proof.
    expect(details).toContain('HandshakeRefused: node 1: bad secret proof');
  });
});

const certificates = makeTestCertificates();
const tlsDescribe = 'skip' in certificates ? describe.skip : describe;
if ('skip' in certificates) console.warn(certificates.skip);

tlsDescribe('TcpTransport with mutual TLS between processes', () => {
  const dir = 'dir' in certificates ? certificates.dir : '';
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  afterAll(() => {
    if ('cleanup' in certificates) certificates.cleanup();
  });
  beforeAll(() => {
    expect(dir).not.toBe('');
  });

  it('talks to a peer whose certificate the cluster CA signed', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    await spawnPeer({
      nodeId: 2,
      clusterId: CLUSTER,
      listen: peers[2],
      peers,
      tlsDir: dir,
      tlsName: 'node2',
    });
    const tls = { key: read('node1.key'), cert: read('node1.crt'), ca: read('ca.crt') };
    const local = await startLocal({ listen: peers[1], peers, tls });
    local.transport.send([heartbeat(1, 2, 1), heartbeat(1, 2, 2)]);
    expect(await waitUntil(() => local.inbox.length === 2)).toBe(true);
    expect(commits(local.inbox)).toEqual([1, 2]);
  });

  it('refuses a certificate from another CA, and plain TCP', async () => {
    const [p1, p2] = await freePorts(2);
    const peers = { 1: `${LOOPBACK}:${p1}`, 2: `${LOOPBACK}:${p2}` };
    const peer = await spawnPeer({
      nodeId: 2,
      clusterId: CLUSTER,
      listen: peers[2],
      peers,
      tlsDir: dir,
      tlsName: 'node2',
    });
    // The rogue trusts the cluster CA (so it would accept node 2) but its own cert is not
    // signed by it: node 2 must refuse it.
    const tls = { key: read('rogue.key'), cert: read('rogue.crt'), ca: read('ca.crt') };
    const rogue = await startLocal({ listen: peers[1], peers, tls });
    rogue.transport.send([heartbeat(1, 2, 1)]);
    const refused = (): boolean => peer.events().some((e) => e.code === 'TlsRefused');
    expect(await waitUntil(refused)).toBe(true);
    expect(await waitUntil(() => rogue.unreachable.includes(2))).toBe(true);
    expect(rogue.inbox).toEqual([]);

    const plain = net.connect({ host: LOOPBACK, port: p2 as number });
    plain.on('error', () => {});
    const closed = once(plain, 'close');
    plain.write(hello(CLUSTER, 1, 2));
    await closed;
    expect(rogue.inbox).toEqual([]);
  });
});
