// Mutual TLS ties each certificate to a node id (node-identity.ts), in one process on
// 127.0.0.1 with certificates made by `openssl` at test time. It proves, on both sides of a
// connection: an acceptor refuses a dialer whose certificate (valid, signed by the cluster CA)
// names node 1 while its Hello claims node 2; a dialer refuses a server whose certificate
// names another node than the one it dialed, and one whose certificate another CA signed;
// and members holding their own certificates still talk both ways. Refusals are asserted by
// their `code` and by nothing reaching the other side. Waits are bounded polls.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '@cairn/raft';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TcpTransport, type TransportEvent } from '../src/index.js';
import { makeTestCertificates } from './certs.js';
import { eventLog, freePorts, heartbeat, LOOPBACK, pause, waitUntil } from './helpers.js';

const certificates = makeTestCertificates();
const tlsDescribe = 'skip' in certificates ? describe.skip : describe;
if ('skip' in certificates) console.warn(certificates.skip);
const dir = 'dir' in certificates ? certificates.dir : '';
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

interface Member {
  transport: TcpTransport;
  inbox: Message[];
  events: TransportEvent[];
}

const started: TcpTransport[] = [];

/** Node `nodeId` listening on `peers[nodeId]`, presenting `<certName>.crt` and trusting `ca`. */
async function member(
  nodeId: number,
  certName: string,
  peers: Record<number, string>,
  ca = 'ca.crt',
): Promise<Member> {
  const log = eventLog();
  const transport = new TcpTransport({
    nodeId,
    clusterId: 'tls-identity',
    listen: peers[nodeId] ?? '',
    peers,
    reconnect: { baseMs: 10, maxMs: 50 },
    tls: { key: read(`${certName}.key`), cert: read(`${certName}.crt`), ca: read(ca) },
    onEvent: log.listener,
  });
  started.push(transport);
  const inbox: Message[] = [];
  transport.onMessage((message) => inbox.push(message));
  transport.onUnreachable(() => {});
  await transport.start();
  return { transport, inbox, events: log.events };
}

async function loopbackPeers(count: number): Promise<Record<number, string>> {
  const ports = await freePorts(count);
  const peers: Record<number, string> = {};
  ports.forEach((port, i) => {
    peers[i + 1] = `${LOOPBACK}:${port}`;
  });
  return peers;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});
afterAll(() => {
  if ('cleanup' in certificates) certificates.cleanup();
});

tlsDescribe('TLS certificates are tied to node ids', () => {
  it('lets members with their own certificates talk both ways', async () => {
    const peers = await loopbackPeers(2);
    const one = await member(1, 'node1', peers);
    const two = await member(2, 'node2', peers);
    one.transport.send([heartbeat(1, 2, 1)]);
    two.transport.send([heartbeat(2, 1, 2)]);
    expect(await waitUntil(() => one.inbox.length === 1 && two.inbox.length === 1)).toBe(true);
    expect(one.events).toEqual([]);
    expect(two.events).toEqual([]);
    // Both directions on one connection (node 1 dialed it), certificates checked both ways.
    const counts = (): string =>
      JSON.stringify([one.transport.connectionCounts(), two.transport.connectionCounts()]);
    const expected = JSON.stringify([
      { dialed: 1, accepted: 0 },
      { dialed: 0, accepted: 1 },
    ]);
    expect(await waitUntil(() => counts() === expected)).toBe(true);
  });

  it('refuses a dialer whose Hello claims node 2 while its certificate names node 1', async () => {
    const peers = await loopbackPeers(3);
    const three = await member(3, 'node3', peers);
    const impostor = await member(2, 'node1', peers);
    impostor.transport.send([heartbeat(2, 3, 1)]);
    const refused = (): boolean =>
      three.events.some((e) => e.code === 'TlsRefused' && e.direction === 'inbound');
    expect(await waitUntil(refused)).toBe(true);
    const event = three.events.find((e) => e.code === 'TlsRefused');
    expect(event?.detail).toBe(
      'Hello claims node 2: certificate names DNS:cairn-node-1, not cairn-node-2',
    );
    await pause(20);
    expect(three.inbox).toEqual([]);
  });

  it('refuses to send to a server whose certificate names another node than the one dialed', async () => {
    const peers = await loopbackPeers(3);
    const three = await member(3, 'node3', peers);
    // Listens at node 2's address holding node 1's valid certificate.
    const impostor = await member(2, 'node1', peers);
    three.transport.send([heartbeat(3, 2, 1)]);
    const refused = (): boolean =>
      three.events.some((e) => e.code === 'TlsRefused' && e.direction === 'outbound');
    expect(await waitUntil(refused)).toBe(true);
    const event = three.events.find((e) => e.code === 'TlsRefused');
    expect(event?.detail).toContain('certificate names DNS:cairn-node-1, not cairn-node-2');
    await pause(20);
    expect(impostor.inbox).toEqual([]);
  });

  it('refuses to send to a server whose certificate another CA signed', async () => {
    const peers = await loopbackPeers(2);
    const one = await member(1, 'node1', peers);
    // Names node 2 and trusts the cluster CA, but its own certificate is the rogue CA's.
    const rogue = await member(2, 'rogue', peers);
    one.transport.send([heartbeat(1, 2, 1)]);
    const refused = (): boolean =>
      one.events.some((e) => e.code === 'TlsRefused' && e.direction === 'outbound');
    expect(await waitUntil(refused)).toBe(true);
    await pause(20);
    expect(rogue.inbox).toEqual([]);
  });
});
