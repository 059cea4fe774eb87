/**
 * `cairn local --nodes 3 --base-dir ./cluster [--json]` (also `cairn cluster --size 3`): a local
 * cluster of `cairn start --json` child processes on loopback ports (peer and client ports picked
 * free), data in `<base-dir>/<id>`. Prints each member and the connect string (with `--json`, one
 * JSON line with both), relays the members' stderr with an `[id]` prefix, and on SIGINT/SIGTERM
 * stops them all (SIGTERM, then SIGKILL after a bound).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseFlags, parseInteger } from './flags.js';
import type { Output } from './output.js';
import { parseReadyLine, type ReadyLine } from './ready-line.js';
import { UsageError } from './usage-error.js';

const LOCAL_FLAGS = {
  nodes: 'string',
  size: 'string',
  'base-dir': 'string',
  'session-timeout-max': 'string',
  json: 'boolean',
} as const;
/** Members a local cluster has at most. */
const LOCAL_NODES_MAX = 9;
/** How long a member may take to report ready. */
const MEMBER_START_TIMEOUT_MS = 30_000;
/** How long members get to stop after SIGTERM before SIGKILL. */
const MEMBER_STOP_TIMEOUT_MS = 10_000;

/** A free loopback port (it may be taken again before use; good enough for a local cluster). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

interface Member {
  readonly id: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** The number of members: `--nodes`, or its older name `--size`. */
function nodesFlag(values: ReadonlyMap<string, string | true>): number {
  const nodes = values.get('nodes');
  const size = values.get('size');
  if (typeof nodes === 'string' && typeof size === 'string')
    throw new UsageError('--nodes and --size are the same flag; give one');
  if (typeof nodes === 'string') return parseInteger('nodes', nodes, 1, LOCAL_NODES_MAX);
  if (typeof size === 'string') return parseInteger('size', size, 1, LOCAL_NODES_MAX);
  return 3;
}

export async function runLocal(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, LOCAL_FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const size = nodesFlag(values);
  const json = values.get('json') === true;
  const baseDir = resolve((values.get('base-dir') as string | undefined) ?? './cluster');
  const timeoutMax = values.get('session-timeout-max');
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const peerPorts = await Promise.all(ids.map(() => freePort()));
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${peerPorts[i]}`).join(',');
  const script = process.argv[1] as string;

  const members: Member[] = ids.map((id) => {
    const args = [
      ...process.execArgv,
      script,
      'start',
      '--json',
      '--id',
      String(id),
      '--data',
      join(baseDir, String(id)),
      '--client-port',
      '0',
      ...(size > 1 ? ['--peers', peers] : []),
      ...(typeof timeoutMax === 'string' ? ['--session-timeout-max', timeoutMax] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    return { id, child, exited };
  });

  const stopAll = async (): Promise<void> => {
    for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGKILL');
    }, MEMBER_STOP_TIMEOUT_MS);
    await Promise.all(members.map((m) => m.exited));
    clearTimeout(killer);
  };

  let ready: ReadyLine[];
  try {
    ready = await Promise.all(members.map((m) => readyOf(m, output)));
  } catch (error) {
    output.err(`cairn local: ${(error as Error).message}`);
    await stopAll();
    return 1;
  }
  const connectString = ready.map((r) => r.clientAddress).join(',');
  if (json)
    output.out(
      JSON.stringify({
        event: 'ready',
        connectString,
        baseDir,
        members: ready.map((r, i) => ({
          id: r.member,
          clientAddress: r.clientAddress,
          peerAddress: r.peerAddress,
          dataDir: r.dataDir,
          pid: members[i]?.child.pid ?? null,
        })),
      }),
    );
  else {
    for (const r of ready)
      output.out(
        `member ${r.member}: client port ${r.clientAddress}, peer port ${r.peerAddress ?? '-'}, data in ${r.dataDir}`,
      );
    output.out(`connect string: ${connectString}`);
    output.out('cluster running; Ctrl-C to stop');
  }

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      if (!json) output.out(`cairn local: ${signal}, stopping ${size} members`);
      void stopAll().then(() => {
        output.out(json ? JSON.stringify({ event: 'stopped' }) : 'cairn local: stopped');
        done(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    void Promise.all(members.map((m) => m.exited)).then(() => {
      if (!stopping) {
        output.err('cairn local: every member exited');
        done(1);
      }
    });
  });
}

/** Relays a member's stderr and resolves with its ready line. */
function readyOf(member: Member, output: Output): Promise<ReadyLine> {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`member ${member.id} was not ready within ${MEMBER_START_TIMEOUT_MS} ms`)),
      MEMBER_START_TIMEOUT_MS,
    );
    const { stdout, stderr } = member.child;
    if (stdout === null || stderr === null) throw new Error('member spawned without pipes');
    createInterface({ input: stdout }).on('line', (line) => {
      const parsed = parseReadyLine(line);
      if (parsed !== null) {
        clearTimeout(timer);
        resolveReady(parsed);
      }
    });
    createInterface({ input: stderr }).on('line', (line) => output.err(`[${member.id}] ${line}`));
    void member.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`member ${member.id} exited with status ${code} before serving`));
    });
  });
}
