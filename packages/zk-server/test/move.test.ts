/**
 * Sessions move between members. Three real nodes in this process on TCP loopback, each with a
 * zk-server. node-zookeeper-client connects through a small TCP relay to member 1's server,
 * creates an ephemeral and sets watches; the relay then drops it and refuses it while another
 * client changes the watched znodes, and sends it to member 2's server when it reconnects. The
 * client reconnects with its session id and password, the session moves (attachSession), the
 * ephemeral survives, and setWatches fires the events it missed. A raw handshake to member 3
 * with the same id and password then moves it again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CairnNode, createNode } from '@cairn/node';
import { createZkServer, type ZkServer } from '@cairn/zk-server';
import { afterEach, expect, it } from 'vitest';
import { OP_CODES } from '../src/records.js';
import {
  call,
  connectClient,
  freePort,
  RawClient,
  until,
  type ZkClient,
  zookeeper,
} from './helpers.js';

interface Member {
  node: CairnNode;
  server: ZkServer;
}

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A TCP relay whose target can change; `refuse` drops new and current connections. */
async function relay(): Promise<{ port: number; target: number; refuse: boolean; drop(): void }> {
  const sockets = new Set<Socket>();
  const state = { port: 0, target: 0, refuse: false, drop: () => {} };
  const server: Server = createServer((client) => {
    if (state.refuse) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.connect(state.target, '127.0.0.1', () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  state.drop = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        state.drop();
        server.close(() => resolve());
      }),
  );
  return state;
}

async function cluster(): Promise<Member[]> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers: Record<number, string> = {};
  ports.forEach((port, i) => {
    peers[i + 1] = `127.0.0.1:${port}`;
  });
  const members = await Promise.all(
    ports.map(async (_, i) => {
      const dataDir = mkdtempSync(join(tmpdir(), `cairn-zk-move-${i + 1}-`));
      const node = await createNode({
        id: i + 1,
        dataDir,
        listen: peers[i + 1] as string,
        peers,
        tickMs: 20,
        sessionTimeoutMinMs: 500,
      });
      const server = await createZkServer(node, { port: 0, minSessionTimeoutMs: 500 });
      stops.push(async () => {
        await server.close();
        await node.close();
        rmSync(dataDir, { recursive: true, force: true });
      });
      return { node, server };
    }),
  );
  await until(() => members.some((m) => m.node.status().role === 'leader'), 'a leader', 20_000);
  return members;
}

it('a client moves its session to another member: the ephemeral survives, missed watches fire', async () => {
  const [one, two, three] = (await cluster()) as [Member, Member, Member];
  const hop = await relay();
  hop.target = one.server.address().port;
  const client = await connectClient(`127.0.0.1:${hop.port}`, { sessionTimeout: 6000 });
  stops.push(() => client.close());
  const other: ZkClient = await connectClient(`127.0.0.1:${three.server.address().port}`);
  stops.push(() => other.close());
  await call((cb) => client.create('/owned', Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL, cb));
  await call((cb) => client.create('/watched', Buffer.from('0'), cb));
  const events: string[] = [];
  const watcher = (event: { name: string; path: string }): void => {
    events.push(`${event.name} ${event.path}`);
  };
  await call((cb) => client.getData('/watched', watcher, cb));
  await call((cb) => client.exists('/appears', watcher, cb));
  // Away: the relay drops the client and refuses it while another client changes things.
  hop.refuse = true;
  hop.drop();
  await call((cb) => other.setData('/watched', Buffer.from('1'), -1, cb));
  await call((cb) => other.create('/appears', Buffer.alloc(0), cb));
  expect(events).toEqual([]);
  // Back, to member 2: same session, its watches re-sent with setWatches.
  hop.target = two.server.address().port;
  hop.refuse = false;
  await until(() => events.length === 2, 'the missed events after the move', 15_000);
  expect([...events].sort()).toEqual(['NODE_CREATED /appears', 'NODE_DATA_CHANGED /watched']);
  const stat = await call<{ ephemeralOwner: Buffer }>((cb) => other.exists('/owned', cb));
  expect(stat?.ephemeralOwner.equals(client.getSessionId())).toBe(true);
  // The session is usable on member 2.
  expect(await call((cb) => client.create('/after-move', Buffer.alloc(0), cb))).toBe('/after-move');

  // A raw handshake to member 3 with the same id and password moves it once more.
  hop.refuse = true;
  hop.drop();
  const raw = await RawClient.connect(three.server.address().port, {
    sessionId: client.getSessionId().readBigInt64BE(0),
    password: client.getSessionPassword(),
    timeoutMs: 6000,
  });
  stops.push(() => raw.close());
  expect(raw.timeoutMs).toBe(6000);
  const ephemerals = await raw.request(OP_CODES.getEphemerals, (w) => w.string('/'));
  expect(ephemerals.body.vector((r) => r.text(), 4)).toEqual(['/owned']);
  // Closing there ends the session: its ephemeral goes, everywhere.
  expect((await raw.request(OP_CODES.closeSession)).err).toBe(0);
  await until(
    () => [one, two, three].every((m) => m.node.status().sessions === 1),
    'the closed session gone on every member',
  );
  expect(await call((cb) => other.exists('/owned', cb))).toBeNull();
});
