/**
 * An in-test cluster of real `RaftCore`s over a simulated network with faults (drop, delay,
 * duplication, reordering, one-way partitions), crash and restart, and the Raft safety checkers
 * of RELIABILITY.md §4.1 run as the cluster goes: election safety, log matching, leader
 * completeness and state machine safety. Everything is driven by one seed.
 *
 * The runtime it models follows the `Ready` contract of `core.ts` (send, persist, send after
 * persist, apply, advance). `crash` strikes between calls, when every Ready has been handled;
 * `armCrash` strikes inside the handling of a Ready, losing what the core had not persisted.
 * Storage survives every crash (no amnesia, RELIABILITY.md F10 is out of scope). Like a real
 * transport, the network reports the outcome of every `Snapshot` message to its sender
 * (`reportSnapshot`), including ones it lost. Snapshots carry a digest of the state machine at
 * their index, checked wherever one is restored (on install and on restart), so catch-up by
 * snapshot is checked like applying is. `mutateOnDelivery` plants bugs for checker self-tests.
 * With `storageMissPercent`, each core reads its log through `FlakyReads`: reads of committed
 * entries answer `'unavailable'` at random and the storage's notification arrives a little
 * later (`storageAvailable`), in the same round or a later one. A core that hands out an empty
 * Ready without a miss to explain it is busy-looping, and the cluster fails.
 */
import {
  type ConfState,
  describeEntry,
  describeMessage,
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  nodeId,
  type RaftConfig,
  RaftCore,
  type Random,
  type ReadState,
  type Ready,
  type Snapshot,
  seededRandom,
} from '@cairn/raft';
import { FlakyReads } from './flaky-reads.js';

export interface Faults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Messages are delayed by 0..delayMax rounds, which also reorders them. */
  delayMax: number;
}

export const NO_FAULTS: Faults = { drop: 0, duplicate: 0, delayMax: 0 };

/**
 * Where an armed crash strikes inside the handling of one Ready, in `core.ts`'s order:
 * `before-ready` loses everything the core did since its last Ready; `after-send` has sent
 * `messages` (which may leave before the write) but persisted nothing; `after-persist` has
 * persisted and sent everything but applied nothing and not advanced.
 */
export type CrashPoint = 'before-ready' | 'after-send' | 'after-persist';

export interface ClusterOptions {
  voters: number;
  learners?: number;
  seed: number;
  config?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;
  /** Snapshot and compact every this many applied entries (0: never). */
  snapshotEvery?: number;
  /**
   * TEST-ONLY planted bug: rewrites every message as it is delivered (before the receiver
   * steps it; the cluster is there to look at, not to change). It models no fault Raft claims
   * to survive (those are `Faults`); it exists so that each property has a sibling that breaks
   * the protocol on purpose and proves the checkers notice (STYLE.md §9.2).
   */
  mutateOnDelivery?: (message: Message, cluster: Cluster) => Message;
  /** The chance that a core's read of committed entries misses, in percent (default 0). */
  storageMissPercent?: number;
  /** TEST-ONLY planted bug: the storage never calls its listener after a miss. */
  storageNeverNotifies?: boolean;
}

/** Counters of what a run exercised, so a test can prove it did not pass vacuously. */
export interface ClusterStats {
  crashes: number;
  restarts: number;
  /** Local snapshots taken (and logs compacted) by `snapshotEvery`. */
  compactions: number;
  /** Snapshots from a leader installed by a lagging follower. */
  snapshotsInstalled: number;
  /** Snapshot messages the transport reported as lost to their sender. */
  snapshotsLost: number;
  /** Reads the storage answered `'unavailable'`. */
  storageMisses: number;
}

interface Member {
  id: NodeId;
  core: RaftCore | null;
  storage: MemoryStorage;
  /** The current core's view of `storage` (a new one per start). */
  reads: FlakyReads;
  /** `reads.misses` at the last Ready: an empty Ready needs a miss since. */
  missesAtReady: number;
  /** Whether an empty Ready was handed out since the last storage notification. */
  emptyReadySinceNotify: boolean;
  /** The state machine: applied entries by index; it survives a crash only up to the snapshot. */
  applied: Map<number, Entry>;
  appliedIndex: number;
  readStates: ReadState[];
  paused: boolean;
  /** A crash waiting for `afterMessages` more delivered messages, then the next Ready. */
  crashArmed: { afterMessages: number; point: CrashPoint } | null;
}

interface InFlight {
  deliverAt: number;
  message: Message;
  /** Dropped by the network: never delivered, but due for the transport's failure report. */
  lost?: boolean;
}

/** The transport telling a leader how a snapshot send went (`RaftCore.reportSnapshot`). */
interface SnapshotReport {
  from: NodeId;
  to: NodeId;
  ok: boolean;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly random: Random;
  readonly trace: string[] = [];
  faults: Faults = NO_FAULTS;
  round = 0;
  private inFlight: InFlight[] = [];
  /** One-way blocked links, as "from-to". */
  private readonly blocked = new Set<string>();
  private readonly options: ClusterOptions;
  /** Checker state: term -> leader. */
  readonly leaders = new Map<number, NodeId>();
  /** Checker state: index -> first entry applied there by anyone. */
  readonly committed = new Map<number, Entry>();
  /**
   * Checker state: index -> an upper bound on the term in which that entry was committed: the
   * lowest term any node was in when it applied the entry. A node learns of a commit from a
   * leader of its own term or an earlier one, and terms only grow, so the bound is sound; the
   * leader that commits an entry applies it in the same term, so it is usually exact.
   */
  readonly committedInTerm = new Map<number, number>();
  messagesDelivered = 0;
  readonly stats: ClusterStats = {
    crashes: 0,
    restarts: 0,
    compactions: 0,
    snapshotsInstalled: 0,
    snapshotsLost: 0,
    storageMisses: 0,
  };
  private snapshotReports: SnapshotReport[] = [];

  constructor(options: ClusterOptions) {
    this.options = options;
    this.random = seededRandom(options.seed);
    const voters = range(1, options.voters);
    const learners = range(options.voters + 1, options.voters + (options.learners ?? 0));
    const confState: ConfState = {
      voters,
      votersOutgoing: [],
      learners,
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of [...voters, ...learners]) {
      const storage = MemoryStorage.bootstrap(confState);
      const member: Member = {
        id,
        core: null,
        storage,
        reads: new FlakyReads(storage, this.random, 0),
        missesAtReady: 0,
        emptyReadySinceNotify: false,
        applied: new Map(),
        appliedIndex: 0,
        readStates: [],
        paused: false,
        crashArmed: null,
      };
      this.members.set(id, member);
      this.start(member);
    }
  }

  ids(): NodeId[] {
    return [...this.members.keys()];
  }

  core(id: NodeId): RaftCore {
    const core = this.member(id).core;
    if (core === null) throw new Error(`node ${id} is down`);
    return core;
  }

  member(id: NodeId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no node ${id}`);
    return member;
  }

  /** Adds a node (not yet in the configuration) that starts empty and waits for the leader. */
  addNode(id: NodeId): void {
    const storage = new MemoryStorage();
    const member: Member = {
      id,
      core: null,
      storage,
      reads: new FlakyReads(storage, this.random, 0),
      missesAtReady: 0,
      emptyReadySinceNotify: false,
      applied: new Map(),
      appliedIndex: 0,
      readStates: [],
      paused: false,
      crashArmed: null,
    };
    this.members.set(id, member);
    this.start(member);
  }

  private start(member: Member): void {
    const snapshot = member.storage.snapshot();
    const snapshotIndex = snapshot.metadata.index;
    // The state machine restarts from the snapshot; later entries are applied again.
    if (snapshotIndex > 0) this.restoreSnapshot(member, snapshot, 'restarted from');
    for (const index of [...member.applied.keys()])
      if (index > snapshotIndex) member.applied.delete(index);
    member.appliedIndex = snapshotIndex;
    const seed = this.options.seed * 31 + member.id * 7919 + this.round;
    // Notifications of the previous incarnation's misses die with it.
    member.reads = new FlakyReads(
      member.storage,
      seededRandom(seed + 1),
      this.options.storageMissPercent ?? 0,
    );
    member.missesAtReady = 0;
    member.emptyReadySinceNotify = false;
    const core = new RaftCore({
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.options.config,
      id: member.id,
      storage: member.reads,
      random: seededRandom(seed),
      applied: snapshotIndex as LogIndex,
    });
    member.reads.onAvailable(() => core.storageAvailable());
    member.core = core;
  }

  // ---- faults ------------------------------------------------------------------------------

  crash(id: NodeId): void {
    const member = this.member(id);
    if (member.core === null) return;
    const armed = member.crashArmed;
    member.core = null;
    member.crashArmed = null;
    this.stats.crashes++;
    // Snapshots on their way here (or already lost on the way) failed: the transport says so.
    for (const item of this.inFlight)
      if (item.message.to === id) this.reportIfSnapshot(item.message, false);
    this.inFlight = this.inFlight.filter((item) => item.message.to !== id);
    this.trace.push(`round ${this.round}: crash ${id}${armed === null ? '' : ` ${armed.point}`}`);
  }

  /**
   * Crashes `id` in the middle of its work: once it has been delivered `afterMessages` more
   * messages, at its next Ready, at `point`. Unlike `crash`, which strikes between steps when
   * every Ready has been handled, this loses state the core had not yet persisted (F4, F5).
   */
  armCrash(id: NodeId, afterMessages: number, point: CrashPoint): void {
    const member = this.member(id);
    if (member.core === null) return;
    member.crashArmed = { afterMessages, point };
    this.trace.push(
      `round ${this.round}: ${id} will crash ${point} after ${afterMessages} messages`,
    );
  }

  restart(id: NodeId): void {
    const member = this.member(id);
    if (member.core !== null) return;
    this.start(member);
    this.stats.restarts++;
    this.trace.push(`round ${this.round}: restart ${id}`);
  }

  isUp(id: NodeId): boolean {
    return this.member(id).core !== null;
  }

  pause(id: NodeId, paused: boolean): void {
    this.member(id).paused = paused;
    this.trace.push(`round ${this.round}: ${paused ? 'pause' : 'unpause'} ${id}`);
  }

  /** Cuts both directions between the two groups. */
  partition(...groups: NodeId[][]): void {
    this.heal();
    for (const a of groups)
      for (const b of groups)
        if (a !== b) for (const x of a) for (const y of b) this.blocked.add(`${x}-${y}`);
    this.trace.push(`partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }

  isolate(id: NodeId): void {
    this.partition(
      [id],
      this.ids().filter((other) => other !== id),
    );
  }

  blockOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}-${to}`);
    this.trace.push(`round ${this.round}: block ${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Ends every fault: heals the network, clears message faults, restarts, unpauses and disarms every node. */
  healAll(): void {
    this.heal();
    this.faults = NO_FAULTS;
    for (const member of this.members.values()) {
      this.restart(member.id);
      member.paused = false;
      member.crashArmed = null;
    }
    this.trace.push(`round ${this.round}: heal all`);
  }

  // ---- driving -----------------------------------------------------------------------------

  /** Handles every pending Ready and delivers due messages until nothing moves (bounded). */
  settle(loopsMax = 1000): void {
    for (let loop = 0; loop < loopsMax; loop++) {
      const moved = this.processReadies() + this.deliverDue() + this.notifyStorage();
      if (moved === 0) return;
    }
  }

  /** One round: every running node ticks once, then the cluster settles. */
  tick(rounds = 1): void {
    for (let i = 0; i < rounds; i++) {
      this.round++;
      for (const member of this.members.values())
        if (member.core !== null && !member.paused) member.core.tick();
      this.settle();
    }
  }

  /** Ticks until `predicate` holds; returns the rounds it took, or throws after `roundsMax`. */
  tickUntil(predicate: () => boolean, roundsMax: number, what: string): number {
    for (let rounds = 0; rounds <= roundsMax; rounds++) {
      if (predicate()) return rounds;
      this.tick();
    }
    throw new Error(
      `${what}: not reached within ${roundsMax} rounds (seed ${this.options.seed})\n${this.trace.slice(-30).join('\n')}`,
    );
  }

  leader(): NodeId | null {
    let found: NodeId | null = null;
    let foundTerm = -1;
    for (const member of this.members.values()) {
      if (member.core === null || member.paused) continue;
      const status = member.core.status();
      if (status.role === 'leader' && status.term > foundTerm) {
        found = member.id;
        foundTerm = status.term;
      }
    }
    return found;
  }

  /** Elects `id` by letting it campaign, then settles. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.settle();
  }

  /** Proposes on the current leader; returns the entry's index, or null if there is no leader or it refused. */
  propose(data: string): LogIndex | null {
    const leader = this.leader();
    if (leader === null) return null;
    const outcome = this.core(leader).propose(new TextEncoder().encode(data));
    this.settle();
    return outcome.status === 'appended' ? outcome.index : null;
  }

  appliedData(id: NodeId): string[] {
    const member = this.member(id);
    const out: string[] = [];
    for (let i = 1; i <= member.appliedIndex; i++) {
      const entry = member.applied.get(i);
      if (entry !== undefined && entry.type === 'normal' && entry.data.length > 0)
        out.push(new TextDecoder().decode(entry.data));
    }
    return out;
  }

  readStates(id: NodeId): ReadState[] {
    return this.member(id).readStates;
  }

  private processReadies(): number {
    let handled = 0;
    for (const member of this.members.values()) {
      const core = member.core;
      if (core === null || member.paused || !core.hasReady()) continue;
      handled++;
      const armed = member.crashArmed;
      const strike = armed !== null && armed.afterMessages === 0 ? armed.point : null;
      if (strike === 'before-ready') {
        this.crash(member.id);
        continue;
      }
      const ready = core.ready();
      this.checkNotBusy(member, ready);
      // Checked before any crash point: a leader's first messages may already have left.
      if (ready.softState?.role === 'leader') this.onLeader(member.id, core);
      for (const message of ready.messages) this.enqueue(message);
      if (strike === 'after-send') {
        this.crash(member.id);
        continue;
      }
      if (this.traceMessages && ready.hardState !== null)
        this.trace.push(
          `${member.id} persists term=${ready.hardState.term} vote=${ready.hardState.vote} commit=${ready.hardState.commit}`,
        );
      member.storage.write({
        hardState: ready.hardState ?? undefined,
        snapshot: ready.snapshot ?? undefined,
        entries: ready.entries,
      });
      if (ready.compaction !== null)
        member.storage.compact(ready.compaction.snapshot, ready.compaction.compactTo);
      for (const message of ready.messagesAfterPersist) this.enqueue(message);
      if (strike === 'after-persist') {
        this.crash(member.id);
        continue;
      }
      if (ready.snapshot !== null) {
        this.restoreSnapshot(member, ready.snapshot, 'installed');
        this.stats.snapshotsInstalled++;
      }
      const termNow = ready.committedEntries.length > 0 ? core.status().term : 0;
      for (const entry of ready.committedEntries) this.apply(member, entry, termNow);
      member.readStates.push(...ready.readStates);
      core.advance(ready);
      core.assertInvariants();
      this.maybeSnapshot(member, core);
    }
    return handled;
  }

  /**
   * Delivers storage notifications of running, unpaused nodes: each pending one now or, at
   * random, in a later round (a load that takes a while).
   */
  private notifyStorage(): number {
    let notified = 0;
    for (const member of this.members.values()) {
      if (member.core === null || member.paused || !member.reads.hasPending()) continue;
      if (this.random.nextInt(4) === 0 || this.options.storageNeverNotifies === true) continue;
      member.reads.notify();
      member.emptyReadySinceNotify = false;
      notified++;
    }
    return notified;
  }

  /**
   * An empty Ready is one handed out for nothing. A storage miss since the last Ready explains
   * one (committed entries turned out unavailable), but only one until the storage notifies:
   * a core that asks again meanwhile would spin.
   */
  private checkNotBusy(member: Member, ready: Ready): void {
    const misses = member.reads.misses;
    this.stats.storageMisses += misses - member.missesAtReady;
    const explained = misses > member.missesAtReady && !member.emptyReadySinceNotify;
    member.missesAtReady = misses;
    if (!isEmpty(ready)) return;
    member.emptyReadySinceNotify = true;
    if (explained) return;
    throw new Error(
      `busy loop: node ${member.id} handed out an empty Ready with no storage miss to explain it (seed ${this.options.seed})`,
    );
  }

  /**
   * Restores the state machine from a snapshot. The snapshot carries only a digest of the state
   * it stands for; the checker's committed map (the first entry applied at each index, which
   * holds every index a snapshot can cover) supplies the entries, once the digests agree.
   */
  private restoreSnapshot(member: Member, snapshot: Snapshot, how: string): void {
    const index = snapshot.metadata.index;
    const expected = snapshotData(index, (i) => this.committed.get(i));
    // An empty image (the genesis snapshot of `MemoryStorage.bootstrap`) is an empty state machine.
    const empty = snapshot.data.length === 0 && [...this.committed.keys()].every((i) => i > index);
    if (!empty && !sameBytes(snapshot.data, expected)) {
      throw new Error(
        `snapshot safety: node ${member.id} ${how} a snapshot at ${index} (${new TextDecoder().decode(snapshot.data)}) that differs from the applied prefix (${new TextDecoder().decode(expected)}) (seed ${this.options.seed})`,
      );
    }
    for (let i = 1; i <= index; i++) {
      const entry = this.committed.get(i);
      if (entry !== undefined) member.applied.set(i, entry);
    }
    member.appliedIndex = index;
  }

  private apply(member: Member, entry: Entry, termNow: number): void {
    if (entry.index !== member.appliedIndex + 1) {
      throw new Error(
        `node ${member.id} applied ${entry.index} after ${member.appliedIndex}: gap or repeat`,
      );
    }
    const first = this.committed.get(entry.index);
    if (first === undefined) this.committed.set(entry.index, entry);
    else if (first.term !== entry.term || !sameBytes(first.data, entry.data)) {
      throw new Error(
        `state machine safety: node ${member.id} applied ${describeEntry(entry)} where ${describeEntry(first)} was applied (seed ${this.options.seed})`,
      );
    }
    const bound = this.committedInTerm.get(entry.index);
    if (bound === undefined || termNow < bound) this.committedInTerm.set(entry.index, termNow);
    member.applied.set(entry.index, entry);
    member.appliedIndex = entry.index;
  }

  private maybeSnapshot(member: Member, core: RaftCore): void {
    const every = this.options.snapshotEvery ?? 0;
    if (every === 0) return;
    const status = core.status();
    const snapshotIndex = member.storage.snapshot().metadata.index;
    if (status.applied - snapshotIndex < every) return;
    core.compact({
      index: status.applied,
      data: snapshotData(status.applied, (i) => member.applied.get(i)),
    });
    this.stats.compactions++;
  }

  /**
   * Election safety and leader completeness (Raft Figure 3), checked when a node becomes
   * leader. Completeness binds leaders of *later* terms only: a candidate of an old term may
   * still win that term after a later term has committed more (a vote granted in term 3 that
   * arrives after term 4 committed entries), and that leader lacks them legitimately; it can
   * commit nothing, which state machine safety checks.
   */
  private onLeader(id: NodeId, core: RaftCore): void {
    const term = core.status().term;
    const previous = this.leaders.get(term);
    if (previous !== undefined && previous !== id) {
      throw new Error(
        `election safety: ${previous} and ${id} both lead term ${term} (seed ${this.options.seed})`,
      );
    }
    this.leaders.set(term, id);
    this.trace.push(`round ${this.round}: ${id} leads term ${term}`);
    for (const [index, entry] of this.committed) {
      if ((this.committedInTerm.get(index) ?? 0) >= term) continue;
      const have = core.term(index as LogIndex);
      if (have !== null && have !== entry.term) {
        throw new Error(
          `leader completeness: leader ${id} of term ${term} has term ${have} at ${index}, committed ${describeEntry(entry)} (seed ${this.options.seed})`,
        );
      }
      if (have === null && index > core.status().lastIndex) {
        throw new Error(
          `leader completeness: leader ${id} of term ${term} lacks committed entry ${index} (seed ${this.options.seed})`,
        );
      }
    }
  }

  /** Log matching: two logs that agree on (index, term) agree on everything up to it. */
  checkLogMatching(): void {
    const running = [...this.members.values()];
    for (let a = 0; a < running.length; a++) {
      for (let b = a + 1; b < running.length; b++) {
        const x = running[a] as Member;
        const y = running[b] as Member;
        const last = Math.min(x.storage.lastIndex(), y.storage.lastIndex());
        const first = Math.max(x.storage.firstIndex(), y.storage.firstIndex());
        let agreed = false;
        for (let i = last; i >= first; i--) {
          const ex = x.storage.entries(
            i as LogIndex,
            (i + 1) as LogIndex,
            Number.MAX_SAFE_INTEGER,
          )?.[0];
          const ey = y.storage.entries(
            i as LogIndex,
            (i + 1) as LogIndex,
            Number.MAX_SAFE_INTEGER,
          )?.[0];
          if (ex === undefined || ey === undefined) continue;
          if (!agreed && ex.term === ey.term) agreed = true;
          if (agreed && (ex.term !== ey.term || !sameBytes(ex.data, ey.data))) {
            throw new Error(
              `log matching: nodes ${x.id} and ${y.id} differ at ${i} below an agreed entry (seed ${this.options.seed})`,
            );
          }
        }
      }
    }
  }

  private enqueue(message: Message): void {
    if (this.traceMessages && message.type === 'Snapshot')
      this.trace.push(`sent ${describeMessage(message)}`);
    const f = this.faults;
    if (f.drop > 0 && this.random.nextInt(1_000_000) < f.drop * 1_000_000) {
      if (message.type === 'Snapshot')
        this.inFlight.push({ deliverAt: this.round, message, lost: true });
      return;
    }
    const copies =
      f.duplicate > 0 && this.random.nextInt(1_000_000) < f.duplicate * 1_000_000 ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = f.delayMax > 0 ? this.random.nextInt(f.delayMax + 1) : 0;
      this.inFlight.push({ deliverAt: this.round + delay, message });
    }
  }

  private deliverDue(): number {
    let delivered = this.deliverSnapshotReports();
    if (this.inFlight.length === 0) return delivered;
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const item of this.inFlight) (item.deliverAt <= this.round ? due : later).push(item);
    this.inFlight = later;
    for (const item of due) {
      const sent = item.message;
      const member = this.members.get(sent.to);
      const core = member?.core ?? null;
      if (
        item.lost ||
        member === undefined ||
        core === null ||
        this.blocked.has(`${sent.from}-${sent.to}`)
      ) {
        this.reportIfSnapshot(sent, false);
        continue;
      }
      if (member.paused) {
        later.push({ deliverAt: this.round + 1, message: sent });
        continue;
      }
      const message = this.options.mutateOnDelivery?.(sent, this) ?? sent;
      if (this.traceMessages) this.trace.push(describeMessage(message));
      core.step(message);
      if (member.crashArmed !== null && member.crashArmed.afterMessages > 0)
        member.crashArmed.afterMessages--;
      this.reportIfSnapshot(sent, true);
      delivered++;
      this.messagesDelivered++;
    }
    if (this.trace.length > 2000) this.trace.splice(0, this.trace.length - 1000);
    return delivered;
  }

  traceMessages = false;

  private reportIfSnapshot(message: Message, ok: boolean): void {
    if (message.type !== 'Snapshot') return;
    this.snapshotReports.push({ from: message.from, to: message.to, ok });
    if (!ok) this.stats.snapshotsLost++;
  }

  /** Hands snapshot outcomes to their senders; a paused sender gets them once it resumes. */
  private deliverSnapshotReports(): number {
    if (this.snapshotReports.length === 0) return 0;
    const pending = this.snapshotReports;
    this.snapshotReports = [];
    let reported = 0;
    for (const report of pending) {
      const sender = this.members.get(report.from);
      // A crashed sender forgot the send; its next incarnation starts a fresh progress.
      if (sender === undefined || sender.core === null) continue;
      if (sender.paused) {
        this.snapshotReports.push(report);
        continue;
      }
      sender.core.reportSnapshot(report.to, report.ok);
      if (this.traceMessages)
        this.trace.push(
          `${report.from} hears its snapshot to ${report.to} ${report.ok ? 'arrived' : 'was lost'}`,
        );
      reported++;
    }
    return reported;
  }
}

function isEmpty(ready: Ready): boolean {
  return (
    ready.softState === null &&
    ready.hardState === null &&
    ready.entries.length === 0 &&
    ready.snapshot === null &&
    ready.compaction === null &&
    ready.messages.length === 0 &&
    ready.messagesAfterPersist.length === 0 &&
    ready.committedEntries.length === 0 &&
    ready.readStates.length === 0
  );
}

function range(from: number, to: number): NodeId[] {
  const out: NodeId[] = [];
  for (let i = from; i <= to; i++) out.push(nodeId(i));
  return out;
}

/**
 * What the harness stores as snapshot data: the index and an FNV-1a digest of every entry
 * (index, term, data) up to it, standing in for a state machine image. Indices no one applied
 * (those inside the genesis snapshot) count as absent on both sides.
 */
function snapshotData(index: number, entryAt: (index: number) => Entry | undefined): Uint8Array {
  let hash = 0x811c9dc5;
  const mix = (byte: number): void => {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  };
  for (let i = 1; i <= index; i++) {
    const entry = entryAt(i);
    const head = entry === undefined ? `${i}/-:` : `${entry.index}/${entry.term}:`;
    for (const byte of new TextEncoder().encode(head)) mix(byte);
    for (const byte of entry?.data ?? []) mix(byte);
  }
  return new TextEncoder().encode(`${index}:${hash.toString(16)}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
