// The user-facing harness (`simulateCluster`, `faultSchedule`, `applySchedule`): user code runs
// against real members on virtual time through recorded sessions, and the checkers judge the
// recorded history. It proves: a plain workload is recorded call by call and passes both
// checker tiers; the same seed and function replay to the same trace hash and history; the
// fault controls really act (counts, a crashed leader replaced, an isolated member cut off);
// a planted bug in user code (a "lock" that checks then sets, without versions) is caught
// within a bounded number of seeds, with the seed and a replay line; a tampered recorded
// history is caught by the linearizability checker (the recording carries what it needs; tier 1
// checks every recorded write against the log in the first test); and bad input gets
// typed errors. Seeds come from CAIRN_SEED (printed in the suite name).
import { isCairnError, type Session } from '@cairn/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applySchedule,
  checkLinearizability,
  type FaultEvent,
  faultSchedule,
  History,
  type SimulatedCluster,
  SimulationFailedError,
  simulateCluster,
} from '../src/index.js';

const SEED = Number(process.env.CAIRN_SEED ?? 20261122);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error.code;
    if (error instanceof SimulationFailedError) return error.code;
    throw error;
  }
  return 'Ok';
}

/** A small workload on two sessions on different members: writes with versions, reads, a watch. */
async function workload(cluster: SimulatedCluster): Promise<void> {
  const a = await cluster.session(1);
  const b = await cluster.session(2);
  await a.create('/app', enc('0'));
  let fired = 0;
  await b.getData('/app', { watch: () => fired++ });
  for (let i = 1; i <= 5; i++) {
    const found = await a.getData('/app', { linearizable: true });
    await a.setData('/app', enc(String(i)), found.stat.version);
    await b.exists('/app', { linearizable: true });
  }
  await a.transaction().create('/app/x', enc('x')).setData('/app', enc('6'), 5).commit();
  await cluster.runUntil(() => fired === 1, { timeoutMs: 2000 });
  const last = await b.getData('/app', { linearizable: true });
  expect(dec(last.data)).toBe('6');
}

const SCHEDULE: FaultEvent[] = [
  { atMs: 20, kind: 'partition', a: [1], b: [2, 3] },
  { atMs: 300, kind: 'heal' },
  { atMs: 350, kind: 'crash', node: 3, downMs: 200 },
  { atMs: 400, kind: 'pause', node: 2, ms: 150 },
  { atMs: 450, kind: 'jumpClock', node: 1, ms: 1000 },
];

/** Writes from two sessions while `schedule` runs, each call bounded; failed calls are fine. */
async function underFaults(cluster: SimulatedCluster, schedule: FaultEvent[]): Promise<void> {
  const sessions = [await cluster.session(1), await cluster.session(2)];
  await sessions[0]?.create('/c', enc('0'));
  const faults = applySchedule(cluster, schedule);
  await Promise.all(
    sessions.map(async (session: Session, i) => {
      for (let k = 0; k < 12; k++) {
        const signal = cluster.timeoutSignal(300);
        await session.setData('/c', enc(`${i}.${k}`), -1, { signal }).catch(() => {});
        await cluster.sleep(40);
      }
    }),
  );
  await faults;
}

describe(`simulateCluster (CAIRN_SEED=${SEED})`, () => {
  it('records every call of a plain workload and both checker tiers pass', async () => {
    const report = await simulateCluster({ nodes: 3, seed: SEED }, workload);
    const kinds = report.history.ops.map((op) => op.kind);
    expect(kinds.filter((k) => k === 'setData')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'multi')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'getData')).toHaveLength(7);
    expect(report.history.fires).toHaveLength(1);
    // Every acknowledged write got its request number and was checked against the log.
    for (const op of report.history.ops)
      if (op.kind === 'create' || op.kind === 'setData' || op.kind === 'multi')
        expect(op.seq).not.toBeNull();
    expect(report.stats.writesChecked).toBe(7);
    expect(report.stats.linOps).toBeGreaterThanOrEqual(18);
    expect(report.stats.linIllegal).toBe(0);
    expect(report.stats.linUnknown).toBe(0);
  });

  it('replays the same seed identically, faults included', async () => {
    const first = await simulateCluster({ nodes: 3, seed: SEED }, (c) => underFaults(c, SCHEDULE));
    const second = await simulateCluster({ nodes: 3, seed: SEED }, (c) => underFaults(c, SCHEDULE));
    expect(second.traceHash).toBe(first.traceHash);
    const describe = (ops: typeof first.history.ops): string[] =>
      ops.map(
        (op) =>
          `${op.client} ${op.kind} ${op.path} ${op.input} ${op.invokeMs}-${op.returnMs} ${op.outcome.status}`,
      );
    expect(describe(second.history.ops)).toEqual(describe(first.history.ops));
    expect(first.history.ops.length).toBeGreaterThan(20);
  });

  it('applies the faults it is given', async () => {
    let leaderBefore: number | null = null;
    let leaderAfter: number | null = null;
    let isolatedWrite = '';
    const report = await simulateCluster({ nodes: 3, seed: SEED }, async (cluster) => {
      const result = await applySchedule(cluster, SCHEDULE);
      expect(result).toEqual({ applied: 5, skipped: 0 });
      await cluster.runUntil(() => cluster.leader() !== null, { timeoutMs: 5000 });
      leaderBefore = cluster.leader();
      await cluster.crash(leaderBefore as number);
      await cluster.runUntil(() => cluster.leader() !== null, { timeoutMs: 5000 });
      leaderAfter = cluster.leader();
      await cluster.restart(leaderBefore as number);
      // A member cut off from the others cannot commit: the write does not succeed meanwhile.
      const lone = cluster.nodeIds.find((id) => id !== cluster.leader()) as number;
      const session = await cluster.session(lone);
      cluster.isolate(lone);
      const write = session.create('/lone', enc('x')).then(
        () => 'Ok',
        (error: { code?: string }) => error.code ?? 'thrown',
      );
      await cluster.sleep(1000);
      isolatedWrite = await Promise.race([write, Promise.resolve('still waiting')]);
      cluster.heal();
      await write;
    });
    expect(report.faults).toEqual({
      partitions: 2,
      heals: 3,
      crashes: 2,
      restarts: 2,
      pauses: 1,
      clockJumps: 1,
    });
    expect(leaderAfter).not.toBeNull();
    expect(leaderAfter).not.toBe(leaderBefore);
    expect(isolatedWrite).not.toBe('Ok');
  });

  it('finds a check-then-set "lock" letting two holders in, with the seed and a replay line', async () => {
    /** The planted bug: read the lock, and if free take it with an unconditional setData. */
    const naiveLock = async (cluster: SimulatedCluster): Promise<void> => {
      const bootstrap = await cluster.session(1);
      await bootstrap.create('/lock', enc(''));
      let inside = 0;
      const worker = async (session: Session, me: string): Promise<void> => {
        for (let round = 0; round < 4; round++) {
          const found = await session.getData('/lock');
          if (dec(found.data) !== '') {
            await cluster.sleep(15);
            continue;
          }
          await session.setData('/lock', enc(me)); // no version: the bug
          inside++;
          if (inside > 1) throw new Error(`two holders at once (${me} joined)`);
          await cluster.sleep(30);
          inside--;
          await session.setData('/lock', enc(''));
        }
      };
      const sessions = [
        await cluster.session(1),
        await cluster.session(2),
        await cluster.session(3),
      ];
      await Promise.all(sessions.map((s, i) => worker(s, `w${i}`)));
    };
    let found: SimulationFailedError | null = null;
    for (let seed = SEED; seed < SEED + 10 && found === null; seed++) {
      try {
        await simulateCluster({ nodes: 3, seed }, naiveLock);
      } catch (error) {
        if (!(error instanceof SimulationFailedError)) throw error;
        found = error;
      }
    }
    expect(found).not.toBeNull();
    const error = found as SimulationFailedError;
    console.log(`naive lock caught at seed ${error.seed} (started at ${SEED})`);
    expect(error.code).toBe('SimulationFailed');
    expect(error.violations.map((v) => v.checker)).toContain('user');
    expect(error.violations.find((v) => v.checker === 'user')?.message).toContain('two holders');
    expect(error.replay).toContain(`seed: ${error.seed}`);
    expect(error.message).toContain(`seed ${error.seed}`);
  });

  it('carries what the checkers need: a tampered recorded read is caught by tier 2', async () => {
    const report = await simulateCluster({ nodes: 3, seed: SEED }, workload);
    const clean = checkLinearizability(report.history);
    expect(clean.violations).toEqual([]);
    // Plant a stale read: the last linearizable getData returns the first value instead.
    const tampered = new History();
    for (const op of report.history.ops) tampered.ops.push({ ...op });
    for (const [id, end] of report.history.sessions) tampered.sessions.set(id, end);
    tampered.fires.push(...report.history.fires);
    const last = tampered.ops.findLast((op) => op.kind === 'getData' && op.linearizable);
    if (last === undefined || last.outcome.status !== 'ok' || last.outcome.read?.kind !== 'getData')
      throw new Error('no linearizable read recorded');
    last.outcome = { status: 'ok', read: { ...last.outcome.read, data: '0' } };
    const tier2 = checkLinearizability(tampered);
    expect(tier2.stats.linIllegal).toBeGreaterThan(0);
    expect(tier2.violations.length).toBeGreaterThan(0);
  });

  it('runs a fast-check property over generated fault schedules', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        faultSchedule({ nodes: 3, durationMs: 600, eventsMax: 4 }),
        async (seed, schedule) => {
          runs++;
          const report = await simulateCluster({ nodes: 3, seed }, (c) => underFaults(c, schedule));
          expect(report.faults.partitions + report.faults.crashes).toBeLessThanOrEqual(
            schedule.length,
          );
        },
      ),
      { numRuns: 3, seed: SEED },
    );
    expect(runs).toBe(3);
  });

  it('draws schedules in time order over known members only', () => {
    const schedules = fc.sample(faultSchedule({ nodes: 5, durationMs: 1000, eventsMax: 10 }), {
      numRuns: 200,
      seed: SEED,
    });
    for (const schedule of schedules) {
      expect(schedule.length).toBeLessThanOrEqual(10);
      for (let i = 1; i < schedule.length; i++)
        expect((schedule[i] as FaultEvent).atMs).toBeGreaterThanOrEqual(
          (schedule[i - 1] as FaultEvent).atMs,
        );
      for (const event of schedule) {
        expect(event.atMs).toBeLessThan(1000);
        if (event.kind === 'partition') {
          expect([...event.a, ...event.b].sort()).toEqual([1, 2, 3, 4, 5]);
          expect(event.a.length).toBeGreaterThan(0);
          expect(event.b.length).toBeGreaterThan(0);
        } else if ('node' in event) expect([1, 2, 3, 4, 5]).toContain(event.node);
      }
    }
    const kinds = new Set(schedules.flat().map((event) => event.kind));
    expect([...kinds].sort()).toEqual([
      'crash',
      'heal',
      'isolate',
      'jumpClock',
      'partition',
      'pause',
    ]);
  });

  it('rejects bad input with typed errors, failing only that call', async () => {
    const noop = async (): Promise<void> => {};
    expect(await codeOf(simulateCluster({ nodes: 0, seed: 1 }, noop))).toBe('BadArguments');
    expect(await codeOf(simulateCluster({ nodes: 8, seed: 1 }, noop))).toBe('BadArguments');
    expect(await codeOf(simulateCluster({ nodes: 3, seed: 1.5 }, noop))).toBe('BadArguments');
    expect(() => faultSchedule({ nodes: 0, durationMs: 10 })).toThrow(
      expect.objectContaining({ code: 'BadArguments' }),
    );
    expect(() => faultSchedule({ nodes: 1, durationMs: 10 })).toThrow(
      expect.objectContaining({ code: 'BadArguments' }),
    );
    const codes: string[] = [];
    const report = await simulateCluster({ nodes: 3, seed: SEED }, async (cluster) => {
      const attempts: (() => unknown)[] = [
        () => cluster.partition([1], [1, 2]),
        () => cluster.partition([], [1]),
        () => cluster.isolate(9),
        () => cluster.pause(1, -5),
        () => cluster.jumpClock(2, 0.5),
        () => cluster.sleep(Number.NaN),
        () => cluster.crash(4),
        () => cluster.session(0),
        () => applySchedule(cluster, [{ atMs: 0, kind: 'crash', node: 7, downMs: 1 }]),
        () => applySchedule(cluster, [{ atMs: -1, kind: 'heal' }]),
      ];
      for (const attempt of attempts) {
        try {
          await attempt();
          codes.push('Ok');
        } catch (error) {
          codes.push(isCairnError(error) ? error.code : String(error));
        }
      }
      expect(await codeOf(cluster.runUntil(() => false, { timeoutMs: 50 }))).toBe(
        'OperationTimeout',
      );
      // The cluster is untouched by the refused calls: a session still works.
      const session = await cluster.session();
      await session.create('/still-fine', enc('ok'));
    });
    expect(codes).toEqual(Array(10).fill('BadArguments'));
    expect(report.faults).toEqual({
      partitions: 0,
      heals: 0,
      crashes: 0,
      restarts: 0,
      pauses: 0,
      clockJumps: 0,
    });
  });
});
