import {
  type ConfChangeSingle,
  type DurableLog,
  type Entry,
  type LogIndex,
  type Message,
  type NodeId,
  type ProposedEntry,
  RaftCore,
  type Ready,
  type Role,
  type Term,
  type Transport,
} from '@cairn/raft';
import { LevelLog, MemoryDurableLog } from '@cairn/storage-level';
import { TcpTransport } from '@cairn/transport-tcp';
import {
  ConnectionLossError,
  isCairnError,
  type Notification,
  SessionExpiredError,
  type SessionId,
  type Txn,
  sessionId as toSessionId,
  WatchRegistry,
  type Zxid,
} from '@cairn/znode';
import { Packr } from 'msgpackr';
import { encodeCommand, restamp } from './command.js';
import type { TimerHandle } from './env.js';
import { NodeError } from './errors.js';
import { inScope, WatchHistory, type WatchScope } from './history.js';
import { Metrics } from './metrics.js';
import { type NodeOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Session, type SessionOptions, type WatchEvent } from './session.js';
import { type AppliedCommand, type SnapshotJob, StateMachine } from './state-machine.js';

/** What `node.status()` reports. */
export interface NodeStatus {
  readonly id: number;
  readonly role: Role;
  readonly term: number;
  readonly leader: number | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** On the leader: each member's match index. */
  readonly match: Readonly<Record<number, number>>;
  readonly sessions: number;
  readonly znodes: number;
  /** The tree's incremental digest: equal on replicas that applied the same entries. */
  readonly digest: number;
}

/** A persistent watch stream's sink (see `Session.watch`). */
export interface StreamSink {
  readonly sessionId: SessionId;
  readonly scope: WatchScope;
  push(event: WatchEvent): void;
}

interface ReadWaiter {
  readonly index: LogIndex;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A linearizable read waiting for its ReadIndex; times in this node's ticks, never the clock. */
interface PendingRead {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  issuedAtTick: number;
  readonly deadlineTick: number;
}

/** Runtime messages between members: session liveness reports and their answers. */
type RuntimePayload =
  | { k: 'touch'; n: number; s: SessionId[] }
  | { k: 'ack'; n: number }
  /** Which incarnation of its data this member runs on (sent at start and every few ticks). */
  | { k: 'hello'; i: string }
  /** The cluster recorded another incarnation for the receiver: it lost its data. */
  | { k: 'refused'; recorded: string };

/** Incarnations of storages that do not record one (the memory twin), per storage object. */
const storageIncarnations = new WeakMap<DurableLog, string>();
/** Hellos go out every this many ticks (and at start). */
const HELLO_EVERY_TICKS = 10;
const runtimePackr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'bigint',
  bundleStrings: false,
});

/** Draws of a session id before giving up (a collision needs the clock to have gone back). */
const SESSION_ID_ATTEMPTS = 5;
/** Touch reports remembered while waiting for their answer. */
const TOUCHES_REMEMBERED = 64;

/**
 * A member of a Cairn cluster inside this process: the Raft core, the znode state machine,
 * storage and transport, wired as the core demands (persist, send, apply, release reads).
 * Create one with `createNode`; talk to it through `node.session()`.
 */
export class CairnNode {
  readonly id: NodeId;
  readonly metrics = new Metrics();
  /** @internal */ readonly options: ResolvedOptions;
  /** @internal */ machine: StateMachine;
  /** @internal */ readonly watches: WatchRegistry;
  /** @internal */ readonly history: WatchHistory;
  private readonly core: RaftCore;
  private readonly storage: DurableLog;
  private readonly transport: Transport;
  private readonly sessions = new Map<SessionId, Session>();
  private readonly streams = new Set<StreamSink>();
  private outbox: ProposedEntry[] = [];
  private flushScheduled = false;
  private processing = false;
  private processAgain = false;
  private tickTimer: TimerHandle | null = null;
  private closed = false;
  private fatal: Error | null = null;
  private readWaiters: ReadWaiter[] = [];
  private readonly pendingReads = new Map<string, PendingRead>();
  private readContext = 0;
  private readonly readNonce: string;
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private lastSnapshotIndex: LogIndex;
  /** The local snapshot being written in slices between turns of the event loop, if any. */
  private snapshotJob: SnapshotJob | null = null;
  /** Compactions handed to storage, chained to run one at a time; never rejects. `close` waits. */
  private compacting: Promise<void> = Promise.resolve();
  /**
   * The last log index this member's storage holds durably (the last entry of the last completed
   * write, or of the snapshot). Committed entries at or below it may be applied while a later
   * write is still in flight (handleReady).
   */
  private persistedIndex: LogIndex;
  private sessionCounter: bigint;
  private ticks = 0;
  /** Leader only: when each session expires unless it hears from the owner. */
  private readonly deadlines = new Map<SessionId, number>();
  private readonly expiring = new Map<SessionId, number>();
  private touchNumber = 0;
  private readonly touchesSent = new Map<number, number>();
  private reaping = 0;
  private inflight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly closeWaiters: (() => void)[] = [];
  /** This node's data incarnation, and what peers said theirs is; members refused for amnesia. */
  private readonly incarnation: string;
  private readonly peerIncarnations = new Map<NodeId, string>();
  private readonly refused = new Set<NodeId>();
  private readonly recording = new Map<NodeId, number>();
  /** Leader only: snapshots sent and when to give up waiting for the follower to install them. */
  private readonly snapshotsSent = new Map<NodeId, number>();
  /** Attaches in progress on this node, by claim nonce. */
  private readonly claimWaiters = new Map<
    string,
    (claimed: { epoch: number; lastSeq: number } | null) => void
  >();
  private claimNumber = 0;

  /** @internal use `createNode` */
  constructor(options: ResolvedOptions, storage: DurableLog, transport: Transport) {
    this.options = options;
    this.id = options.id;
    this.storage = storage;
    this.transport = transport;
    this.watches = new WatchRegistry();
    const treeOptions = { dataBytesMax: options.dataBytesMax, superIds: options.superIds };
    this.machine = new StateMachine(treeOptions);
    const snapshot = storage.snapshot();
    if (snapshot.data.length > 0) this.machine.restore(snapshot.data, snapshot.metadata.index);
    else this.machine.applied = snapshot.metadata.index;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.persistedIndex = storage.lastIndex();
    this.incarnation = incarnationOf(storage, options);
    this.history = new WatchHistory(
      options.watchHistoryTxns,
      this.machine.applied as number as Zxid,
    );
    this.core = new RaftCore({
      id: options.id,
      storage,
      random: options.random,
      electionTicks: options.electionTicks,
      heartbeatTicks: 1,
      applied: snapshot.metadata.index,
      compactionRetainedEntries: options.snapshotRetainedEntries,
    });
    const nonce = options.random.nextInt(0x7fff_ffff);
    this.readNonce = `${options.id}.${nonce.toString(36)}`;
    this.sessionCounter = (BigInt(options.id) << 48n) | (BigInt(options.clock.now()) << 4n);
    transport.onMessage((message) => this.receive(message));
    transport.onUnreachable((peer) => {
      this.core.reportUnreachable(peer);
      if (this.snapshotsSent.delete(peer)) this.core.reportSnapshot(peer, false);
      this.process();
    });
    this.metrics.attach({
      role: () => this.role,
      term: () => this.core.status().term,
      commitIndex: () => this.core.status().commit,
      appliedIndex: () => this.machine.applied,
      sessionsActive: () => this.machine.tree.sessionCount(),
      sessionsLocal: () => this.sessions.size,
    });
    // Entries the storage answered 'unavailable' for (not in its cache) have been loaded.
    storage.onAvailable(() => {
      if (this.closed || this.fatal !== null) return;
      this.core.storageAvailable();
      this.process();
    });
  }

  /** @internal */
  async start(): Promise<void> {
    await this.transport.start();
    for (const [id, address] of this.machine.members) this.setPeer(id, address);
    this.sayHello();
    this.scheduleTick();
    // A one-member cluster need not wait out an election timeout.
    const status = this.core.status();
    if (status.confState.voters.length === 1 && status.confState.voters[0] === this.id)
      this.core.campaign();
    this.process();
  }

  // ---- public surface ------------------------------------------------------------------------

  /** Opens a session on this node: a log entry creates it; it lives until closed or expired. */
  async session(options: SessionOptions = {}): Promise<Session> {
    this.assertOpen();
    const timeoutMs = Math.min(
      Math.max(options.timeoutMs ?? 10_000, this.options.sessionTimeoutMinMs),
      this.options.sessionTimeoutMaxMs,
    );
    for (let attempt = 1; ; attempt++) {
      const id = this.nextSessionId();
      const password = this.options.random.bytes(16);
      const session = new Session(this, id, password, timeoutMs);
      this.sessions.set(id, session);
      try {
        await session.open(options.signal);
        return session;
      } catch (error) {
        this.sessions.delete(id);
        // Another session holds this id (this node's clock went back since it drew it): draw again.
        if (isCairnError(error) && error.code === 'NodeExists' && attempt < SESSION_ID_ATTEMPTS)
          continue;
        throw error;
      }
    }
  }

  /**
   * Session ids: this node's id in the high 16 bits (never 0, never negative, never 0xFF in the
   * high byte), then a counter started from the clock and kept above every id of this node the
   * tree holds, so a restarted node does not reuse its old ids.
   */
  private nextSessionId(): SessionId {
    const prefix = BigInt(this.id) << 48n;
    for (const id of this.machine.tree.sessionIds())
      if (id >> 48n === BigInt(this.id) && id >= this.sessionCounter) this.sessionCounter = id;
    this.sessionCounter = this.sessionCounter < prefix ? prefix : this.sessionCounter;
    this.sessionCounter++;
    return toSessionId(BigInt.asIntN(64, this.sessionCounter));
  }

  /**
   * Takes over a session created elsewhere (a ZooKeeper client reconnecting to this member):
   * the password must match. A log entry moves the session here; requests the previous owner
   * still has in flight are answered SessionMoved. SessionExpired if there is no such session.
   */
  async attachSession(
    id: SessionId,
    password: Uint8Array,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<Session> {
    this.assertOpen();
    const existing = this.sessions.get(id);
    if (existing !== undefined) existing.detach();
    const deadline =
      this.options.clock.now() + (options.timeoutMs ?? this.electionTimeoutMs() * 10);
    const nonce = `${this.readNonce}.c${++this.claimNumber}`;
    try {
      for (;;) {
        this.assertOpen();
        options.signal?.throwIfAborted();
        if (this.options.clock.now() > deadline)
          throw new ConnectionLossError(undefined, {
            message: 'the session could not be moved here in time',
          });
        let timer: TimerHandle | null = null;
        const outcome = await new Promise<{ epoch: number; lastSeq: number } | null | 'retry'>(
          (resolve) => {
            this.claimWaiters.set(nonce, resolve);
            timer = this.options.timers.setTimeout(
              () => resolve('retry'),
              this.electionTimeoutMs() * 2,
            );
            // Retries carry the same nonce: however many apply, the session moves once.
            this.outbox.push({
              type: 'normal',
              data: encodeCommand({ kind: 'claim', sessionId: id, password, nonce }, this.stamp()),
            });
            this.scheduleFlush();
          },
        );
        if (timer !== null) this.options.timers.clearTimeout(timer);
        if (outcome === 'retry') continue;
        if (outcome === null) throw new SessionExpiredError();
        const timeoutMs =
          this.machine.tree.session(id)?.timeoutMs ?? this.options.sessionTimeoutMinMs;
        const session = new Session(this, id, password, timeoutMs, outcome);
        this.sessions.set(id, session);
        return session;
      }
    } finally {
      this.claimWaiters.delete(nonce);
    }
  }

  status(): NodeStatus {
    const s = this.core.status();
    const match: Record<number, number> = {};
    for (const [id, progress] of s.progress) match[id] = progress.match;
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commit: s.commit,
      applied: this.machine.applied,
      lastIndex: s.lastIndex,
      voters: [...new Set([...s.confState.voters, ...s.confState.votersOutgoing])].sort(
        (a, b) => a - b,
      ),
      learners: [...s.confState.learners].sort((a, b) => a - b),
      match,
      sessions: this.machine.tree.sessionIds().length,
      znodes: this.machine.tree.size(),
      digest: this.machine.tree.digest(),
    };
  }

  /** Adds a member (a voter, or a learner that receives the log without voting). */
  async addMember(
    id: number,
    address: string | null,
    options: { learner?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    const member = id as NodeId;
    if (address !== null) await this.proposeMember(member, address, options.timeoutMs);
    await this.changeMembership(
      [{ type: options.learner ? 'addLearner' : 'addVoter', nodeId: member }],
      (s) => (options.learner ? s.learners.includes(member) : s.voters.includes(member)),
      options.timeoutMs,
    );
  }

  /** Turns a learner into a voter. */
  async promote(id: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const member = id as NodeId;
    await this.changeMembership(
      [{ type: 'addVoter', nodeId: member }],
      (s) => s.voters.includes(member),
      options.timeoutMs,
    );
  }

  /**
   * Removes a member (voter or learner). The conf change that removes it also forgets its data
   * incarnation (StateMachine): once it commits, a replaced machine may be added under the id.
   * The address record goes in a later entry; a call that times out before that left the
   * removal done, and calling it again (or addMember with an address) finishes the rest.
   */
  async removeMember(id: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const member = id as NodeId;
    await this.changeMembership(
      [{ type: 'removeNode', nodeId: member }],
      (s) => !s.voters.includes(member) && !s.learners.includes(member),
      options.timeoutMs,
    );
    if (member !== this.id) {
      await this.proposeMember(member, null, options.timeoutMs);
      await this.forgetIncarnation(member, options.timeoutMs);
    }
  }

  /** Asks the leader to hand leadership to `id`; resolves once `id` leads. */
  async transferLeadership(id: number, options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = this.options.clock.now() + (options.timeoutMs ?? this.electionTimeoutMs() * 5);
    while (this.leader !== id) {
      this.assertOpen();
      if (this.options.clock.now() > deadline)
        throw new ConnectionLossError(undefined, { message: `leadership did not move to ${id}` });
      this.core.transferLeadership(id as NodeId);
      this.process();
      await this.sleep(this.electionTimeoutMs());
    }
  }

  /** Stops: pending calls fail with ConnectionLoss, storage is flushed and closed, sockets closed, timers cleared. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer !== null) this.options.timers.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const error = new ConnectionLossError(undefined, { message: 'the node is closing' });
    for (const session of this.sessions.values()) session.fail(error, 'closed');
    this.sessions.clear();
    for (const [context, read] of this.pendingReads) {
      this.pendingReads.delete(context);
      read.reject(error);
    }
    // Reads whose index was confirmed but not applied yet fail too (sim membership seed 69: a
    // linearizable getChildren on a member crashed in that window was never answered).
    for (const waiter of this.readWaiters.splice(0)) waiter.reject(error);
    for (const wake of this.slotWaiters.splice(0)) wake();
    for (const sink of this.streams) this.streams.delete(sink);
    this.abortSnapshot();
    // Let an in-flight Ready finish its storage write before closing the storage under it.
    while (this.processing) await new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    await this.compacting;
    await this.transport.close();
    await this.storage.close();
  }

  /** The last applied index (the zxid of the newest change this node's reads reflect); cheap. */
  get applied(): number {
    return this.machine.applied;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- what sessions call (internal) -----------------------------------------------------------

  /** @internal Queues a command for the next batch. */
  propose(txn: Txn, seq: number | null, acked: number, epoch = 0): void {
    const time = this.role === 'leader' ? this.stamp() : this.options.clock.now();
    this.outbox.push({
      type: 'normal',
      data: encodeCommand({ kind: 'txn', txn, seq, acked, epoch }, time),
    });
    this.metrics.proposals.inc();
    this.scheduleFlush();
  }

  /** @internal Waits for room among the write requests in flight on this node. */
  async acquireSlot(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    while (this.inflight >= this.options.proposalsInflightMax) {
      this.assertOpen();
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          // An aborted waiter leaves the queue, so a released slot wakes a live one.
          const at = this.slotWaiters.indexOf(wake);
          if (at >= 0) this.slotWaiters.splice(at, 1);
          resolve();
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.slotWaiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (signal?.aborted) {
        // Woken for a slot but aborted since: pass the turn on.
        if (this.inflight < this.options.proposalsInflightMax) this.slotWaiters.shift()?.();
        signal.throwIfAborted();
      }
    }
    this.assertOpen();
    this.inflight++;
  }

  /** @internal */
  releaseSlot(): void {
    this.inflight--;
    this.slotWaiters.shift()?.();
  }

  /** @internal Resolves once a linearizable read may be served locally (ReadIndex, then apply). */
  async readBarrier(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    this.assertOpen();
    // An already aborted signal never fires its event: fail now, not at the read's deadline.
    signal?.throwIfAborted();
    const started = this.options.clock.now();
    await new Promise<void>((resolve, reject) => {
      const context = `${this.readNonce}.${++this.readContext}`;
      const read: PendingRead = {
        resolve,
        reject,
        issuedAtTick: this.ticks,
        deadlineTick:
          this.ticks +
          Math.ceil((timeoutMs ?? this.electionTimeoutMs() * 10) / this.options.tickMs),
      };
      this.pendingReads.set(context, read);
      signal?.addEventListener(
        'abort',
        () => {
          if (this.pendingReads.delete(context)) reject(signal.reason);
        },
        { once: true },
      );
      this.issueRead(context);
    });
    this.metrics.readIndexLatency.observeMs(this.options.clock.now() - started);
  }

  /** @internal */
  addStream(sink: StreamSink): void {
    this.streams.add(sink);
  }

  /** @internal */
  removeStream(sink: StreamSink): void {
    this.streams.delete(sink);
  }

  /** @internal Forgets a session that closed or expired. */
  dropSession(id: SessionId): void {
    this.sessions.delete(id);
    this.watches.removeSession(id);
  }

  /** @internal */
  assertOpen(): void {
    if (this.fatal !== null)
      throw new ConnectionLossError(undefined, {
        message: `the node stopped: ${this.fatal.message}`,
        cause: this.fatal,
      });
    if (this.closed) throw new ConnectionLossError(undefined, { message: 'the node is closed' });
  }

  /** @internal */
  electionTimeoutMs(): number {
    return this.options.tickMs * this.options.electionTicks;
  }

  /** @internal */
  now(): number {
    return this.options.clock.now();
  }

  /** @internal */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.timers.setTimeout(resolve, ms));
  }

  // ---- the loop -------------------------------------------------------------------------------

  private receive(message: Message): void {
    if (this.closed || this.fatal !== null) return;
    if (message.type === 'Runtime') {
      this.receiveRuntime(message.from, message.payload);
      return;
    }
    // A member that came back without its data must not vote or ack as the voter it was.
    if (this.refused.has(message.from)) return;
    if (message.type === 'Propose' && this.role === 'leader') {
      // The leader stamps every entry with its own clock (time is a fact of the log).
      const time = this.stamp();
      const entries = message.entries.map((e) =>
        e.type === 'normal' && e.data.length > 0
          ? { type: e.type, data: restamp(e.data, time) }
          : e,
      );
      this.step({ ...message, entries });
    } else {
      this.step(message);
    }
    this.process();
  }

  /**
   * A message the core cannot take without breaking an invariant (a commit index beyond this
   * node's log: its data was lost) stops the node, as every broken invariant does (STYLE §7).
   */
  private step(message: Message): void {
    try {
      this.core.step(message);
    } catch (error) {
      this.stop(error);
    }
  }

  private lastStamp = 0;

  private stamp(): number {
    this.lastStamp = Math.max(this.lastStamp, this.options.clock.now(), this.machine.time);
    return this.lastStamp;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.options.timers.setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** One batch of proposals: one append, one broadcast. Refused ones are retried by their sessions. */
  private flush(): void {
    if (this.outbox.length === 0 || this.closed || this.fatal !== null) return;
    const batch = this.outbox;
    this.outbox = [];
    const outcome = this.core.proposeEntries(batch);
    if (outcome.status === 'refused') this.metrics.proposalsRefused.inc(batch.length);
    this.metrics.batchSize.observe(batch.length);
    this.process();
  }

  /** Runs Readys until the core has nothing more; re-entrant calls fold into the running one. */
  private process(): void {
    if (this.processing) {
      this.processAgain = true;
      return;
    }
    if (this.closed || this.fatal !== null || !this.core.hasReady()) return;
    this.processing = true;
    void this.runReadys().then(
      () => {
        this.processing = false;
        for (const wake of this.closeWaiters.splice(0)) wake();
        if (this.processAgain) {
          this.processAgain = false;
          this.process();
        }
      },
      (error: unknown) => {
        this.processing = false;
        for (const wake of this.closeWaiters.splice(0)) wake();
        this.stop(error);
      },
    );
  }

  private async runReadys(): Promise<void> {
    while (!this.closed && this.core.hasReady()) {
      this.processAgain = false;
      const ready = this.core.ready();
      await this.handleReady(ready);
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    if (ready.softState !== null) this.roleChanged(ready.softState.role, ready.softState.leader);
    const readyAt = this.options.clock.now();
    this.metrics.entriesReady(ready.entries, ready.committedEntries, readyAt);
    // 1. Messages that do not wait for durability.
    if (ready.messages.length > 0) {
      this.transport.send(this.toAdmitted(ready.messages));
      for (const message of ready.messages)
        if (message.type === 'Snapshot')
          this.snapshotSent(message.to, message.snapshot.data.length);
    }
    // 2. One synced write: snapshot, entries, hard state. While it is in flight, apply the
    // committed entries this member already holds durably from earlier writes: they are on a
    // quorum and durable here, and a committed entry is never truncated, so nothing applied now
    // can be lost by a restart or replaced by a new leader (docs/node.md). Not with a snapshot,
    // which must be restored first; read states wait for the whole Ready.
    let appliedEarly = 0;
    if (ready.snapshot !== null || ready.entries.length > 0 || ready.hardState !== null) {
      const started = this.options.clock.now();
      const firstNew = ready.entries[0];
      // A write that replaces a suffix: what it replaces no longer counts as held.
      if (firstNew !== undefined && firstNew.index <= this.persistedIndex)
        this.persistedIndex = (firstNew.index - 1) as LogIndex;
      const written = this.storage.write({
        ...(ready.hardState === null ? {} : { hardState: ready.hardState }),
        entries: ready.entries,
        ...(ready.snapshot === null ? {} : { snapshot: ready.snapshot }),
        sync: ready.mustSync,
      });
      if (ready.snapshot === null) {
        // The write's failure is handled where it is awaited; an apply that throws (a fatal
        // error, or the simulator's crash) must not leave it unhandled.
        written.catch(() => {});
        const committed = ready.committedEntries;
        while (
          appliedEarly < committed.length &&
          (committed[appliedEarly] as Entry).index <= this.persistedIndex
        ) {
          this.applyEntry(committed[appliedEarly] as Entry);
          appliedEarly++;
        }
        this.metrics.entriesApplied(appliedEarly, readyAt, this.options.clock.now());
      }
      await written;
      if (ready.mustSync) this.metrics.persistLatency.observeMs(this.options.clock.now() - started);
      if (ready.snapshot !== null) this.persistedIndex = ready.snapshot.metadata.index;
      const lastNew = ready.entries[ready.entries.length - 1];
      if (lastNew !== undefined) this.persistedIndex = lastNew.index;
    }
    if (ready.compaction !== null) {
      // Not awaited: the DurableLog port lets a compaction overlap later writes (a stale one
      // loses to a newer snapshot they install). One at a time; a failure stops the node.
      const { snapshot, compactTo } = ready.compaction;
      this.compacting = this.compacting
        .then(() => (this.fatal === null ? this.storage.compact(snapshot, compactTo) : undefined))
        .catch((error: unknown) => this.stop(error));
      this.lastSnapshotIndex = snapshot.metadata.index;
    }
    if (this.closed) return;
    // 3. Messages that promise durability.
    if (ready.messagesAfterPersist.length > 0)
      this.transport.send(this.toAdmitted(ready.messagesAfterPersist));
    // 4. Restore, then apply in order; release reads.
    if (ready.snapshot !== null) this.restore(ready.snapshot.data, ready.snapshot.metadata.index);
    for (let i = appliedEarly; i < ready.committedEntries.length; i++)
      this.applyEntry(ready.committedEntries[i] as Entry);
    this.metrics.entriesApplied(
      ready.committedEntries.length - appliedEarly,
      readyAt,
      this.options.clock.now(),
    );
    for (const state of ready.readStates) {
      const read = this.pendingReads.get(state.context);
      if (read === undefined) continue;
      this.pendingReads.delete(state.context);
      this.readWaiters.push({ index: state.index, resolve: read.resolve, reject: read.reject });
    }
    this.releaseReads();
    // 5. Done.
    this.core.advance(ready);
    this.maybeSnapshot();
  }

  private restore(data: Uint8Array, index: LogIndex): void {
    this.abortSnapshot();
    const appliedBefore = this.machine.applied;
    if (data.length > 0) this.machine.restore(data, index);
    else {
      this.machine = new StateMachine({
        dataBytesMax: this.options.dataBytesMax,
        superIds: this.options.superIds,
      });
      this.machine.applied = index;
    }
    this.lastSnapshotIndex = index;
    this.metrics.snapshotsInstalled.inc();
    this.history.reset(index as number as Zxid);
    for (const [id, address] of this.machine.members) this.setPeer(id, address);
    // Sessions of this node that the snapshot says are gone; answers to requests it covers.
    for (const session of [...this.sessions.values()]) session.afterRestore();
    // This node's own record is not judged here (see applyEntry): the leader's refusal is.
    for (const peer of [...this.peerIncarnations.keys()]) this.checkIncarnation(peer);
    // The changes the snapshot covers fired no events here: streams end, one-shots re-check.
    for (const session of [...this.sessions.values()]) session.afterSnapshot(appliedBefore, index);
    if (this.role === 'leader') this.resetDeadlines();
  }

  private applyEntry(entry: Entry): void {
    const applied = this.machine.apply(entry);
    this.metrics.applied.inc();
    if (applied.kind === 'member') {
      if (applied.address === null) this.removePeer(applied.nodeId);
      else this.setPeer(applied.nodeId, applied.address);
      return;
    }
    if (applied.kind === 'confChange') {
      // Removed members' incarnations are forgotten with the removal (StateMachine): whatever
      // runs under such an id next starts afresh.
      for (const id of applied.removed) this.forgetPeer(id);
      return;
    }
    if (applied.kind === 'incarnation') {
      this.recording.delete(applied.nodeId);
      // A record of this node's own id is not judged here: a member added again after a removal
      // replays the log (or a snapshot) from before the removal, with the record of the machine
      // it replaces, and only later entries forget it. The leader judges against the current
      // record (checkIncarnation) and refuses a member that differs; that refusal stops it.
      if (applied.nodeId === this.id) return;
      if (applied.incarnation === null) this.forgetPeer(applied.nodeId);
      else this.checkIncarnation(applied.nodeId);
      return;
    }
    if (applied.kind === 'claim') {
      const waiter = this.claimWaiters.get(applied.nonce);
      if (waiter !== undefined) {
        this.claimWaiters.delete(applied.nonce);
        waiter(applied.claimed);
        return;
      }
      // Another member took the session: this node's copy (if any) is stale.
      const local = this.sessions.get(applied.sessionId);
      if (applied.claimed !== null && local !== undefined && local.epoch !== applied.claimed.epoch)
        local.detach();
      return;
    }
    if (applied.kind !== 'txn') return;
    this.afterTxn(applied);
  }

  private afterTxn(applied: Extract<AppliedCommand, { kind: 'txn' }>): void {
    const { txn, result, events } = applied;
    if (events.length > 0) {
      this.history.record(applied.index as number as Zxid, events);
      const tree = this.machine.tree;
      const notifications = this.watches.trigger(events, (sid, event) =>
        tree.canReadEvent(sid, event),
      );
      for (const notification of notifications) this.notify(notification);
      for (const sink of this.streams) {
        for (const event of events) {
          if (!inScope(sink.scope, event)) continue;
          if (!tree.canReadEvent(sink.sessionId, event)) continue;
          sink.push({ type: event.type, path: event.path, zxid: event.zxid });
        }
      }
      this.metrics.watchEvents.inc(notifications.length);
    }
    if (applied.outcome === 'applied' && result?.ok === true) {
      if (txn.type === 'createSession' && this.role === 'leader')
        this.deadlines.set(txn.sessionId, this.options.clock.now() + txn.timeoutMs);
      if (txn.type === 'closeSession') {
        this.deadlines.delete(txn.sessionId);
        this.expiring.delete(txn.sessionId);
        const session = this.sessions.get(txn.sessionId);
        if (session !== undefined && (applied.seq === null || txn.reason === 'expire'))
          session.expired();
      }
    }
    if (txn.type === 'reap') this.reaping = 0;
    if (!('sessionId' in txn)) return;
    const session = this.sessions.get(txn.sessionId);
    if (session !== undefined && applied.seq !== null)
      session.settle(applied.seq, applied.outcome, result);
  }

  private notify(notification: Notification): void {
    const session = this.sessions.get(notification.sessionId);
    if (session === undefined) return;
    try {
      session.deliver(notification);
    } catch (error) {
      this.options.onEvent({ type: 'watcherThrew', error });
    }
  }

  private releaseReads(): void {
    if (this.readWaiters.length === 0) return;
    const applied = this.machine.applied;
    const still: ReadWaiter[] = [];
    for (const waiter of this.readWaiters) {
      if (waiter.index <= applied) waiter.resolve();
      else still.push(waiter);
    }
    this.readWaiters = still;
  }

  private issueRead(context: string): void {
    const outcome = this.core.readIndex(context);
    if (outcome.status === 'refused') return; // retried from the tick with a fresh context
    this.process();
  }

  /**
   * Begins a local snapshot once `snapshotEntries` entries were applied since the last one. It
   * is written in slices of `snapshotSliceZnodes` znodes, one per turn of the event loop, while
   * entries go on being applied (the state machine keeps the state as of the snapshot's index);
   * the finished bytes go to the core, whose next Ready carries the compaction.
   */
  private maybeSnapshot(): void {
    if (this.snapshotJob !== null) return;
    const applied = this.machine.applied;
    if (applied - this.lastSnapshotIndex < this.options.snapshotEntries) return;
    const core = this.core.status();
    if (core.applied < applied) return;
    // The core may hold a newer snapshot than the one restored here: received while a write
    // was in flight, it rides the next Ready, and `compact` would refuse a snapshot not newer
    // than its own (sim seed 77: 321 vs 361).
    if (core.snapshotIndex >= applied) return;
    const started = this.options.clock.now();
    // One msgpack chunk per slice: packing a chunk is a slice's other half, never five at once.
    const job = this.machine.beginSnapshot(this.options.snapshotSliceZnodes);
    this.snapshotJob = job;
    const slice = (): void => {
      if (this.snapshotJob !== job) return; // aborted (a snapshot installed, or closing)
      let done: boolean;
      try {
        done = job.step(this.options.snapshotSliceZnodes);
      } catch (error) {
        this.snapshotJob = null;
        this.stop(error);
        return;
      }
      if (!done) {
        this.options.timers.setImmediate(slice);
        return;
      }
      this.snapshotJob = null;
      if (this.closed || this.fatal !== null) return;
      // A snapshot installed while this one was written may cover its index.
      if (this.core.status().snapshotIndex >= job.index) return;
      this.core.compact({ index: job.index, data: job.bytes() });
      this.lastSnapshotIndex = job.index;
      this.metrics.snapshots.inc();
      this.metrics.snapshotLatency.observeMs(this.options.clock.now() - started);
      this.process();
    };
    slice();
  }

  /** Drops a snapshot being written (a newer one was installed, or the node is closing). */
  private abortSnapshot(): void {
    const job = this.snapshotJob;
    if (job === null) return;
    this.snapshotJob = null;
    job.abort();
  }

  private roleChanged(role: Role, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader';
    const leaderChanged = leader !== this.leader;
    this.role = role;
    this.leader = leader;
    this.options.onEvent({ type: 'roleChanged', role, leader, term: this.core.status().term });
    if (role === 'leader' && !wasLeader) this.resetDeadlines();
    if (role !== 'leader') {
      this.deadlines.clear();
      this.expiring.clear();
    }
    if (leaderChanged && leader !== null) {
      this.metrics.leaderChanges.inc();
      // Proposals the old leader had not committed may be gone: resend (duplicates are answered once).
      for (const session of this.sessions.values()) session.resend();
      for (const [context, read] of [...this.pendingReads]) {
        this.pendingReads.delete(context);
        const fresh = `${this.readNonce}.${++this.readContext}`;
        this.pendingReads.set(fresh, read);
        this.issueRead(fresh);
      }
    }
  }

  /** A new leader restarts every session's deadline (ARCHITECTURE: sessions). */
  private resetDeadlines(): void {
    const now = this.options.clock.now();
    const tree = this.machine.tree;
    this.deadlines.clear();
    this.expiring.clear();
    for (const id of tree.sessionIds()) {
      const session = tree.session(id);
      if (session !== null) this.deadlines.set(id, now + session.timeoutMs);
    }
  }

  private scheduleTick(): void {
    if (this.closed) return;
    this.tickTimer = this.options.timers.setTimeout(() => {
      this.tickTimer = null;
      this.onTick();
      this.scheduleTick();
    }, this.options.tickMs);
  }

  private onTick(): void {
    if (this.closed || this.fatal !== null) return;
    this.ticks++;
    this.core.tick();
    const now = this.options.clock.now();
    this.touchSessions(now);
    if (this.ticks % HELLO_EVERY_TICKS === 0) this.sayHello();
    if (this.role === 'leader') {
      this.expireSessions(now);
      this.reap(now);
      this.checkSnapshotsSent(now);
    }
    for (const session of this.sessions.values()) session.onTick(now);
    this.retryReads();
    this.process();
  }

  // ---- amnesia: a member whose data was lost must not rejoin as the voter it was ---------------

  /** Nothing goes to a refused member (its log is not the one the leader tracks). */
  private toAdmitted(messages: readonly Message[]): readonly Message[] {
    return this.refused.size === 0 ? messages : messages.filter((m) => !this.refused.has(m.to));
  }

  private sayHello(): void {
    const s = this.core.status().confState;
    const peers = new Set([...s.voters, ...s.votersOutgoing, ...s.learners, ...s.learnersNext]);
    peers.delete(this.id);
    for (const peer of [...peers].sort((a, b) => a - b))
      this.sendRuntime(peer, { k: 'hello', i: this.incarnation });
    if (this.role === 'leader') this.checkIncarnation(this.id);
  }

  /**
   * Compares what `peer` (or this node) says its incarnation is with the cluster's record: the
   * leader records one it has not seen before; a different one means the member lost its data
   * (RELIABILITY F10): its messages are dropped here and it is told, until an operator removes
   * and re-adds it.
   */
  private checkIncarnation(peer: NodeId): void {
    const seen = peer === this.id ? this.incarnation : this.peerIncarnations.get(peer);
    if (seen === undefined) return;
    const recorded = this.machine.incarnations.get(peer);
    if (recorded === undefined) {
      this.refused.delete(peer);
      const now = this.options.clock.now();
      const since = this.recording.get(peer);
      if (
        this.role !== 'leader' ||
        this.machine.departed.has(peer) ||
        (since !== undefined && now - since < this.electionTimeoutMs())
      )
        return;
      this.recording.set(peer, now);
      this.outbox.push({
        type: 'normal',
        data: encodeCommand({ kind: 'incarnation', nodeId: peer, incarnation: seen }, this.stamp()),
      });
      this.scheduleFlush();
      return;
    }
    if (recorded === seen) {
      this.refused.delete(peer);
      return;
    }
    if (peer === this.id) return;
    if (!this.refused.has(peer))
      this.options.onEvent({
        type: 'memberRefused',
        nodeId: peer,
        reason: 'its data was lost (another incarnation)',
      });
    this.refused.add(peer);
    // Only a leader that has applied all it knows committed tells the member to stop: a lagging
    // member's record may predate the removal that forgot it and the re-add (sim membership
    // seed 28: a follower told a re-added, wiped member it was amnesic). Its own refusal above
    // only drops the member's messages until it catches up, which heals by itself.
    if (this.role === 'leader' && this.machine.applied >= this.core.status().commit)
      this.sendRuntime(peer, { k: 'refused', recorded });
  }

  /**
   * The transport cannot say whether a snapshot arrived. A follower that installs it answers
   * with its new index and leaves the snapshot state by itself; one that never got it would
   * wait forever, so after a while (three election timeouts plus 1 s per 10 MB) the core is
   * told the snapshot failed and probes again, sending another if needed.
   */
  private snapshotSent(to: NodeId, bytes: number): void {
    const waitMs = this.electionTimeoutMs() * 3 + Math.ceil(bytes / 10_000);
    this.snapshotsSent.set(to, this.options.clock.now() + waitMs);
  }

  private checkSnapshotsSent(now: number): void {
    for (const [peer, deadline] of this.snapshotsSent) {
      if (now < deadline) continue;
      this.snapshotsSent.delete(peer);
      this.core.reportSnapshot(peer, false);
    }
  }

  /**
   * Counted in ticks: a clock that jumps back must not hold a read's retry or its deadline for
   * as long as the jump (sim seed 829435207 left a sync unanswered past the liveness bound).
   */
  private retryReads(): void {
    for (const [context, read] of [...this.pendingReads]) {
      if (this.ticks > read.deadlineTick) {
        this.pendingReads.delete(context);
        read.reject(
          new ConnectionLossError(undefined, { message: 'no leader confirmed the read in time' }),
        );
      } else if (this.ticks - read.issuedAtTick >= this.options.electionTicks) {
        // Contexts are never reused (see RaftCore.readIndex): a retry gets a fresh one.
        this.pendingReads.delete(context);
        read.issuedAtTick = this.ticks;
        const fresh = `${this.readNonce}.${++this.readContext}`;
        this.pendingReads.set(fresh, read);
        this.issueRead(fresh);
      }
    }
  }

  // ---- sessions: liveness and expiry -------------------------------------------------------------

  /** Every few ticks, report this node's live sessions to the leader (or to itself when leading). */
  private touchSessions(now: number): void {
    if (this.sessions.size === 0) return;
    const every = Math.max(
      1,
      Math.floor(this.options.sessionTimeoutMinMs / 4 / this.options.tickMs),
    );
    if (this.ticks % every !== 0 && this.role !== 'leader') return;
    const ids = [...this.sessions.values()].filter((s) => s.isLive()).map((s) => s.id);
    if (ids.length === 0) return;
    if (this.role === 'leader') {
      this.touch(ids, now);
      for (const id of ids) this.sessions.get(id)?.heard(now);
      return;
    }
    if (this.leader === null) return;
    const n = ++this.touchNumber;
    this.touchesSent.set(n, now);
    if (this.touchesSent.size > TOUCHES_REMEMBERED) this.touchesSent.delete(n - TOUCHES_REMEMBERED);
    this.sendRuntime(this.leader, { k: 'touch', n, s: ids });
  }

  private touch(ids: readonly SessionId[], now: number): void {
    const tree = this.machine.tree;
    for (const id of ids) {
      const session = tree.session(id);
      if (session !== null) this.deadlines.set(id, now + session.timeoutMs);
    }
  }

  private receiveRuntime(from: NodeId, payload: Uint8Array): void {
    let message: RuntimePayload;
    try {
      message = runtimePackr.unpack(payload) as RuntimePayload;
    } catch {
      return; // a damaged report is as good as a lost one
    }
    if (message.k === 'hello' && typeof message.i === 'string') {
      this.peerIncarnations.set(from, message.i);
      this.checkIncarnation(from);
      return;
    }
    if (message.k === 'refused' && typeof message.recorded === 'string') {
      if (
        message.recorded !== this.incarnation &&
        this.machine.incarnations.get(this.id) !== this.incarnation
      )
        this.stop(amnesia(this.id, message.recorded, this.incarnation, from));
      return;
    }
    if (message.k === 'touch' && Array.isArray(message.s)) {
      if (this.role !== 'leader') return;
      this.touch(
        message.s.filter((id): id is SessionId => typeof id === 'bigint'),
        this.options.clock.now(),
      );
      this.sendRuntime(from, { k: 'ack', n: message.n });
    } else if (message.k === 'ack') {
      const sentAt = this.touchesSent.get(message.n);
      if (sentAt === undefined) return;
      for (const [n] of this.touchesSent) if (n <= message.n) this.touchesSent.delete(n);
      for (const session of this.sessions.values()) session.heard(sentAt);
    }
  }

  private sendRuntime(to: NodeId, payload: RuntimePayload): void {
    this.transport.send([
      { type: 'Runtime', from: this.id, to, term: 0 as Term, payload: runtimePackr.pack(payload) },
    ]);
  }

  private expireSessions(now: number): void {
    for (const [id, deadline] of this.deadlines) {
      if (now <= deadline) continue;
      const proposedAt = this.expiring.get(id);
      if (proposedAt !== undefined && now - proposedAt < this.electionTimeoutMs()) continue;
      this.expiring.set(id, now);
      this.metrics.sessionsExpired.inc();
      this.propose({ type: 'closeSession', sessionId: id, reason: 'expire' }, null, 0);
    }
  }

  /** Containers and TTL nodes that are due: one reap txn at a time. */
  private reap(now: number): void {
    if (this.reaping !== 0 && now - this.reaping < this.electionTimeoutMs()) return;
    const due = this.machine.tree.dueForReaping(Math.max(now, this.machine.time));
    if (due.length === 0) return;
    this.reaping = now;
    this.propose({ type: 'reap', paths: due.slice(0, 1000) }, null, 0);
  }

  // ---- membership ---------------------------------------------------------------------------------

  /** Optional port capability (`Transport.setPeer`): a transport without it needs no addresses. */
  private setPeer(id: NodeId, address: string): void {
    if (id === this.id) return;
    this.transport.setPeer?.(id, address);
  }

  private removePeer(id: NodeId): void {
    if (id === this.id) return;
    this.transport.removePeer?.(id);
  }

  private async proposeMember(
    id: NodeId,
    address: string | null,
    timeoutMs?: number,
  ): Promise<void> {
    const deadline = this.options.clock.now() + (timeoutMs ?? this.electionTimeoutMs() * 20);
    const done = (): boolean =>
      address === null ? !this.machine.members.has(id) : this.machine.members.get(id) === address;
    while (!done()) {
      this.assertOpen();
      if (this.options.clock.now() > deadline)
        throw new ConnectionLossError(undefined, {
          message: `address of ${id} not recorded in time`,
        });
      this.outbox.push({
        type: 'normal',
        data: encodeCommand({ kind: 'member', nodeId: id, address }, this.stamp()),
      });
      this.scheduleFlush();
      await this.until(done, this.electionTimeoutMs() * 2);
    }
  }

  /** After a removal: a member added again under this id starts a new record. */
  private async forgetIncarnation(id: NodeId, timeoutMs?: number): Promise<void> {
    const deadline = this.options.clock.now() + (timeoutMs ?? this.electionTimeoutMs() * 20);
    const done = (): boolean => !this.machine.incarnations.has(id);
    while (!done()) {
      this.assertOpen();
      if (this.options.clock.now() > deadline)
        throw new ConnectionLossError(undefined, {
          message: `record of ${id} not cleared in time`,
        });
      this.outbox.push({
        type: 'normal',
        data: encodeCommand({ kind: 'incarnation', nodeId: id, incarnation: null }, this.stamp()),
      });
      this.scheduleFlush();
      await this.until(done, this.electionTimeoutMs() * 2);
    }
    this.forgetPeer(id);
  }

  /** Forgotten (the member was removed): whatever runs under this id next starts afresh. */
  private forgetPeer(id: NodeId): void {
    this.peerIncarnations.delete(id);
    this.refused.delete(id);
    this.recording.delete(id);
  }

  private async changeMembership(
    changes: ConfChangeSingle[],
    done: (status: { voters: readonly NodeId[]; learners: readonly NodeId[] }) => boolean,
    timeoutMs?: number,
  ): Promise<void> {
    const deadline = this.options.clock.now() + (timeoutMs ?? this.electionTimeoutMs() * 20);
    const check = (): boolean => {
      const s = this.core.status().confState;
      return s.votersOutgoing.length === 0 && done({ voters: s.voters, learners: s.learners });
    };
    while (!check()) {
      this.assertOpen();
      if (this.options.clock.now() > deadline)
        throw new ConnectionLossError(undefined, {
          message: 'the membership change did not complete in time',
        });
      const outcome = this.core.proposeConfChange({ changes, transition: 'auto' });
      this.process();
      if (
        outcome.status === 'refused' &&
        outcome.error.code !== 'ConfChangePending' &&
        outcome.error.code !== 'NotLeader'
      )
        throw new NodeError('NotMember', outcome.error.message, { cause: outcome.error });
      await this.until(check, this.electionTimeoutMs() * 2);
    }
  }

  /** Polls `predicate` every tick until it holds or `ms` pass. */
  private async until(predicate: () => boolean, ms: number): Promise<void> {
    const end = this.options.clock.now() + ms;
    while (!predicate() && this.options.clock.now() < end && !this.closed)
      await this.sleep(this.options.tickMs);
  }

  /** Storage failed or an invariant broke: stop rather than limp (STYLE §7). Takes what was thrown. */
  private stop(thrown: unknown): void {
    if (this.fatal !== null) return;
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    this.fatal = error;
    this.options.onEvent({ type: 'fatal', error });
    const lost = new ConnectionLossError(undefined, {
      message: `the node stopped: ${error.message}`,
      cause: error,
    });
    for (const session of this.sessions.values()) session.fail(lost, 'closed');
    for (const [context, read] of this.pendingReads) {
      this.pendingReads.delete(context);
      read.reject(lost);
    }
    if (this.tickTimer !== null) this.options.timers.clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }
}

/**
 * Starts a member of a Cairn cluster in this process. With only `id` and `dataDir`, a
 * one-member cluster (the embedded default); with `listen` and `peers`, a member of a TCP
 * cluster; `storage` and `transport` take any implementation of the ports.
 */
export async function createNode(options: NodeOptions): Promise<CairnNode> {
  const resolved = resolveOptions(options);
  const bootstrap = resolved.join
    ? undefined
    : {
        voters: resolved.founders,
        votersOutgoing: [],
        learners: [],
        learnersNext: [],
        autoLeave: false,
      };
  let storage = options.storage;
  if (storage === undefined) {
    if (options.dataDir === undefined)
      throw new NodeError('ConfigInvalid', 'give dataDir (or a storage)');
    storage = await LevelLog.open({
      dir: options.dataDir,
      clusterId: resolved.clusterId,
      nodeId: resolved.id,
      ...(bootstrap === undefined ? {} : { bootstrap }),
      ...(options.logCacheBytes === undefined ? {} : { cacheBytes: options.logCacheBytes }),
    });
  }
  let transport = options.transport;
  if (transport === undefined) {
    const peers = options.peers ?? {};
    const others = Object.keys(peers)
      .map(Number)
      .filter((id) => id !== resolved.id);
    if (others.length > 0 || options.listen !== undefined) {
      const listen = options.listen ?? peers[resolved.id];
      if (listen === undefined) {
        await storage.close();
        throw new NodeError('ConfigInvalid', `give listen (or peers[${resolved.id}])`);
      }
      const peerMap: Record<number, string> = {};
      for (const id of others) peerMap[id] = peers[id] as string;
      transport = new TcpTransport({
        nodeId: resolved.id,
        clusterId: resolved.clusterId,
        listen,
        peers: peerMap,
        ...(options.secret === undefined ? {} : { secret: options.secret }),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
        random: resolved.random,
      });
    } else {
      transport = new LoopbackTransport();
    }
  }
  const node = new CairnNode(resolved, storage, transport);
  try {
    await node.start();
  } catch (error) {
    await node.close().catch(() => {});
    throw error;
  }
  return node;
}

/** The transport of a one-member cluster: there is nobody to talk to. */
class LoopbackTransport implements Transport {
  send(): void {}
  onMessage(): void {}
  onUnreachable(): void {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

export { MemoryDurableLog };

function incarnationOf(storage: DurableLog, options: ResolvedOptions): string {
  const recorded = (storage as DurableLog & { identity?: { incarnation?: unknown } }).identity
    ?.incarnation;
  if (typeof recorded === 'string') return recorded;
  let drawn = storageIncarnations.get(storage);
  if (drawn === undefined) {
    drawn = [...options.random.bytes(12)].map((b) => b.toString(16).padStart(2, '0')).join('');
    storageIncarnations.set(storage, drawn);
  }
  return drawn;
}

function amnesia(id: NodeId, recorded: string, mine: string, by: NodeId | null): NodeError {
  return new NodeError(
    'NotMember',
    `node ${id} runs on data incarnation ${mine} but the cluster recorded ${recorded}${by === null ? '' : ` (told by node ${by})`}: its data was lost or replaced. Remove it (removeMember) and add it again to rejoin`,
  );
}
