import { type CairnNode, createNode, type NodeEvent, seededNodeRandom } from '@cairn/node';
import { MemoryNetwork, VirtualTime } from '@cairn/node/testing';
import { type ConfState, type Message, type NodeId, seededRandom } from '@cairn/raft';
import { tapNode } from './apply-tap.js';
import {
  type ArmedCrashPoint,
  type CrashPoint,
  type CrashTap,
  crashPointCounter,
  SimCrash,
} from './crash-points.js';
import { type Corruption, SimDisk } from './disk.js';
import { NodeEnv, SimGate } from './env.js';
import type { Plant } from './plant.js';
import { RaftChecker } from './raft-checker.js';
import { mix, Rng, TraceHash } from './rng.js';

export interface SimClusterOptions {
  readonly seed: number;
  /** Founding voters 1..voters. */
  readonly voters: number;
  /** Ids of learners added after start (each joins with an empty disk). */
  readonly learners?: readonly number[];
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Virtual milliseconds per network round. Default 1. */
  readonly roundMs?: number;
  readonly sessionTimeoutMinMs?: number;
  readonly snapshotEntries?: number;
  readonly snapshotRetainedEntries?: number;
  readonly writeLatencyMs?: readonly [number, number];
  /** Planted bugs in the disks and the network (tests of the checkers only). */
  readonly plant?: Plant;
}

/**
 * What a run reached (coverage, RELIABILITY §6): counted by the cluster as it happens, so a run
 * that never reached a situation cannot pass for one that survived it.
 */
export interface ClusterCoverage {
  /** Leaders elected (one per term won). */
  elections: number;
  /** Leaders elected while the simulation had some partition in place. */
  electionsUnderPartition: number;
  /** PreVote requests answered with a rejection (delivered to the candidate). */
  preVoteRejections: number;
  /** Vote requests answered with a rejection. */
  voteRejections: number;
  /** InstallSnapshot messages delivered to a running member. */
  snapshotsSent: number;
  /** Snapshots restored into a state machine (installs and restarts from a snapshot). */
  snapshotRestores: number;
  /** Membership entries (conf changes) applied, counted once per index. */
  confChanges: number;
  /** Of those, the ones first applied while some fault was active. */
  confChangesUnderFaults: number;
  /** Member starts refused because the disk failed its checksum. */
  corruptionDetected: number;
  /** Member starts refused because the disk belongs to another node. */
  mismatchDetected: number;
  /** Unsynced records a crash lost, and torn tails it left. */
  lostRecords: number;
  tornRecords: number;
}

export type MemberState = 'up' | 'down' | 'refused';

/** One member across its incarnations. */
export interface Member {
  readonly id: number;
  readonly env: NodeEnv;
  readonly gate: SimGate;
  disk: SimDisk;
  node: CairnNode | null;
  incarnation: number;
  state: MemberState;
  /** Why the last start failed (a typed storage error), when `state` is `refused`. */
  refusal: { code: string; message: string } | null;
  readonly join: boolean;
}

const CLUSTER_ID = 'sim';

/**
 * Real `CairnNode`s on one virtual clock, one memory network and simulated disks, every choice
 * drawn from one seed. Members crash (losing unsynced writes), restart, pause, jump their
 * clocks, and get partitioned; `RaftChecker` watches every step.
 */
/** Virtual time `close()` lets pass for in-flight disk work before giving up on a node. */
const CLOSE_VIRTUAL_MS_MAX = 10_000;

export class SimCluster {
  readonly time = new VirtualTime();
  readonly network: MemoryNetwork;
  readonly members = new Map<number, Member>();
  readonly checker = new RaftChecker();
  readonly trace = new TraceHash();
  readonly founders: readonly number[];
  readonly rng: Rng;
  readonly stats = { crashes: 0, restarts: 0, pauses: 0, clockJumps: 0, refusals: 0, fatal: 0 };
  readonly coverage: ClusterCoverage = {
    elections: 0,
    electionsUnderPartition: 0,
    preVoteRejections: 0,
    voteRejections: 0,
    snapshotsSent: 0,
    snapshotRestores: 0,
    confChanges: 0,
    confChangesUnderFaults: 0,
    corruptionDetected: 0,
    mismatchDetected: 0,
    lostRecords: 0,
    tornRecords: 0,
  };
  /** Set by whoever drives the faults: a partition is in place (for coverage). */
  partitioned = false;
  /** Set by whoever drives the faults: some fault is active (for coverage). */
  faulty = false;
  /** Crash points fired, by `crashPoint:<name>` (coverage). */
  readonly crashPointCounts: Record<string, number> = {};
  private readonly confIndexes = new Set<number>();
  private readonly armed = new Map<number, ArmedCrashPoint>();
  /** Members armed for `afterPersistVote` whose disk has persisted a new vote. */
  private readonly votePersisted = new Set<number>();
  private readonly starting = new Map<number, Promise<CairnNode | null>>();
  /** Set while buffered apply events are replayed to the tap (no crash point fires then). */
  private observing = false;
  private roundTimer: unknown = null;

  constructor(readonly options: SimClusterOptions) {
    this.rng = new Rng(options.seed);
    const startMs = this.time.now();
    this.trace.clock = () => this.time.now() - startMs;
    this.network = new MemoryNetwork({ random: seededRandom(mix(options.seed, 'network')) });
    this.founders = Array.from({ length: options.voters }, (_, i) => i + 1);
    for (const id of this.founders) this.addMember(id, false);
    for (const id of options.learners ?? []) this.addMember(id, true);
  }

  get tickMs(): number {
    return this.options.tickMs ?? 10;
  }

  get electionTimeoutMs(): number {
    return this.tickMs * (this.options.electionTicks ?? 10);
  }

  private addMember(id: number, join: boolean): void {
    const env = new NodeEnv(this.time);
    const inner = this.network.transport(id);
    const forge = this.options.plant?.forgeAppendAcks === true;
    const gate: SimGate = new SimGate(
      forge ? { send: (messages) => this.sendForgingAcks(inner, gate, messages) } : inner,
    );
    inner.onMessage((message) => {
      this.count(message);
      gate.deliver(message);
    });
    inner.onUnreachable((peer) => gate.reportUnreachable(peer));
    void inner.start();
    gate.crashTap = this.crashTap(id);
    const diskOptions = {
      identity: { clusterId: CLUSTER_ID, nodeId: id },
      rng: this.rng.fork(`disk-${id}`),
      ...(this.options.plant === undefined
        ? {}
        : {
            plant: {
              ackUnsynced: this.options.plant.ackUnsynced === true,
              forgetVote: this.options.plant.forgetVote === true,
            },
          }),
      ...(this.options.writeLatencyMs === undefined
        ? {}
        : { writeLatencyMs: this.options.writeLatencyMs }),
    };
    const confState: ConfState = {
      voters: this.founders as NodeId[],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    };
    const disk = join ? SimDisk.empty(diskOptions) : SimDisk.bootstrap(confState, diskOptions);
    this.members.set(id, {
      id,
      env,
      gate,
      disk,
      node: null,
      incarnation: 0,
      state: 'down',
      refusal: null,
      join,
    });
  }

  /**
   * Planted (forgeAppendAcks): an Append the network loses is answered anyway, one round later,
   * by an AppendResponse forged in its target's name, as if the target had stored every entry.
   */
  private sendForgingAcks(
    inner: { send(messages: readonly Message[]): void },
    gate: SimGate,
    messages: readonly Message[],
  ): void {
    for (const message of messages) {
      const dropped = this.network.stats.dropped;
      inner.send([message]);
      if (message.type !== 'Append' || this.network.stats.dropped === dropped) continue;
      const last = message.entries[message.entries.length - 1];
      const reply: Message = {
        type: 'AppendResponse',
        from: message.to,
        to: message.from,
        term: message.term,
        index: last === undefined ? message.prevIndex : last.index,
        reject: false,
        hintIndex: message.prevIndex,
        hintTerm: message.prevTerm,
      };
      this.time.setTimeout(() => gate.deliver(reply), this.options.roundMs ?? 1);
    }
  }

  /** Counts what the network delivers to a member, for coverage. */
  private count(message: Message): void {
    if (message.type === 'PreVoteResponse' && message.reject) this.coverage.preVoteRejections++;
    else if (message.type === 'VoteResponse' && message.reject) this.coverage.voteRejections++;
    else if (message.type === 'Snapshot') this.coverage.snapshotsSent++;
  }

  member(id: number): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  /** Starts the founders and waits for a leader. */
  async start(): Promise<void> {
    this.pump();
    for (const id of this.founders) await this.startMember(id);
    await this.waitFor(() => this.leader() !== null, this.electionTimeoutMs * 20, 'a first leader');
  }

  private pump(): void {
    const roundMs = this.options.roundMs ?? 1;
    this.roundTimer = this.time.setTimeout(() => {
      this.network.tick();
      this.pump();
    }, roundMs);
  }

  /**
   * Arms crash point `armed.point` on member `id` (RELIABILITY F5, `crash-points.ts`): the first
   * time the member reaches that point before `armed.untilMs`, it crashes there and restarts
   * `armed.restartAfterMs` later.
   */
  armCrashPoint(id: number, armed: ArmedCrashPoint): void {
    this.trace.add(`arm ${armed.point} on ${id} until @${armed.untilMs}`);
    this.armed.set(id, armed);
    this.votePersisted.delete(id);
  }

  /** Disarms every crash point (the fault phase is over). */
  disarmCrashPoints(): void {
    this.armed.clear();
    this.votePersisted.clear();
  }

  /** The tap the disk, the gate and the apply listener of member `id` ask at each point. */
  private crashTap(id: number): CrashTap {
    return (point: CrashPoint, partial?: () => void): boolean => {
      const armed = this.armed.get(id);
      const member = this.members.get(id);
      if (armed === undefined || armed.point !== point || member === undefined) return false;
      if (member.node === null || member.env.isPaused || this.observing) return false;
      if (this.time.now() > armed.untilMs) {
        this.armed.delete(id);
        return false;
      }
      if (point === 'afterPersistVote' && partial === undefined) {
        // The disk made a new vote durable. A crash before its answer leaves cannot make a
        // forgotten vote count twice, so the member dies with the answer's batch (the gate).
        this.votePersisted.add(id);
        return false;
      }
      if (point === 'afterPersistVote' && !this.votePersisted.has(id)) return false;
      this.armed.delete(id);
      this.votePersisted.delete(id);
      partial?.();
      const counter = crashPointCounter(point);
      this.crashPointCounts[counter] = (this.crashPointCounts[counter] ?? 0) + 1;
      this.trace.add(`crash point ${point} on ${id}`);
      // Synchronous up to the node's close: gate, timers and disk die right here.
      void this.crash(id);
      this.time.setTimeout(() => void this.startMember(id), armed.restartAfterMs);
      return true;
    };
  }

  /** Starts (or restarts) a member on its disk; a damaged or foreign disk makes it `refused`. */
  startMember(id: number): Promise<CairnNode | null> {
    // One start at a time: a crash point's restart may meet the fault schedule's.
    const pending = this.starting.get(id);
    if (pending !== undefined) return pending;
    const starting = this.startOnce(id).finally(() => this.starting.delete(id));
    this.starting.set(id, starting);
    return starting;
  }

  private async startOnce(id: number): Promise<CairnNode | null> {
    const member = this.member(id);
    if (member.node !== null) return member.node;
    member.incarnation++;
    member.disk.open({ clusterId: CLUSTER_ID, nodeId: id }, member.env);
    member.disk.crashTap = this.crashTap(id);
    member.disk.onHardStatePersisted = (hardState) =>
      this.checker.onHardStatePersisted(id, hardState.term, hardState.vote);
    const incarnation = member.incarnation;
    try {
      const node = await createNode({
        id,
        clusterId: CLUSTER_ID,
        members: this.founders,
        join: member.join,
        storage: member.disk,
        transport: member.gate,
        clock: member.env,
        timers: member.env,
        random: seededNodeRandom(mix(this.options.seed, `node-${id}-${incarnation}`)),
        tickMs: this.tickMs,
        electionTicks: this.options.electionTicks ?? 10,
        sessionTimeoutMinMs: this.options.sessionTimeoutMinMs ?? 200,
        sessionTimeoutMaxMs: 60_000,
        ...(this.options.snapshotEntries === undefined
          ? {}
          : { snapshotEntries: this.options.snapshotEntries }),
        ...(this.options.snapshotRetainedEntries === undefined
          ? {}
          : { snapshotRetainedEntries: this.options.snapshotRetainedEntries }),
        onEvent: (event) => this.onEvent(id, incarnation, event),
      });
      member.node = node;
      member.state = 'up';
      member.refusal = null;
      if (incarnation > 1) this.stats.restarts++;
      this.observe(member);
      this.trace.add(`start ${id}.${incarnation} @${this.time.now()}`);
      return node;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      member.state = 'refused';
      member.refusal = {
        code: typeof code === 'string' ? code : 'Unknown',
        message: error instanceof Error ? error.message : String(error),
      };
      member.gate.kill();
      member.env.kill();
      this.stats.refusals++;
      if (member.refusal.code === 'StorageCorrupted') this.coverage.corruptionDetected++;
      if (member.refusal.code === 'StorageMismatch') this.coverage.mismatchDetected++;
      this.trace.add(`refused ${id}.${incarnation} ${member.refusal.code}`);
      return null;
    }
  }

  private onEvent(id: number, incarnation: number, event: NodeEvent): void {
    const member = this.members.get(id);
    if (member === undefined || member.incarnation !== incarnation || member.node === null) return;
    if (event.type === 'roleChanged') {
      this.trace.add(`role ${id} ${event.role} t${event.term} l${event.leader}`);
      if (event.role === 'leader') {
        this.coverage.elections++;
        if (this.partitioned) this.coverage.electionsUnderPartition++;
        this.checker.onLeader(id, event.term);
      }
    } else if (event.type === 'fatal') {
      this.stats.fatal++;
      this.trace.add(`fatal ${id} ${event.error.message}`);
      this.checker.violations.push({
        checker: 'runtime',
        message: `node ${id} stopped: ${event.error.message}`,
      });
    }
  }

  private observe(member: Member): void {
    const node = member.node;
    if (node === null) return;
    const id = member.id;
    const crashTap = this.crashTap(id);
    this.observing = true;
    try {
      this.tapMachine(node, id, crashTap);
    } finally {
      this.observing = false;
    }
  }

  private tapMachine(node: CairnNode, id: number, crashTap: CrashTap): void {
    tapNode(node, {
      applied: (entry, command, digest) => {
        if (entry.type === 'confChange' && !this.confIndexes.has(entry.index)) {
          this.confIndexes.add(entry.index);
          this.coverage.confChanges++;
          if (this.faulty) this.coverage.confChangesUnderFaults++;
          this.trace.add(`conf change applied at ${entry.index} by ${id}`);
        }
        this.checker.onApplied(id, entry, command, digest);
        // Crash point: the process dies between two applied entries of one Ready.
        if (crashTap('midApply')) throw new SimCrash(id, 'midApply');
      },
      restored: (index, digest) => {
        this.coverage.snapshotRestores++;
        this.trace.add(`restored ${id} ${index} ${digest}`);
        this.checker.onRestored(id, index, digest);
      },
    });
  }

  /** Kills a member like `kill -9`: unsynced writes may be lost; its sessions see ConnectionLoss. */
  async crash(id: number): Promise<void> {
    const member = this.member(id);
    const node = member.node;
    if (node === null) return;
    this.stats.crashes++;
    this.trace.add(`crash ${id} @${this.time.now()}`);
    member.node = null;
    member.state = 'down';
    member.gate.kill();
    member.env.kill();
    const before = { ...member.disk.stats };
    member.disk.crash();
    this.coverage.lostRecords += member.disk.stats.lostRecords - before.lostRecords;
    this.coverage.tornRecords += member.disk.stats.tornRecords - before.tornRecords;
    // The dead incarnation's promises settle now (its disk writes fail); nothing leaves it.
    await node.close().catch(() => {});
  }

  async restart(id: number): Promise<CairnNode | null> {
    await this.crash(id);
    return this.startMember(id);
  }

  pause(id: number): void {
    const member = this.member(id);
    if (member.node === null || member.env.isPaused) return;
    this.stats.pauses++;
    this.trace.add(`pause ${id} @${this.time.now()}`);
    member.env.pause();
    member.gate.pause();
  }

  resume(id: number): void {
    const member = this.member(id);
    if (!member.env.isPaused) return;
    this.trace.add(`resume ${id} @${this.time.now()}`);
    member.env.resume();
    member.gate.resume();
  }

  jumpClock(id: number, deltaMs: number): void {
    this.stats.clockJumps++;
    this.trace.add(`clock ${id} ${deltaMs}`);
    this.member(id).env.offsetMs += deltaMs;
  }

  /**
   * Crashes a member and gives it a new empty disk (a replaced machine): it can only come back
   * by joining again, after the cluster removed it.
   */
  async wipe(id: number): Promise<void> {
    await this.crash(id);
    const member = this.member(id);
    this.trace.add(`wipe ${id}`);
    member.disk = SimDisk.empty({
      identity: { clusterId: CLUSTER_ID, nodeId: id },
      rng: this.rng.fork(`disk-${id}-${member.incarnation}`),
      ...(this.options.writeLatencyMs === undefined
        ? {}
        : { writeLatencyMs: this.options.writeLatencyMs }),
    });
  }

  corrupt(id: number, kind: Corruption): boolean {
    this.trace.add(`corrupt ${id} ${kind}`);
    return this.member(id).disk.corrupt(kind);
  }

  /** Running, unpaused nodes. */
  running(): CairnNode[] {
    const nodes: CairnNode[] = [];
    for (const member of this.members.values())
      if (member.node !== null && !member.env.isPaused) nodes.push(member.node);
    return nodes;
  }

  leader(): CairnNode | null {
    let best: CairnNode | null = null;
    for (const node of this.running()) {
      const status = node.status();
      if (status.role === 'leader' && (best === null || status.term > best.status().term))
        best = node;
    }
    return best;
  }

  /** Advances virtual time, checking Raft's invariants after every `stepMs`. */
  async run(ms: number, stepMs = 2): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      await this.time.advance(Math.min(stepMs, ms - done));
      this.step();
    }
  }

  /** One check of every running node. */
  step(): void {
    for (const member of this.members.values()) {
      if (member.node === null) continue;
      this.observe(member);
      this.checker.onStatus(`${member.id}.${member.incarnation}`, member.node.status());
    }
  }

  async waitFor(predicate: () => boolean, maxMs: number, what: string, stepMs = 5): Promise<void> {
    for (let waited = 0; waited <= maxMs; waited += stepMs) {
      if (predicate()) return;
      await this.run(stepMs);
    }
    throw new Error(`${what} not reached within ${maxMs} virtual ms (seed ${this.options.seed})`);
  }

  async close(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const member of this.members.values()) {
      if (member.node === null) continue;
      member.env.resume();
      member.gate.resume();
      closing.push(member.node.close().catch(() => {}));
      member.node = null;
    }
    // A Ready may be waiting on a disk write or compaction that completes after its latency
    // (the Ready loop awaits compactions): let virtual time run, bounded, until all have closed.
    let closed = false;
    const all = Promise.all(closing).then(() => {
      closed = true;
    });
    await this.time.advance(0);
    for (let ms = 0; ms < CLOSE_VIRTUAL_MS_MAX && !closed; ms++) await this.time.advance(1);
    if (!closed) throw new Error(`a node did not close within ${CLOSE_VIRTUAL_MS_MAX} virtual ms`);
    await all;
    if (this.roundTimer !== null)
      this.time.clearTimeout(this.roundTimer as Parameters<VirtualTime['clearTimeout']>[0]);
  }
}
