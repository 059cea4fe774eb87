/**
 * A minimal ZooKeeper wire client (the 3.8 protocol, jute framing from `@cairn/zk-server`) for
 * `cairn shell`: one connection. The handshake (new session, or an existing one by id and
 * password with the last zxid seen), requests matched to replies by xid, pings at a third of
 * the session timeout, a read timeout of two thirds of it (as ZooKeeper's client), watch
 * notifications, closeSession. `ZkSession` moves a session between hosts on top of it. It speaks
 * to Cairn or to ZooKeeper alike.
 */
import { connect, type Socket } from 'node:net';
import { JuteReader, JuteWriter, OP_CODES } from '@cairn/zk-server';

export interface ZkStat {
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly ctime: bigint;
  readonly mtime: bigint;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: bigint;
}

export function readStat(r: JuteReader): ZkStat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

/** A watch notification as the server sent it. */
export interface ZkEvent {
  readonly type: number;
  readonly state: number;
  readonly path: string;
}

/** A reply whose header carried a non-zero `err`. */
export class ZkReplyError extends Error {
  override readonly name = 'ZkReplyError';
  constructor(
    readonly code: number,
    readonly path: string,
    message = `error ${code} for ${path}`,
  ) {
    super(message);
  }
}

/** ZooKeeper's SessionExpired code: the handshake refused the session. */
export const SESSION_EXPIRED = -112;
/** ZooKeeper's ConnectionLoss code: the connection ended before the reply. */
export const CONNECTION_LOSS = -4;

/** How to open a connection: a new session, or an existing one (id, password, last zxid seen). */
export interface ZkConnectOptions {
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly sessionId?: bigint;
  readonly password?: Uint8Array;
  readonly lastZxidSeen?: bigint;
}

/** The connection ended: pending requests failed with this, `code` is ConnectionLoss. */
export class ZkConnectionLossError extends Error {
  override readonly name = 'ZkConnectionLossError';
  readonly code = CONNECTION_LOSS;
}

const NOTIFICATION_XID = -1;
const PING_XID = -2;
/** Largest reply frame accepted (ZooKeeper's jute.maxbuffer plus headers). */
const FRAME_BYTES_MAX = 4 * 1024 * 1024;

interface Pending {
  resolve(reader: JuteReader): void;
  reject(error: Error): void;
  readonly path: string;
}

export class ZkClient {
  private input: Buffer = Buffer.alloc(0);
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: ((event: ZkEvent) => void)[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private handshake: ((reader: JuteReader) => void) | null = null;
  private failure: Error | null = null;
  private readonly closeListeners: ((error: Error) => void)[] = [];
  private lastReceivedAt = Date.now();
  sessionId = 0n;
  timeoutMs = 0;
  password: Uint8Array = new Uint8Array(16);
  /** The highest zxid a reply carried (ZooKeeper's lastZxid, sent back on reconnect). */
  lastZxid = 0n;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) =>
      this.fail(new ZkConnectionLossError(error.message, { cause: error })),
    );
    socket.on('close', () =>
      this.fail(new ZkConnectionLossError('connection closed by the server')),
    );
  }

  /** Connects and opens a session; rejects after `connectTimeoutMs`. */
  static async connect(
    host: string,
    port: number,
    options: ZkConnectOptions = {},
  ): Promise<ZkClient> {
    const socket = connect({ host, port });
    const client = new ZkClient(socket);
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(
      () =>
        client.fail(
          new ZkConnectionLossError(
            `no session from ${host}:${port} within ${connectTimeoutMs} ms`,
          ),
        ),
      connectTimeoutMs,
    );
    try {
      await new Promise<void>((resolve, reject) => {
        client.pending.set(0, { resolve: () => resolve(), reject, path: '' });
        client.handshake = (r) => {
          r.int(); // protocolVersion
          client.timeoutMs = r.int();
          client.sessionId = r.long();
          client.password = r.buffer() ?? new Uint8Array(16);
          if (client.timeoutMs <= 0)
            client.fail(new ZkReplyError(SESSION_EXPIRED, '', 'the server refused the session'));
          else {
            client.pending.delete(0);
            resolve();
          }
        };
        socket.write(
          new JuteWriter()
            .int(0)
            .long(options.lastZxidSeen ?? 0n)
            .int(options.sessionTimeoutMs ?? 30_000)
            .long(options.sessionId ?? 0n)
            .buffer(options.password ?? new Uint8Array(16))
            .boolean(false)
            .finish(),
        );
      });
    } finally {
      clearTimeout(timer);
    }
    client.lastZxid = options.lastZxidSeen ?? 0n;
    client.lastReceivedAt = Date.now();
    const readTimeoutMs = Math.floor((client.timeoutMs * 2) / 3);
    client.pingTimer = setInterval(
      () => {
        if (Date.now() - client.lastReceivedAt > readTimeoutMs)
          client.fail(
            new ZkConnectionLossError(`no reply from ${host}:${port} within ${readTimeoutMs} ms`),
          );
        else socket.write(new JuteWriter().int(PING_XID).int(OP_CODES.ping).finish());
      },
      Math.max(100, Math.floor(client.timeoutMs / 3)),
    );
    client.pingTimer.unref();
    return client;
  }

  onEvent(listener: (event: ZkEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Called once when the connection ends, by either side (not after `close()`). */
  onClose(listener: (error: Error) => void): void {
    if (this.failure !== null) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.failure !== null;
  }

  /** Sends one request; resolves with a reader over the reply body, rejects with `ZkReplyError`. */
  request(type: number, path: string, body: (w: JuteWriter) => void): Promise<JuteReader> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const xid = this.nextXid++;
    const w = new JuteWriter().int(xid).int(type);
    body(w);
    return new Promise((resolve, reject) => {
      this.pending.set(xid, { resolve, reject, path });
      this.socket.write(w.finish());
    });
  }

  /** closeSession, then the socket. */
  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    this.closeListeners.length = 0;
    if (this.failure === null)
      await this.request(OP_CODES.closeSession, '', () => {}).catch(() => {});
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    while (this.input.length >= 4) {
      const length = this.input.readInt32BE(0);
      if (length < 0 || length > FRAME_BYTES_MAX) {
        this.fail(new Error(`bad frame length ${length}`));
        return;
      }
      if (this.input.length < length + 4) return;
      const frame = this.input.subarray(4, length + 4);
      this.input = this.input.subarray(length + 4);
      this.frame(new JuteReader(frame));
    }
  }

  private frame(r: JuteReader): void {
    if (this.handshake !== null) {
      const handshake = this.handshake;
      this.handshake = null;
      handshake(r);
      return;
    }
    this.lastReceivedAt = Date.now();
    const xid = r.int();
    const zxid = r.long();
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    const err = r.int();
    if (xid === PING_XID) return;
    if (xid === NOTIFICATION_XID) {
      const event = { type: r.int(), state: r.int(), path: r.text() };
      for (const listener of this.listeners) listener(event);
      return;
    }
    const pending = this.pending.get(xid);
    if (pending === undefined) return;
    this.pending.delete(xid);
    if (err !== 0) pending.reject(new ZkReplyError(err, pending.path));
    else pending.resolve(r);
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    clearInterval(this.pingTimer);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.socket.destroy();
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
