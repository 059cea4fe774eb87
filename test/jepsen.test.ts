// A Jepsen-style run on loopback (issue 8, "Real processes too"): three Cairn members in three
// processes (TCP, level with synced writes) serving the session API and ZooKeeper's client
// port, under a concurrent load of reads and writes on a few register znodes, while a seeded
// nemesis SIGKILLs members and restarts them on their data, and SIGSTOPs the leader or a
// follower for one to three election timeouts before SIGCONT. Clients use both doors: the
// embedded session API (linearizable reads, blind and conditional setData) through the member
// processes, and `node-zookeeper-client` over the wire (local reads, blind and conditional
// setData) with the connect string of all members, so it fails over like any ZooKeeper client.
//
// Every call is recorded as an [invoke, return] interval on this process's clock; a call that
// timed out or lost its member has an unknown outcome (it may or may not have happened). After
// the faults stop, every member runs again and a final linearizable read of each key closes
// the history, which then goes through the versioned-register linearizability checker
// (test/support/register-checker.ts): linearizable operations against real time, local reads
// per session (never back in version, never behind the session's own writes), and no
// acknowledged write lost. The linearizable part (writes and linearizable reads) also goes
// through the simulator's Wing-Gong-Lowe search (@cairn/sim `searchLinearization`), key by key,
// against a versioned-register model that knows nothing of the version trick. The seed is
// CAIRN_SEED (printed); loops are bounded in count and time.
import { type LinearModel, type LinearOp, searchLinearization } from '@cairn/sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, ProcessCluster, pause, poll } from './support/node-cluster.js';
import { connectNpm, type NpmClient, type NpmStat } from './support/npm-zk-client.js';
import type { Versioned } from './support/protocol.js';
import { random } from './support/random.js';
import { checkRegisters, type RegisterOp } from './support/register-checker.js';

const SEED = Number(process.env.CAIRN_SEED ?? 20261122) >>> 0;
const TICK_MS = 25;
const ELECTION_TICKS = 10;
const ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;
const KEYS = ['/jepsen/k0', '/jepsen/k1', '/jepsen/k2'];
const INITIAL = '0';
/** How long the nemesis runs, and a bound on its faults. */
const FAULT_PHASE_MS = 15_000;
const FAULTS_MAX = 20;
const SESSION_CLIENTS_PER_MEMBER = 2;
const WIRE_CLIENTS = 3;
/** Bounds each client's loop, whatever else happens. */
const OPS_PER_CLIENT_MAX = 5_000;
/** A call not answered within this is recorded with an unknown outcome. */
const CALL_TIMEOUT_MS = 3_000;
const POLLS_MAX = 3_000;
const POLL_MS = 10;

class Recorder {
  readonly ops: RegisterOp[] = [];
  private nextId = 0;
  private readonly started = performance.now();

  now(): number {
    return performance.now() - this.started;
  }

  /** Runs `call` as one operation and records its interval and outcome. */
  async record(
    base: Pick<RegisterOp, 'key' | 'session' | 'kind' | 'expected' | 'value' | 'linearizable'>,
    call: () => Promise<{ version: number; value?: string }>,
    classify: (error: unknown) => { outcome: 'fail' | 'unknown'; code: string },
  ): Promise<RegisterOp> {
    const id = ++this.nextId;
    const invokeMs = this.now();
    let op: RegisterOp;
    try {
      const answer = await call();
      op = {
        ...base,
        id,
        invokeMs,
        returnMs: this.now(),
        outcome: 'ok',
        version: answer.version,
        value: answer.value ?? base.value,
        code: null,
      };
    } catch (error) {
      const { outcome, code } = classify(error);
      op = {
        ...base,
        id,
        invokeMs,
        returnMs: outcome === 'unknown' ? null : this.now(),
        outcome,
        version: null,
        code,
      };
    }
    // A read whose outcome is unknown tells nothing and changed nothing.
    if (!(op.kind === 'read' && op.outcome === 'unknown')) this.ops.push(op);
    return op;
  }
}

/** A register holding a value and ZooKeeper's version of it. */
interface Register {
  readonly version: number;
  readonly value: string;
}
type RegisterInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly expected: number; readonly value: string };
type RegisterOutput =
  | { readonly outcome: 'ok'; readonly version: number; readonly value: string | null }
  | { readonly outcome: 'fail'; readonly code: string }
  | { readonly outcome: 'unknown' };

/** The sequential specification of one key: getData and setData with an optional version. */
const registerModel: LinearModel<Register, RegisterInput, RegisterOutput> = {
  init: () => ({ version: 0, value: INITIAL }),
  key: (state) => `${state.version}:${state.value}`,
  step(state, input, output) {
    if (input.kind === 'read') {
      if (output.outcome !== 'ok') return state;
      return output.version === state.version && output.value === state.value ? state : null;
    }
    const applies = input.expected === -1 || input.expected === state.version;
    const next = { version: state.version + 1, value: input.value };
    if (output.outcome === 'unknown') return applies ? next : state;
    if (output.outcome === 'fail') return !applies && output.code === 'BadVersion' ? state : null;
    return applies && output.version === next.version ? next : null;
  },
};

/** The linearizable operations of `key` as the WGL search takes them. */
function linearOps(
  ops: readonly RegisterOp[],
  key: string,
): LinearOp<RegisterInput, RegisterOutput>[] {
  return ops
    .filter((op) => op.key === key && op.linearizable)
    .map((op) => ({
      id: op.id,
      call: op.invokeMs,
      // The search wants call < ret; an answer in the same instant still came after its call.
      ret:
        op.returnMs === null ? Number.POSITIVE_INFINITY : Math.max(op.returnMs, op.invokeMs + 1e-6),
      input:
        op.kind === 'read'
          ? { kind: 'read' as const }
          : { kind: 'write' as const, expected: op.expected, value: op.value as string },
      output:
        op.outcome === 'ok'
          ? {
              outcome: 'ok' as const,
              version: op.version as number,
              value: op.kind === 'read' ? op.value : null,
            }
          : op.outcome === 'fail'
            ? { outcome: 'fail' as const, code: op.code ?? 'Error' }
            : { outcome: 'unknown' as const },
    }));
}

const recorder = new Recorder();
const faults: string[] = [];
let cluster: ProcessCluster;
let stopping = false;
const stopped = new Set<number>();

function classifyCode(code: string): { outcome: 'fail' | 'unknown'; code: string } {
  // Only a version conflict is a definite "did not happen"; anything else may have happened.
  return { outcome: code === 'BadVersion' ? 'fail' : 'unknown', code };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(Object.assign(new Error('timeout'), { code: 'Timeout' })),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** One client of the session API, homed on a member; it moves to another when its member is down. */
async function sessionClient(name: string, home: number, next: () => number): Promise<void> {
  let member: NodeProcess | null = null;
  let session: number | null = null;
  const versions = new Map<string, number>();
  let count = 0;
  for (let i = 0; i < OPS_PER_CLIENT_MAX && !stopping; i++) {
    if (member === null || session === null || !member.alive) {
      const candidates = [home, 1, 2, 3].filter(
        (id) => cluster.members.get(id)?.alive === true && !stopped.has(id),
      );
      const target = candidates[0];
      if (target === undefined) {
        await pause(POLL_MS * 5);
        continue;
      }
      member = cluster.member(target);
      try {
        session = await member.request<number>(
          { op: 'session', timeoutMs: 4_000 },
          CALL_TIMEOUT_MS,
        );
      } catch {
        member = null;
        await pause(POLL_MS * 5);
        continue;
      }
    }
    const current = member;
    const handle = session;
    const key = KEYS[Math.floor(next() * KEYS.length)] as string;
    const roll = next();
    const sessionName = `${name}/${handle}`;
    let op: RegisterOp;
    if (roll < 0.4) {
      op = await recorder.record(
        { key, session: sessionName, kind: 'read', expected: -1, value: null, linearizable: true },
        async () => {
          const found = await current.request<Versioned>(
            { op: 'read', session: handle, path: key, linearizable: true },
            CALL_TIMEOUT_MS,
          );
          return { version: found.version, value: found.data };
        },
        (error) => classifyCode((error as { code?: string }).code ?? 'Error'),
      );
    } else {
      const conditional = roll < 0.7 && versions.has(key);
      const expected = conditional ? (versions.get(key) as number) : -1;
      const value = `${name}-${++count}`;
      op = await recorder.record(
        { key, session: sessionName, kind: 'write', expected, value, linearizable: true },
        async () => ({
          version: await current.request<number>(
            { op: 'write', session: handle, path: key, data: value, version: expected },
            CALL_TIMEOUT_MS,
          ),
        }),
        (error) => classifyCode((error as { code?: string }).code ?? 'Error'),
      );
    }
    if (op.outcome === 'ok') versions.set(key, op.version as number);
    else if (op.outcome === 'unknown') {
      // The session may be gone with its member: start afresh (a new session, new history).
      member = null;
      session = null;
    }
  }
}

const WIRE_CODES: Record<number, string> = {
  [-103]: 'BadVersion',
  [-4]: 'ConnectionLoss',
  [-112]: 'SessionExpired',
};

function wireCall<T>(
  run: (callback: (error: { getCode(): number } | null, value: T, stat?: NpmStat) => void) => void,
): Promise<{ value: T; stat: NpmStat | undefined }> {
  return withTimeout(
    new Promise((resolve, reject) =>
      run((error, value, stat) => {
        if (error === null) resolve({ value, stat });
        else
          reject(
            Object.assign(new Error(String(error)), {
              code: WIRE_CODES[error.getCode()] ?? `Wire${error.getCode()}`,
            }),
          );
      }),
    ),
    CALL_TIMEOUT_MS,
  );
}

/** One ZooKeeper client over the wire: local reads, blind and conditional setData. */
async function wireClient(name: string, next: () => number): Promise<void> {
  let client: NpmClient | null = null;
  let incarnation = 0;
  const versions = new Map<string, number>();
  let count = 0;
  try {
    for (let i = 0; i < OPS_PER_CLIENT_MAX && !stopping; i++) {
      if (client === null) {
        try {
          client = await connectNpm(cluster.connectString(), CALL_TIMEOUT_MS * 2);
          incarnation++;
          versions.clear();
        } catch {
          await pause(POLL_MS * 5);
          continue;
        }
      }
      const current = client;
      const key = KEYS[Math.floor(next() * KEYS.length)] as string;
      const roll = next();
      const sessionName = `${name}#${incarnation}`;
      let op: RegisterOp;
      if (roll < 0.4) {
        op = await recorder.record(
          {
            key,
            session: sessionName,
            kind: 'read',
            expected: -1,
            value: null,
            linearizable: false,
          },
          async () => {
            const { value, stat } = await wireCall<Buffer>((cb) =>
              current.getData(key, undefined, cb),
            );
            return { version: (stat as NpmStat).version, value: value.toString('utf8') };
          },
          (error) => classifyCode((error as { code?: string }).code ?? 'Error'),
        );
      } else {
        const conditional = roll < 0.7 && versions.has(key);
        const expected = conditional ? (versions.get(key) as number) : -1;
        const value = `${name}-${++count}`;
        op = await recorder.record(
          { key, session: sessionName, kind: 'write', expected, value, linearizable: true },
          async () => {
            const { value: stat } = await wireCall<NpmStat>((cb) =>
              current.setData(key, Buffer.from(value), expected, cb),
            );
            return { version: stat.version };
          },
          (error) => classifyCode((error as { code?: string }).code ?? 'Error'),
        );
      }
      if (op.outcome === 'ok') versions.set(key, op.version as number);
      else if (op.code === 'SessionExpired') {
        current.close();
        client = null;
      }
    }
  } finally {
    client?.close();
  }
}

async function leaderId(): Promise<number | null> {
  const statuses = await cluster.statuses();
  const leaders = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
  return leaders[0]?.id ?? null;
}

/** The nemesis: one fault at a time, each healed before the next; at most one member down. */
async function nemesis(next: () => number): Promise<void> {
  const until = recorder.now() + FAULT_PHASE_MS;
  for (let f = 0; f < FAULTS_MAX && recorder.now() < until; f++) {
    await pause(300 + next() * 700);
    // The first two faults are one of each kind, so every run has both; then the seed decides.
    const roll = f === 0 ? 0 : f === 1 ? 0.5 : next();
    const leader = await leaderId();
    const ids = [1, 2, 3];
    if (roll < 0.4) {
      const victim = ids[Math.floor(next() * ids.length)] as number;
      faults.push(
        `${recorder.now().toFixed(0)}ms kill -9 ${victim}${victim === leader ? ' (leader)' : ''}`,
      );
      await cluster.member(victim).kill('SIGKILL');
      await pause(200 + next() * 1_500);
      await cluster.startMember(victim);
    } else {
      const onLeader = roll < 0.7 && leader !== null;
      const victim = onLeader
        ? (leader as number)
        : (ids[Math.floor(next() * ids.length)] as number);
      const forMs = ELECTION_TIMEOUT_MS * (1 + next() * 2);
      faults.push(
        `${recorder.now().toFixed(0)}ms SIGSTOP ${victim}${victim === leader ? ' (leader)' : ''} for ${forMs.toFixed(0)}ms`,
      );
      stopped.add(victim);
      cluster.member(victim).signal('SIGSTOP');
      await pause(forMs);
      cluster.member(victim).signal('SIGCONT');
      stopped.delete(victim);
    }
  }
}

beforeAll(async () => {
  cluster = await ProcessCluster.start({
    size: 3,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    snapshotEntries: 300,
    snapshotRetainedEntries: 50,
    clientPorts: true,
  });
  const leader = await poll(leaderId, POLLS_MAX, POLL_MS);
  expect(leader, 'a first leader').not.toBeNull();
  const member = cluster.member(leader as number);
  const session = await member.request<number>({ op: 'session', timeoutMs: 10_000 });
  await member.request({ op: 'create', session, path: '/jepsen', data: '' });
  for (const key of KEYS) await member.request({ op: 'create', session, path: key, data: INITIAL });
}, 120_000);

afterAll(async () => {
  stopping = true;
  for (const member of cluster?.members.values() ?? []) member.signal('SIGCONT');
  await cluster?.close();
});

describe(`Jepsen-style run: 3 processes, kill -9 and SIGSTOP under load (seed ${SEED})`, () => {
  it('keeps the history linearizable, local reads sequentially consistent, and no acknowledged write lost', async () => {
    const next = random(SEED);
    const clients: Promise<void>[] = [];
    for (const home of [1, 2, 3])
      for (let c = 0; c < SESSION_CLIENTS_PER_MEMBER; c++) {
        const seed = Math.floor(next() * 2 ** 32);
        clients.push(sessionClient(`api${home}.${c}`, home, random(seed)));
      }
    for (let c = 0; c < WIRE_CLIENTS; c++)
      clients.push(wireClient(`wire${c}`, random(Math.floor(next() * 2 ** 32))));
    await nemesis(random(Math.floor(next() * 2 ** 32)));
    // Heal: every member runs; the load goes on a little, then stops.
    for (const id of [1, 2, 3]) if (!cluster.member(id).alive) await cluster.startMember(id);
    const healed = await poll(leaderId, POLLS_MAX, POLL_MS);
    expect(healed, 'a leader after the faults stop').not.toBeNull();
    await pause(1_000);
    stopping = true;
    await Promise.all(clients);
    // The final read of each key, linearizable, after every other call returned or gave up.
    const member = cluster.member(healed as number);
    const session = await member.request<number>({ op: 'session', timeoutMs: 10_000 });
    for (const key of KEYS) {
      const final = await recorder.record(
        { key, session: 'final', kind: 'read', expected: -1, value: null, linearizable: true },
        async () => {
          const found = await member.request<Versioned>(
            { op: 'read', session, path: key, linearizable: true },
            30_000,
          );
          return { version: found.version, value: found.data };
        },
        (error) => classifyCode((error as { code?: string }).code ?? 'Error'),
      );
      expect(final.outcome, `the final read of ${key}`).toBe('ok');
    }

    const count = (kind: string, outcome: string) =>
      recorder.ops.filter((o) => o.kind === kind && o.outcome === outcome).length;
    console.log(
      `jepsen seed ${SEED}: ${recorder.ops.length} ops (writes ok ${count('write', 'ok')}, refused ${count('write', 'fail')}, unknown ${count('write', 'unknown')}; reads ok ${count('read', 'ok')}); faults:\n  ${faults.join('\n  ')}`,
    );
    const result = checkRegisters(recorder.ops, INITIAL);
    expect(result.violations.slice(0, 10), `seed ${SEED}: replay with CAIRN_SEED=${SEED}`).toEqual(
      [],
    );
    for (const key of KEYS) {
      const verdict = searchLinearization(registerModel, linearOps(recorder.ops, key), {
        searchStepsMax: 5_000_000,
      });
      expect(verdict.result, `seed ${SEED}: WGL search on ${key} (${verdict.steps} steps)`).toBe(
        'ok',
      );
    }
    // The run did what it claims: faults of both kinds, and writes through both doors.
    expect(faults.some((f) => f.includes('kill -9'))).toBe(true);
    expect(faults.some((f) => f.includes('SIGSTOP'))).toBe(true);
    const acked = recorder.ops.filter((o) => o.kind === 'write' && o.outcome === 'ok');
    expect(acked.some((o) => o.session.startsWith('api'))).toBe(true);
    expect(acked.some((o) => o.session.startsWith('wire'))).toBe(true);
    expect(
      recorder.ops.some((o) => o.kind === 'read' && !o.linearizable && o.outcome === 'ok'),
    ).toBe(true);
  }, 180_000);
});
