/**
 * Question: through the ZooKeeper wire protocol, with the same client, how many 100-byte
 * creates, setData and getData per second do Cairn and Apache ZooKeeper 3.8 serve from 1, 16
 * and 128 outstanding requests, on one node and on three, and at what p50/p99/p99.9 and worst
 * latency? Goal (issue 6): Cairn >= 2x ZooKeeper's write throughput, at least equal on reads,
 * p99 no worse; and at C=1 on three nodes no request may stall (ZooKeeper 3.8.0 holds a lone
 * request for seconds there, ZOOKEEPER-4537), so every row reports its slowest request.
 *
 * Cairn: member processes serving the wire protocol as `cairn start` does
 * (test/support/zk-member-process.ts: `createNode` + `createZkServer`): level with synced
 * writes, TCP between members on 127.0.0.1, client ports on 127.0.0.1. ZooKeeper: the Debian
 * package's jar, standalone (test/support/zookeeper-standalone.ts) or a 3-server ensemble
 * (test/support/zookeeper.ts) on 127.0.0.1, temporary data folders, default forceSync (fsync
 * of the transaction log before every acknowledgement). Both are driven from this process by
 * `node-zookeeper-client` over the wire: min(C, 16) sessions, session s connected to server
 * s mod size with the followers first (so a lone client talks to a follower, as 2 clients in 3
 * do), C closed-loop callers each waiting for its answer before its next call. Each row: a
 * warm-up, then a bounded duration (and a bound on calls). Systems run one after another on
 * the same machine in the same run; each is stopped before the next starts.
 *
 *   npx tsx --conditions=source bench/zk-protocol.ts           # the full table
 *   npx tsx --conditions=source bench/zk-protocol.ts --quick   # a short smoke run
 *   npx tsx --conditions=source bench/zk-protocol.ts --nodes=1 --ops=create,setData --c=1
 *                                  # only those rows (each flag takes a comma-separated list)
 *   CAIRN_CPU_PROFILE_DIR=/tmp/prof npx tsx --conditions=source bench/zk-protocol.ts
 *                                  # also writes zk-member<id>.cpuprofile per Cairn member
 *
 * Every process started is stopped and every temporary folder removed on exit, on error and on
 * SIGINT/SIGTERM; the last two lines name them, so a caller can check.
 */
import { readFileSync } from 'node:fs';
import { ZkMemberCluster } from '../test/support/zk-member-cluster.js';
import {
  connectZk,
  type ZkClient,
  ZooKeeperEnsemble,
  zookeeperJar,
} from '../test/support/zookeeper.js';
import { StandaloneZooKeeper, zookeeperMissing } from '../test/support/zookeeper-standalone.js';
import { machineLine } from './heap.js';

const ALL_SIZES = [1, 3] as const;
const ALL_CONCURRENCY = [1, 16, 128] as const;
const ALL_OPS = ['create', 'setData', 'getData'] as const;
const USAGE = 'use --quick, --nodes=1,3, --ops=create,setData,getData, --c=1,16,128';

/** `--name=a,b`: the listed members of `all` (every one without the flag). */
function pick<T extends string | number>(
  args: readonly string[],
  name: string,
  all: readonly T[],
): T[] {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return [...all];
  return arg
    .slice(name.length + 3)
    .split(',')
    .map((text) => {
      const found = all.find((value) => String(value) === text);
      if (found === undefined) throw new Error(`--${name}: ${text} is not one of ${all.join(',')}`);
      return found;
    });
}

const args = process.argv.slice(2);
for (const arg of args)
  if (arg !== '--quick' && !/^--(nodes|ops|c)=/.test(arg))
    throw new Error(`unknown argument ${arg}: ${USAGE}`);
const quick = args.includes('--quick');

const VALUE_BYTES = 100;
const SIZES = pick(args, 'nodes', ALL_SIZES);
const CONCURRENCY = pick(args, 'c', ALL_CONCURRENCY);
const OPS = pick(args, 'ops', ALL_OPS);
const SYSTEMS = ['cairn', 'zookeeper'] as const;
const SESSIONS_MAX = 16;
const WARMUP_MS = quick ? 50 : 1_000;
/** The warm-up before a system's first row: rounds of create, setData, getData per session. */
const WARMUP_CALLS_PER_SESSION = quick ? 5 : 200;
const WARMUP_ALL_MS = quick ? 2_000 : 30_000;
const DURATION_MS = quick ? 200 : 5_000;
/** Bounds each row's measured calls, whatever the duration. */
const OPS_MAX = quick ? 1_000 : 1_000_000;
/** A row gives up after this many failed calls: the system is not serving. */
const ERRORS_MAX = 1_000;
const GOAL_WRITE_RATIO = 2;
const GOAL_READ_RATIO = 1;
/**
 * A request this slow at C=1 counts as stalled: ZOOKEEPER-4537 holds a lone request for
 * seconds, where the machine's own noise stays in the low hundreds of milliseconds.
 */
const STALL_MS = 1_000;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

type Op = (typeof ALL_OPS)[number];
type System = (typeof SYSTEMS)[number];

/** A running system: its client ports in connect order (followers first, leader last). */
interface Deployment {
  readonly system: System;
  readonly size: number;
  readonly clientPorts: readonly number[];
  readonly pids: readonly number[];
  readonly folders: readonly string[];
  close(): Promise<void>;
}

interface Measure {
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly opsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** CPU time (user + system) of the system's server processes per measured call, or null. */
  readonly cpuUsPerOp: number | null;
  /**
   * The client's (this process's) CPU use during the row, in % of one core: near 100, the
   * single-threaded client, not the servers, bounds the row.
   */
  readonly clientCpuPercent: number;
}

const key = (system: System, size: number, op: Op, c: number): string =>
  `${system}/${size}/${op}/${c}`;

// --- cleanup: whatever runs is stopped on every way out ---------------------------------------

const running = new Set<Deployment>();
const openClients = new Set<ZkClient>();
const stoppedPids: number[] = [];
const removedFolders: string[] = [];
/** The system being started, if any: a signal waits for it, then stops it. */
let starting: Promise<unknown> | null = null;

async function stop(deployment: Deployment): Promise<void> {
  if (!running.delete(deployment)) return;
  await deployment.close();
  stoppedPids.push(...deployment.pids);
  removedFolders.push(...deployment.folders);
}

async function stopEverything(): Promise<void> {
  for (const client of openClients) client.close();
  openClients.clear();
  await Promise.all([...running].map((d) => stop(d)));
}

function printCleanup(): void {
  console.log(`cleanup: stopped ${stoppedPids.length} processes (pids ${stoppedPids.join(' ')})`);
  console.log(`cleanup: removed ${removedFolders.length} folders (${removedFolders.join(' ')})`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`zk-protocol bench: ${signal}, stopping every process`);
    void (async () => {
      await stopEverything();
      await starting?.catch(() => {});
      await stopEverything();
    })().finally(() => {
      printCleanup();
      process.exit(130);
    });
  });

// --- starting the systems ---------------------------------------------------------------------

/** Puts the leader last: index 0 is a follower whenever there is one. */
function followersFirst(ports: readonly number[], leader: number): number[] {
  return [...ports.filter((_, i) => i !== leader), ports[leader] as number];
}

async function deploy(system: System, size: number): Promise<Deployment> {
  let deployment: Deployment;
  if (system === 'cairn') {
    const cluster = await ZkMemberCluster.start(size);
    const leader = (await cluster.leaderIndex()) ?? 0;
    deployment = {
      system,
      size,
      clientPorts: followersFirst(cluster.clientPorts, leader),
      pids: cluster.pids,
      folders: [cluster.dir],
      close: () => cluster.close(),
    };
  } else if (size === 1) {
    const server = await StandaloneZooKeeper.start();
    deployment = {
      system,
      size,
      clientPorts: [server.port],
      pids: server.pid === undefined ? [] : [server.pid],
      folders: [server.folder],
      close: () => server.close(),
    };
  } else {
    const jar = zookeeperJar();
    if (jar === null) throw new Error('ZooKeeper is not installed');
    const ensemble = await ZooKeeperEnsemble.start(jar, size);
    const leader = (await ensemble.leaderIndex()) ?? 0;
    deployment = {
      system,
      size,
      clientPorts: followersFirst(ensemble.clientPorts, leader),
      pids: ensemble.pids,
      folders: [ensemble.folder],
      close: () => ensemble.close(),
    };
  }
  running.add(deployment);
  return deployment;
}

// --- the load ---------------------------------------------------------------------------------

/**
 * CPU seconds (user + system, every thread) used so far by the processes `pids`, from
 * /proc/<pid>/stat; null where there is no /proc. Unlike throughput, this hardly moves when
 * other work shares the machine, so it compares the two systems' cost per call.
 */
function cpuSeconds(pids: readonly number[]): number | null {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
    // Fields after "pid (comm) ": state is the 3rd field, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : null;
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/** C closed-loop callers: a warm-up, then the measured part, bounded in time and calls. */
async function closedLoop(
  callers: number,
  call: (caller: number) => Promise<void>,
  serverPids: readonly number[],
): Promise<Measure> {
  let errors = 0;
  let firstError: string | null = null;
  const phase = async (ms: number, latenciesMs: number[] | null): Promise<number> => {
    const end = Date.now() + ms;
    let ops = 0;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        while (Date.now() < end && ops < OPS_MAX && errors < ERRORS_MAX && !interrupted) {
          const started = process.hrtime.bigint();
          try {
            await call(caller);
          } catch (error) {
            errors++;
            firstError ??= String((error as Error).message ?? error);
            continue;
          }
          latenciesMs?.push(Number(process.hrtime.bigint() - started) / 1e6);
          ops++;
        }
      }),
    );
    return ops;
  };
  await phase(WARMUP_MS, null);
  const latenciesMs: number[] = [];
  const cpuBefore = cpuSeconds(serverPids);
  const clientBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const ops = await phase(DURATION_MS, latenciesMs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSeconds(serverPids);
  const client = process.cpuUsage(clientBefore);
  if (errors >= ERRORS_MAX) throw new Error(`${errors} failed calls; the first: ${firstError}`);
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    ops,
    errors,
    firstError,
    opsPerSecond: seconds > 0 ? ops / seconds : 0,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number),
    cpuUsPerOp:
      cpuBefore === null || cpuAfter === null || ops === 0
        ? null
        : ((cpuAfter - cpuBefore) * 1e6) / ops,
    clientCpuPercent: seconds > 0 ? (client.user + client.system) / 1e4 / seconds : 0,
  };
}

/**
 * Before the first row, every op from every session, untimed, so that no row pays for a cold
 * system: a fresh Cairn member runs its request path in V8's interpreter until it has served a
 * few thousand calls (the JVM's JIT warms the same way). Without this the first row measured
 * (create at C=1) ran 2-3x the CPU per call of the same op measured later, whichever op came
 * first (bench/README.md, 2026-12-06). Bounded in calls and in time.
 */
async function warmUp(clients: readonly ZkClient[], value: Buffer): Promise<void> {
  const end = Date.now() + WARMUP_ALL_MS;
  const admin = clients[0] as ZkClient;
  await admin.create('/bench/warm-up', Buffer.alloc(0));
  await Promise.all(
    clients.map(async (client, s) => {
      const path = `/bench/warm-up/s${s}`;
      await client.create(path, value);
      for (let i = 0; i < WARMUP_CALLS_PER_SESSION && Date.now() < end && !interrupted; i++) {
        await client.create(`${path}-${i}`, value);
        await client.setData(path, value);
        await client.getData(path);
      }
    }),
  );
}

/** Every op x C row against one running system, through `node-zookeeper-client`. */
async function measure(deployment: Deployment, results: Map<string, Measure>): Promise<void> {
  const clients: ZkClient[] = [];
  try {
    for (let s = 0; s < SESSIONS_MAX; s++) {
      const port = deployment.clientPorts[s % deployment.clientPorts.length] as number;
      const client = await connectZk(`127.0.0.1:${port}`);
      clients.push(client);
      openClients.add(client);
    }
    const admin = clients[0] as ZkClient;
    const value = Buffer.alloc(VALUE_BYTES, 97);
    await admin.create('/bench', Buffer.alloc(0));
    await warmUp(clients, value);
    for (const op of OPS) {
      for (const c of CONCURRENCY) {
        if (interrupted) return;
        const prefix = `/bench/${op}-${c}`;
        await admin.create(prefix, Buffer.alloc(0));
        const client = (caller: number): ZkClient =>
          clients[caller % Math.min(c, SESSIONS_MAX)] as ZkClient;
        // setData and getData work on one znode per caller, created by the caller's session
        // (so a read on a follower sees it: a session reads its own writes).
        if (op !== 'create')
          await Promise.all(
            Array.from({ length: c }, (_, w) => client(w).create(`${prefix}/w${w}`, value)),
          );
        let created = 0;
        const call = async (w: number): Promise<void> => {
          if (op === 'create') await client(w).create(`${prefix}/w${w}-${created++}`, value);
          else if (op === 'setData') await client(w).setData(`${prefix}/w${w}`, value);
          else {
            const data = await client(w).getData(`${prefix}/w${w}`);
            if (data.length !== VALUE_BYTES)
              throw new Error(`getData returned ${data.length} bytes, not ${VALUE_BYTES}`);
          }
        };
        results.set(
          key(deployment.system, deployment.size, op, c),
          await closedLoop(c, call, deployment.pids),
        );
      }
    }
  } finally {
    for (const client of clients) {
      client.close();
      openClients.delete(client);
    }
  }
}

// --- the table --------------------------------------------------------------------------------

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const msText = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

const SYSTEM_WIDTHS = [9, 7, 7, 7, 7, 4, 6, 4] as const;

function systemCells(m: Measure | undefined): string[] {
  const cells =
    m === undefined
      ? ['-', '-', '-', '-', '-', '-', '-', '-']
      : [
          fmt(m.opsPerSecond),
          msText(m.p50),
          msText(m.p99),
          msText(m.p999),
          msText(m.max),
          String(m.errors),
          m.cpuUsPerOp === null ? '-' : fmt(m.cpuUsPerOp),
          `${Math.round(m.clientCpuPercent)}%`,
        ];
  return cells.map((cell, i) => cell.padStart(SYSTEM_WIDTHS[i] as number));
}

function line(first: string[], cairn: string[], zk: string[], ratios: string[]): string {
  return [first.join(' '), cairn.join(' '), zk.join(' '), ratios.join(' ')].join(' | ');
}

function printTable(results: ReadonlyMap<string, Measure>): void {
  const names = (opsName: string): string[] =>
    [opsName, 'p50', 'p99', 'p999', 'max', 'err', 'cpu/op', 'cli'].map((n, i) =>
      n.padStart(SYSTEM_WIDTHS[i] as number),
    );
  console.log(
    line(['nodes', '   C', 'op'.padEnd(7)], names('cairn/s'), names('zk/s'), [
      'x ops/s',
      'x p99',
      'x cpu/op',
    ]),
  );
  for (const size of SIZES)
    for (const op of OPS)
      for (const c of CONCURRENCY) {
        const cairn = results.get(key('cairn', size, op, c));
        const zk = results.get(key('zookeeper', size, op, c));
        const ratio =
          cairn === undefined || zk === undefined || zk.opsPerSecond === 0
            ? '-'
            : `${(cairn.opsPerSecond / zk.opsPerSecond).toFixed(2)}x`;
        const cpuRatio =
          cairn?.cpuUsPerOp == null || zk?.cpuUsPerOp == null || zk.cpuUsPerOp === 0
            ? '-'
            : `${(cairn.cpuUsPerOp / zk.cpuUsPerOp).toFixed(2)}x`;
        const p99Ratio =
          cairn === undefined || zk === undefined || zk.p99 === 0
            ? '-'
            : `${(cairn.p99 / zk.p99).toFixed(2)}x`;
        console.log(
          line(
            [String(size).padStart(5), String(c).padStart(4), op.padEnd(7)],
            systemCells(cairn),
            systemCells(zk),
            [ratio.padStart(7), p99Ratio.padStart(5), cpuRatio.padStart(8)],
          ),
        );
      }
  console.log(
    'latencies in ms, measured by the client; max: the slowest request of the row; err: failed calls; cpu/op: µs of CPU the servers (all members) used per call; cli: the CPU of the client process, % of one core (near 100%: the client bounds the row)',
  );
}

function printGoals(results: ReadonlyMap<string, Measure>, peer: boolean): void {
  if (!peer) {
    console.log(
      `goal (writes >= ${GOAL_WRITE_RATIO}x ZooKeeper, reads >= ${GOAL_READ_RATIO}x, p99 no worse): skipped (no peer)`,
    );
  } else {
    const missed: string[] = [];
    for (const size of SIZES)
      for (const op of OPS)
        for (const c of CONCURRENCY) {
          const cairn = results.get(key('cairn', size, op, c));
          const zk = results.get(key('zookeeper', size, op, c));
          const goal = op === 'getData' ? GOAL_READ_RATIO : GOAL_WRITE_RATIO;
          if (
            cairn === undefined ||
            zk === undefined ||
            cairn.opsPerSecond < goal * zk.opsPerSecond ||
            cairn.p99 > zk.p99
          )
            missed.push(`${op}/C=${c}/${size} node${size > 1 ? 's' : ''}`);
        }
    console.log(
      `goal (writes >= ${GOAL_WRITE_RATIO}x ZooKeeper, reads >= ${GOAL_READ_RATIO}x, p99 no worse): ${
        missed.length === 0 ? 'met' : `NOT met (${missed.join(', ')})`
      }`,
    );
  }
  for (const system of peer ? SYSTEMS : (['cairn'] as const)) {
    const slowest = OPS.map((op) => {
      const m = results.get(key(system, 3, op, 1));
      return `${op} ${m === undefined ? '-' : `${msText(m.max)} ms`}`;
    });
    console.log(`slowest request at C=1 on 3 nodes, ${system}: ${slowest.join(', ')}`);
  }
  const stalled = OPS.filter((op) => (results.get(key('cairn', 3, op, 1))?.max ?? 0) >= STALL_MS);
  console.log(
    `goal (no Cairn request stalls at C=1 on 3 nodes: every one under ${fmt(STALL_MS)} ms): ${
      stalled.length === 0 ? 'met' : `NOT met (${stalled.join(', ')})`
    }`,
  );
  const failed = [...results].filter(([, m]) => m.errors > 0);
  for (const [name, m] of failed)
    console.log(`errors: ${name}: ${m.errors} failed calls, the first: ${m.firstError}`);
}

// --- main -------------------------------------------------------------------------------------

const missing = zookeeperMissing();
console.log(
  `zk-protocol bench: node-zookeeper-client in this process, min(C, ${SESSIONS_MAX}) sessions spread over the servers (followers first), ${VALUE_BYTES}-byte values, all on 127.0.0.1; warm-up ${WARMUP_MS} ms, then ${DURATION_MS} ms or ${fmt(OPS_MAX)} calls a row${quick ? ' (--quick)' : ''}`,
);
console.log(machineLine());
console.log(
  'cairn: member processes (createNode + createZkServer), level with synced writes, TCP between members; 1 and 3 members',
);
console.log(
  missing === null
    ? 'peer ZooKeeper 3.8: Debian package jar, standalone and 3-server ensemble, default forceSync (fsync); same run'
    : `peer ZooKeeper: missing (${missing}); Cairn alone`,
);

const results = new Map<string, Measure>();
let status = 0;
try {
  for (const size of SIZES)
    for (const system of SYSTEMS) {
      if (interrupted || (system === 'zookeeper' && missing !== null)) continue;
      const pending = deploy(system, size);
      starting = pending;
      const deployment = await pending;
      starting = null;
      console.error(
        `zk-protocol bench: ${system} on ${size} node${size > 1 ? 's' : ''} serving (pids ${deployment.pids.join(' ')})`,
      );
      try {
        await measure(deployment, results);
      } finally {
        await stop(deployment);
      }
    }
  if (!interrupted) {
    printTable(results);
    printGoals(results, missing === null);
  }
} catch (error) {
  console.error(`zk-protocol bench failed: ${(error as Error).stack ?? String(error)}`);
  status = 1;
} finally {
  if (!interrupted) {
    await stopEverything();
    printCleanup();
  }
}
if (!interrupted) process.exit(status);
