import {
  BadArgumentsError,
  ConnectionLossError,
  OperationTimeoutError,
  type Session,
  type SessionOptions,
  type Timers,
} from '@cairn/node';
import { installApplyTap } from './apply-tap.js';
import { SimCluster } from './cluster.js';
import { failureDetails, primaryViolation } from './failure-report.js';
import type { FaultEvent } from './fault-schedule.js';
import { History } from './history.js';
import { checkHistory } from './history-checker.js';
import { checkLinearizability, type LinearizabilityOptions } from './lin-checker.js';
import type { Plant } from './plant.js';
import type { Violation } from './raft-checker.js';
import { type RecordingContext, recordSession, SeqTracker } from './recording-session.js';
import { SimulationFailedError } from './simulation-failed-error.js';

/** Voters a harness cluster may have. */
export const HARNESS_NODES_MAX = 7;

export interface SimulateClusterOptions {
  /** Voters 1..nodes (1 to 7). */
  readonly nodes: number;
  /** Everything in the run follows from it: same seed and same function, same run. */
  readonly seed: number;
  /** Virtual ms the function may run before the run fails (it is not awaited further). Default 30,000. */
  readonly timeoutMs?: number;
  /** Ticks of 10 virtual ms per election timeout. Default 10 (100 ms). */
  readonly electionTicks?: number;
  /** The smallest session timeout members grant. Default 200 virtual ms. */
  readonly sessionTimeoutMinMs?: number;
  /**
   * Limits of the tier-2 (client-only linearizability) checker, or `false` to skip it. Default
   * `{ statesMax: 64, searchStepsMax: 200_000 }`; past them a partition is `unknown`, not a pass.
   */
  readonly linearizability?: Pick<LinearizabilityOptions, 'statesMax' | 'searchStepsMax'> | false;
  /** Deliberate faults in disks and network, to prove the checkers bite (tests only). */
  readonly plant?: Plant;
}

/** What the harness counted of the faults it applied. */
export interface FaultCounts {
  partitions: number;
  heals: number;
  crashes: number;
  restarts: number;
  pauses: number;
  clockJumps: number;
}

/** A passed run. */
export interface ClusterReport {
  readonly seed: number;
  /** Hash of everything observable in the run (equal for two runs of one seed and function). */
  readonly traceHash: string;
  /** Every recorded call, watch fire and session end. */
  readonly history: History;
  readonly faults: Readonly<FaultCounts>;
  /** Calls checked by tier 1, linearizability stats (linOps, linUnknown, ...), virtual ms. */
  readonly stats: Readonly<Record<string, number>>;
}

/**
 * What the user's function gets: recorded sessions on members, fault controls and virtual time.
 * Every call of the user's code should await only things that virtual time settles (sessions,
 * recipes given `timers`, `sleep`, `runUntil`); the harness advances time while it waits.
 */
export interface SimulatedCluster {
  readonly seed: number;
  /** Member ids, 1..nodes. */
  readonly nodeIds: readonly number[];
  /** Virtual timers: pass them to recipes (`{ timers: cluster.timers }`) so their timeouts run on virtual time. */
  readonly timers: Timers;
  /** Faults applied so far. */
  readonly faults: Readonly<FaultCounts>;
  /** Virtual now, in ms. */
  now(): number;
  /**
   * Opens a session on member `nodeId` (default: the running members in turn) and returns the
   * real `Session` API with every call recorded for the checkers. ConnectionLoss if the member
   * is down; BadArguments for an unknown id.
   */
  session(nodeId?: number, options?: SessionOptions): Promise<Session>;
  /** Cuts every link between side `a` and side `b` (both ways). */
  partition(a: readonly number[], b: readonly number[]): void;
  /** Cuts `id` off from every other member. */
  isolate(id: number): void;
  /** Restores every link. */
  heal(): void;
  /** Kills a member like `kill -9` (unsynced writes may be lost); its sessions see ConnectionLoss. */
  crash(id: number): Promise<void>;
  /** Starts a crashed member again from its disk (crashes it first if it is up). */
  restart(id: number): Promise<void>;
  /** Stops a member for `ms` (no ticks, no disk, messages queued), then resumes it. */
  pause(id: number, ms: number): void;
  /** Moves a member's clock by `ms` (may be negative). */
  jumpClock(id: number, ms: number): void;
  /** The current leader's id, or null. */
  leader(): number | null;
  /** Resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void>;
  /**
   * A signal that aborts with OperationTimeout after `ms` of virtual time: pass it to a call
   * (`{ signal }`) to bound it deterministically (`AbortSignal.timeout` runs on the wall clock).
   */
  timeoutSignal(ms: number): AbortSignal;
  /** Resolves once `predicate` holds (checked every virtual ms); OperationTimeout after `timeoutMs` (default 10,000). */
  runUntil(predicate: () => boolean, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** @internal applySchedule notes its schedule here, for the replay line. */
  noteSchedule(schedule: readonly FaultEvent[]): void;
}

const STEP_MS = 5;

/**
 * Runs `fn` against a simulated cluster of `nodes` real members, from `seed`, on virtual time.
 * When `fn` returns or throws: heal everything, demand a leader, every recorded call answered
 * and equal replicas (liveness phase), then check the Raft log at every step, the recorded
 * history against the committed log (tier 1) and the history alone for linearizability (tier
 * 2). Resolves with the report, or rejects with `SimulationFailedError` (seed, violations,
 * replay line); bad options reject with BadArguments.
 */
export async function simulateCluster(
  options: SimulateClusterOptions,
  fn: (cluster: SimulatedCluster) => Promise<void>,
): Promise<ClusterReport> {
  validate(options, fn);
  await installApplyTap();
  const sim = new SimCluster({
    seed: options.seed,
    voters: options.nodes,
    electionTicks: options.electionTicks ?? 10,
    sessionTimeoutMinMs: options.sessionTimeoutMinMs ?? 200,
    ...(options.plant === undefined ? {} : { plant: options.plant }),
  });
  const history = new History();
  const context: RecordingContext = { history, now: () => sim.time.now(), unrecordedWrites: 0 };
  const cluster = new HarnessCluster(sim, context);
  const violations: Violation[] = [];
  let cause: unknown;
  const startMs = sim.time.now();
  // Kept lines let a failure print its history and timeline (SimulationFailedError.details).
  sim.trace.keep = true;
  try {
    await sim.start();
    let settled = false;
    void Promise.resolve()
      .then(() => fn(cluster))
      .then(
        () => {
          settled = true;
        },
        (error: unknown) => {
          settled = true;
          cause = error;
          violations.push({ checker: 'user', message: describeError(error) });
        },
      );
    const budgetMs = options.timeoutMs ?? 30_000;
    const fnStart = sim.time.now();
    while (!settled && sim.time.now() - fnStart < budgetMs) await sim.run(STEP_MS);
    if (!settled)
      violations.push({
        checker: 'harness',
        message: `the function did not finish within ${budgetMs} virtual ms`,
      });
    cluster.over = true;
    await livenessPhase(sim, history, violations);
  } catch (error) {
    violations.push({ checker: 'harness', message: describeError(error) });
  }
  cluster.endSessions();
  violations.push(...sim.checker.violations);
  const verdict = checkHistory(sim.checker.log, history);
  violations.push(...verdict.violations);
  for (const op of history.pending())
    violations.push({
      checker: 'liveness',
      message: `op ${op.id} (client ${op.client}, ${op.kind} ${op.path}) never returned`,
    });
  const linLimits =
    options.linearizability === undefined
      ? { statesMax: 64, searchStepsMax: 200_000 }
      : options.linearizability;
  // A write the log carried but the history lacks (setACL, addAuth) makes tier 2 unsound.
  const lin =
    linLimits === false || context.unrecordedWrites > 0
      ? null
      : checkLinearizability(history, linLimits);
  if (lin !== null) violations.push(...lin.violations);
  for (const op of history.ops)
    sim.trace.add(
      `op ${op.id} c${op.client} n${op.node} ${op.kind} ${op.path} ${op.input} s${op.seq} @${op.invokeMs}-${op.returnMs} ${JSON.stringify(op.outcome, replacer)}`,
    );
  for (const fire of history.fires)
    sim.trace.add(`fire ${fire.op} ${fire.type} ${fire.path} ${fire.zxid}`);
  const stats: Record<string, number> = {
    ops: history.ops.length,
    watchFires: history.fires.length,
    ...verdict.stats,
    unrecordedWrites: context.unrecordedWrites,
    leaders: sim.checker.leaders.size,
    committedEntries: verdict.model.lastZxid,
    virtualMs: sim.time.now() - startMs,
    ...lin?.stats,
  };
  const traceHash = sim.trace.digest();
  const endMs = sim.time.now() - startMs;
  await sim.close().catch(() => {});
  const primary = primaryViolation(violations);
  if (primary !== undefined)
    throw new SimulationFailedError(
      options.seed,
      violations,
      replayLine(options, cluster.schedule),
      traceHash,
      {
        cause,
        details: failureDetails(primary, { history, trace: sim.trace.lines, startMs, endMs }),
      },
    );
  return { seed: options.seed, traceHash, history, faults: { ...cluster.faults }, stats };
}

class HarnessCluster implements SimulatedCluster {
  readonly faults: FaultCounts = {
    partitions: 0,
    heals: 0,
    crashes: 0,
    restarts: 0,
    pauses: 0,
    clockJumps: 0,
  };
  readonly nodeIds: readonly number[];
  /** Set once the function's phase is over: fault controls refuse from then on. */
  over = false;
  schedule: readonly FaultEvent[] | null = null;
  private readonly seqs: SeqTracker;
  private readonly opened: { client: number; node: number; session: Session }[] = [];
  private turn = 0;

  constructor(
    private readonly sim: SimCluster,
    private readonly context: RecordingContext,
  ) {
    this.nodeIds = [...sim.founders];
    this.seqs = new SeqTracker(context);
  }

  get seed(): number {
    return this.sim.options.seed;
  }

  get timers(): Timers {
    return this.sim.time;
  }

  now(): number {
    return this.sim.time.now();
  }

  async session(nodeId?: number, options: SessionOptions = {}): Promise<Session> {
    if (nodeId !== undefined) this.known(nodeId, 'session');
    const id = nodeId ?? this.nextRunning();
    const node = this.sim.member(id).node;
    if (node === null)
      throw new ConnectionLossError(undefined, { message: `member ${id} is down` });
    this.seqs.hook(node);
    const session = await node.session(options);
    const client = this.opened.length;
    this.opened.push({ client, node: id, session });
    this.context.history.sessions.set(session.id, {
      session: session.id,
      state: 'open',
      liveAtEnd: false,
      node: id,
    });
    return recordSession({ client, node, session }, this.context, this.seqs);
  }

  private nextRunning(): number {
    const running = this.nodeIds.filter((id) => {
      const member = this.sim.member(id);
      return member.node !== null && !member.env.isPaused;
    });
    const id = running[this.turn++ % Math.max(1, running.length)];
    if (id === undefined) throw new ConnectionLossError(undefined, { message: 'no member is up' });
    return id;
  }

  partition(a: readonly number[], b: readonly number[]): void {
    this.active('partition');
    if (!Array.isArray(a) || !Array.isArray(b) || a.length === 0 || b.length === 0)
      throw new BadArgumentsError(undefined, { message: 'partition needs two non-empty sides' });
    for (const id of [...a, ...b]) this.known(id, 'partition');
    if (a.some((id) => b.includes(id)))
      throw new BadArgumentsError(undefined, {
        message: `partition sides overlap: [${a.join(',')}] | [${b.join(',')}]`,
      });
    this.sim.network.partition([...a], [...b]);
    this.sim.partitioned = true;
    this.sim.faulty = true;
    this.faults.partitions++;
    this.sim.trace.add(`user partition [${a.join(',')}] | [${b.join(',')}]`);
  }

  isolate(id: number): void {
    this.known(id, 'isolate');
    const others = this.nodeIds.filter((other) => other !== id);
    if (others.length === 0)
      throw new BadArgumentsError(undefined, { message: 'a single member cannot be isolated' });
    this.partition([id], others);
  }

  heal(): void {
    this.active('heal');
    this.sim.network.heal();
    this.sim.partitioned = false;
    this.sim.faulty = false;
    this.faults.heals++;
    this.sim.trace.add('user heal');
  }

  async crash(id: number): Promise<void> {
    this.active('crash');
    this.known(id, 'crash');
    if (this.sim.member(id).node === null) return;
    this.faults.crashes++;
    await this.sim.crash(id);
  }

  async restart(id: number): Promise<void> {
    this.active('restart');
    this.known(id, 'restart');
    if (this.sim.member(id).node !== null) {
      this.faults.crashes++;
      await this.sim.crash(id);
    }
    this.faults.restarts++;
    await this.sim.startMember(id);
  }

  pause(id: number, ms: number): void {
    this.active('pause');
    this.known(id, 'pause');
    duration(ms, 'pause ms');
    const member = this.sim.member(id);
    if (member.node === null || member.env.isPaused) return;
    this.faults.pauses++;
    this.sim.pause(id);
    const incarnation = member.incarnation;
    this.sim.time.setTimeout(() => {
      if (member.incarnation === incarnation) this.sim.resume(id);
    }, ms);
  }

  jumpClock(id: number, ms: number): void {
    this.active('jumpClock');
    this.known(id, 'jumpClock');
    if (!Number.isSafeInteger(ms))
      throw new BadArgumentsError(undefined, {
        message: `jumpClock ms must be an integer, got ${ms}`,
      });
    this.faults.clockJumps++;
    this.sim.jumpClock(id, ms);
  }

  leader(): number | null {
    return this.sim.leader()?.id ?? null;
  }

  sleep(ms: number): Promise<void> {
    duration(ms, 'sleep ms');
    return new Promise((resolve) => this.sim.time.setTimeout(resolve, ms));
  }

  timeoutSignal(ms: number): AbortSignal {
    duration(ms, 'timeoutSignal ms');
    const controller = new AbortController();
    this.sim.time.setTimeout(
      () =>
        controller.abort(
          new OperationTimeoutError(undefined, { message: `timed out after ${ms} virtual ms` }),
        ),
      ms,
    );
    return controller.signal;
  }

  runUntil(predicate: () => boolean, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    duration(timeoutMs, 'runUntil timeoutMs');
    const deadline = this.sim.time.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let done: boolean;
        try {
          done = predicate();
        } catch (error) {
          reject(error);
          return;
        }
        if (done) resolve();
        else if (this.sim.time.now() >= deadline)
          reject(
            new OperationTimeoutError(undefined, {
              message: `runUntil: not reached within ${timeoutMs} virtual ms`,
            }),
          );
        else this.sim.time.setTimeout(check, 1);
      };
      check();
    });
  }

  noteSchedule(schedule: readonly FaultEvent[]): void {
    this.schedule = [...(this.schedule ?? []), ...schedule];
  }

  /** Records how each session ended, for the watch and linearizability checkers. */
  endSessions(): void {
    for (const { node, session } of this.opened) {
      const member = this.sim.member(node);
      const state = session.state;
      const ended = state === 'closed' || state === 'expired' || state === 'closing';
      this.context.history.sessions.set(session.id, {
        session: session.id,
        state: state === 'expired' ? 'expired' : ended ? 'closed' : 'open',
        liveAtEnd: !ended && member.node !== null,
        node,
      });
    }
  }

  private active(what: string): void {
    if (this.over)
      throw new BadArgumentsError(undefined, {
        message: `${what}: the run is over (the function returned)`,
      });
  }

  private known(id: number, what: string): void {
    if (!this.nodeIds.includes(id))
      throw new BadArgumentsError(undefined, {
        message: `${what}: no member ${String(id)} (members ${this.nodeIds.join(', ')})`,
      });
  }
}

async function livenessPhase(
  sim: SimCluster,
  history: History,
  violations: Violation[],
): Promise<void> {
  sim.network.heal();
  sim.partitioned = false;
  sim.faulty = false;
  sim.trace.add('liveness phase: faults healed');
  for (const member of sim.members.values()) {
    sim.resume(member.id);
    if (member.state === 'down') await sim.startMember(member.id);
  }
  const boundMs = sim.electionTimeoutMs * 40;
  const phases: [string, () => boolean][] = [
    ['a leader after healing', () => sim.leader() !== null],
    ['every recorded call answered', () => history.pending().length === 0],
    [
      'equal replicas',
      () => {
        const leader = sim.leader();
        if (leader === null) return false;
        const target = leader.status();
        return sim.running().every((node) => {
          const status = node.status();
          return status.applied === target.lastIndex && status.digest === target.digest;
        });
      },
    ],
  ];
  for (const [what, predicate] of phases) {
    try {
      await sim.waitFor(predicate, boundMs, what);
    } catch (error) {
      violations.push({ checker: 'liveness', message: describeError(error) });
      return;
    }
  }
}

function validate(
  options: SimulateClusterOptions,
  fn: (cluster: SimulatedCluster) => Promise<void>,
): void {
  const bad = (message: string): never => {
    throw new BadArgumentsError(undefined, { message: `simulateCluster: ${message}` });
  };
  if (typeof options !== 'object' || options === null) bad('options must be an object');
  if (
    !Number.isSafeInteger(options.nodes) ||
    options.nodes < 1 ||
    options.nodes > HARNESS_NODES_MAX
  )
    bad(`nodes must be an integer in 1..${HARNESS_NODES_MAX}, got ${String(options.nodes)}`);
  if (!Number.isSafeInteger(options.seed))
    bad(`seed must be a safe integer, got ${String(options.seed)}`);
  if (typeof fn !== 'function') bad('the second argument must be an async function');
  if (
    options.timeoutMs !== undefined &&
    !(Number.isSafeInteger(options.timeoutMs) && options.timeoutMs > 0)
  )
    bad(`timeoutMs must be a positive integer, got ${String(options.timeoutMs)}`);
  if (
    options.electionTicks !== undefined &&
    !(Number.isSafeInteger(options.electionTicks) && options.electionTicks >= 2)
  )
    bad(`electionTicks must be an integer >= 2, got ${String(options.electionTicks)}`);
}

function duration(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new BadArgumentsError(undefined, {
      message: `${what} must be a non-negative integer, got ${String(ms)}`,
    });
}

function replayLine(
  options: SimulateClusterOptions,
  schedule: readonly FaultEvent[] | null,
): string {
  const line = `simulateCluster({ nodes: ${options.nodes}, seed: ${options.seed} }, fn)`;
  return schedule === null ? line : `${line} with schedule ${JSON.stringify(schedule)}`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.stack ?? error.message}`;
  }
  return String(error);
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
