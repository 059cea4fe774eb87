import { reportedCversion } from '@cairn/znode';
import { installApplyTap } from './apply-tap.js';
import { SimCluster } from './cluster.js';
import {
  CRASH_POINTS,
  type CrashPointOptions,
  crashPointCounter,
  drawCrashPoint,
} from './crash-points.js';
import { failureDetails, primaryViolation } from './failure-report.js';
import { History } from './history.js';
import { checkHistory, describeRead } from './history-checker.js';
import { checkLinearizability } from './lin-checker.js';
import { describeStat } from './model.js';
import type { Plant } from './plant.js';
import type { Violation } from './raft-checker.js';
import { Rng } from './rng.js';
import { formatTimelineEntry, type RunEvidence, runTimeline } from './run-timeline.js';
import { splitVotePhase } from './split-vote.js';
import { Client } from './workload.js';

/** Which faults a run may inject; each run draws its own mix from its seed (swarm testing). */
export interface FaultSwitches {
  readonly network: boolean;
  readonly partitions: boolean;
  readonly crashes: boolean;
  readonly pauses: boolean;
  readonly clockJumps: boolean;
  /** Corrupt one member's disk once and restart it: it must refuse to start. */
  readonly corruption: boolean;
}

export interface SimulationOptions {
  readonly seed: number;
  readonly voters: 3 | 5;
  /** Add a learner after start. */
  readonly learner?: boolean;
  /**
   * With `learner`: membership changes under faults. During the fault phase the extra member is
   * promoted to voter, removed, wiped and added again as a learner, while the other faults go on.
   * In the CI batch as `MEMBERSHIP_SHAPE` (`batch.ts`); the liveness phase adds a member left removed back.
   */
  readonly membership?: boolean;
  /**
   * The split-vote fault schedule (`split-vote.ts`) instead of the general one: the leader is
   * deposed again and again while the others, armed to die right after a vote and come back in
   * the same term, race for its place over lossy, slow links. In the CI batch as
   * `SPLIT_VOTE_SHAPE` (`batch.ts`); it is what finds the `forgetVote` plant.
   */
  readonly splitVote?: boolean;
  readonly clients?: number;
  /** Virtual milliseconds of faults and traffic. Default 4000. */
  readonly safetyMs?: number;
  readonly faults?: Partial<FaultSwitches>;
  readonly snapshotEntries?: number;
  /**
   * Crash points inside one Ready (`crash-points.ts`): with crashes on, this share of the crash
   * actions arms a point drawn from `points` instead of crashing at once. Default: half, all.
   */
  readonly crashPoints?: CrashPointOptions;
  /** Deliberate faults to prove the checkers bite (tests only; see `Plant`). */
  readonly plant?: Plant;
  /** Keep a readable timeline of the run in the report (for replaying one seed). */
  readonly trace?: boolean;
  /**
   * Also run the tier-2 checker (client-only linearizability, `lin-checker.ts`), bounded by
   * these limits. Off unless asked; the batch, `pnpm sim` and `simulateSeed` ask for it
   * (`BATCH_LINEARIZABILITY`, about 0.05 s of CPU per run since the search keeps hashed trees).
   */
  readonly linearizability?: { readonly statesMax?: number; readonly searchStepsMax?: number };
}

export interface SimulationReport {
  readonly seed: number;
  readonly violations: readonly Violation[];
  /** Hash of everything observable in the run: equal for two runs of one seed. */
  readonly traceHash: string;
  readonly stats: Record<string, number>;
  /**
   * What the run reached (elections under partition, snapshot installs, crashes, expiries,
   * watch fires, corruption detected, ...): summed over a batch by `addCoverage`.
   */
  readonly coverage: Record<string, number>;
  /** What happened, for a failure message. */
  readonly summary: string;
  /** The run as timestamped lines (`trace: true` only), oldest first. */
  readonly timeline: readonly string[];
  /**
   * For a failed run (empty if it passed), what its primary violation concerns: the minimal
   * failing history and a timeline excerpt around it (`failureDetails`, `failure-report.ts`).
   */
  readonly failure: string;
}

/** The virtual clock's reading when a run starts (`SimCluster`'s epoch). */
const RUN_START_MS = 1_700_000_000_000;

const ALL_FAULTS: FaultSwitches = {
  network: true,
  partitions: true,
  crashes: true,
  pauses: true,
  clockJumps: true,
  corruption: false,
};

/**
 * One simulation: start a cluster of real nodes, run clients while faults come and go (safety
 * phase), then heal everything and demand a leader, every call answered and equal replicas
 * (liveness phase), then run the history checkers. Everything follows from `seed`.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationReport> {
  await installApplyTap();
  const rng = new Rng(options.seed);
  const faultRng = rng.fork('faults');
  const switches = { ...ALL_FAULTS, ...options.faults };
  // Swarm: each enabled fault is on for this seed with probability 3/4.
  const enabled = Object.entries(switches)
    .filter(([name, on]) => on && (name === 'corruption' || faultRng.chance(0.75)))
    .map(([name]) => name);
  const learnerId = options.voters + 1;
  const sim = new SimCluster({
    seed: options.seed,
    ...(options.plant === undefined ? {} : { plant: options.plant }),
    voters: options.voters,
    learners: options.learner ? [learnerId] : [],
    writeLatencyMs: [0, faultRng.between(0, 4)],
    sessionTimeoutMinMs: 300,
    snapshotEntries: options.snapshotEntries ?? faultRng.pick([40, 100, 100_000]),
    snapshotRetainedEntries: faultRng.pick([0, 5, 50]),
  });
  const violations: Violation[] = [];
  const history = new History();
  const clients: Client[] = [];
  const notes: string[] = [`faults: ${enabled.join(', ') || 'none'}`];
  const faultCounts: Record<string, number> = {};
  // Kept in every run (about a thousand short lines): a failure prints its history and timeline
  // without a replay; the hash is the same either way.
  sim.trace.keep = true;
  sim.trace.add(`seed ${options.seed}, ${options.voters} voters, ${notes[0]}`);
  try {
    await sim.start();
    if (options.learner) {
      await sim.startMember(learnerId);
      const leader = sim.leader();
      if (leader !== null) {
        const adding = leader.addMember(learnerId, null, { learner: true }).catch(() => {});
        await sim.run(sim.electionTimeoutMs * 5);
        await adding;
      }
    }
    for (let i = 0; i < (options.clients ?? 5); i++) {
      const client = new Client(
        i,
        sim,
        history,
        rng.fork(`client-${i}`),
        options.plant?.lateWatchMs ?? 0,
      );
      clients.push(client);
      client.start();
    }
    const active = new Set(enabled);
    if (options.learner && options.membership) active.add('membership');
    if (options.splitVote === true) {
      notes[0] = 'faults: split-vote';
      await splitVotePhase(sim, rng.fork('split-vote'), options.safetyMs ?? 4000, (name, line) => {
        faultCounts[name] = (faultCounts[name] ?? 0) + 1;
        sim.trace.add(line);
      });
    } else
      await safetyPhase(sim, faultRng, active, options.safetyMs ?? 4000, notes, faultCounts, {
        rng: rng.fork('crash-points'),
        ...options.crashPoints,
      });
    await livenessPhase(
      sim,
      clients,
      violations,
      notes,
      active.has('membership') ? learnerId : null,
    );
  } catch (error) {
    violations.push({
      checker: 'harness',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
  for (const client of clients) client.stopped = true;
  violations.push(...sim.checker.violations);
  const verdict = checkHistory(sim.checker.log, history, sim.checker.restores);
  violations.push(...verdict.violations);
  const linearizability =
    options.linearizability === undefined
      ? null
      : checkLinearizability(history, options.linearizability);
  if (linearizability !== null) violations.push(...linearizability.violations);
  endChecks(sim, verdict.model, history, violations);
  for (const op of history.ops) {
    const outcome = op.outcome;
    const described =
      outcome.status === 'ok'
        ? `ok ${outcome.read === undefined ? '' : describeRead(outcome.read)}`
        : outcome.status === 'error'
          ? `error ${outcome.code}`
          : 'pending';
    sim.trace.add(`op ${op.id} ${op.kind} ${op.path} ${op.input} @${op.returnMs} ${described}`);
  }
  for (const fire of history.fires) sim.trace.add(`fire ${fire.op} ${fire.type} ${fire.zxid}`);
  const evidence: RunEvidence = {
    history,
    trace: sim.trace.lines,
    startMs: RUN_START_MS,
    endMs: sim.time.now() - RUN_START_MS,
  };
  const timeline =
    options.trace === true
      ? [
          ...runTimeline(evidence),
          ...violations.map((violation) => ({
            atMs: evidence.endMs,
            text: `VIOLATION [${violation.checker}] ${violation.message}`,
          })),
        ]
      : [];
  const primary = primaryViolation(violations);
  const failure = primary === undefined ? '' : failureDetails(primary, evidence);
  const stats: Record<string, number> = {
    ...sim.stats,
    ops: history.ops.length,
    writesChecked: verdict.stats.writesChecked,
    readsChecked: verdict.stats.readsChecked,
    watchesChecked: verdict.stats.watchesChecked,
    watchFires: history.fires.length,
    leaders: sim.checker.leaders.size,
    lastIndex: verdict.model.lastZxid,
    virtualMs: sim.time.now() - RUN_START_MS,
    ...linearizability?.stats,
  };
  let sessionExpiries = 0;
  let sessionCloses = 0;
  for (const command of sim.checker.log.values()) {
    if (command.txn?.type !== 'closeSession' || command.outcome !== 'applied') continue;
    if (command.txn.reason === 'expire') sessionExpiries++;
    else sessionCloses++;
  }
  const coverage: Record<string, number> = {
    runs: 1,
    ...faultCounts,
    ...sim.coverage,
    // Every crash point is a counter, 0 when it never fired, so a summary lists each one.
    ...Object.fromEntries(CRASH_POINTS.map((point) => [crashPointCounter(point), 0])),
    ...sim.crashPointCounts,
    crashes: sim.stats.crashes,
    restarts: sim.stats.restarts,
    pauses: sim.stats.pauses,
    clockJumps: sim.stats.clockJumps,
    messagesDropped: sim.network.stats.dropped,
    messagesDuplicated: sim.network.stats.duplicated,
    sessionExpiries,
    sessionCloses,
    watchFires: history.fires.length,
    writesChecked: verdict.stats.writesChecked,
    readsChecked: verdict.stats.readsChecked,
    watchesChecked: verdict.stats.watchesChecked,
    ops: history.ops.length,
    opsFailed: history.ops.filter((op) => op.outcome.status === 'error').length,
    committedEntries: verdict.model.lastZxid,
  };
  await sim.close().catch(() => {});
  return {
    seed: options.seed,
    violations,
    traceHash: sim.trace.digest(),
    stats,
    coverage,
    summary: `${notes.join('; ')}; ${JSON.stringify(stats)}`,
    timeline: timeline.map(formatTimelineEntry),
    failure,
  };
}

async function safetyPhase(
  sim: SimCluster,
  rng: Rng,
  enabled: ReadonlySet<string>,
  durationMs: number,
  notes: string[],
  counts: Record<string, number>,
  crashPoints: CrashPointOptions & { readonly rng: Rng },
): Promise<void> {
  const ids = [...sim.members.keys()];
  const voters = sim.founders;
  const maxDown = Math.floor((voters.length - 1) / 2);
  const down = new Set<number>();
  const restarts = new Map<number, number>();
  const resumes = new Map<number, number>();
  const start = sim.time.now();
  let corrupted = false;
  let linkFaults = false;
  const bridgeRng = rng.fork('bridge');
  const extra = ids.find((id) => !voters.includes(id));
  let changing: Promise<void> | null = null;
  const count = (name: string, line: string): void => {
    counts[name] = (counts[name] ?? 0) + 1;
    sim.trace.add(line);
  };
  const partitioned = (line: string, name: string): void => {
    sim.partitioned = true;
    count(name, line);
  };
  while (sim.time.now() - start < durationMs) {
    sim.faulty = sim.partitioned || linkFaults || down.size > 0;
    await sim.run(rng.between(50, 300));
    const now = sim.time.now();
    for (const [id, at] of [...restarts]) {
      if (now < at) continue;
      restarts.delete(id);
      down.delete(id);
      await sim.startMember(id);
    }
    for (const [id, at] of [...resumes]) {
      if (now < at) continue;
      resumes.delete(id);
      down.delete(id);
      sim.resume(id);
    }
    const action = rng.int(8);
    const downOk = down.size < maxDown;
    if (action === 0 && enabled.has('network')) {
      const from = rng.pick(ids);
      const to = rng.pick(ids.filter((id) => id !== from));
      const faults = {
        dropProbability: rng.pick([0, 0.1, 0.3, 0.6]),
        duplicateProbability: rng.pick([0, 0.1, 0.3]),
        delayRounds: rng.between(0, 20),
        reorder: rng.chance(0.5),
      };
      sim.network.setLink(from, to, faults);
      linkFaults = true;
      count('linkFaults', `link ${from}->${to} ${JSON.stringify(faults)}`);
    } else if (action === 1 && enabled.has('partitions')) {
      // The bridge draws from its own generator so that seeds keep their other draws.
      const shape = rng.int(3);
      if (shape === 0) {
        const side = ids.filter(() => rng.chance(0.5));
        const other = ids.filter((id) => !side.includes(id));
        if (bridgeRng.chance(0.3)) {
          // Non-transitive: A and C both see B, but not each other.
          const [a, b, c] = shuffled(ids, bridgeRng);
          if (a !== undefined && b !== undefined && c !== undefined) {
            sim.network.partitionOneWay(a, c);
            sim.network.partitionOneWay(c, a);
            partitioned(
              `partition non-transitive: ${a} - ${b} - ${c}, no ${a}-${c}`,
              'partitionsBridge',
            );
          }
        } else if (side.length > 0 && other.length > 0) {
          sim.network.partition(side, other);
          partitioned(
            `partition [${side.join(',')}] | [${other.join(',')}]`,
            'partitionsSymmetric',
          );
        }
      } else if (shape === 1) {
        const lone = rng.pick(ids);
        sim.network.partition(
          [lone],
          ids.filter((id) => id !== lone),
        );
        partitioned(`partition: node ${lone} alone`, 'partitionsLone');
      } else {
        const from = rng.pick(ids);
        const to = rng.pick(ids.filter((id) => id !== from));
        sim.network.partitionOneWay(from, to);
        partitioned(`partition one way: ${from} -> ${to} cut`, 'partitionsOneWay');
      }
    } else if (action === 2 && (enabled.has('network') || enabled.has('partitions'))) {
      sim.network.heal();
      sim.partitioned = false;
      linkFaults = false;
      count('heals', 'heal the network');
    } else if (action === 3 && enabled.has('crashes') && downOk) {
      const id = rng.pick(voters.filter((v) => !down.has(v)));
      const downMs = rng.between(0, sim.electionTimeoutMs * 5);
      const armed = drawCrashPoint(crashPoints.rng, now, sim.electionTimeoutMs, crashPoints);
      if (armed === null) {
        down.add(id);
        await sim.crash(id);
        restarts.set(id, now + downMs);
      } else {
        // Up until the point fires (other faults go on meanwhile); the cluster restarts it.
        sim.armCrashPoint(id, armed);
      }
    } else if (action === 4 && enabled.has('pauses') && downOk) {
      const id = rng.pick(voters.filter((v) => !down.has(v)));
      down.add(id);
      sim.pause(id);
      resumes.set(id, now + rng.between(sim.electionTimeoutMs, sim.electionTimeoutMs * 4));
    } else if (action === 5 && enabled.has('clockJumps')) {
      sim.jumpClock(rng.pick(ids), rng.pick([-5000, -1000, -200, 200, 1000, 5000]));
    } else if (action === 7 && enabled.has('membership') && extra !== undefined && !changing) {
      changing = changeMembership(sim, extra, count).finally(() => {
        changing = null;
      });
    } else if (action === 6 && enabled.has('corruption') && !corrupted && downOk) {
      const id = rng.pick(voters.filter((v) => !down.has(v)));
      corrupted = true;
      await sim.crash(id);
      const kind = rng.pick(['flip', 'zero', 'truncate'] as const);
      if (sim.corrupt(id, kind)) {
        count('corruptionsPlanted', `disk of ${id} damaged (${kind})`);
        await sim.startMember(id);
        const member = sim.member(id);
        notes.push(`corrupted ${id} (${kind}): ${member.state} ${member.refusal?.code ?? ''}`);
        down.add(id); // refused for good: it stays out of the cluster
      } else await sim.startMember(id);
    }
  }
  // A membership step still in flight ends (each is bounded by its timeouts) before healing,
  // so it cannot wipe the member while the liveness phase waits for it.
  for (let waited = 0; changing !== null && waited < sim.electionTimeoutMs * 100; waited += 5)
    await sim.run(5);
  sim.faulty = false;
  sim.disarmCrashPoints();
}

/**
 * One membership step for the extra member, through the current leader: learner -> voter ->
 * removed (then wiped, as a replaced machine would be) -> learner again. A step that fails
 * under the faults (no leader, timeout) is simply tried again later.
 */
async function changeMembership(
  sim: SimCluster,
  id: number,
  count: (name: string, line: string) => void,
): Promise<void> {
  const leader = sim.leader();
  if (leader === null) return;
  const status = leader.status();
  const timeoutMs = sim.electionTimeoutMs * 10;
  try {
    if (status.learners.includes(id)) {
      count('promotions', `promote ${id} to voter (via leader ${status.id})`);
      await leader.promote(id, { timeoutMs });
    } else if (status.voters.includes(id)) {
      count('removals', `remove ${id} (via leader ${status.id})`);
      await leader.removeMember(id, { timeoutMs });
      await sim.wipe(id);
    } else {
      if (sim.member(id).node === null) await sim.startMember(id);
      count('additions', `add ${id} as a learner (via leader ${status.id})`);
      await leader.addMember(id, null, { learner: true, timeoutMs });
    }
  } catch (error) {
    sim.trace.add(
      `membership change for ${id} failed: ${(error as { code?: string }).code ?? error}`,
    );
  }
}

/** A copy of `items` in an order drawn from `rng`. */
function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function livenessPhase(
  sim: SimCluster,
  clients: readonly Client[],
  violations: Violation[],
  notes: string[],
  changing: number | null,
): Promise<void> {
  sim.network.heal();
  sim.partitioned = false;
  sim.trace.add('liveness phase: faults healed');
  for (const member of sim.members.values()) {
    sim.resume(member.id);
    if (member.state === 'down') await sim.startMember(member.id);
  }
  const healedAt = sim.time.now();
  const bound = sim.electionTimeoutMs * 20;
  let rejoining: Promise<void> | null = null;
  try {
    await sim.waitFor(() => sim.leader() !== null, bound, 'a leader after healing');
  } catch (error) {
    violations.push({ checker: 'liveness', message: (error as Error).message });
    return;
  }
  notes.push(`leader ${sim.time.now() - healedAt} ms after healing`);
  // Membership changes may have left the extra member removed (and wiped): a machine outside
  // the configuration never gets the log, so it cannot answer its calls or match the replicas.
  // The cycle ends as it began, with the member added back as a learner, like an operator
  // finishing a replacement; that it rejoins is required, within the same bound.
  if (changing !== null) {
    try {
      await sim.waitFor(
        () => {
          const status = sim.leader()?.status();
          if (status === undefined) return false;
          if (status.learners.includes(changing) || status.voters.includes(changing)) return true;
          if (rejoining === null) {
            const leader = sim.leader();
            rejoining =
              leader === null
                ? null
                : leader
                    .addMember(changing, null, {
                      learner: true,
                      timeoutMs: sim.electionTimeoutMs * 5,
                    })
                    .catch(() => {})
                    .finally(() => {
                      rejoining = null;
                    });
          }
          return false;
        },
        bound,
        `member ${changing} added back after healing`,
      );
    } catch (error) {
      violations.push({ checker: 'liveness', message: (error as Error).message });
      return;
    }
  }
  // Let the clients run in a healthy cluster for a while, then stop them.
  await sim.run(sim.electionTimeoutMs * 5);
  for (const client of clients) client.stopped = true;
  let finished = false;
  void Promise.all(clients.map((client) => client.done)).then(() => {
    finished = true;
  });
  try {
    await sim.waitFor(() => finished, sim.electionTimeoutMs * 40, 'every client call answered');
  } catch (error) {
    violations.push({ checker: 'liveness', message: (error as Error).message });
  }
  const converged = (): boolean => {
    const nodes = sim.running();
    const leader = sim.leader();
    if (leader === null) return false;
    const target = leader.status().lastIndex;
    return nodes.every((node) => {
      const status = node.status();
      return status.applied === target && status.digest === leader.status().digest;
    });
  };
  try {
    await sim.waitFor(converged, sim.electionTimeoutMs * 40, 'equal replicas');
  } catch (error) {
    const states = sim
      .running()
      .map((node) => {
        const s = node.status();
        return `${s.id}:${s.role} t${s.term} a${s.applied} c${s.commit} l${s.lastIndex} d${s.digest}`;
      })
      .join(', ');
    violations.push({ checker: 'liveness', message: `${(error as Error).message}: ${states}` });
  }
}

function endChecks(
  sim: SimCluster,
  model: ReturnType<typeof checkHistory>['model'],
  history: History,
  violations: Violation[],
): void {
  const fail = (checker: string, message: string): void => {
    violations.push({ checker, message });
  };
  for (const op of history.pending())
    fail('liveness', `op ${op.id} (client ${op.client}, ${op.kind} ${op.path}) never returned`);
  for (const member of sim.members.values()) {
    const node = member.node;
    if (node === null) continue;
    const tree = (node as unknown as { machine: { tree: TreeView } }).machine.tree;
    const sessions = new Set(tree.sessionIds());
    for (const path of tree.paths()) {
      const found = tree.getData(path, null);
      if (!found.ok) continue;
      const owner = found.value.stat.ephemeralOwner;
      if (owner > 0n && !sessions.has(owner))
        fail('ephemeral', `node ${member.id}: ${path} outlives its session ${owner}`);
    }
    if (node.applied !== model.lastZxid) continue;
    const paths = [...tree.paths()].sort();
    const want = model.paths();
    if (paths.join(' ') !== want.join(' ')) {
      fail('final-tree', `node ${member.id} has [${paths.join(' ')}], model [${want.join(' ')}]`);
      continue;
    }
    for (const path of paths) {
      const found = tree.getData(path, null);
      const expected = model.node(path);
      if (!found.ok || expected === undefined) continue;
      const got = describeStat(found.value.stat);
      const modelStat = describeStat({
        ...found.value.stat,
        czxid: expected.czxid,
        mzxid: expected.mzxid,
        pzxid: expected.pzxid,
        version: expected.version,
        cversion: reportedCversion(expected.cversion, expected.children.length),
        ephemeralOwner: expected.owner,
        dataLength: expected.data.length,
        numChildren: expected.children.length,
      } as typeof found.value.stat);
      if (got !== modelStat)
        fail('final-tree', `node ${member.id} ${path}: ${got}; model ${modelStat}`);
    }
    const live = new Set(model.liveSessions());
    for (const end of history.sessions.values())
      if (end.liveAtEnd && end.node === member.id && !live.has(end.session))
        fail(
          'session',
          `session ${end.session} is live on node ${member.id} but closed in the log`,
        );
  }
}

interface TreeView {
  sessionIds(): bigint[];
  paths(): Iterable<string>;
  getData(
    path: string,
    session: null,
  ): { ok: true; value: { stat: import('@cairn/znode').Stat } } | { ok: false };
}
