import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Message, NodeId, Transport } from '@cairn/raft';
import { Connection, type ConnectionOwner } from './connection.js';
import { TransportError } from './errors.js';
import {
  parseAddress,
  type ResolvedOptions,
  resolveOptions,
  type TcpTransportOptions,
} from './options.js';
import { PeerLink } from './peer-link.js';
import { newNonce } from './wire.js';

/**
 * Raft messages over TCP, or TLS with mutual certificate checks. One connection per pair of
 * members, carrying both directions, dialed by the lower node id (`PeerLink` has the rule, and
 * how the higher id asks for it); `Connection` has the handshake. `send` never blocks and never
 * throws for an unknown or unreachable peer; `close` leaves no socket, listener or timer behind.
 */
export class TcpTransport implements Transport {
  private readonly options: ResolvedOptions;
  /** A fresh random id per instance: lets a peer tell our restart from a lost connection. */
  private readonly incarnation = newNonce();
  /** Invariant: one link per entry of `options.peers`, and no other. */
  private readonly links = new Map<NodeId, PeerLink>();
  /** Every connection not yet closed, so `close` can wait for all of them. */
  private readonly connections = new Set<Connection>();
  /** Raw sockets under a TLS handshake still in progress: `close` must end them too. */
  private readonly rawSockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  private messageHandler: (message: Message) => void = () => {};
  private unreachableHandler: (peer: NodeId) => void = () => {};
  private state: 'new' | 'started' | 'closed' = 'new';
  private boundAddress: { host: string; port: number } | null = null;

  constructor(options: TcpTransportOptions) {
    this.options = resolveOptions(options);
    for (const [peer, address] of this.options.peers)
      this.links.set(peer, this.newLink(peer, address));
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** Listens; connections open lazily, on the first message for a peer from either side. */
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
   * Adds a peer or moves it (the `Transport` port's contract). A move drops the connection
   * with the peer and reaches it at the new address at once, keeping what is queued. Throws
   * `ConfigInvalid` for an address that is not `host:port`.
   */
  setPeer(peer: number, address: string): void {
    const parsed = parseAddress(address, `peer ${peer}`);
    const id = peer as NodeId;
    if (id === this.options.nodeId) return;
    this.options.peers.set(id, parsed);
    const link = this.links.get(id);
    if (link !== undefined) {
      link.setAddress(parsed);
      return;
    }
    const added = this.newLink(id, parsed);
    this.links.set(id, added);
    if (this.state === 'started') added.start();
  }

  /**
   * Forgets a peer: its queue is dropped, the connection with it closes, and its handshakes
   * are refused (unknown node id) until `setPeer` adds it again.
   */
  removePeer(peer: number): void {
    const id = peer as NodeId;
    this.options.peers.delete(id);
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  /**
   * Connections this transport holds (open or in a handshake), by who dialed them: for tests
   * and diagnostics. Between two members in steady state: one, dialed by the lower id.
   */
  connectionCounts(): { dialed: number; accepted: number } {
    let dialed = 0;
    for (const connection of this.connections) if (connection.role !== 'accept') dialed++;
    return { dialed, accepted: this.connections.size - dialed };
  }

  send(messages: readonly Message[]): void {
    if (this.state === 'closed') return;
    const touched = new Set<PeerLink>();
    for (const message of messages) {
      const link = this.links.get(message.to);
      if (link === undefined) {
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
    const sockets = [...this.rawSockets, ...[...this.connections].map((c) => c.socket)];
    const closed = sockets.map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    for (const connection of this.connections) connection.release();
    for (const socket of this.rawSockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.all(closed);
  }

  private newLink(peer: NodeId, address: { host: string; port: number }): PeerLink {
    return new PeerLink(
      {
        options: this.options,
        incarnation: this.incarnation,
        track: (connection) => this.track(connection),
        deliver: (message) => {
          if (this.state !== 'closed') this.messageHandler(message);
        },
        unreachable: (id) => this.unreachableHandler(id),
      },
      peer,
      address,
    );
  }

  private track(connection: Connection): void {
    this.connections.add(connection);
    connection.socket.once('close', () => this.connections.delete(connection));
  }

  /**
   * Owns an accepted connection until its Hello passes: a connect from a lower id goes to that
   * peer's link, a solicit from a higher id is answered (the link dials) and ended here.
   * Refusals before that are reported here, with no peer link involved.
   */
  private readonly acceptor: ConnectionOwner = {
    opened: (connection, hello) => {
      const link = connection.peer === null ? undefined : this.links.get(connection.peer);
      if (hello === null || link === undefined || this.state !== 'started') {
        connection.release();
        return;
      }
      if (hello.nodeId > this.options.nodeId) {
        connection.endSolicit();
        link.solicited(hello);
      } else {
        link.adopt(connection);
      }
    },
    message: () => {},
    drained: () => {},
    closed: (connection, failure) => {
      // A hang-up before the Hello is no refusal (a peer's solicit that crossed our dial ends
      // so); what is reported is what this side refused.
      if (connection.released || failure === null || failure.code === 'ConnectionLoss') return;
      this.options.onEvent({
        code: failure.code,
        peer: connection.peer,
        direction: 'inbound',
        detail: failure.message,
      });
    },
  };

  private createServer(): net.Server {
    const accept = (socket: net.Socket): void => {
      if (this.state === 'closed') {
        socket.destroy();
        return;
      }
      const context = { options: this.options, incarnation: this.incarnation };
      this.track(new Connection(context, socket, 'accept', this.acceptor, null));
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
    server.on('connection', (socket: net.Socket) => {
      this.rawSockets.add(socket);
      socket.once('close', () => this.rawSockets.delete(socket));
    });
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
