/**
 * One client connection: framing, the handshake, and the per-connection request queue.
 *
 * Ordering (ZOOKEEPER.md §5.1, §5.4): replies leave strictly in request order. Writes start as
 * soon as they arrive (the session numbers them, so they apply in order); a read starts only once
 * every earlier request is answered, so it reflects them, and a write never starts ahead of a
 * read that arrived before it. Notifications go out when the change applies, except while a read
 * is running: then they wait for its reply, so a client never hears of a change to a watch before
 * the reply that set the watch.
 *
 * Invariant: `slots` holds started requests in arrival order; its head is unanswered or the
 * connection is flushing; `waiting` holds decoded requests not yet started, in arrival order.
 */
import type { Socket } from 'node:net';
import {
  type CairnNode,
  EVENT_TYPES,
  isCairnError,
  type Session,
  SessionExpiredError,
  type WatchEvent,
} from '@cairn/node';
import { JuteReader, JuteWriter, MalformedRecordError } from './jute.js';
import {
  decodeOperation,
  type Operation,
  type OperationContext,
  type Reply,
} from './operations.js';
import type { ResolvedServerOptions } from './options.js';
import {
  CONNECT_REQUEST_BYTES_MIN,
  KEEPER_STATES,
  OP_CODES,
  PASSWORD_BYTES,
  readConnectRequest,
  XIDS,
} from './records.js';
import type { ServerStats } from './stats.js';
import { toWireError } from './wire-errors.js';

/** What a connection needs from its server. */
export interface ServerContext {
  readonly node: CairnNode;
  readonly options: ResolvedServerOptions;
  readonly stats: ServerStats;
  /** Answers a four-letter word and closes; called with the first four bytes. */
  fourLetterWord(word: string, connection: Connection): void;
  /** Called once, when the connection is gone. */
  closed(connection: Connection): void;
}

interface Slot {
  readonly xid: number;
  readonly type: number;
  readonly startedAt: number;
  readonly ordered: 'read' | 'write';
  frame: Buffer | null;
  close: boolean;
}

interface Waiting {
  readonly xid: number;
  readonly type: number;
  readonly op: Operation;
}

/** Unanswered bytes queued on a socket before the client is deemed too slow and dropped. */
const SOCKET_BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

export class Connection {
  state: 'handshake' | 'connecting' | 'open' | 'closed' = 'handshake';
  session: Session | null = null;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly openedAt = Date.now();
  packetsReceived = 0;
  packetsSent = 0;
  /** Paths watched by this connection's client, by kind (for wchs). */
  readonly watches = new Map<string, Set<string>>();
  private input: Buffer = Buffer.alloc(0);
  private legacy = true;
  private lastZxid = 0;
  private readonly slots: Slot[] = [];
  private readonly waiting: Waiting[] = [];
  private heldNotifications: Buffer[] = [];
  private readsRunning = 0;
  private paused = false;
  /** The socket is corked until the current turn's replies are all written (see `send`). */
  private corked = false;
  private closingAfterFlush = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly authUsers: { scheme: string; user: string }[] = [];

  constructor(
    readonly socket: Socket,
    private readonly server: ServerContext,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    // A client that never finishes its handshake is dropped like an idle session.
    socket.setTimeout(server.options.maxSessionTimeoutMs, () => this.destroy());
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.onClose());
  }

  /** Requests started or waiting, not yet answered. */
  get outstanding(): number {
    return this.slots.length + this.waiting.length;
  }

  /** Writes raw text (a four-letter word's answer) and closes. */
  endWith(text: string): void {
    this.socket.end(text);
    this.state = 'closed';
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- input ---------------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    this.parse();
  }

  /** Cuts frames off the input while the connection may take them. */
  private parse(): void {
    while (this.input.length >= 4 && (this.state === 'handshake' || this.state === 'open')) {
      if (this.paused || this.closingAfterFlush) return;
      if (this.state === 'handshake') {
        const word = this.input.subarray(0, 4).toString('latin1');
        if (/^[a-z]{4}$/.test(word)) {
          this.server.fourLetterWord(word, this);
          return;
        }
      }
      const length = this.input.readInt32BE(0);
      if (length < 0 || length > this.server.options.maxFrameBytes) {
        this.destroy();
        return;
      }
      if (this.input.length < length + 4) return;
      const frame = this.input.subarray(4, length + 4);
      this.input = this.input.subarray(length + 4);
      this.packetsReceived++;
      this.server.stats.packetsReceived++;
      try {
        if (this.state === 'handshake') this.handshake(frame);
        else this.request(frame);
      } catch (error) {
        if (!(error instanceof MalformedRecordError)) throw error;
        this.destroy();
        return;
      }
    }
  }

  // ---- handshake -----------------------------------------------------------------------------

  private handshake(frame: Buffer): void {
    if (frame.length < CONNECT_REQUEST_BYTES_MIN)
      throw new MalformedRecordError(`ConnectRequest of ${frame.length} bytes`);
    const request = readConnectRequest(new JuteReader(frame));
    this.legacy = !request.readOnlyByteSent;
    // Single system image: a client that saw more than this member holds goes elsewhere. Checked
    // before the session is touched, as ZooKeeper does, so the connection that holds it keeps it.
    if (request.lastZxidSeen > this.server.node.applied) {
      this.destroy();
      return;
    }
    this.state = 'connecting';
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.server.options;
    const timeoutMs = Math.min(
      Math.max(request.timeoutMs, minSessionTimeoutMs),
      maxSessionTimeoutMs,
    );
    void this.establish(request.sessionId, request.password, timeoutMs).then(
      (session) => this.opened(session, request.sessionId === 0n),
      (error: unknown) => {
        if (isCairnError(error) && error.code === 'SessionExpired') this.refuseExpired();
        else this.destroy();
      },
    );
  }

  private async establish(id: bigint, password: Uint8Array, timeoutMs: number): Promise<Session> {
    const node = this.server.node;
    if (id === 0n) return node.session({ timeoutMs });
    if (password.length !== PASSWORD_BYTES)
      throw new SessionExpiredError(undefined, { message: 'a session password has 16 bytes' });
    return node.attachSession(id as Session['id'], password);
  }

  /** Expired or unknown session: timeOut 0, session 0, a zero password, then close (§1.6). */
  private refuseExpired(): void {
    if (this.state === 'closed') return;
    const w = new JuteWriter().int(0).int(0).long(0n).buffer(new Uint8Array(PASSWORD_BYTES));
    if (!this.legacy) w.boolean(false);
    this.socket.end(w.finish());
    this.state = 'closed';
  }

  private opened(session: Session, created: boolean): void {
    if (this.state === 'closed') {
      // The client left during the handshake: a new session nobody knows of is closed; a moved
      // one waits for the client to come back (or expires).
      session.setLive(false);
      if (created) void session.close().catch(() => {});
      return;
    }
    this.session = session;
    session.setLive(true);
    this.unsubscribe.push(session.onNotification((event) => this.notify(event)));
    this.unsubscribe.push(
      session.onStateChange((state) => {
        if (state === 'expired') this.expired();
        else if (state === 'closed' && !this.closingAfterFlush) this.destroy();
      }),
    );
    const w = new JuteWriter()
      .int(0)
      .int(session.timeoutMs)
      .long(session.id)
      .buffer(session.password);
    if (!this.legacy) w.boolean(false);
    this.send(w.finish());
    this.state = 'open';
    this.socket.setTimeout(session.timeoutMs, () => this.destroy());
    this.parse();
  }

  // ---- requests ------------------------------------------------------------------------------

  private request(frame: Buffer): void {
    const reader = new JuteReader(frame);
    const xid = reader.int();
    const type = reader.int();
    const op = decodeOperation(type, reader, this.context());
    this.waiting.push({ xid, type, op });
    if (type === OP_CODES.closeSession) this.closingAfterFlush = true;
    this.pump();
    this.throttle();
  }

  private context(): OperationContext {
    const session = this.session;
    if (session === null) throw new MalformedRecordError('request before the handshake');
    return {
      session,
      legacy: this.legacy,
      remoteAddress: this.remoteAddress,
      authUsers: this.authUsers,
      noteWatch: (path, kind) => {
        let kinds = this.watches.get(path);
        if (kinds === undefined) {
          kinds = new Set();
          this.watches.set(path, kinds);
        }
        kinds.add(kind);
      },
    };
  }

  /** Starts what may start: writes unless a read waits ahead of them; a read once all before it is answered. */
  private pump(): void {
    while (this.state === 'open') {
      const head = this.waiting[0];
      if (head === undefined) return;
      if (head.op.ordered === 'read' && this.slots.length > 0) return;
      this.waiting.shift();
      this.start(head);
    }
  }

  private start(request: Waiting): void {
    const slot: Slot = {
      xid: request.xid,
      type: request.type,
      startedAt: Date.now(),
      ordered: request.op.ordered,
      frame: null,
      close: false,
    };
    this.slots.push(slot);
    if (slot.ordered === 'read') this.readsRunning++;
    let outcome: Reply | Promise<Reply>;
    try {
      outcome = request.op.run();
    } catch (error) {
      this.fail(slot, error);
      return;
    }
    if (outcome instanceof Promise)
      outcome.then(
        (reply) => this.complete(slot, reply),
        (error: unknown) => this.fail(slot, error),
      );
    else this.complete(slot, outcome);
  }

  private fail(slot: Slot, error: unknown): void {
    const wire = toWireError(error, this.legacy);
    if (wire.close) {
      this.destroy();
      return;
    }
    this.complete(slot, { err: wire.err });
  }

  private complete(slot: Slot, reply: Reply): void {
    if (slot.ordered === 'read') this.readsRunning--;
    this.server.stats.observeLatency(Date.now() - slot.startedAt);
    const w = new JuteWriter().int(slot.xid).long(this.zxid()).int(reply.err);
    if (reply.err === 0) reply.body?.(w);
    slot.frame = w.finish();
    slot.close = reply.close === true;
    this.flush();
  }

  /** Sends answered replies from the head of the queue, then held notifications, then starts more. */
  private flush(): void {
    for (;;) {
      const head = this.slots[0];
      if (head === undefined || head.frame === null) break;
      this.slots.shift();
      this.send(head.frame);
      if (head.close) {
        this.closeAfterSend();
        return;
      }
    }
    if (this.readsRunning === 0 && this.heldNotifications.length > 0) {
      const held = this.heldNotifications;
      this.heldNotifications = [];
      for (const frame of held) this.send(frame);
    }
    this.pump();
    this.throttle();
  }

  /** The reply header's zxid: the node's applied index, never lower than one sent before. */
  private zxid(): number {
    this.lastZxid = Math.max(this.lastZxid, this.server.node.applied);
    return this.lastZxid;
  }

  // ---- notifications and session events ------------------------------------------------------

  private notify(event: WatchEvent): void {
    if (this.state !== 'open') return;
    const kinds = this.watches.get(event.path);
    if (kinds !== undefined) {
      kinds.delete('data');
      if (event.type === 'NodeDeleted' || event.type === 'NodeChildrenChanged')
        kinds.delete('child');
      if (kinds.size === 0) this.watches.delete(event.path);
    }
    // 3.8 sends -1 as the notification's zxid (3.9 sends the change's zxid).
    const frame = new JuteWriter()
      .int(XIDS.notification)
      .long(-1)
      .int(0)
      .int(EVENT_TYPES[event.type])
      .int(KEEPER_STATES.SyncConnected)
      .string(event.path)
      .finish();
    if (this.readsRunning > 0) this.heldNotifications.push(frame);
    else this.send(frame);
  }

  /**
   * The cluster expired the session. ZooKeeper just closes the connection (the client learns on
   * reconnect); clients that sent the readOnly byte also understand an Expired event, so they
   * get one first. node-zookeeper-client throws on any event type it does not know.
   */
  private expired(): void {
    if (this.state !== 'open') return;
    if (!this.legacy)
      this.send(
        new JuteWriter()
          .int(XIDS.notification)
          .long(-1)
          .int(0)
          .int(EVENT_TYPES.None)
          .int(KEEPER_STATES.Expired)
          .string('')
          .finish(),
      );
    this.socket.end();
    this.state = 'closed';
  }

  // ---- output and teardown -------------------------------------------------------------------

  private send(frame: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.packetsSent++;
    this.server.stats.packetsSent++;
    // The replies of one applied batch (and their notifications) leave in one write: corked
    // until the promise chains that produce them have run (a nextTick queued from a microtask
    // runs once the microtask queue is empty), instead of one syscall per reply.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
    if (this.socket.writableLength > SOCKET_BACKLOG_BYTES_MAX) this.destroy();
  }

  private closeAfterSend(): void {
    this.state = 'closed';
    this.socket.end();
  }

  /** Stops reading from a client with too many unanswered requests; resumes below half. */
  private throttle(): void {
    const max = this.server.options.outstandingRequestsMax;
    if (!this.paused && this.outstanding >= max) {
      this.paused = true;
      this.socket.pause();
    } else if (this.paused && this.outstanding < max / 2) {
      this.paused = false;
      this.socket.resume();
      this.parse();
    }
  }

  private onClose(): void {
    this.state = 'closed';
    for (const off of this.unsubscribe.splice(0)) off();
    // The session outlives its connection: the cluster expires it unless the client comes back.
    if (this.session !== null && !this.closingAfterFlush) this.session.setLive(false);
    this.server.closed(this);
  }
}
