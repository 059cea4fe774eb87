/**
 * A ZooKeeper session over a list of hosts, as ZooKeeper's own client keeps one: when the
 * connection is lost it tries the next host (round robin) with the session id, password and the
 * last zxid seen, for as long as the session timeout allows; requests in flight at the loss fail
 * with ConnectionLoss, new ones wait for the reconnection. Once reattached it re-registers every
 * watch still armed with one `setWatches2` (relative to the last zxid seen), so the server fires
 * those whose change happened while the client was away.
 */
import { type JuteReader, type JuteWriter, OP_CODES } from '@cairn/zk-server';
import { formatHostPort, type HostPort } from './connect-string.js';
import { SESSION_EXPIRED, ZkClient, type ZkEvent, ZkReplyError } from './zk-client.js';

/** Which watches the session holds, by kind (the five lists of `setWatches2`). */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';
const WATCH_KINDS: readonly WatchKind[] = [
  'data',
  'exist',
  'child',
  'persistent',
  'persistentRecursive',
];

const EVENT_NODE_CREATED = 1;
const EVENT_NODE_DELETED = 2;
const EVENT_NODE_DATA_CHANGED = 3;
const EVENT_NODE_CHILDREN_CHANGED = 4;

/** What the session reports about its connection, for the shell to print. */
export type SessionState =
  | { readonly type: 'disconnected'; readonly from: HostPort; readonly reason: string }
  | { readonly type: 'reconnected'; readonly to: HostPort }
  | { readonly type: 'expired'; readonly reason: string };

export interface ZkSessionOptions {
  readonly sessionTimeoutMs?: number;
  /** Per host attempt. Default 5 s, and never past the session's remaining lifetime. */
  readonly connectTimeoutMs?: number;
  readonly onEvent?: (event: ZkEvent) => void;
  readonly onState?: (state: SessionState) => void;
}

/** Default bound on one connection attempt. */
const CONNECT_TIMEOUT_MS_DEFAULT = 5_000;

export class ZkSession {
  private client: ZkClient;
  private hostIndex: number;
  /** Resolves when a connection is usable again; null while connected. */
  private reconnecting: Promise<void> | null = null;
  private expired: Error | null = null;
  private closed = false;
  /** Invariant: holds exactly the watches armed on the server for this session. */
  private readonly watches = new Map<WatchKind, Set<string>>(
    WATCH_KINDS.map((kind) => [kind, new Set<string>()]),
  );

  private constructor(
    private readonly hosts: readonly HostPort[],
    private readonly options: ZkSessionOptions,
    client: ZkClient,
    hostIndex: number,
  ) {
    this.client = client;
    this.hostIndex = hostIndex;
    this.attach(client);
  }

  /** Opens a new session on the first host that answers, in the order given. */
  static async open(
    hosts: readonly HostPort[],
    options: ZkSessionOptions = {},
  ): Promise<ZkSession> {
    const errors: string[] = [];
    for (const [i, host] of hosts.entries()) {
      try {
        const client = await ZkClient.connect(host.host, host.port, {
          sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
          connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT,
        });
        return new ZkSession(hosts, options, client, i);
      } catch (error) {
        errors.push(`${formatHostPort(host)}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no host of the connect string answered (${errors.join('; ')})`);
  }

  get sessionId(): bigint {
    return this.client.sessionId;
  }

  get timeoutMs(): number {
    return this.client.timeoutMs;
  }

  /** The host this session is connected to (or was last). */
  get host(): HostPort {
    return this.hosts[this.hostIndex] as HostPort;
  }

  /** Armed watches of one kind, sorted (for `setWatches2` and for tests). */
  watched(kind: WatchKind): string[] {
    return [...(this.watches.get(kind) ?? [])].sort();
  }

  /** Records a watch the server armed, so a reconnection can re-register it. */
  noteWatch(kind: WatchKind, path: string): void {
    this.watches.get(kind)?.add(path);
  }

  /** Sends one request on the current connection, waiting for a reconnection first if needed. */
  async request(type: number, path: string, body: (w: JuteWriter) => void): Promise<JuteReader> {
    if (this.reconnecting !== null) await this.reconnecting;
    if (this.expired !== null) throw this.expired;
    return this.client.request(type, path, body);
  }

  /** Ends the session (closeSession) and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  private attach(client: ZkClient): void {
    client.onEvent((event) => {
      this.disarm(event);
      this.options.onEvent?.(event);
    });
    client.onClose((error) => {
      if (this.closed || this.expired !== null) return;
      this.options.onState?.({ type: 'disconnected', from: this.host, reason: error.message });
      this.reconnecting = this.reconnect().finally(() => {
        this.reconnecting = null;
      });
    });
  }

  /** One-shot watches end when they fire; persistent ones stay. */
  private disarm(event: ZkEvent): void {
    const remove = (kind: WatchKind): boolean | undefined =>
      this.watches.get(kind)?.delete(event.path);
    switch (event.type) {
      case EVENT_NODE_CREATED:
      case EVENT_NODE_DATA_CHANGED:
        remove('data');
        remove('exist');
        break;
      case EVENT_NODE_DELETED:
        remove('data');
        remove('exist');
        remove('child');
        break;
      case EVENT_NODE_CHILDREN_CHANGED:
        remove('child');
        break;
      default:
        break;
    }
  }

  /**
   * Tries the hosts after the lost one, round robin, until one takes the session back or the
   * session timeout has passed since the loss (then the session counts as expired, as the
   * server will have expired it). A refused session is expired at once.
   */
  private async reconnect(): Promise<void> {
    const deadline = Date.now() + this.client.timeoutMs;
    const lost = this.client;
    const reasons: string[] = [];
    // Bounded: at most the hosts times the attempts that fit in the session timeout.
    for (let attempt = 1; Date.now() < deadline && !this.closed; attempt++) {
      const index = (this.hostIndex + attempt) % this.hosts.length;
      const host = this.hosts[index] as HostPort;
      const remaining = deadline - Date.now();
      try {
        const client = await ZkClient.connect(host.host, host.port, {
          sessionTimeoutMs: lost.timeoutMs,
          connectTimeoutMs: Math.max(
            1,
            Math.min(remaining, this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT),
          ),
          sessionId: lost.sessionId,
          password: lost.password,
          lastZxidSeen: lost.lastZxid,
        });
        this.client = client;
        this.hostIndex = index;
        this.attach(client);
        await this.rearm(lost.lastZxid);
        this.options.onState?.({ type: 'reconnected', to: host });
        return;
      } catch (error) {
        if (error instanceof ZkReplyError && error.code === SESSION_EXPIRED) {
          this.expire(`${formatHostPort(host)} refused the session: it has expired`);
          return;
        }
        reasons.push(`${formatHostPort(host)}: ${(error as Error).message}`);
        // Every host failed this round: wait a little before the next (ZooKeeper waits up to 1 s).
        if (index === this.hostIndex) await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.expire(
      `no host took the session back within its timeout of ${lost.timeoutMs} ms (${reasons.slice(-this.hosts.length).join('; ')})`,
    );
  }

  private async rearm(relativeZxid: bigint): Promise<void> {
    const lists = WATCH_KINDS.map((kind) => this.watched(kind));
    if (lists.every((list) => list.length === 0)) return;
    await this.client.request(OP_CODES.setWatches2, '', (w) => {
      w.long(relativeZxid);
      for (const list of lists) w.vector(list, (e, path) => e.string(path));
    });
  }

  private expire(reason: string): void {
    this.expired = new ZkReplyError(SESSION_EXPIRED, '', `session expired: ${reason}`);
    this.options.onState?.({ type: 'expired', reason });
  }
}
