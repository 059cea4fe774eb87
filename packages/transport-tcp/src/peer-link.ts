import type * as net from 'node:net';
import type { Message, NodeId } from '@cairn/raft';
import {
  Connection,
  type ConnectionContext,
  type ConnectionOwner,
  dialSocket,
} from './connection.js';
import { TransportError, type TransportErrorCode } from './errors.js';
import { backoffDelayMs } from './options.js';
import { PeerSender } from './peer-sender.js';
import type { Hello } from './wire.js';

export interface LinkContext extends ConnectionContext {
  track(connection: Connection): void;
  deliver(message: Message): void;
  unreachable(peer: NodeId): void;
}

/**
 * Everything between this node and one peer: one TCP connection per pair, carrying both
 * directions. The rule that makes it one: the lower node id dials it (a connect); the higher
 * never sends messages on a connection it dialed. When the higher has messages and no
 * connection it dials only to ask for one (a solicit, closed after the Welcome), and the lower
 * dials at once. So there is never a dial race, and a solicit that crosses the lower's dial is
 * recognised and ignored (`solicited`), so simultaneous sends converge on one connection.
 *
 * Order per link: frames are delivered only from the current connection. The lower has at most
 * one connection or dial at a time; the higher adopts each new connect from the lower (the lower
 * dials only when it holds none, so the older one is dead) and closes the older at once, so no
 * frame read from it is delivered after one from its replacement.
 *
 * Connects lazily (when either side has something to send), retries with capped exponential
 * backoff and jitter while it has something to send, reports the peer unreachable each time a
 * connection (or a dial, or a solicit) fails or drops, and never blocks: `send` queues.
 */
export class PeerLink implements ConnectionOwner {
  /** This node has the lower id: it dials the pair's connection; else it solicits. */
  private readonly dials: boolean;
  /** Invariant: handshake passed, current; the only connection frames are delivered from. */
  private connection: Connection | null = null;
  /** Invariant: a dial (connect or solicit) still in its handshake; at most one. */
  private pending: Connection | null = null;
  private readonly sender: PeerSender;
  /** Failed (or unanswered) attempts since the last connection: the backoff exponent. */
  private attempt = 0;
  private timer: unknown = null;
  private waitingDrain = false;
  private started = false;
  private stopped = false;
  private flushScheduled = false;
  /** The higher id's side: the Challenge nonce of the last connection it adopted (a solicit names it). */
  private latest: string | null = null;

  constructor(
    private readonly ctx: LinkContext,
    readonly peer: NodeId,
    private address: { host: string; port: number },
  ) {
    this.dials = ctx.options.nodeId < peer;
    this.sender = new PeerSender(ctx.options, (code, detail) =>
      this.report(code, 'outbound', detail),
    );
  }

  /**
   * Moves the peer: the connection with it (open, dialing or waiting to retry) is dropped
   * without an unreachable report, and what is queued goes to the new address (the lower id's
   * dial there, or the connection the process there dials) at once.
   */
  setAddress(address: { host: string; port: number }): void {
    const same = address.host === this.address.host && address.port === this.address.port;
    this.address = address;
    if (same || this.stopped) return;
    this.drop();
    if (this.started && this.sender.hasWork()) this.reach();
  }

  start(): void {
    this.started = true;
    if (this.sender.hasWork()) this.kick();
  }

  send(message: Message): void {
    if (!this.stopped) this.sender.push(message);
  }

  /**
   * Writes what is queued (in a microtask, so all the `send` calls of one event-loop turn
   * leave in one corked write instead of a syscall each), or starts reaching the peer.
   */
  kick(): void {
    if (this.stopped || !this.started) return;
    if (this.connection !== null) {
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    } else if (this.pending === null && this.timer === null) {
      this.reach();
    }
  }

  close(): void {
    this.stopped = true;
    this.drop();
    this.sender.clear();
  }

  /** Number of connections (open or in a handshake) this link holds: 0, 1 or 2. */
  get connections(): number {
    return (this.connection === null ? 0 : 1) + (this.pending === null ? 0 : 1);
  }

  /**
   * The higher id's side: the peer dialed us (a connect) and the handshake passed. It replaces
   * whatever we held: the lower dials only when it holds no connection, so the older is dead.
   */
  adopt(connection: Connection): void {
    if (this.stopped) {
      connection.release();
      return;
    }
    const old = this.connection;
    this.connection = null;
    old?.release();
    this.pending?.release();
    this.pending = null;
    this.clearTimer();
    this.sender.restartStream();
    this.connection = connection;
    connection.owner = this;
    this.latest = connection.challengeNonce;
    this.attempt = 0;
    this.waitingDrain = false;
    this.flush();
  }

  /**
   * The lower id's side: the peer asked us to dial. We drop what we hold if the peer no longer
   * has it (it restarted: another incarnation; or it lost it: `latest` names it); a solicit
   * naming an older connection crossed our newer one and changes nothing. Then we dial at once,
   * unless a dial is already on its way.
   */
  solicited(hello: Hello): void {
    if (this.stopped || !this.started) return;
    const current = this.connection;
    if (current !== null) {
      const restarted = current.peerIncarnation !== hello.incarnation;
      if (!restarted && hello.latest !== current.challengeNonce) return;
      this.connection = null;
      current.release();
      this.sender.restartStream();
      this.report(
        'ConnectionLoss',
        'outbound',
        'the peer lost this connection and asked for another',
      );
      this.ctx.unreachable(this.peer);
    }
    if (this.pending !== null) return;
    this.clearTimer();
    this.attempt = 0;
    this.reach();
  }

  opened(connection: Connection): void {
    if (connection !== this.pending) return;
    this.pending = null;
    if (this.dials) {
      this.connection = connection;
      this.attempt = 0;
      this.waitingDrain = false;
      this.flush();
      return;
    }
    // A solicit was heard: wait one backoff step for the peer's dial, then ask again.
    connection.release();
    this.retryLater();
  }

  message(connection: Connection, message: Message): void {
    // Frames of a replaced connection are never delivered (see the class comment).
    if (connection === this.connection) this.ctx.deliver(message);
  }

  drained(connection: Connection): void {
    if (connection !== this.connection) return;
    this.waitingDrain = false;
    this.flush();
  }

  closed(connection: Connection, failure: TransportError | null): void {
    if (connection === this.pending) {
      this.pending = null;
    } else if (connection === this.connection) {
      this.connection = null;
      this.waitingDrain = false;
      this.sender.restartStream();
    } else {
      return; // released: replaced, moved or closed here, nothing to report
    }
    const error = failure ?? new TransportError('ConnectionLoss', 'connection closed by peer');
    this.report(error.code, connection.direction, error.message);
    this.ctx.unreachable(this.peer);
    this.retryLater();
  }

  /** Dials the pair's connection (lower id) or a solicit for it (higher id). */
  private reach(): void {
    const socket: net.Socket = dialSocket(this.ctx.options, this.peer, this.address);
    const role = this.dials ? 'connect' : 'solicit';
    const latest = this.dials ? null : this.latest;
    this.pending = new Connection(this.ctx, socket, role, this, this.peer, latest);
    this.ctx.track(this.pending);
  }

  /** Arms the backoff timer: another attempt then, if there is still no connection and work. */
  private retryLater(): void {
    if (this.stopped || this.timer !== null) return;
    const { options } = this.ctx;
    const delayMs = backoffDelayMs(
      this.attempt,
      options.reconnectBaseMs,
      options.reconnectMaxMs,
      options.random,
    );
    this.attempt++;
    this.timer = options.timers.setTimeout(() => {
      this.timer = null;
      if (this.stopped || this.connection !== null || this.pending !== null) return;
      if (this.sender.hasWork()) this.reach();
    }, delayMs);
  }

  /** Lets go of every connection and timer without a report (a move, a removal, close). */
  private drop(): void {
    this.connection?.release();
    this.connection = null;
    this.pending?.release();
    this.pending = null;
    this.clearTimer();
    this.sender.restartStream();
    this.attempt = 0;
    this.waitingDrain = false;
  }

  private flush(): void {
    const connection = this.connection;
    if (connection === null || this.waitingDrain || this.stopped) return;
    if (!this.sender.writeTo(connection.socket)) this.waitingDrain = true;
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    this.ctx.options.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private report(
    code: TransportErrorCode,
    direction: 'inbound' | 'outbound',
    detail: string,
  ): void {
    this.ctx.options.onEvent({ code, peer: this.peer, direction, detail });
  }
}
