import * as net from 'node:net';
import * as tls from 'node:tls';
import { encodeMessage, type Message, type NodeId, type SnapshotRequest } from '@cairn/raft';
import { TransportError, type TransportErrorCode } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { certificateMismatch } from './node-identity.js';
import { backoffDelayMs, type ResolvedOptions } from './options.js';
import { SendQueue } from './send-queue.js';
import {
  decodeChallenge,
  decodeWelcome,
  encodeJson,
  FrameKind,
  frameHead,
  HANDSHAKE_BYTES_MAX,
  handshakeProof,
  newNonce,
  proofMatches,
  WIRE_VERSION,
} from './wire.js';

/**
 * Bytes a socket may hold unsent before the link waits for 'drain'. Above Node's 16 KiB
 * default so a flush writes a useful batch; small enough that one slow peer cannot hold much.
 */
const SOCKET_BUFFER_BYTES_MAX = 1024 * 1024;
/** Messages written between two snapshot chunks, so heartbeats pass a catch-up stream. */
const MESSAGES_PER_CHUNK = 256;

export interface LinkContext {
  readonly options: ResolvedOptions;
  track(socket: net.Socket): void;
  unreachable(peer: NodeId): void;
}

interface SnapshotStream {
  data: Uint8Array;
  offset: number;
  id: number;
  message: SnapshotRequest;
}

type LinkState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/** Classifies a socket error: certificate trouble is `TlsRefused`, the rest `ConnectionLoss`. */
export function socketErrorCode(error: Error & { code?: unknown }): TransportErrorCode {
  // Our own refusals (a certificate naming another node) already say what they are.
  if (error instanceof TransportError) return error.code;
  const code = typeof error.code === 'string' ? error.code : '';
  return /SSL|CERT|UNABLE_TO|TLS/.test(code) ? 'TlsRefused' : 'ConnectionLoss';
}

/**
 * The connection this node dials to one peer, carrying this node's messages to it. Connection
 * rule: each node dials every peer it has messages for and accepts the peers' dials for what
 * they send it, so each ordered pair (from, to) has exactly one connection, there is no dial
 * race to break, and order per link is the order of that one TCP stream.
 *
 * Connects lazily (on the first message), reconnects with capped exponential backoff while it
 * has something to send, and never blocks: `send` queues and returns.
 */
export class OutboundLink {
  private state: LinkState = 'idle';
  private socket: net.Socket | null = null;
  private readonly queue: SendQueue;
  /** Failed attempts since the last completed handshake: the backoff exponent. */
  private attempt = 0;
  private timer: unknown = null;
  private waitingDrain = false;
  private stream: SnapshotStream | null = null;
  /** Invariant: at most one snapshot waits; a newer one replaces it (Raft sends the latest). */
  private pendingSnapshot: SnapshotRequest | null = null;
  private nextStreamId = 1;
  private started = false;
  private flushScheduled = false;

  constructor(
    private readonly ctx: LinkContext,
    readonly peer: NodeId,
    private address: { host: string; port: number },
  ) {
    this.queue = new SendQueue(ctx.options.queueMessagesMax, ctx.options.queueBytesMax);
  }

  /**
   * Moves the peer: a connection to the old address (open, dialing or waiting to redial) is
   * dropped without an unreachable report, and what is queued goes to the new one at once.
   */
  setAddress(address: { host: string; port: number }): void {
    const same = address.host === this.address.host && address.port === this.address.port;
    this.address = address;
    if (same || this.state === 'closed' || this.state === 'idle') return;
    // Detach the old socket first: its 'close' then finds it is no longer ours and reports
    // nothing, and nothing more is written to it.
    const old = this.socket;
    this.socket = null;
    this.waitingDrain = false;
    this.clearTimer();
    this.restartStream();
    old?.destroy();
    this.attempt = 0;
    this.state = 'idle';
    if (this.started && this.hasWork()) this.connect();
  }

  start(): void {
    this.started = true;
    if (this.state === 'idle' && this.hasWork()) this.connect();
  }

  send(message: Message): void {
    if (this.state === 'closed') return;
    if (message.type === 'Snapshot') {
      this.pendingSnapshot = message;
    } else {
      // Encoded now, so the queue can count bytes and an oversized message never waits.
      const body = encodeMessage(message);
      if (body.length + 1 > this.ctx.options.frameBytesMax) {
        this.report('FrameTooLarge', `dropped a ${message.type} of ${body.length} bytes`);
        return;
      }
      for (const dropped of this.queue.push(message, body)) {
        this.report(
          'QueueFull',
          dropped === message
            ? `dropped a ${message.type} larger than queueBytesMax`
            : `dropped a queued ${dropped.type}`,
        );
      }
    }
  }

  /**
   * Writes what is queued (in a microtask, so all the `send` calls of one event-loop turn
   * leave in one corked write instead of a syscall each), or starts connecting.
   */
  kick(): void {
    if (this.state === 'open') {
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    } else if (this.state === 'idle' && this.started) {
      this.connect();
    }
  }

  close(): void {
    this.state = 'closed';
    this.clearTimer();
    this.queue.clear();
    this.pendingSnapshot = null;
    this.stream = null;
    this.socket?.destroy();
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.pendingSnapshot !== null || this.stream !== null;
  }

  private connect(): void {
    const { options } = this.ctx;
    this.state = 'connecting';
    const socket = options.tls
      ? tls.connect({
          host: this.address.host,
          port: this.address.port,
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          rejectUnauthorized: true,
          // Peers are addressed by IP, so the host name is not what identifies them: the
          // certificate must name the node we meant to dial (node-identity.ts).
          checkServerIdentity: (_host, certificate) => this.checkIdentity(certificate),
        })
      : net.connect({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.ctx.track(socket);
    const decoder = new FrameDecoder(HANDSHAKE_BYTES_MAX);
    let failure: TransportError | null = null;
    const fail = (error: TransportError): void => {
      failure ??= error;
      socket.destroy();
    };
    this.timer = options.timers.setTimeout(() => {
      this.timer = null;
      fail(new TransportError('HandshakeRefused', 'no handshake within handshakeTimeoutMs'));
    }, options.handshakeTimeoutMs);
    // Set once our Hello is out: the nonces the acceptor's Welcome proof must cover.
    let sentHello: { challengeNonce: string; helloNonce: string } | null = null;
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
        for (let payload = decoder.next(); payload !== null; payload = decoder.next()) {
          if (this.state === 'open' || socket !== this.socket) {
            throw new TransportError('MarshallingError', 'acceptor sent data after the handshake');
          }
          if (sentHello === null) sentHello = this.onChallenge(socket, payload);
          else this.onWelcome(payload, sentHello);
        }
      } catch (error) {
        fail(asTransportError(error));
      }
    });
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
    socket.on('error', (error: Error) => {
      failure ??= new TransportError(socketErrorCode(error), error.message, { cause: error });
    });
    socket.on('close', () => this.onClose(socket, failure));
  }

  private checkIdentity(certificate: tls.PeerCertificate): Error | undefined {
    const mismatch = certificateMismatch(certificate, this.peer);
    if (mismatch === null) return undefined;
    // Its `code` (TlsRefused) is what the 'error' handler classifies this failure by.
    return new TransportError(
      'TlsRefused',
      `dialed node ${this.peer} at ${this.address.host}:${this.address.port}: ${mismatch}`,
    );
  }

  /** Checks the acceptor's ids and answers with our Hello; returns the nonces it used. */
  private onChallenge(
    socket: net.Socket,
    payload: Buffer,
  ): { challengeNonce: string; helloNonce: string } {
    const { options } = this.ctx;
    const challenge = decodeChallenge(payload);
    if (challenge.version !== WIRE_VERSION) {
      throw new TransportError('HandshakeRefused', `wire version ${challenge.version}`);
    }
    if (challenge.clusterId !== options.clusterId) {
      throw new TransportError(
        'HandshakeRefused',
        `peer is in cluster ${JSON.stringify(challenge.clusterId)}, not ${JSON.stringify(options.clusterId)}`,
      );
    }
    if (challenge.nodeId !== this.peer) {
      throw new TransportError(
        'HandshakeRefused',
        `dialed node ${this.peer}, reached node ${challenge.nodeId}`,
      );
    }
    const nonces = { challengeNonce: challenge.nonce, helloNonce: newNonce() };
    const proof =
      options.secret === null
        ? null
        : handshakeProof(options.secret, 'hello', {
            ...nonces,
            clusterId: options.clusterId,
            from: options.nodeId,
            to: this.peer,
          });
    const hello = {
      version: WIRE_VERSION,
      clusterId: options.clusterId,
      nodeId: options.nodeId,
      to: this.peer,
      nonce: nonces.helloNonce,
      proof,
    };
    socket.write(encodeJson(FrameKind.Hello, hello));
    return nonces;
  }

  /**
   * The acceptor's half of the mutual proof, over our fresh nonce: a server that does not hold
   * the cluster secret (or replays a Welcome it recorded) gets no message from us.
   */
  private onWelcome(payload: Buffer, nonces: { challengeNonce: string; helloNonce: string }): void {
    const { options } = this.ctx;
    const welcome = decodeWelcome(payload);
    if (options.secret !== null) {
      const expected = handshakeProof(options.secret, 'welcome', {
        ...nonces,
        clusterId: options.clusterId,
        from: this.peer,
        to: options.nodeId,
      });
      if (!proofMatches(expected, welcome.proof)) {
        throw new TransportError('HandshakeRefused', `node ${this.peer}: bad secret proof`);
      }
    }
    this.clearTimer();
    this.state = 'open';
    this.attempt = 0;
    this.flush();
  }

  private onClose(socket: net.Socket, failure: TransportError | null): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.waitingDrain = false;
    this.clearTimer();
    this.restartStream();
    if (this.state === 'closed') return;
    const error = failure ?? new TransportError('ConnectionLoss', 'connection closed by peer');
    this.report(error.code, error.message);
    this.ctx.unreachable(this.peer);
    if (!this.hasWork()) {
      this.state = 'idle';
      return;
    }
    const { options } = this.ctx;
    const delayMs = backoffDelayMs(
      this.attempt,
      options.reconnectBaseMs,
      options.reconnectMaxMs,
      options.random,
    );
    this.attempt++;
    this.state = 'backoff';
    this.timer = options.timers.setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.connect();
    }, delayMs);
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || socket === null || this.waitingDrain) return;
    let room = true;
    socket.cork();
    try {
      while (room) {
        let wrote = false;
        for (let n = 0; n < MESSAGES_PER_CHUNK && room; n++) {
          const item = this.queue.shift();
          if (item === undefined) break;
          room = this.write(socket, frameHead(FrameKind.Message, item.body.length), item.body);
          wrote = true;
        }
        if (room && this.stream === null && this.pendingSnapshot !== null) {
          room = this.beginStream(socket, this.pendingSnapshot);
          wrote = true;
        }
        if (room && this.stream !== null) {
          room = this.writeChunk(socket, this.stream);
          wrote = true;
        }
        if (!wrote) break;
      }
    } finally {
      socket.uncork();
    }
    if (!room) this.waitingDrain = true;
  }

  /** Writes head and body; false once the socket holds more than it should (wait for drain). */
  private write(socket: net.Socket, head: Buffer, body: Uint8Array): boolean {
    socket.write(head);
    return socket.write(body) || socket.writableLength < SOCKET_BUFFER_BYTES_MAX;
  }

  private beginStream(socket: net.Socket, message: SnapshotRequest): boolean {
    this.pendingSnapshot = null;
    const id = this.nextStreamId++;
    const data = message.snapshot.data;
    const body = encodeMessage({
      ...message,
      snapshot: { ...message.snapshot, data: new Uint8Array(0) },
    });
    const head = frameHead(FrameKind.SnapBegin, body.length, 12);
    head.writeUInt32BE(id, 5);
    head.writeDoubleBE(data.length, 9);
    if (data.length > 0) this.stream = { data, offset: 0, id, message };
    return this.write(socket, head, body);
  }

  private writeChunk(socket: net.Socket, stream: SnapshotStream): boolean {
    const end = Math.min(stream.data.length, stream.offset + this.ctx.options.snapshotChunkBytes);
    const body = stream.data.subarray(stream.offset, end);
    const head = frameHead(FrameKind.SnapChunk, body.length, 4);
    head.writeUInt32BE(stream.id, 5);
    stream.offset = end;
    if (end >= stream.data.length) this.stream = null;
    return this.write(socket, head, body);
  }

  /** The receiver drops a half-received stream with its connection: send it again, whole. */
  private restartStream(): void {
    if (this.stream === null) return;
    this.pendingSnapshot ??= this.stream.message;
    this.stream = null;
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    this.ctx.options.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private report(code: TransportErrorCode, detail: string): void {
    this.ctx.options.onEvent({ code, peer: this.peer, direction: 'outbound', detail });
  }
}

/** Anything a frame handler throws that is not already typed is a bad frame (`CodecError`). */
export function asTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportError('MarshallingError', message, { cause: error });
}
