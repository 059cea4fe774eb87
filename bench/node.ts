/**
 * Question: how many 100-byte creates and setData per second does a 3-member Cairn cluster
 * take from 1, 16 and 256 closed-loop writers, at what p50/p99, and how does that compare with
 * Apache ZooKeeper 3.8 on the same machine? And how many local reads per second does the
 * embedding process get?
 *
 * Cairn: three processes (test/support/node-process.ts), TCP on 127.0.0.1, level with synced
 * writes, default ticks and snapshots. The writers run inside the leader's process, as an
 * application embedding the node would: no client hop. Writers share min(writers, 16) sessions.
 * Local reads are `getData` calls, one after another, by a session on a follower's process.
 *
 * ZooKeeper (when installed, not with --quick): three servers on 127.0.0.1 (their own client,
 * quorum and election ports, data folders in a temporary folder, default fsync), driven from
 * this process with `node-zookeeper-client` over min(writers, 16) connections to the leader,
 * the closest a client gets to it. Each row: a warm-up, then a timed closed loop (each writer
 * waits for its answer before its next call).
 *
 *   npx tsx --conditions=source bench/node.ts           # the full table (and ZooKeeper)
 *   npx tsx --conditions=source bench/node.ts --quick   # a short smoke run, no ZooKeeper
 */
import { ProcessCluster } from '../test/support/node-cluster.js';
import type { BenchRequest, BenchResult } from '../test/support/protocol.js';
import {
  connectZk,
  type ZkClient,
  ZooKeeperEnsemble,
  zookeeperJar,
} from '../test/support/zookeeper.js';
import { machineLine } from './heap.js';

const args = process.argv.slice(2);
for (const arg of args)
  if (arg !== '--quick') throw new Error(`unknown argument ${arg}: use --quick`);
const quick = args.includes('--quick');

const VALUE_BYTES = 100;
const WRITERS = [1, 16, 256];
const KINDS = ['create', 'setData'] as const;
const SESSIONS_MAX = 16;
const WARMUP_MS = quick ? 100 : 1_000;
/**
 * Before the first row, every kind of write from 16 writers, untimed, on both systems: without
 * it the first row (create, one writer) ran the request path cold in V8's interpreter and
 * measured 3.4 ms a create against 1.2 ms a setData in the row after it.
 */
const WARM_ALL_MS = quick ? 100 : 2_000;
const WARM_ALL_CALLS = quick ? 100 : 2_000;
const DURATION_MS = quick ? 300 : 5_000;
/** Bounds each row's timed calls, whatever the duration. */
const OPS_MAX = quick ? 500 : 1_000_000;
const LOCAL_READS = quick ? 50_000 : 2_000_000;
const GOAL_WRITE_RATIO = 2;
const GOAL_LOCAL_READS_PER_SECOND = 1_000_000;

type Kind = (typeof KINDS)[number];

interface Row {
  kind: Kind;
  writers: number;
  ops: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  /** Cairn: entries the leader applied per synced write it made, over the row. */
  entriesPerSync?: number;
}

function row(kind: Kind, writers: number, result: BenchResult): Row {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    kind,
    writers,
    ops: result.ops,
    opsPerSecond: result.seconds > 0 ? result.ops / result.seconds : 0,
    p50: at(0.5),
    p99: at(0.99),
  };
}

async function benchCairn(): Promise<{ rows: Row[]; localReadsPerSecond: number }> {
  const cluster = await ProcessCluster.start({ size: 3, tickMs: 100, electionTicks: 10 });
  try {
    const leader = await cluster.waitForLeader(3_000, 10);
    if (leader === null) throw new Error('the Cairn cluster elected no leader');
    const member = cluster.member(leader.id);
    const session = await member.request<number>({ op: 'session', timeoutMs: 30_000 });
    await member.request({ op: 'create', session, path: '/bench', data: '' });
    for (const kind of KINDS) {
      const prefix = `/bench/warm-${kind}`;
      await member.request({ op: 'create', session, path: prefix, data: '' });
      const warm: BenchRequest = {
        kind,
        writers: SESSIONS_MAX,
        sessions: SESSIONS_MAX,
        valueBytes: VALUE_BYTES,
        prefix,
        warmupMs: 0,
        durationMs: WARM_ALL_MS,
        opsMax: WARM_ALL_CALLS,
      };
      await member.request<BenchResult>({ op: 'bench', bench: warm }, 300_000);
    }
    const rows: Row[] = [];
    for (const kind of KINDS) {
      for (const writers of WRITERS) {
        const prefix = `/bench/${kind}-${writers}`;
        await member.request({ op: 'create', session, path: prefix, data: '' });
        const request: BenchRequest = {
          kind,
          writers,
          sessions: Math.min(writers, SESSIONS_MAX),
          valueBytes: VALUE_BYTES,
          prefix,
          warmupMs: WARMUP_MS,
          durationMs: DURATION_MS,
          opsMax: OPS_MAX,
        };
        const before = await member.status();
        const result = await member.request<BenchResult>({ op: 'bench', bench: request }, 300_000);
        const after = await member.status();
        rows.push({
          ...row(kind, writers, result),
          entriesPerSync:
            (after.appliedEntries - before.appliedEntries) /
            Math.max(1, after.syncs - before.syncs),
        });
      }
    }
    const follower = cluster.alive().find((m) => m.config.id !== leader.id) ?? member;
    const paths = Array.from({ length: SESSIONS_MAX }, (_, w) => `/bench/setData-16/w${w}`);
    // The follower has applied the setData rows once a linearizable read there returns.
    const reader = await follower.request<number>({ op: 'session', timeoutMs: 30_000 });
    await follower.request({
      op: 'getData',
      session: reader,
      path: paths[0] as string,
      linearizable: true,
    });
    const reads = await follower.request<BenchResult>(
      { op: 'localReads', paths, count: LOCAL_READS },
      300_000,
    );
    return { rows, localReadsPerSecond: reads.ops / reads.seconds };
  } finally {
    await cluster.close();
  }
}

/** Closed-loop calls from `writers` writers: a warm-up, then the timed part. */
async function closedLoop(
  writers: number,
  call: (writer: number) => Promise<unknown>,
): Promise<BenchResult> {
  const phase = async (ms: number, latenciesMs: number[] | null): Promise<number> => {
    const end = Date.now() + ms;
    let ops = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        while (Date.now() < end && ops < OPS_MAX) {
          const started = process.hrtime.bigint();
          await call(w);
          latenciesMs?.push(Number(process.hrtime.bigint() - started) / 1e6);
          ops++;
        }
      }),
    );
    return ops;
  };
  await phase(WARMUP_MS, null);
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  const ops = await phase(DURATION_MS, latenciesMs);
  return { ops, seconds: Number(process.hrtime.bigint() - started) / 1e9, latenciesMs };
}

async function benchZooKeeper(jar: string): Promise<Row[]> {
  const ensemble = await ZooKeeperEnsemble.start(jar);
  const clients: ZkClient[] = [];
  try {
    const leader = (await ensemble.leaderIndex()) ?? 0;
    const address = `127.0.0.1:${ensemble.clientPorts[leader]}`;
    for (let i = 0; i < SESSIONS_MAX; i++) clients.push(await connectZk(address));
    const admin = clients[0] as ZkClient;
    const value = Buffer.alloc(VALUE_BYTES, 97);
    await admin.create('/bench', Buffer.alloc(0));
    await admin.create('/bench/warm', Buffer.alloc(0));
    await Promise.all(
      clients.map(async (client, c) => {
        const path = `/bench/warm/c${c}`;
        await client.create(path, Buffer.alloc(VALUE_BYTES, 97));
        for (let i = 0; i < WARM_ALL_CALLS / clients.length; i++) {
          await client.create(`${path}-${i}`, Buffer.alloc(VALUE_BYTES, 97));
          await client.setData(path, Buffer.alloc(VALUE_BYTES, 97));
        }
      }),
    );
    const rows: Row[] = [];
    for (const kind of KINDS) {
      for (const writers of WRITERS) {
        const prefix = `/bench/${kind}-${writers}`;
        await admin.create(prefix, Buffer.alloc(0));
        const client = (w: number): ZkClient =>
          clients[w % Math.min(writers, SESSIONS_MAX)] as ZkClient;
        if (kind === 'setData')
          await Promise.all(
            Array.from({ length: writers }, (_, w) => client(w).create(`${prefix}/w${w}`, value)),
          );
        let calls = 0;
        const result = await closedLoop(writers, (w) =>
          kind === 'create'
            ? client(w).create(`${prefix}/w${w}-${calls++}`, value)
            : client(w).setData(`${prefix}/w${w}`, value),
        );
        rows.push(row(kind, writers, result));
      }
    }
    return rows;
  } finally {
    for (const client of clients) client.close();
    await ensemble.close();
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => n.toFixed(2);

function printTable(cairn: readonly Row[], zk: readonly Row[] | null): void {
  console.log(
    'op       writers   cairn ops/s  p50 ms  p99 ms  writes/sync      zk ops/s  p50 ms  p99 ms   x zk ops/s  p99 vs zk',
  );
  for (const c of cairn) {
    const z = zk?.find((r) => r.kind === c.kind && r.writers === c.writers);
    const peer =
      z === undefined
        ? ['-'.padStart(12), '-'.padStart(6), '-'.padStart(6), '-'.padStart(11), '-'.padStart(9)]
        : [
            fmt(z.opsPerSecond).padStart(12),
            ms(z.p50).padStart(6),
            ms(z.p99).padStart(6),
            `${(c.opsPerSecond / z.opsPerSecond).toFixed(2)}x`.padStart(11),
            (c.p99 <= z.p99 ? 'better' : 'worse').padStart(9),
          ];
    console.log(
      [
        c.kind.padEnd(7),
        String(c.writers).padStart(7),
        fmt(c.opsPerSecond).padStart(12),
        ms(c.p50).padStart(6),
        ms(c.p99).padStart(6),
        (c.entriesPerSync ?? 0).toFixed(1).padStart(11),
        ...peer,
      ].join('  '),
    );
  }
}

console.log(
  `node bench: 3 members in 3 processes on 127.0.0.1, level with synced writes, ${VALUE_BYTES}-byte values, closed-loop writers on the leader's process`,
);
console.log(machineLine());
const cairn = await benchCairn();
const jar = quick ? null : zookeeperJar();
const zk = jar === null ? null : await benchZooKeeper(jar);
if (zk === null)
  console.log(
    quick
      ? 'peer ZooKeeper: skipped (--quick)'
      : 'peer ZooKeeper: skipped (not installed: apt-get install zookeeper)',
  );
else
  console.log('peer ZooKeeper 3.8: 3 servers on 127.0.0.1, default fsync, node-zookeeper-client');
printTable(cairn.rows, zk);
console.log(
  `local reads (getData on a follower's process, one after another): ${fmt(cairn.localReadsPerSecond)} ops/s`,
);
if (zk === null)
  console.log(
    `goal (Cairn writes >= ${GOAL_WRITE_RATIO}x ZooKeeper, p99 no worse): skipped (no peer)`,
  );
else {
  const missed = cairn.rows.filter((c) => {
    const z = zk.find((r) => r.kind === c.kind && r.writers === c.writers);
    return z === undefined || c.opsPerSecond < GOAL_WRITE_RATIO * z.opsPerSecond || c.p99 > z.p99;
  });
  console.log(
    `goal (Cairn writes >= ${GOAL_WRITE_RATIO}x ZooKeeper, p99 no worse): ${
      missed.length === 0
        ? 'met'
        : `NOT met (${missed.map((r) => `${r.kind}/${r.writers}`).join(', ')})`
    }`,
  );
}
console.log(
  `goal (local reads > ${fmt(GOAL_LOCAL_READS_PER_SECOND)}/s): ${
    cairn.localReadsPerSecond > GOAL_LOCAL_READS_PER_SECOND ? 'met' : 'NOT met'
  } (${fmt(cairn.localReadsPerSecond)}/s)`,
);
