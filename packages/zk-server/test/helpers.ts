/**
 * Shared pieces of the zk-server tests: a one-member node on level in a temporary folder with a
 * server on 127.0.0.1 port 0, node-zookeeper-client calls as promises, and `RawClient`, which
 * speaks jute frames over a plain socket so tests can send what no client library would.
 * Every wait is bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CairnNode, createNode } from '@cairn/node';
import { createZkServer, type ZkServer, type ZkServerOptions } from '@cairn/zk-server';
import { JuteReader, JuteWriter } from '../src/jute.js';

export const WAIT_MS = 10_000;

export interface Harness {
  readonly node: CairnNode;
  readonly server: ZkServer;
  readonly port: number;
  close(): Promise<void>;
}

/** A one-member node (tickMs 20, session timeouts from 500 ms) and its server. */
export async function startHarness(options: ZkServerOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-zk-server-'));
  const node = await createNode({ id: 1, dataDir: dir, tickMs: 20, sessionTimeoutMinMs: 500 });
  const server = await createZkServer(node, { port: 0, minSessionTimeoutMs: 500, ...options });
  return {
    node,
    server,
    port: server.address().port,
    close: async () => {
      await server.close();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A free loopback port (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

type Callback = (error: unknown, ...results: unknown[]) => void;
type Call = (...args: [string, ...unknown[]]) => void;

/** The part of node-zookeeper-client the tests use (it ships no types). */
export interface ZkClient {
  connect(): void;
  close(): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  getState(): { name: string; code: number };
  addAuthInfo(scheme: string, auth: Buffer): void;
  create: Call;
  remove: Call;
  exists: Call;
  getData: Call;
  setData: Call;
  getChildren: Call;
  getACL: Call;
  setACL: Call;
  transaction(): ZkTransaction;
}

export interface ZkTransaction {
  create(...args: unknown[]): ZkTransaction;
  remove(...args: unknown[]): ZkTransaction;
  setData(...args: unknown[]): ZkTransaction;
  check(...args: unknown[]): ZkTransaction;
  commit(callback: Callback): void;
}

export interface ZkModule {
  createClient(
    connectionString: string,
    options?: { sessionTimeout?: number; spinDelay?: number; retries?: number },
  ): ZkClient;
  CreateMode: Record<
    'PERSISTENT' | 'EPHEMERAL' | 'PERSISTENT_SEQUENTIAL' | 'EPHEMERAL_SEQUENTIAL',
    number
  >;
  Permission: Record<'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'ADMIN' | 'ALL', number>;
  ACL: (new (perms: number, id: unknown) => unknown) & { OPEN_ACL_UNSAFE: unknown[] };
  Id: new (scheme: string, id: string) => unknown;
}

export const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;

/** A connected node-zookeeper-client. */
export async function connectClient(
  connectionString: string,
  options: { sessionTimeout?: number; spinDelay?: number } = {},
): Promise<ZkClient> {
  const client = zookeeper.createClient(connectionString, {
    sessionTimeout: options.sessionTimeout ?? 4000,
    spinDelay: options.spinDelay ?? 50,
    retries: 0,
  });
  await withTimeout(
    new Promise<void>((resolve) => {
      client.once('connected', () => resolve());
      client.connect();
    }),
    'client connected',
  );
  return client;
}

/** A node-zookeeper-client callback call as a promise of its results. */
export function call<T = unknown>(start: (callback: Callback) => void): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve, reject) => {
      start((error, ...results) => {
        if (error) reject(error);
        else resolve((results.length <= 1 ? results[0] : results) as T);
      });
    }),
    'client call',
  );
}

/** The client error's code name (`BAD_VERSION`), or `OK`. */
export async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
    throw error;
  }
}

export function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

/** Polls `predicate` every 10 ms until it holds, at most `ms`. */
export async function until(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export interface RawReply {
  readonly xid: number;
  readonly zxid: bigint;
  readonly err: number;
  readonly body: JuteReader;
}

/** Jute frames over a bare socket: the handshake, requests, and every frame the server sends. */
export class RawClient {
  readonly frames: Buffer[] = [];
  closed = false;
  private input = Buffer.alloc(0);
  private xid = 0;
  sessionId = 0n;
  password: Buffer = Buffer.alloc(16);
  timeoutMs = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.input = Buffer.concat([this.input, chunk]);
      while (this.input.length >= 4) {
        const length = this.input.readInt32BE(0);
        if (this.input.length < length + 4) break;
        this.frames.push(this.input.subarray(4, length + 4));
        this.input = this.input.subarray(length + 4);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async open(port: number): Promise<RawClient> {
    const socket = new Socket();
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, '127.0.0.1', () => resolve());
      }),
      'socket connected',
    );
    return new RawClient(socket);
  }

  /** Opens a socket and does the handshake (with the readOnly byte unless `legacy`). */
  static async connect(
    port: number,
    options: {
      sessionId?: bigint;
      password?: Buffer;
      timeoutMs?: number;
      lastZxidSeen?: bigint;
      legacy?: boolean;
    } = {},
  ): Promise<RawClient> {
    const client = await RawClient.open(port);
    const w = new JuteWriter()
      .int(0)
      .long(options.lastZxidSeen ?? 0n)
      .int(options.timeoutMs ?? 4000)
      .long(options.sessionId ?? 0n)
      .buffer(options.password ?? Buffer.alloc(16));
    if (!options.legacy) w.boolean(false);
    client.socket.write(w.finish());
    const frame = await client.nextFrame();
    const r = new JuteReader(frame);
    r.int();
    client.timeoutMs = r.int();
    client.sessionId = r.long();
    client.password = Buffer.from(r.buffer() ?? Buffer.alloc(0));
    return client;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request (next xid unless given); resolves to its xid. */
  send(type: number, body: (w: JuteWriter) => void = () => {}, xid?: number): number {
    const id = xid ?? ++this.xid;
    const w = new JuteWriter().int(id).int(type);
    body(w);
    this.socket.write(w.finish());
    return id;
  }

  /** Sends a request and reads frames until its reply (notifications before it are kept in `events`). */
  async request(
    type: number,
    body: (w: JuteWriter) => void = () => {},
    xid?: number,
  ): Promise<RawReply> {
    const id = this.send(type, body, xid);
    for (;;) {
      const reply = await this.nextReply();
      if (reply.xid === -1) {
        this.events.push(readEvent(reply.body));
        continue;
      }
      if (reply.xid !== id) throw new Error(`reply xid ${reply.xid}, expected ${id}`);
      return reply;
    }
  }

  readonly events: { type: number; state: number; path: string }[] = [];

  async nextReply(): Promise<RawReply> {
    const frame = await this.nextFrame();
    const body = new JuteReader(frame);
    return { xid: body.int(), zxid: body.long(), err: body.int(), body };
  }

  async nextFrame(ms = WAIT_MS): Promise<Buffer> {
    await until(() => this.frames.length > 0 || this.closed, 'a frame', ms);
    const frame = this.frames.shift();
    if (frame === undefined) throw new Error('the server closed the connection');
    return frame;
  }

  /** Waits until the server closes the socket. */
  async waitClosed(ms = WAIT_MS): Promise<void> {
    await until(() => this.closed, 'the server to close the connection', ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function readEvent(r: JuteReader): { type: number; state: number; path: string } {
  return { type: r.int(), state: r.int(), path: r.string() ?? '' };
}

/** Sends `word` on a fresh socket and collects the text until the server closes. */
export async function fourLetterWord(port: number, word: string): Promise<string> {
  const socket = new Socket();
  const chunks: Buffer[] = [];
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.connect(port, '127.0.0.1', () => socket.write(word));
    }),
    `the answer to ${word}`,
  );
  return Buffer.concat(chunks).toString('utf8');
}
