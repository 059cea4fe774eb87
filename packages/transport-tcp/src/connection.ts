import * as net from 'node:net';
import * as tls from 'node:tls';
import { decodeMessage, type Message, type NodeId, type SnapshotRequest } from '@cairn/raft';
import { TransportError, type TransportErrorCode } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import {
  answerChallenge,
  challengeFrame,
  checkHello,
  checkWelcome,
  type DialerNonces,
} from './handshake.js';
import { certificateMismatch } from './node-identity.js';
import type { ResolvedOptions } from './options.js';
import { FrameKind, HANDSHAKE_BYTES_MAX, type Hello, newNonce } from './wire.js';

/**
 * Why this end of a connection exists. `connect`: this node has the lower id and dialed the
 * pair's connection. `solicit`: this node has the higher id and dialed only to ask the peer to
 * dial it (no message travels on it). `accept`: the peer dialed (a connect or a solicit).
 */
export type ConnectionRole = 'connect' | 'solicit' | 'accept';

/** Who hears what happens on a connection: the peer's link, or the transport before that. */
export interface ConnectionOwner {
  /**
   * The handshake passed. A dialer has checked the Welcome (`hello` is null); an acceptor has
   * checked the Hello and written its Welcome.
   */
  opened(connection: Connection, hello: Hello | null): void;
  message(connection: Connection, message: Message): void;
  drained(connection: Connection): void;
  /** The socket closed; `failure` says why when it was not a clean close by the peer. */
  closed(connection: Connection, failure: TransportError | null): void;
}

export interface ConnectionContext {
  readonly options: ResolvedOptions;
  /** This transport instance's random id (wire.ts). */
  readonly incarnation: string;
}

interface Reassembly {
  id: number;
  header: SnapshotRequest;
  totalBytes: number;
  receivedBytes: number;
  parts: Buffer[];
}

/**
 * One end of one TCP (or TLS) connection to a peer: the handshake in either role, then frames
 * both ways. It reads and checks frames and hands messages (snapshots reassembled) to its
 * owner; the owner writes to `socket`. Anything bad (another cluster, an unknown node, a bad
 * proof, an oversized or undecodable frame, a message whose `from`/`to` do not match the
 * handshake) closes this connection alone, and `closed` carries the reason. Nothing from it
 * reaches the owner's `message` before its handshake has passed.
 */
export class Connection {
  /** The peer's node id: known from the start when we dial, after the Hello when we accept. */
  peer: NodeId | null;
  /** The acceptor's Challenge nonce: the name both ends give this connection. */
  challengeNonce: string;
  /** The peer's transport instance, once the handshake says it. */
  peerIncarnation: string | null = null;
  owner: ConnectionOwner;
  /** Set by `release`: the owner let go of it; nothing more is read from it. */
  released = false;
  private open = false;
  private failure: TransportError | null = null;
  private readonly decoder = new FrameDecoder(HANDSHAKE_BYTES_MAX);
  private timer: unknown = null;
  /** A dialer's nonces between its Hello and the Welcome. */
  private nonces: DialerNonces | null = null;
  private reassembly: Reassembly | null = null;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly socket: net.Socket,
    readonly role: ConnectionRole,
    owner: ConnectionOwner,
    peer: NodeId | null,
    /** A solicit's `Hello.latest`. */
    private readonly latest: string | null = null,
  ) {
    const { options } = ctx;
    this.owner = owner;
    this.peer = peer;
    this.challengeNonce = role === 'accept' ? newNonce() : '';
    socket.setNoDelay(true);
    if (role === 'accept')
      socket.write(challengeFrame(options, ctx.incarnation, this.challengeNonce));
    this.timer = options.timers.setTimeout(() => {
      this.timer = null;
      this.fail(new TransportError('HandshakeRefused', 'no handshake within handshakeTimeoutMs'));
    }, options.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (!this.released) this.owner.drained(this);
    });
    socket.on('error', (error: Error) => {
      this.failure ??= new TransportError(socketErrorCode(error), error.message, { cause: error });
    });
    socket.on('close', () => this.onClose());
  }

  /** `inbound` for a connection the peer dialed, `outbound` for one this node dialed. */
  get direction(): 'inbound' | 'outbound' {
    return this.role === 'accept' ? 'inbound' : 'outbound';
  }

  /** Closes it without a report: the owner replaced it, moved the peer, or is closing. */
  release(): void {
    this.released = true;
    this.failure ??= new TransportError('ConnectionLoss', 'closed locally');
    this.socket.destroy();
  }

  /**
   * An accepted solicit is answered: end it gracefully (the Welcome still leaves) and read
   * nothing more. The handshake timer stays armed, so a dialer that never hangs up is cut off.
   */
  endSolicit(): void {
    this.released = true;
    this.socket.end();
  }

  private fail(error: TransportError): void {
    this.failure ??= error;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.released || this.socket.destroyed) return;
    try {
      this.decoder.push(chunk);
      for (let payload = this.decoder.next(); payload !== null; payload = this.decoder.next()) {
        if (this.open) this.onFrame(payload);
        else if (this.role === 'accept') this.onHello(payload);
        else this.onDialerHandshake(payload);
        if (this.released || this.socket.destroyed) return;
      }
    } catch (error) {
      this.fail(asTransportError(error));
    }
  }

  private onDialerHandshake(payload: Buffer): void {
    const { options, incarnation } = this.ctx;
    const peer = this.peer as NodeId;
    if (this.nonces === null) {
      const answer = answerChallenge(options, incarnation, peer, this.latest, payload);
      this.nonces = answer.nonces;
      this.challengeNonce = answer.nonces.challengeNonce;
      this.peerIncarnation = answer.nonces.peerIncarnation;
      this.socket.write(answer.hello);
      return;
    }
    checkWelcome(options, peer, this.nonces, payload);
    this.opened(null);
  }

  private onHello(payload: Buffer): void {
    const { options } = this.ctx;
    const { hello, welcome } = checkHello(options, this.socket, this.challengeNonce, payload);
    this.socket.write(welcome);
    this.peer = hello.nodeId as NodeId;
    this.peerIncarnation = hello.incarnation;
    this.opened(hello);
  }

  private opened(hello: Hello | null): void {
    const solicit =
      this.role === 'solicit' || (hello !== null && hello.nodeId > this.ctx.options.nodeId);
    // A solicit's dialer still needs the timer: the acceptor may never hang up.
    if (!solicit && this.timer !== null) {
      this.ctx.options.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    this.open = true;
    this.decoder.frameBytesMax = this.ctx.options.frameBytesMax;
    this.owner.opened(this, hello);
  }

  private onFrame(payload: Buffer): void {
    switch (payload[0]) {
      case FrameKind.Message:
        this.owner.message(this, this.checked(decodeMessage(payload.subarray(1))));
        return;
      case FrameKind.SnapBegin:
        this.onSnapBegin(payload);
        return;
      case FrameKind.SnapChunk:
        this.onSnapChunk(payload);
        return;
      default:
        throw new TransportError('MarshallingError', `unexpected frame kind ${payload[0]}`);
    }
  }

  /** A message must come from the node that shook hands, for this node: no spoofed senders. */
  private checked(message: Message): Message {
    if (message.from !== this.peer || message.to !== this.ctx.options.nodeId) {
      throw new TransportError(
        'MarshallingError',
        `message ${message.from}->${message.to} on the connection with ${this.peer}`,
      );
    }
    return message;
  }

  private onSnapBegin(payload: Buffer): void {
    if (payload.length < 13) throw new TransportError('MarshallingError', 'short SnapBegin');
    const id = payload.readUInt32BE(1);
    const totalBytes = payload.readDoubleBE(5);
    if (
      !Number.isSafeInteger(totalBytes) ||
      totalBytes < 0 ||
      totalBytes > this.ctx.options.snapshotBytesMax
    ) {
      throw new TransportError('FrameTooLarge', `snapshot of ${totalBytes} bytes refused`);
    }
    const header = this.checked(decodeMessage(payload.subarray(13)));
    if (header.type !== 'Snapshot' || header.snapshot.data.length !== 0) {
      throw new TransportError('MarshallingError', 'SnapBegin does not carry an empty Snapshot');
    }
    // A newer stream replaces an unfinished one: the sender gave up on it.
    this.reassembly = { id, header, totalBytes, receivedBytes: 0, parts: [] };
    if (totalBytes === 0) this.finishSnapshot(this.reassembly);
  }

  private onSnapChunk(payload: Buffer): void {
    const stream = this.reassembly;
    if (payload.length < 5) throw new TransportError('MarshallingError', 'short SnapChunk');
    const id = payload.readUInt32BE(1);
    if (stream === null || stream.id !== id) {
      throw new TransportError('MarshallingError', `chunk of unknown snapshot stream ${id}`);
    }
    const data = payload.subarray(5);
    if (stream.receivedBytes + data.length > stream.totalBytes) {
      throw new TransportError('MarshallingError', 'snapshot chunks exceed the announced size');
    }
    stream.parts.push(data);
    stream.receivedBytes += data.length;
    if (stream.receivedBytes === stream.totalBytes) this.finishSnapshot(stream);
  }

  private finishSnapshot(stream: Reassembly): void {
    this.reassembly = null;
    const data =
      stream.parts.length === 1 ? (stream.parts[0] as Buffer) : Buffer.concat(stream.parts);
    this.owner.message(this, { ...stream.header, snapshot: { ...stream.header.snapshot, data } });
  }

  private onClose(): void {
    if (this.timer !== null) this.ctx.options.timers.clearTimeout(this.timer);
    this.timer = null;
    this.reassembly = null;
    this.owner.closed(this, this.failure);
  }
}

/** Opens the socket for a dial to node `peer` at `address` (TLS: its certificate must name it). */
export function dialSocket(
  options: ResolvedOptions,
  peer: NodeId,
  address: { host: string; port: number },
): net.Socket {
  if (options.tls === null) return net.connect({ host: address.host, port: address.port });
  return tls.connect({
    host: address.host,
    port: address.port,
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    rejectUnauthorized: true,
    // Peers are addressed by IP, so the host name is not what identifies them: the
    // certificate must name the node we meant to dial (node-identity.ts).
    checkServerIdentity: (_host, certificate) => {
      const mismatch = certificateMismatch(certificate, peer);
      if (mismatch === null) return undefined;
      // Its `code` (TlsRefused) is what the 'error' handler classifies this failure by.
      return new TransportError(
        'TlsRefused',
        `dialed node ${peer} at ${address.host}:${address.port}: ${mismatch}`,
      );
    },
  });
}

/** Classifies a socket error: certificate trouble is `TlsRefused`, the rest `ConnectionLoss`. */
export function socketErrorCode(error: Error & { code?: unknown }): TransportErrorCode {
  // Our own refusals (a certificate naming another node) already say what they are.
  if (error instanceof TransportError) return error.code;
  const code = typeof error.code === 'string' ? error.code : '';
  return /SSL|CERT|UNABLE_TO|TLS/.test(code) ? 'TlsRefused' : 'ConnectionLoss';
}

/** Anything a frame handler throws that is not already typed is a bad frame (`CodecError`). */
export function asTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportError('MarshallingError', message, { cause: error });
}
