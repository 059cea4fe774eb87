/**
 * `cairn cluster --size 3 --base-dir ./cluster`: a local cluster of `cairn start` child
 * processes on loopback ports (peer and client ports picked free), data in `<base-dir>/<id>`.
 * Prints each member's client port and the connect string, relays the members' output with an
 * `[id]` prefix, and on SIGINT/SIGTERM stops them all (SIGTERM, then SIGKILL after a bound).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseFlags, parseInteger } from './flags.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

const CLUSTER_FLAGS = {
  size: 'string',
  'base-dir': 'string',
  'session-timeout-max': 'string',
} as const;
/** Members a local cluster has at most. */
const CLUSTER_SIZE_MAX = 9;
/** How long a member may take to print its client port. */
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

export async function runCluster(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, CLUSTER_FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const sizeText = values.get('size');
  const size =
    typeof sizeText === 'string' ? parseInteger('size', sizeText, 1, CLUSTER_SIZE_MAX) : 3;
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

  let clientPorts: string[];
  try {
    clientPorts = await Promise.all(members.map((m) => clientPortOf(m, output)));
  } catch (error) {
    output.err(`cairn cluster: ${(error as Error).message}`);
    await stopAll();
    return 1;
  }
  for (const [i, m] of members.entries())
    output.out(
      `member ${m.id}: client port ${clientPorts[i]}, data in ${join(baseDir, String(m.id))}`,
    );
  output.out(`connect string: ${clientPorts.join(',')}`);
  output.out('cluster running; Ctrl-C to stop');

  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      output.out(`cairn cluster: ${signal}, stopping ${size} members`);
      void stopAll().then(() => {
        output.out('cairn cluster: stopped');
        done(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    void Promise.all(members.map((m) => m.exited)).then(() => {
      if (!stopping) {
        output.err('cairn cluster: every member exited');
        done(1);
      }
    });
  });
}

/** Relays a member's output and resolves with its client address once printed. */
function clientPortOf(member: Member, output: Output): Promise<string> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `member ${member.id} printed no client port within ${MEMBER_START_TIMEOUT_MS} ms`,
          ),
        ),
      MEMBER_START_TIMEOUT_MS,
    );
    const { stdout, stderr } = member.child;
    if (stdout === null || stderr === null) throw new Error('member spawned without pipes');
    createInterface({ input: stdout }).on('line', (line) => {
      output.out(`[${member.id}] ${line}`);
      const match = /^client port (\S+)$/.exec(line);
      if (match !== null) {
        clearTimeout(timer);
        resolvePort(match[1] as string);
      }
    });
    createInterface({ input: stderr }).on('line', (line) => output.err(`[${member.id}] ${line}`));
    void member.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`member ${member.id} exited with status ${code} before serving`));
    });
  });
}
