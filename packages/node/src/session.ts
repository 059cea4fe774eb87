import { createHash } from 'node:crypto';
import {
  type Acl,
  BadArgumentsError,
  CairnError,
  ConnectionLossError,
  type CreateMode,
  fromOpError,
  type Id,
  type Notification,
  NoWatcherError,
  OPEN_ACL_UNSAFE,
  type OpResult,
  RuntimeInconsistencyError,
  SessionExpiredError,
  type SessionId,
  type SetWatchesRequest,
  type Stat,
  type Txn,
  type TxnResult,
  validatePath,
  type WatcherType,
  type WriteOp,
  type Zxid,
} from '@cairn/znode';
import { CompactedError } from './errors.js';
import type { WatchScope } from './history.js';
import type { CairnNode, StreamSink } from './node.js';

export interface SessionOptions {
  /** Asked-for session timeout; clamped into the node's [min, max]. Default 10 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * `connecting` until the log created the session; `connected` while the leader hears of it;
 * `suspended` when the leader has not confirmed it for two thirds of the timeout (the session
 * may expire: a lock or leadership should be treated as lost); `expired` when the cluster
 * expired it; `closing` from the call to `close()` until its entry applies here (another member
 * may apply it first: whatever the session held should be treated as gone); `closed` after
 * that or when the node closed.
 */
export type SessionState =
  | 'connecting'
  | 'connected'
  | 'suspended'
  | 'closing'
  | 'expired'
  | 'closed';

export interface WatchEvent {
  readonly type: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';
  readonly path: string;
  /** The zxid of the change (`-1` for events fired by re-registration). */
  readonly zxid: number;
}

export type Watcher = (event: WatchEvent) => void;

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  /**
   * A one-shot watch: called once with the next change that concerns this read. `true` sets
   * the watch without a local watcher: the event goes only to `onNotification` listeners (what
   * a wire server relaying to a remote client wants).
   */
  readonly watch?: Watcher | true;
  /** Confirm with the leader first (ReadIndex), so the read reflects every write acknowledged anywhere before it. */
  readonly linearizable?: boolean;
}

export interface CreateOptions extends CallOptions {
  readonly mode?: CreateMode;
  readonly acl?: readonly Acl[];
  /** For the TTL modes. */
  readonly ttlMs?: number;
}

export interface ChildrenOptions extends ReadOptions {
  /** At most this many names (sorted); page with `after`. */
  readonly limit?: number;
  /** Only names sorting after this one. */
  readonly after?: string;
}

export interface Children {
  readonly children: readonly string[];
  readonly stat: Stat;
  /** With `limit`: the `after` for the next page, or null when this page is the last. */
  readonly next: string | null;
}

export interface WatchOptions {
  readonly recursive?: boolean;
  /** Replay every change after this zxid first (from the node's watch history), then stream. */
  readonly fromZxid?: number;
  readonly signal?: AbortSignal;
  /** Events buffered for a slow consumer before the stream ends with an overflow. Default 10,000. */
  readonly bufferMax?: number;
}

/** A failed multi: the failing op's error, with every op's outcome as ZooKeeper reports it. */
export interface MultiError extends CairnError {
  readonly results: readonly { readonly code: string; readonly path?: string }[];
}

export type MultiReadOp =
  | { readonly type: 'getData'; readonly path: string }
  | { readonly type: 'getChildren'; readonly path: string };
export type MultiReadResult =
  | { readonly ok: true; readonly data: Uint8Array; readonly stat: Stat }
  | { readonly ok: true; readonly children: readonly string[]; readonly stat: Stat }
  | { readonly ok: false; readonly error: CairnError };

interface PendingWrite {
  readonly txn: Txn;
  readonly resolve: (result: TxnResult) => void;
  readonly reject: (error: Error) => void;
  /** The session's tick count when it was last sent: ticks, not the clock, which may jump back. */
  sentAtTick: number;
}

const EMPTY = new Uint8Array(0);
const STREAM_BUFFER_MAX_DEFAULT = 10_000;

/**
 * A ZooKeeper-style session on an embedded node: every call goes to the node in this process,
 * with no network hop. Writes may be called on any member (followers forward them) and resolve
 * once applied here, so the session then reads its own write. Reads are local; pass
 * `{ linearizable: true }` (or call `sync()` first) for a read that reflects every write
 * acknowledged anywhere before it.
 *
 * Writes are exactly-once: the session numbers its requests, and a request retried across a
 * leader change is applied once and answered with its original result.
 */
export class Session {
  private state_: SessionState = 'connecting';
  private seq = 0;
  private acked = 0;
  private readonly pending = new Map<number, PendingWrite>();
  private readonly dataWatchers = new Map<string, Set<Watcher>>();
  private readonly existWatchers = new Map<string, Set<Watcher>>();
  private readonly childWatchers = new Map<string, Set<Watcher>>();
  private readonly stateListeners = new Set<(state: SessionState) => void>();
  private readonly sinks = new Set<StreamSink & { end(error: Error | null): void }>();
  /** When the last report the leader confirmed was sent (the session is safe until then + timeout). */
  private lastHeard: number;
  /** Ticks this session has seen, and the tick of the last resend (at most one a tick). */
  private ticks = 0;
  private lastResendTick = -1;

  /** @internal use `node.session()` */
  constructor(
    private readonly node: CairnNode,
    readonly id: SessionId,
    readonly password: Uint8Array,
    readonly timeoutMs: number,
    /** For a session moved here (`node.attachSession`): its new owner epoch and last request. */
    claimed?: { readonly epoch: number; readonly lastSeq: number },
  ) {
    this.lastHeard = node.now();
    if (claimed !== undefined) {
      this.epoch = claimed.epoch;
      this.seq = claimed.lastSeq;
      this.acked = claimed.lastSeq;
      this.state_ = 'connected';
    }
  }

  /** @internal The owner epoch this node's requests carry. */
  epoch = 0;
  private live = true;
  private readonly notificationListeners = new Set<(event: WatchEvent) => void>();

  /**
   * Hears every watch notification of this session (one per event, as ZooKeeper's server sends
   * them), whatever local watchers it also fires.
   */
  onNotification(listener: (event: WatchEvent) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /**
   * Whether the application is still there. An embedded session is live until closed; a wire
   * server marks its session not live when the client's connection drops, so the leader expires
   * it after the timeout unless the client comes back (here or on another member).
   */
  setLive(live: boolean): void {
    this.live = live;
  }

  /**
   * Lets go of the session on this node without closing it (the client moved to another member,
   * or its connection is gone for good): calls in flight fail with ConnectionLoss; the session
   * and its ephemerals live on in the cluster until closed or expired.
   */
  detach(): void {
    this.finish(
      'closed',
      new ConnectionLossError(undefined, { message: 'the session left this node' }),
    );
  }

  get state(): SessionState {
    return this.state_;
  }

  /** Until when this session cannot have expired, by this node's clock (see SessionState). */
  safeUntil(): number {
    return this.lastHeard + this.timeoutMs;
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Creates a znode; resolves to its path (with the sequence suffix for sequential modes). */
  async create(
    path: string,
    data: Uint8Array = EMPTY,
    options: CreateOptions = {},
  ): Promise<string> {
    return (await this.create2(path, data, options)).path;
  }

  /** Creates a znode; resolves to its path and Stat. */
  async create2(
    path: string,
    data: Uint8Array = EMPTY,
    options: CreateOptions = {},
  ): Promise<{ path: string; stat: Stat }> {
    const result = opResult(
      await this.write(this.createOp(path, data, options), options.signal),
      'create',
    );
    return { path: result.path, stat: result.stat };
  }

  async delete(path: string, version = -1, options: CallOptions = {}): Promise<void> {
    opResult(
      await this.write({ type: 'delete', path, version, sessionId: this.id }, options.signal),
      'delete',
    );
  }

  async setData(
    path: string,
    data: Uint8Array,
    version = -1,
    options: CallOptions = {},
  ): Promise<Stat> {
    return opResult(
      await this.write(
        { type: 'setData', path, data, version, sessionId: this.id },
        options.signal,
      ),
      'setData',
    ).stat;
  }

  async setACL(
    path: string,
    acl: readonly Acl[],
    version = -1,
    options: CallOptions = {},
  ): Promise<Stat> {
    return opResult(
      await this.write({ type: 'setACL', path, acl, version, sessionId: this.id }, options.signal),
      'setACL',
    ).stat;
  }

  /** All or nothing; a failure throws the failing op's error with every op's outcome in `results`. */
  async multi(ops: readonly WriteOp[], options: CallOptions = {}): Promise<OpResult[]> {
    const result = await this.write({ type: 'multi', sessionId: this.id, ops }, options.signal);
    if (result.ok && result.type === 'multi') return [...result.results];
    if (!result.ok && result.type === 'multi') {
      const error = fromOpError(result.error) as CairnError & { results: MultiError['results'] };
      Object.defineProperty(error, 'results', { value: result.results, enumerable: true });
      throw error;
    }
    throw unexpected(result);
  }

  /** A builder for `multi`: `session.transaction().create(...).setData(...).commit()`. */
  transaction(): Transaction {
    return new Transaction(this);
  }

  /** Adds an identity: `digest` with `user:password` (hashed here, as ZooKeeper's DigestAuthenticationProvider does). */
  async addAuth(
    scheme: string,
    auth: string | Uint8Array,
    options: CallOptions = {},
  ): Promise<void> {
    const text = typeof auth === 'string' ? auth : new TextDecoder().decode(auth);
    let id: Id;
    if (scheme === 'digest') {
      const colon = text.indexOf(':');
      if (colon <= 0)
        throw new CairnError('AuthFailed', undefined, {
          message: 'digest auth must be user:password',
        });
      const user = text.slice(0, colon);
      id = { scheme, id: `${user}:${createHash('sha1').update(text).digest('base64')}` };
    } else {
      throw new CairnError('AuthFailed', undefined, {
        message: `unsupported auth scheme ${scheme}`,
      });
    }
    const result = await this.write({ type: 'addAuth', sessionId: this.id, id }, options.signal);
    if (!result.ok) throw errorOf(result);
  }

  /** Closes the session: its ephemerals go in the same log entry. */
  async close(): Promise<void> {
    if (this.state_ === 'closed' || this.state_ === 'expired' || this.state_ === 'closing') return;
    const write = this.write({ type: 'closeSession', sessionId: this.id, reason: 'close' });
    this.setState('closing');
    try {
      await write;
    } catch (error) {
      if (!(error instanceof CairnError && error.code === 'SessionExpired')) throw error;
    } finally {
      this.finish(
        'closed',
        new SessionExpiredError(undefined, { message: 'the session is closed' }),
      );
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  async getData(
    path: string,
    options: ReadOptions = {},
  ): Promise<{ data: Uint8Array; stat: Stat }> {
    await this.beforeRead(options);
    const found = this.node.machine.tree.getData(path, this.id);
    if (!found.ok) throw fromOpError(found.error);
    if (options.watch) this.watchOn(path, 'data', options.watch);
    return found.value;
  }

  /** The Stat, or null when the node does not exist (a watch is set either way). */
  async exists(path: string, options: ReadOptions = {}): Promise<Stat | null> {
    await this.beforeRead(options);
    const found = this.node.machine.tree.exists(path, this.id);
    if (!found.ok) throw fromOpError(found.error);
    if (options.watch) this.watchOn(path, found.value === null ? 'exist' : 'data', options.watch);
    return found.value;
  }

  async getChildren(path: string, options: ChildrenOptions = {}): Promise<Children> {
    const { limit, after } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
      throw new BadArgumentsError(path, {
        message: `limit must be a positive integer, got ${limit}`,
      });
    if (after !== undefined && typeof after !== 'string')
      throw new BadArgumentsError(path, { message: `after must be a string, got ${typeof after}` });
    await this.beforeRead(options);
    // One page straight from the tree's sorted child index: no copy or sort of the whole list.
    const found = this.node.machine.tree.getChildrenPage(path, this.id, { after, limit });
    if (!found.ok) throw fromOpError(found.error);
    if (options.watch) this.watchOn(path, 'child', options.watch);
    const { children, stat, more } = found.value;
    const next = limit !== undefined && more ? (children[children.length - 1] as string) : null;
    return { children, stat, next };
  }

  async getAllChildrenNumber(path: string, options: ReadOptions = {}): Promise<number> {
    await this.beforeRead(options);
    const found = this.node.machine.tree.getAllChildrenNumber(path, this.id);
    if (!found.ok) throw fromOpError(found.error);
    return found.value;
  }

  /** This session's ephemeral nodes under `prefix` (all by default). */
  async getEphemerals(prefix = '/', options: ReadOptions = {}): Promise<string[]> {
    await this.beforeRead(options);
    return this.node.machine.tree.getEphemerals(this.id, prefix);
  }

  async getACL(
    path: string,
    options: ReadOptions = {},
  ): Promise<{ acl: readonly Acl[]; stat: Stat }> {
    await this.beforeRead(options);
    const found = this.node.machine.tree.getACL(path, this.id);
    if (!found.ok) throw fromOpError(found.error);
    return found.value;
  }

  /** Reads answered one by one (not all or nothing), as ZooKeeper's multiRead. */
  async multiRead(
    ops: readonly MultiReadOp[],
    options: ReadOptions = {},
  ): Promise<MultiReadResult[]> {
    await this.beforeRead(options);
    return this.node.machine.tree
      .multiRead(ops, this.id)
      .map((found) =>
        found.ok
          ? { ok: true as const, ...found.value }
          : { ok: false as const, error: fromOpError(found.error) },
      );
  }

  /** Waits until this node has applied every write acknowledged anywhere before the call. */
  async sync(path = '/', options: CallOptions = {}): Promise<void> {
    const invalid = validatePath(path, false);
    if (invalid !== null) throw fromOpError(invalid);
    this.assertUsable();
    await this.node.readBarrier(options.signal);
  }

  // ---- watches --------------------------------------------------------------------------------

  /**
   * A persistent watch as an async iterable: every change to `path` (and, with `recursive`,
   * below it), each with its zxid. With `fromZxid`, first every change after that zxid from
   * the node's history (`CompactedError` if it is older than the history), then live ones: none
   * skipped, none twice. Ends when the loop breaks, `signal` aborts, or the session ends.
   */
  watch(path: string, options: WatchOptions = {}): AsyncIterable<WatchEvent> {
    const invalid = validatePath(path, false);
    if (invalid !== null) throw fromOpError(invalid);
    this.assertUsable();
    const scope: WatchScope = { path, recursive: options.recursive ?? false };
    const bufferMax = options.bufferMax ?? STREAM_BUFFER_MAX_DEFAULT;
    const queue: WatchEvent[] = [];
    let ended: { error: Error | null } | null = null;
    let wake: (() => void) | null = null;
    const node = this.node;
    const sink = {
      sessionId: this.id,
      scope,
      push: (event: WatchEvent) => {
        if (ended !== null) return;
        // Resumed on a member behind the zxid the caller saw elsewhere: it has seen these.
        if (options.fromZxid !== undefined && event.zxid <= options.fromZxid) return;
        if (queue.length >= bufferMax) {
          const last = queue[queue.length - 1]?.zxid ?? event.zxid;
          sink.end(
            new CairnError('QuotaExceeded', path, {
              message: `watch buffer full (${bufferMax} events); resume with fromZxid after ${last}`,
            }),
          );
          return;
        }
        queue.push(event);
        node.metrics.streamEvents.inc();
        wake?.();
      },
      end: (error: Error | null) => {
        if (ended !== null) return;
        ended = { error };
        node.removeStream(sink);
        this.sinks.delete(sink);
        wake?.();
      },
    };
    // Replay and subscription happen in one synchronous step: nothing applies in between.
    if (options.fromZxid !== undefined) {
      const replay = node.history.since(options.fromZxid, scope);
      if (replay === null)
        ended = { error: new CompactedError(options.fromZxid, node.history.start) };
      else {
        const tree = node.machine.tree;
        for (const event of replay)
          if (tree.canReadEvent(this.id, event)) {
            queue.push({ type: event.type, path: event.path, zxid: event.zxid });
            node.metrics.streamEvents.inc();
          }
      }
    }
    if (ended === null) {
      node.addStream(sink);
      this.sinks.add(sink);
      options.signal?.addEventListener('abort', () => sink.end(null), { once: true });
    }
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<WatchEvent>> => {
          for (;;) {
            const event = queue.shift();
            if (event !== undefined) return { value: event, done: false };
            if (ended !== null) {
              if (ended.error !== null) throw ended.error;
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = null;
          }
        },
        return: async (): Promise<IteratorResult<WatchEvent>> => {
          sink.end(null);
          queue.length = 0;
          return { value: undefined, done: true };
        },
      }),
    };
  }

  /**
   * Removes one-shot watchers on `path`: of `type` (`data` covers getData and exists watches,
   * `children` getChildren ones, `any` both), only `watcher` if given. NoWatcher if none matched.
   */
  removeWatches(path: string, type: 'data' | 'children' | 'any', watcher?: Watcher): void {
    const tables =
      type === 'data'
        ? [this.dataWatchers, this.existWatchers]
        : type === 'children'
          ? [this.childWatchers]
          : [this.dataWatchers, this.existWatchers, this.childWatchers];
    let removed = false;
    for (const table of tables) {
      const set = table.get(path);
      if (set === undefined) continue;
      if (watcher === undefined) {
        removed = true;
        table.delete(path);
      } else if (set.delete(watcher)) {
        removed = true;
        if (set.size === 0) table.delete(path);
      }
    }
    if (!removed) throw new NoWatcherError(path);
    const stillData = this.dataWatchers.has(path) || this.existWatchers.has(path);
    if (!stillData && type !== 'children') this.node.watches.removeWatches(this.id, path, 'data');
    if (!this.childWatchers.has(path) && type !== 'data')
      this.node.watches.removeWatches(this.id, path, 'children');
  }

  // ---- server-side watches (what a wire server relays; events go to onNotification) ------------

  /** ZooKeeper's addWatch: a persistent (optionally recursive) watch held by the node. */
  addWatch(path: string, mode: 'persistent' | 'persistent-recursive'): void {
    const invalid = validatePath(path, false);
    if (invalid !== null) throw fromOpError(invalid);
    this.assertUsable();
    const added = this.node.watches.addWatch(this.id, path, mode);
    if (!added.ok)
      throw new CairnError('QuotaExceeded', path, {
        message: `at most ${added.watchesPerSessionMax} watches per session`,
      });
  }

  /** ZooKeeper's checkWatches: NoWatcher unless the node holds a watch of `type` on `path`. */
  checkWatches(path: string, type: WatcherType): void {
    this.assertUsable();
    const found = this.node.watches.checkWatches(this.id, path, type);
    if (!found.ok) throw new NoWatcherError(path);
  }

  /**
   * ZooKeeper's removeWatches as the server does it: drops the node-held watches of `type` on
   * `path` (and this session's local watchers of those kinds); NoWatcher if there were none.
   */
  removeServerWatches(path: string, type: WatcherType): void {
    this.assertUsable();
    const removed = this.node.watches.removeWatches(this.id, path, type);
    if (!removed.ok) throw new NoWatcherError(path);
    if (type === 'data' || type === 'any') {
      this.dataWatchers.delete(path);
      this.existWatchers.delete(path);
    }
    if (type === 'children' || type === 'any') this.childWatchers.delete(path);
  }

  /**
   * ZooKeeper's setWatches on reconnect: re-arms the client's watches against the last zxid it
   * saw and fires, through `onNotification`, those whose change it missed.
   */
  setWatches(relativeZxid: number, request: SetWatchesRequest): void {
    this.assertUsable();
    const tree = this.node.machine.tree;
    const result = this.node.watches.setWatches(
      this.id,
      relativeZxid as Zxid,
      request,
      (path) => tree.watchState(path),
      (sid, event) => tree.canReadEvent(sid, event),
    );
    if (!result.ok)
      throw new CairnError('QuotaExceeded', result.path, {
        message: `at most ${result.watchesPerSessionMax} watches per session`,
      });
    for (const notification of result.notifications) this.deliver(notification);
  }

  // ---- internal: called by the node -----------------------------------------------------------

  /** @internal */
  async open(signal?: AbortSignal): Promise<void> {
    const sent = this.send(
      {
        type: 'createSession',
        sessionId: this.id,
        timeoutMs: this.timeoutMs,
        password: this.password,
      },
      0,
      signal,
    );
    let result: TxnResult;
    try {
      result = signal === undefined ? await sent : await abortable(sent, signal);
    } catch (error) {
      if (signal?.aborted) {
        // Given up while proposed: fail the request (freeing its slot) and forget the session;
        // if its createSession commits anyway, nobody reports it, so the leader expires it.
        sent.catch(() => {});
        this.finish('closed', error instanceof Error ? error : new Error(String(error)));
      }
      throw error;
    }
    if (!result.ok) throw errorOf(result);
    // The session may have ended between its createSession and this continuation (a later
    // entry of the same apply expired it: sim membership seed 124709272, a member paused past
    // the timeout). It must not come back as connected: the node has already dropped it, so
    // its writes would never be resent or answered.
    this.assertUsable();
    this.node.metrics.sessionsCreated.inc();
    this.lastHeard = this.node.now();
    this.setState('connected');
  }

  /** @internal A request of this session was applied (or found a gap, or was a duplicate). */
  settle(
    seq: number,
    outcome: 'applied' | 'duplicate' | 'gap' | 'moved',
    result: TxnResult | null,
  ): void {
    if (outcome === 'gap') {
      this.resend();
      return;
    }
    const pending = this.pending.get(seq);
    if (pending === undefined) return;
    this.pending.delete(seq);
    while (this.acked < this.seq && !this.pending.has(this.acked + 1)) this.acked++;
    if (result === null)
      pending.reject(
        new RuntimeInconsistencyError(undefined, {
          message: `the result of request ${seq} was forgotten`,
        }),
      );
    else pending.resolve(result);
  }

  /** @internal Sends every unanswered request again, in order (each is applied once). */
  resend(): void {
    if (this.lastResendTick === this.ticks) return;
    this.lastResendTick = this.ticks;
    for (const [seq, pending] of [...this.pending].sort((a, b) => a[0] - b[0])) {
      pending.sentAtTick = this.ticks;
      this.node.propose(pending.txn, seq, this.acked, this.epoch);
    }
  }

  /** @internal */
  onTick(now: number): void {
    // Counted in ticks: a clock that jumps back must not hold an unanswered write for as long
    // as the jump (sim seed 234 waited past the liveness bound).
    this.ticks++;
    let oldest = Number.POSITIVE_INFINITY;
    for (const pending of this.pending.values()) oldest = Math.min(oldest, pending.sentAtTick);
    if (this.ticks - oldest > this.node.options.electionTicks * 2) this.resend();
    if (this.state_ === 'connected' && now > this.lastHeard + (this.timeoutMs * 2) / 3)
      this.setState('suspended');
  }

  /** @internal The leader confirmed a liveness report sent at `sentAt`. */
  heard(sentAt: number): void {
    this.lastHeard = Math.max(this.lastHeard, sentAt);
    if (this.state_ === 'suspended' && this.node.now() <= this.lastHeard + (this.timeoutMs * 2) / 3)
      this.setState('connected');
  }

  /** @internal */
  isLive(): boolean {
    return (
      this.live &&
      (this.state_ === 'connected' || this.state_ === 'suspended' || this.state_ === 'closing')
    );
  }

  /** @internal The log expired (or closed) this session. */
  expired(): void {
    this.finish('expired', new SessionExpiredError());
  }

  /** @internal The node is closing or stopped. */
  fail(error: Error, state: 'closed' | 'expired'): void {
    this.finish(state, error);
  }

  /** @internal A snapshot replaced the state: settle what it covers. */
  afterRestore(): void {
    const machine = this.node.machine;
    if (this.state_ !== 'connecting' && machine.tree.session(this.id) === null) {
      // The snapshot covers the session's end. A write still pending here may have been
      // applied before the end (sim seed 157 applied one at 265 and then expired the session):
      // the state machine keeps an ended session's last request number and unacknowledged
      // results, so such a write gets its own result, and a later one SessionExpired (no write
      // of an ended session applies). Where the end is no longer remembered, the outcome is
      // unknown here: ConnectionLoss, as ZooKeeper answers, never SessionExpired.
      const ended = machine.endedRequests(this.id);
      for (const seq of [...this.pending.keys()].sort((a, b) => a - b)) {
        if (ended !== null && seq <= ended.lastSeq) {
          this.settle(seq, 'duplicate', ended.resultOf(seq));
          continue;
        }
        const pending = this.pending.get(seq);
        this.pending.delete(seq);
        pending?.reject(
          ended !== null
            ? new SessionExpiredError(undefined, {
                message: 'the session ended before this request was applied',
              })
            : new ConnectionLossError(undefined, {
                message: 'the session ended before this request was known applied or not here',
              }),
        );
      }
      this.pending.clear();
      this.expired();
      return;
    }
    const last = machine.lastSeq(this.id);
    if (last === null) return;
    for (const seq of [...this.pending.keys()].sort((a, b) => a - b))
      if (seq <= last) this.settle(seq, 'duplicate', machine.resultOf(this.id, seq));
  }

  /**
   * @internal A snapshot replaced the state, so the changes in (`appliedBefore`, `snapshotIndex`]
   * fired no events here. Streams end with CompactedError (resume, elsewhere if need be, from
   * the last zxid received) rather than skip them silently; one-shot watches are checked as
   * ZooKeeper's setWatches checks a reconnecting client's: those whose node changed after
   * `appliedBefore` fire (zxid -1), the others stay armed.
   */
  afterSnapshot(appliedBefore: number, snapshotIndex: number): void {
    if (this.state_ === 'closed' || this.state_ === 'expired') return;
    for (const sink of [...this.sinks]) sink.end(new CompactedError(appliedBefore, snapshotIndex));
    const request = {
      data: [...this.dataWatchers.keys()],
      exist: [...this.existWatchers.keys()],
      child: [...this.childWatchers.keys()],
    };
    if (request.data.length + request.exist.length + request.child.length === 0) return;
    // Disarm the one-shots first: setWatches re-arms exactly those whose node did not change.
    for (const path of new Set([...request.data, ...request.exist]))
      this.node.watches.removeWatches(this.id, path, 'data');
    for (const path of request.child) this.node.watches.removeWatches(this.id, path, 'children');
    const tree = this.node.machine.tree;
    const result = this.node.watches.setWatches(
      this.id,
      appliedBefore as Zxid,
      request,
      (path) => tree.watchState(path),
      (sid, event) => tree.canReadEvent(sid, event),
    );
    if (!result.ok) return; // not reachable: it re-arms no more watches than were held
    for (const notification of result.notifications) {
      try {
        this.deliver(notification);
      } catch (error) {
        this.node.options.onEvent({ type: 'watcherThrew', error });
      }
    }
  }

  /** @internal A watch notification for this session (ZooKeeper's client-side dispatch). */
  deliver(notification: Notification): void {
    const event: WatchEvent = {
      type: notification.type,
      path: notification.path,
      zxid: notification.zxid,
    };
    for (const listener of this.notificationListeners) listener(event);
    const fire: Watcher[] = [];
    const take = (table: Map<string, Set<Watcher>>): void => {
      const set = table.get(notification.path);
      if (set === undefined) return;
      table.delete(notification.path);
      fire.push(...set);
    };
    switch (notification.type) {
      case 'NodeCreated':
      case 'NodeDataChanged':
        take(this.dataWatchers);
        take(this.existWatchers);
        break;
      case 'NodeDeleted':
        take(this.dataWatchers);
        take(this.existWatchers);
        take(this.childWatchers);
        break;
      case 'NodeChildrenChanged':
        take(this.childWatchers);
        break;
    }
    let thrown: unknown = null;
    for (const watcher of new Set(fire)) {
      try {
        watcher(event);
      } catch (error) {
        thrown ??= error;
      }
    }
    if (thrown !== null) throw thrown;
  }

  // ---- private --------------------------------------------------------------------------------

  /** @internal used by Transaction */
  write(txn: Txn, signal?: AbortSignal): Promise<TxnResult> {
    this.assertUsable();
    return this.send(txn, null, signal);
  }

  private async send(txn: Txn, fixedSeq: number | null, signal?: AbortSignal): Promise<TxnResult> {
    await this.node.acquireSlot(signal);
    try {
      // The node may have closed (or the session ended) while this call waited for a slot.
      if (fixedSeq === null) this.assertUsable(txn.type === 'closeSession');
      else this.node.assertOpen();
      const seq = fixedSeq ?? ++this.seq;
      const result = new Promise<TxnResult>((resolve, reject) => {
        this.pending.set(seq, { txn, resolve, reject, sentAtTick: this.ticks });
      });
      const started = this.node.now();
      this.node.propose(txn, seq, this.acked, this.epoch);
      const answer = await result;
      this.node.metrics.writes.inc();
      this.node.metrics.writeLatency.observeMs(this.node.now() - started);
      return answer;
    } finally {
      this.node.releaseSlot();
    }
  }

  private createOp(path: string, data: Uint8Array, options: CreateOptions): Txn {
    const op = {
      type: 'create' as const,
      sessionId: this.id,
      path,
      data,
      acl: options.acl ?? OPEN_ACL_UNSAFE,
      mode: options.mode ?? ('persistent' as const),
    };
    return options.ttlMs === undefined ? op : { ...op, ttlMs: options.ttlMs };
  }

  /**
   * Checks the session and, for a linearizable read, waits for the read barrier; the caller
   * then reads the local tree in the same turn. Observes the read's latency up to that point.
   */
  private async beforeRead(options: ReadOptions): Promise<void> {
    this.assertUsable();
    this.node.metrics.reads.inc();
    const started = this.node.now();
    if (options.linearizable) await this.node.readBarrier(options.signal);
    this.node.metrics.readLatency.observeMs(this.node.now() - started);
  }

  private watchOn(path: string, kind: 'data' | 'exist' | 'child', watcher: Watcher | true): void {
    const added = this.node.watches.addWatch(this.id, path, kind);
    if (!added.ok)
      throw new CairnError('QuotaExceeded', path, {
        message: `at most ${added.watchesPerSessionMax} watches per session`,
      });
    if (watcher === true) return;
    const table =
      kind === 'data'
        ? this.dataWatchers
        : kind === 'exist'
          ? this.existWatchers
          : this.childWatchers;
    let set = table.get(path);
    if (set === undefined) {
      set = new Set();
      table.set(path, set);
    }
    set.add(watcher);
  }

  private assertUsable(closing = false): void {
    this.node.assertOpen();
    if (this.state_ === 'expired') throw new SessionExpiredError();
    if (this.state_ === 'closed' || (this.state_ === 'closing' && !closing))
      throw new SessionExpiredError(undefined, { message: 'the session is closed' });
  }

  private finish(state: 'closed' | 'expired', error: Error): void {
    if (this.state_ === 'closed' || this.state_ === 'expired') return;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const sink of [...this.sinks]) sink.end(state === 'expired' ? error : null);
    this.dataWatchers.clear();
    this.existWatchers.clear();
    this.childWatchers.clear();
    this.node.dropSession(this.id);
    this.setState(state);
  }

  private setState(state: SessionState): void {
    if (this.state_ === state) return;
    this.state_ = state;
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch {
        // A listener's failure is its own; the session goes on.
      }
    }
  }
}

/** Builds a `multi`: ops run all or nothing, in order. */
export class Transaction {
  private readonly ops: WriteOp[] = [];
  constructor(private readonly session: Session) {}

  create(
    path: string,
    data: Uint8Array = EMPTY,
    options: Omit<CreateOptions, 'signal'> = {},
  ): this {
    const op = {
      type: 'create' as const,
      path,
      data,
      acl: options.acl ?? OPEN_ACL_UNSAFE,
      mode: options.mode ?? ('persistent' as const),
    };
    this.ops.push(options.ttlMs === undefined ? op : { ...op, ttlMs: options.ttlMs });
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Uint8Array, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  /** Adds ready-made ops (a recipe's fencing guard, say). */
  add(...ops: readonly WriteOp[]): this {
    this.ops.push(...ops);
    return this;
  }

  commit(options: CallOptions = {}): Promise<OpResult[]> {
    return this.session.multi(this.ops, options);
  }
}

/** `promise`, or the signal's reason once it aborts (the work behind `promise` goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function opResult<T extends OpResult['type']>(
  result: TxnResult,
  type: T,
): Extract<OpResult, { type: T }> {
  if (result.ok && result.type === 'op' && result.result.type === type)
    return result.result as Extract<OpResult, { type: T }>;
  throw errorOf(result);
}

function errorOf(result: TxnResult): CairnError {
  if (!result.ok) return fromOpError(result.error);
  return unexpected(result);
}

function unexpected(result: TxnResult): CairnError {
  return new RuntimeInconsistencyError(undefined, { message: `unexpected result ${result.type}` });
}
