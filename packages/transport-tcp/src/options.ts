import type { NodeId, Random } from '@cairn/raft';
import { seededRandom } from '@cairn/raft';
import { TransportError, type TransportEventListener } from './errors.js';

/** Default cap on one frame's length (a peer claiming more is cut off before we buffer it). */
export const FRAME_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Default bound on each peer's send queue, in messages. */
export const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
/**
 * Default bound on each peer's send queue, in bytes of encoded frames. Four default-size
 * frames: a leader's pipeline to a slow follower (the core bounds inflight appends) fits, while
 * a peer that stopped reading costs at most this much memory, not 4096 frames of 16 MiB.
 */
export const QUEUE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Snapshot data travels in slices of this many bytes, interleaved with other messages. */
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;
/** Largest snapshot a receiver will reassemble; a bigger claim closes the connection. */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 1024 * 1024 * 1024;
/** A connection that has not finished its handshake by then is closed (slow-loris guard). */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
export const RECONNECT_BASE_MS_DEFAULT = 50;
export const RECONNECT_MAX_MS_DEFAULT = 5_000;

/** Timers, injectable so a test can run reconnects without waiting. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * PEM strings or buffers, as `node:tls` takes them. Each member's certificate must name its
 * node id as a subjectAltName `DNS:cairn-node-<id>` (or, with no DNS subjectAltName, as its
 * subject CN): a dialer refuses a server whose certificate does not name the node it dialed,
 * an acceptor a client whose certificate does not name the node its Hello claims.
 */
export interface TlsOptions {
  key: string | Buffer;
  /** This member's certificate, naming `cairn-node-<nodeId>` (see above). */
  cert: string | Buffer;
  /** The cluster's CA: peers must present a certificate it signed, in both directions. */
  ca: string | Buffer;
}

export interface TcpTransportOptions {
  nodeId: number;
  clusterId: string;
  /** `host:port` to listen on; port 0 picks a free one (see `TcpTransport.address()`). */
  listen: string;
  /** Every other member's `host:port`, by node id. */
  peers: Record<number, string>;
  /** A shared cluster secret, proven with an HMAC over a fresh nonce in the handshake. */
  secret?: string;
  tls?: TlsOptions;
  frameBytesMax?: number;
  /** Bound on each peer's send queue, in messages (default 4096). */
  queueMessagesMax?: number;
  /** Bound on each peer's send queue, in bytes of encoded frames (default 64 MiB). */
  queueBytesMax?: number;
  snapshotChunkBytes?: number;
  snapshotBytesMax?: number;
  handshakeTimeoutMs?: number;
  reconnect?: { baseMs: number; maxMs: number };
  /** Jitter for reconnect delays; seeded so a run can be replayed. */
  random?: Random;
  timers?: Timers;
  /** Where refused and closed connections and dropped messages are reported. Default: ignored. */
  onEvent?: TransportEventListener;
}

export interface ResolvedOptions {
  nodeId: NodeId;
  clusterId: string;
  listen: { host: string; port: number };
  peers: Map<NodeId, { host: string; port: number }>;
  secret: string | null;
  tls: TlsOptions | null;
  frameBytesMax: number;
  queueMessagesMax: number;
  queueBytesMax: number;
  snapshotChunkBytes: number;
  snapshotBytesMax: number;
  handshakeTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  random: Random;
  timers: Timers;
  onEvent: TransportEventListener;
}

export function parseAddress(address: string, what: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TransportError('ConfigInvalid', `${what}: expected host:port, got ${address}`);
  }
  return { host, port };
}

function positive(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TransportError('ConfigInvalid', `${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Validates once, in the constructor (STYLE.md §3); the rest of the code trusts the result. */
export function resolveOptions(options: TcpTransportOptions): ResolvedOptions {
  const nodeId = positive(options.nodeId, 'nodeId') as NodeId;
  if (options.clusterId.length === 0 || options.clusterId.length > 256) {
    throw new TransportError('ConfigInvalid', 'clusterId must have 1..256 characters');
  }
  const peers = new Map<NodeId, { host: string; port: number }>();
  for (const [id, address] of Object.entries(options.peers)) {
    const peer = positive(Number(id), `peers key ${id}`) as NodeId;
    if (peer !== nodeId) peers.set(peer, parseAddress(address, `peers[${id}]`));
  }
  const frameBytesMax = positive(options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT, 'frameBytesMax');
  const snapshotChunkBytes = positive(
    options.snapshotChunkBytes ?? Math.min(SNAPSHOT_CHUNK_BYTES_DEFAULT, frameBytesMax - 16),
    'snapshotChunkBytes',
  );
  if (snapshotChunkBytes + 16 > frameBytesMax) {
    throw new TransportError('ConfigInvalid', 'snapshotChunkBytes must fit in frameBytesMax');
  }
  const reconnectBaseMs = positive(
    options.reconnect?.baseMs ?? RECONNECT_BASE_MS_DEFAULT,
    'reconnect.baseMs',
  );
  const reconnectMaxMs = positive(
    options.reconnect?.maxMs ?? RECONNECT_MAX_MS_DEFAULT,
    'reconnect.maxMs',
  );
  return {
    nodeId,
    clusterId: options.clusterId,
    listen: parseAddress(options.listen, 'listen'),
    peers,
    secret: options.secret ?? null,
    tls: options.tls ?? null,
    frameBytesMax,
    queueMessagesMax: positive(
      options.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
      'queueMessagesMax',
    ),
    queueBytesMax: positive(options.queueBytesMax ?? QUEUE_BYTES_MAX_DEFAULT, 'queueBytesMax'),
    snapshotChunkBytes,
    snapshotBytesMax: positive(
      options.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
      'snapshotBytesMax',
    ),
    handshakeTimeoutMs: positive(
      options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT,
      'handshakeTimeoutMs',
    ),
    reconnectBaseMs,
    reconnectMaxMs: Math.max(reconnectMaxMs, reconnectBaseMs),
    random: options.random ?? seededRandom(nodeId * 0x9e37),
    timers: options.timers ?? REAL_TIMERS,
    onEvent: options.onEvent ?? (() => {}),
  };
}

/**
 * Capped exponential backoff with "equal jitter": half the step is fixed, half random, so
 * peers that lost a node at the same moment do not redial in lockstep.
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: Random,
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  const half = Math.floor(step / 2);
  return step - half + random.nextInt(half + 1);
}
