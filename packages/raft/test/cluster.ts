/**
 * An in-test cluster of real `RaftCore`s over a simulated network with faults (drop, delay,
 * duplication, reordering, one-way partitions), crash and restart, and the Raft safety checkers
 * of RELIABILITY.md §4.1 run as the cluster goes: election safety, log matching, leader
 * completeness and state machine safety. Everything is driven by one seed.
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
  seededRandom,
} from '@cairn/raft';

export interface Faults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Messages are delayed by 0..delayMax rounds, which also reorders them. */
  delayMax: number;
}

export const NO_FAULTS: Faults = { drop: 0, duplicate: 0, delayMax: 0 };

export interface ClusterOptions {
  voters: number;
  learners?: number;
  seed: number;
  config?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;
  /** Snapshot and compact every this many applied entries (0: never). */
  snapshotEvery?: number;
}

interface Member {
  id: NodeId;
  core: RaftCore | null;
  storage: MemoryStorage;
  /** The state machine: applied entries by index; it survives a crash only up to the snapshot. */
  applied: Map<number, Entry>;
  appliedIndex: number;
  readStates: ReadState[];
  paused: boolean;
}

interface InFlight {
  deliverAt: number;
  message: Message;
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
  messagesDelivered = 0;

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
      const member: Member = {
        id,
        core: null,
        storage: MemoryStorage.bootstrap(confState),
        applied: new Map(),
        appliedIndex: 0,
        readStates: [],
        paused: false,
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
    const member: Member = {
      id,
      core: null,
      storage: new MemoryStorage(),
      applied: new Map(),
      appliedIndex: 0,
      readStates: [],
      paused: false,
    };
    this.members.set(id, member);
    this.start(member);
  }

  private start(member: Member): void {
    const snapshotIndex = member.storage.snapshot().metadata.index;
    // The state machine restarts from the snapshot; later entries are applied again.
    for (const index of [...member.applied.keys()])
      if (index > snapshotIndex) member.applied.delete(index);
    member.appliedIndex = snapshotIndex;
    member.core = new RaftCore({
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.options.config,
      id: member.id,
      storage: member.storage,
      random: seededRandom(this.options.seed * 31 + member.id * 7919 + this.round),
      applied: snapshotIndex as LogIndex,
    });
  }

  // ---- faults ------------------------------------------------------------------------------

  crash(id: NodeId): void {
    this.member(id).core = null;
    this.inFlight = this.inFlight.filter((item) => item.message.to !== id);
    this.trace.push(`crash ${id}`);
  }

  restart(id: NodeId): void {
    const member = this.member(id);
    if (member.core !== null) return;
    this.start(member);
    this.trace.push(`restart ${id}`);
  }

  isUp(id: NodeId): boolean {
    return this.member(id).core !== null;
  }

  pause(id: NodeId, paused: boolean): void {
    this.member(id).paused = paused;
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
  }

  heal(): void {
    this.blocked.clear();
  }

  // ---- driving -----------------------------------------------------------------------------

  /** Handles every pending Ready and delivers due messages until nothing moves (bounded). */
  settle(loopsMax = 1000): void {
    for (let loop = 0; loop < loopsMax; loop++) {
      const moved = this.processReadies() + this.deliverDue();
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
      const ready = core.ready();
      for (const message of ready.messages) this.enqueue(message);
      member.storage.write({
        hardState: ready.hardState ?? undefined,
        snapshot: ready.snapshot ?? undefined,
        entries: ready.entries,
      });
      if (ready.compaction !== null)
        member.storage.compact(ready.compaction.snapshot, ready.compaction.compactTo);
      for (const message of ready.messagesAfterPersist) this.enqueue(message);
      if (ready.snapshot !== null) this.restoreSnapshot(member, ready.snapshot.metadata.index);
      for (const entry of ready.committedEntries) this.apply(member, entry);
      member.readStates.push(...ready.readStates);
      if (ready.softState?.role === 'leader') this.onLeader(member.id, core);
      core.advance(ready);
      core.assertInvariants();
      this.maybeSnapshot(member, core);
    }
    return handled;
  }

  private restoreSnapshot(member: Member, index: number): void {
    // The snapshot stands for the leader's applied prefix; the checker's committed map has it.
    for (let i = 1; i <= index; i++) {
      const entry = this.committed.get(i);
      if (entry !== undefined) member.applied.set(i, entry);
    }
    member.appliedIndex = index;
  }

  private apply(member: Member, entry: Entry): void {
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
    member.applied.set(entry.index, entry);
    member.appliedIndex = entry.index;
  }

  private maybeSnapshot(member: Member, core: RaftCore): void {
    const every = this.options.snapshotEvery ?? 0;
    if (every === 0) return;
    const status = core.status();
    const snapshotIndex = member.storage.snapshot().metadata.index;
    if (status.applied - snapshotIndex >= every)
      core.compact({ index: status.applied, data: new Uint8Array(0) });
  }

  /** Election safety and leader completeness, checked when a node becomes leader. */
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
    const f = this.faults;
    if (f.drop > 0 && this.random.nextInt(1_000_000) < f.drop * 1_000_000) return;
    const copies =
      f.duplicate > 0 && this.random.nextInt(1_000_000) < f.duplicate * 1_000_000 ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = f.delayMax > 0 ? this.random.nextInt(f.delayMax + 1) : 0;
      this.inFlight.push({ deliverAt: this.round + delay, message });
    }
  }

  private deliverDue(): number {
    if (this.inFlight.length === 0) return 0;
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const item of this.inFlight) (item.deliverAt <= this.round ? due : later).push(item);
    this.inFlight = later;
    let delivered = 0;
    for (const { message } of due) {
      if (this.blocked.has(`${message.from}-${message.to}`)) continue;
      const member = this.members.get(message.to);
      if (member === undefined || member.core === null) continue;
      if (member.paused) {
        later.push({ deliverAt: this.round + 1, message });
        continue;
      }
      if (this.traceMessages) this.trace.push(describeMessage(message));
      member.core.step(message);
      delivered++;
      this.messagesDelivered++;
    }
    if (this.trace.length > 2000) this.trace.splice(0, this.trace.length - 1000);
    return delivered;
  }

  traceMessages = false;
}

function range(from: number, to: number): NodeId[] {
  const out: NodeId[] = [];
  for (let i = from; i <= to; i++) out.push(nodeId(i));
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
