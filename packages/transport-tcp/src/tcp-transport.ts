import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Message, NodeId, Transport } from '@cairn/raft';
import { TransportError } from './errors.js';
import { InboundConnection } from './inbound-connection.js';
import {
  parseAddress,
  type ResolvedOptions,
  resolveOptions,
  type TcpTransportOptions,
} from './options.js';
import { OutboundLink } from './outbound-link.js';

/**
 * Raft messages over TCP, or TLS with mutual certificate checks. See `OutboundLink` for the
 * connection rule (one connection per ordered pair of nodes, dialed by the sender) and
 * `InboundConnection` for the handshake. `send` never blocks and never throws for an unknown
 * or unreachable peer; `close` leaves no socket, listener or timer behind.
 */
export class TcpTransport implements Transport {
  private readonly options: ResolvedOptions;
  private readonly links = new Map<NodeId, OutboundLink>();
  private readonly inbound = new Map<NodeId, InboundConnection>();
  /** Every socket not yet closed, so `close` can wait for all of them. */
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  private messageHandler: (message: Message) => void = () => {};
  private unreachableHandler: (peer: NodeId) => void = () => {};
  private state: 'new' | 'started' | 'closed' = 'new';
  private boundAddress: { host: string; port: number } | null = null;

  constructor(options: TcpTransportOptions) {
    this.options = resolveOptions(options);
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** Listens; outbound connections open lazily, on the first message for each peer. */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new TransportError('ConfigInvalid', `start() when ${this.state}`);
    const server = this.createServer();
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') {
      this.boundAddress = { host: address.address, port: address.port };
    }
    this.state = 'started';
    for (const link of this.links.values()) link.start();
  }

  /** Where this transport listens (after `start`), with the real port when `listen` said 0. */
  address(): { host: string; port: number } {
    if (this.boundAddress === null) throw new TransportError('ConfigInvalid', 'not listening');
    return this.boundAddress;
  }

  /**
   * Adds a peer or moves it (the `Transport` port's contract). A move drops the connection to
   * the old address and redials the new one at once, keeping what is queued. Throws
   * `ConfigInvalid` for an address that is not `host:port`.
   */
  setPeer(peer: number, address: string): void {
    const parsed = parseAddress(address, `peer ${peer}`);
    const id = peer as NodeId;
    if (id === this.options.nodeId) return;
    this.options.peers.set(id, parsed);
    this.links.get(id)?.setAddress(parsed);
  }

  /**
   * Forgets a peer: its queue is dropped, its connections in both directions close, and its
   * handshakes are refused (unknown node id) until `setPeer` adds it again.
   */
  removePeer(peer: number): void {
    const id = peer as NodeId;
    this.options.peers.delete(id);
    this.links.get(id)?.close();
    this.links.delete(id);
    this.inbound.get(id)?.destroy();
  }

  send(messages: readonly Message[]): void {
    if (this.state === 'closed') return;
    const touched = new Set<OutboundLink>();
    for (const message of messages) {
      const link = this.linkTo(message.to);
      if (link === null) {
        this.options.onEvent({
          code: 'UnknownPeer',
          peer: message.to,
          direction: 'outbound',
          detail: `dropped a ${message.type} for unknown node ${message.to}`,
        });
        continue;
      }
      link.send(message);
      touched.add(link);
    }
    for (const link of touched) link.kick();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const link of this.links.values()) link.close();
    for (const connection of this.inbound.values()) connection.destroy();
    const closed = [...this.sockets].map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.all(closed);
  }

  private linkTo(peer: NodeId): OutboundLink | null {
    const existing = this.links.get(peer);
    if (existing !== undefined) return existing;
    const address = this.options.peers.get(peer);
    if (address === undefined) return null;
    const link = new OutboundLink(
      {
        options: this.options,
        track: (socket) => this.track(socket),
        unreachable: (id) => this.unreachableHandler(id),
      },
      peer,
      address,
    );
    this.links.set(peer, link);
    if (this.state === 'started') link.start();
    return link;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private createServer(): net.Server {
    const accept = (socket: net.Socket): void => {
      if (this.state === 'closed') {
        socket.destroy();
        return;
      }
      this.track(socket);
      new InboundConnection(
        {
          options: this.options,
          deliver: (message) => {
            if (this.state !== 'closed') this.messageHandler(message);
          },
          register: (peer, connection) => {
            const older = this.inbound.get(peer);
            this.inbound.set(peer, connection);
            // A peer that redialed (it restarted, or its old connection is half-dead).
            older?.destroy();
          },
          unregister: (peer, connection) => {
            if (this.inbound.get(peer) === connection) this.inbound.delete(peer);
          },
        },
        socket,
      );
    };
    const { tls: tlsOptions } = this.options;
    if (tlsOptions === null) return net.createServer(accept);
    const server = tls.createServer(
      {
        key: tlsOptions.key,
        cert: tlsOptions.cert,
        ca: tlsOptions.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      accept,
    );
    // The raw socket under a TLS handshake still in progress: `close` must end it too.
    server.on('connection', (socket: net.Socket) => this.track(socket));
    // Any failure before 'secureConnection' is a refused TLS handshake. Node does not always
    // say why (a client certificate from another CA surfaces as "socket hang up" under TLS 1.3).
    server.on('tlsClientError', (error: Error) => {
      this.options.onEvent({
        code: 'TlsRefused',
        peer: null,
        direction: 'inbound',
        detail: `TLS handshake failed: ${error.message}`,
      });
    });
    return server;
  }
}
