// One Cairn member in its own process, for the real-process cluster test and bench/node.ts (not
// a test file itself). The parent passes a `NodeProcessConfig` as one JSON argument; this
// process starts `createNode` on level (synced writes) and TCP, prints `{"event":"ready"}`, then
// answers line-delimited JSON commands from stdin on stdout: `{ id, op, ...arguments }` in,
// `{ id, ok: true, value }` or `{ id, ok: false, code, message }` out, in completion order.
// Commands run concurrently. The parent stops it with `close`, SIGTERM or SIGKILL.
//
// It counts the node's own ticks through the injected `Timers` (the tick timer is the one
// armed with `tickMs`), so the parent can state a wait in ticks rather than in milliseconds.
import { createInterface } from 'node:readline';
import { type CairnNode, createNode, type Session, systemTimers, type Timers } from '@cairn/node';
import { createZkServer } from '@cairn/zk-server';
import { startCpuProfile } from './cpu-profile.js';
import type {
  BenchRequest,
  BenchResult,
  Command,
  NodeProcessConfig,
  ProcessStatus,
} from './protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeProcessConfig;

// CAIRN_CPU_PROFILE_DIR=<dir>: this process writes <dir>/node<id>.cpuprofile on SIGTERM.
const writeProfile = startCpuProfile(`node${config.id}`);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let ticks = 0;
/** Role changes with the tick count at which this node saw them. */
const roleLog: { role: string; leader: number | null; term: number; tick: number }[] = [];

const countingTimers: Timers = {
  setTimeout: (callback, delayMs) =>
    systemTimers.setTimeout(() => {
      if (delayMs === config.tickMs) ticks++;
      callback();
    }, delayMs),
  clearTimeout: (handle) => systemTimers.clearTimeout(handle),
  setImmediate: (callback) => systemTimers.setImmediate(callback),
};

const node: CairnNode = await createNode({
  id: config.id,
  dataDir: config.dataDir,
  listen: config.peers[config.id] as string,
  peers: config.peers,
  tickMs: config.tickMs,
  electionTicks: config.electionTicks,
  ...(config.snapshotEntries === undefined ? {} : { snapshotEntries: config.snapshotEntries }),
  ...(config.snapshotRetainedEntries === undefined
    ? {}
    : { snapshotRetainedEntries: config.snapshotRetainedEntries }),
  ...(config.join === true ? { join: true } : {}),
  timers: countingTimers,
  onEvent: (event) => {
    if (event.type === 'roleChanged')
      roleLog.push({ role: event.role, leader: event.leader, term: event.term, tick: ticks });
    else if (event.type === 'fatal') reply({ event: 'fatal', message: event.error.message });
  },
});

// The ZooKeeper client port, when asked for: ZooKeeper clients in the parent connect to it.
const zkServer =
  config.clientPort === undefined
    ? null
    : await createZkServer(node, { host: '127.0.0.1', port: config.clientPort });

const sessions = new Map<number, Session>();
let sessionCount = 0;

function reply(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function session(handle: number): Session {
  const found = sessions.get(handle);
  if (found === undefined) throw new Error(`no session ${handle}`);
  return found;
}

function status(): ProcessStatus {
  const m = node.metrics;
  return {
    ...node.status(),
    ticks,
    roleLog,
    snapshots: m.snapshots.value,
    snapshotsInstalled: m.snapshotsInstalled.value,
    leaderChanges: m.leaderChanges.value,
    syncs: m.persistLatency.count,
    appliedEntries: m.applied.value,
    metrics: m.toObject(),
  };
}

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'session': {
      const opened = await node.session({ timeoutMs: command.timeoutMs });
      sessions.set(++sessionCount, opened);
      return sessionCount;
    }
    case 'create':
      return session(command.session).create(command.path, encoder.encode(command.data));
    case 'setData':
      return (await session(command.session).setData(command.path, encoder.encode(command.data)))
        .version;
    case 'getData': {
      const found = await session(command.session).getData(command.path, {
        linearizable: command.linearizable,
      });
      return decoder.decode(found.data);
    }
    case 'getMany':
      return Promise.all(
        command.paths.map((path) =>
          session(command.session)
            .getData(path, { linearizable: command.linearizable })
            .then(
              (found) => decoder.decode(found.data),
              (error: { code?: string }) => ({ error: error.code ?? 'Error' }),
            ),
        ),
      );
    case 'getChildren':
      return (
        await session(command.session).getChildren(command.path, {
          linearizable: command.linearizable,
        })
      ).children;
    case 'read': {
      const found = await session(command.session).getData(command.path, {
        linearizable: command.linearizable,
      });
      return { data: decoder.decode(found.data), version: found.stat.version };
    }
    case 'write':
      return (
        await session(command.session).setData(
          command.path,
          encoder.encode(command.data),
          command.version,
        )
      ).version;
    case 'closeSession':
      await session(command.session).close();
      sessions.delete(command.session);
      return null;
    case 'status':
      return status();
    case 'addMember':
      await node.addMember(command.member, command.address, { learner: command.learner });
      return null;
    case 'removeMember':
      await node.removeMember(command.member);
      return null;
    case 'bench':
      return bench(command.bench);
    case 'localReads':
      return localReads(command.paths, command.count);
    case 'close':
      await zkServer?.close();
      await node.close();
      setImmediate(() => process.exit(0));
      return null;
  }
}

/** Closed-loop writes on this node: each writer waits for its answer before its next call. */
async function bench(request: BenchRequest): Promise<BenchResult> {
  const pool: Session[] = [];
  for (let i = 0; i < request.sessions; i++) pool.push(await node.session({ timeoutMs: 30_000 }));
  const value = new Uint8Array(request.valueBytes).fill(97);
  const session = (writer: number): Session => pool[writer % pool.length] as Session;
  if (request.kind === 'setData')
    await Promise.all(
      Array.from({ length: request.writers }, (_, w) =>
        session(w).create(`${request.prefix}/w${w}`, value),
      ),
    );
  let calls = 0;
  const call = (w: number): Promise<unknown> =>
    request.kind === 'create'
      ? session(w).create(`${request.prefix}/w${w}-${calls++}`, value)
      : session(w).setData(`${request.prefix}/w${w}`, value);
  const phase = async (ms: number, latenciesMs: number[] | null): Promise<number> => {
    const end = Date.now() + ms;
    let ops = 0;
    const writer = async (w: number): Promise<void> => {
      while (Date.now() < end && ops < request.opsMax) {
        const started = process.hrtime.bigint();
        await call(w);
        latenciesMs?.push(Number(process.hrtime.bigint() - started) / 1e6);
        ops++;
      }
    };
    await Promise.all(Array.from({ length: request.writers }, (_, w) => writer(w)));
    return ops;
  };
  await phase(request.warmupMs, null);
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  const ops = await phase(request.durationMs, latenciesMs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(pool.map((s) => s.close().catch(() => {})));
  return { ops, seconds, latenciesMs };
}

/** Local reads of `paths` on this node, one after another (the embedded read path). */
async function localReads(paths: readonly string[], count: number): Promise<BenchResult> {
  const reader = await node.session({ timeoutMs: 30_000 });
  for (let i = 0; i < Math.min(count, 10_000); i++)
    await reader.getData(paths[i % paths.length] as string);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await reader.getData(paths[i % paths.length] as string);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await reader.close();
  return { ops: count, seconds, latenciesMs: [] };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  const command = JSON.parse(line) as Command;
  run(command).then(
    (value) => reply({ id: command.id, ok: true, value }),
    (error: unknown) => {
      const e = error as { code?: unknown; message?: unknown };
      reply({
        id: command.id,
        ok: false,
        code: typeof e.code === 'string' ? e.code : 'Error',
        message: String(e.message ?? error),
      });
    },
  );
});
process.stdin.on('end', () => {
  void node.close().then(() => process.exit(0));
});
process.on('SIGTERM', () => {
  void writeProfile()
    .then(() => zkServer?.close())
    .then(() => node.close())
    .then(() => process.exit(0));
});
reply({ event: 'ready', id: config.id, clientPort: zkServer?.address().port ?? null });
