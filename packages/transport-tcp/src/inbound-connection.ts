import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { decodeMessage, type Message, type NodeId, type SnapshotRequest } from '@cairn/raft';
import { TransportError, type TransportErrorCode } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { certificateMismatch } from './node-identity.js';
import type { ResolvedOptions } from './options.js';
import { asTransportError, socketErrorCode } from './outbound-link.js';
import {
  type Challenge,
  decodeHello,
  encodeJson,
  FrameKind,
  HANDSHAKE_BYTES_MAX,
  handshakeProof,
  newNonce,
  proofMatches,
  WIRE_VERSION,
} from './wire.js';

export interface InboundContext {
  readonly options: ResolvedOptions;
  deliver(message: Message): void;
  /** A handshake completed: the transport closes any older connection from the same peer. */
  register(peer: NodeId, connection: InboundConnection): void;
  unregister(peer: NodeId, connection: InboundConnection): void;
}

interface Reassembly {
  id: number;
  header: SnapshotRequest;
  totalBytes: number;
  receivedBytes: number;
  parts: Buffer[];
}

/**
 * A connection a peer dialed to send us its messages. It speaks first (a Challenge with a fresh
 * nonce), accepts one Hello, answers it with a Welcome proving the cluster secret over the
 * dialer's nonce, then accepts only message and snapshot frames. Anything else (another
 * cluster, an unknown node, a bad proof, an oversized or undecodable frame, a message whose
 * `from`/`to` do not match the handshake) closes this connection alone with a reported reason;
 * nothing from it reaches the core before the handshake has passed.
 */
export class InboundConnection {
  private peer: NodeId | null = null;
  private readonly decoder = new FrameDecoder(HANDSHAKE_BYTES_MAX);
  private readonly nonce = newNonce();
  private reassembly: Reassembly | null = null;
  private failure: TransportError | null = null;
  private timer: unknown;

  constructor(
    private readonly ctx: InboundContext,
    private readonly socket: net.Socket,
  ) {
    const { options } = ctx;
    socket.setNoDelay(true);
    const challenge: Challenge = {
      version: WIRE_VERSION,
      clusterId: options.clusterId,
      nodeId: options.nodeId,
      nonce: this.nonce,
    };
    socket.write(encodeJson(FrameKind.Challenge, challenge));
    this.timer = options.timers.setTimeout(() => {
      this.timer = null;
      this.fail(new TransportError('HandshakeRefused', 'no Hello within handshakeTimeoutMs'));
    }, options.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => {
      this.failure ??= new TransportError(socketErrorCode(error), error.message, { cause: error });
    });
    socket.on('close', () => this.onClose());
  }

  /** Closes without a report (replaced by a newer connection, or the transport closing). */
  destroy(): void {
    this.failure ??= new TransportError('ConnectionLoss', 'closed locally');
    this.socket.destroy();
  }

  private fail(error: TransportError): void {
    this.failure ??= error;
    this.report(error.code, error.message);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.socket.destroyed) return;
    try {
      this.decoder.push(chunk);
      for (let payload = this.decoder.next(); payload !== null; payload = this.decoder.next()) {
        if (this.peer === null) this.onHello(payload);
        else this.onFrame(this.peer, payload);
        if (this.socket.destroyed) return;
      }
    } catch (error) {
      this.fail(asTransportError(error));
    }
  }

  private onHello(payload: Buffer): void {
    const { options } = this.ctx;
    const hello = decodeHello(payload);
    const refuse = (why: string): never => {
      throw new TransportError('HandshakeRefused', why);
    };
    if (hello.version !== WIRE_VERSION) refuse(`wire version ${hello.version}`);
    if (hello.clusterId !== options.clusterId) {
      refuse(
        `node ${hello.nodeId} is in cluster ${JSON.stringify(hello.clusterId)}, not ${JSON.stringify(options.clusterId)}`,
      );
    }
    if (!options.peers.has(hello.nodeId as NodeId)) refuse(`unknown node id ${hello.nodeId}`);
    if (hello.to !== options.nodeId)
      refuse(`Hello is for node ${hello.to}, this is ${options.nodeId}`);
    const context = {
      challengeNonce: this.nonce,
      helloNonce: hello.nonce,
      clusterId: options.clusterId,
    };
    if (options.secret !== null) {
      const expected = handshakeProof(options.secret, 'hello', {
        ...context,
        from: hello.nodeId,
        to: options.nodeId,
      });
      if (!proofMatches(expected, hello.proof)) refuse(`node ${hello.nodeId}: bad secret proof`);
    }
    if (options.tls !== null) {
      // The CA signed this certificate, but for which member? It must name the claimed id.
      const certificate = (this.socket as tls.TLSSocket).getPeerCertificate();
      const mismatch = certificateMismatch(certificate, hello.nodeId);
      if (mismatch !== null) {
        throw new TransportError('TlsRefused', `Hello claims node ${hello.nodeId}: ${mismatch}`);
      }
    }
    if (this.timer !== null) options.timers.clearTimeout(this.timer);
    this.timer = null;
    // Our half of the mutual proof: the dialer sends nothing until it has checked this.
    const proof =
      options.secret === null
        ? null
        : handshakeProof(options.secret, 'welcome', {
            ...context,
            from: options.nodeId,
            to: hello.nodeId,
          });
    this.socket.write(encodeJson(FrameKind.Welcome, { proof }));
    this.peer = hello.nodeId as NodeId;
    this.decoder.frameBytesMax = options.frameBytesMax;
    this.ctx.register(this.peer, this);
  }

  private onFrame(peer: NodeId, payload: Buffer): void {
    switch (payload[0]) {
      case FrameKind.Message:
        this.ctx.deliver(this.checked(peer, decodeMessage(payload.subarray(1))));
        return;
      case FrameKind.SnapBegin:
        this.onSnapBegin(peer, payload);
        return;
      case FrameKind.SnapChunk:
        this.onSnapChunk(payload);
        return;
      default:
        throw new TransportError('MarshallingError', `unexpected frame kind ${payload[0]}`);
    }
  }

  /** A message must come from the node that shook hands, for this node: no spoofed senders. */
  private checked(peer: NodeId, message: Message): Message {
    if (message.from !== peer || message.to !== this.ctx.options.nodeId) {
      throw new TransportError(
        'MarshallingError',
        `message ${message.from}->${message.to} on the connection from ${peer}`,
      );
    }
    return message;
  }

  private onSnapBegin(peer: NodeId, payload: Buffer): void {
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
    const header = this.checked(peer, decodeMessage(payload.subarray(13)));
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
    this.ctx.deliver({ ...stream.header, snapshot: { ...stream.header.snapshot, data } });
  }

  private onClose(): void {
    if (this.timer !== null) this.ctx.options.timers.clearTimeout(this.timer);
    this.timer = null;
    this.reassembly = null;
    if (this.peer !== null) this.ctx.unregister(this.peer, this);
  }

  private report(code: TransportErrorCode, detail: string): void {
    this.ctx.options.onEvent({ code, peer: this.peer, direction: 'inbound', detail });
  }
}
