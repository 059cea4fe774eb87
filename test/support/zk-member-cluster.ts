// Drives Cairn members that serve ZooKeeper clients (test/support/zk-member-process.ts) in
// child processes on 127.0.0.1, for bench/zk-protocol.ts: level with synced writes, TCP between
// members when there is more than one, data folders under one temporary folder. Every wait is
// bounded in polls; `close()` sends SIGTERM (a member closes its port and node and exits),
// SIGKILLs whatever still runs after a bound, and removes the folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts, LOOPBACK, pause } from './node-cluster.js';
import type { ZkMemberConfig } from './zk-member-process.js';
import { fourLetterWord } from './zookeeper-standalone.js';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const MEMBER_SCRIPT = 'test/support/zk-member-process.ts';
/** Polls (of 20 ms) for a member to print ready: tsx compiles on first start. */
const READY_POLLS = 3_000;
/** Polls (of 50 ms) for one member to say leader (or standalone) on `srvr`. */
const LEADER_POLLS = 600;
/** Polls (of 20 ms) for the members to exit after SIGTERM, before SIGKILL. */
const STOP_POLLS = 500;

interface Member {
  readonly id: number;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  clientPort: number | null;
  output: string;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export class ZkMemberCluster {
  private constructor(
    readonly dir: string,
    private readonly members: readonly Member[],
  ) {}

  static async start(size: number): Promise<ZkMemberCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-zk-members-'));
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const ports = await freePorts(size);
    const peers: Record<number, string> = {};
    for (const id of ids) peers[id] = `${LOOPBACK}:${ports[id - 1]}`;
    const members = ids.map((id): Member => {
      const config: ZkMemberConfig = {
        id,
        dataDir: join(dir, `node${id}`),
        ...(size > 1 ? { peers } : {}),
      };
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--conditions=source', MEMBER_SCRIPT, JSON.stringify(config)],
        { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const member: Member = {
        id,
        child,
        exited: once(child, 'exit'),
        clientPort: null,
        output: '',
      };
      const keep = (text: string): void => {
        member.output = (member.output + text).slice(-20_000);
      };
      child.stderr?.on('data', (chunk: Buffer) => keep(chunk.toString('utf8')));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        keep(`${line}\n`);
        try {
          const message = JSON.parse(line) as { event?: string; clientPort?: number };
          if (message.event === 'ready' && typeof message.clientPort === 'number')
            member.clientPort = message.clientPort;
        } catch {
          // stray output, kept for the error message
        }
      });
      return member;
    });
    const cluster = new ZkMemberCluster(dir, members);
    try {
      for (let i = 0; i < READY_POLLS && members.some((m) => m.clientPort === null); i++) {
        const dead = members.find((m) => !alive(m.child));
        if (dead !== undefined)
          throw new Error(`cairn member ${dead.id} exited before serving: ${dead.output}`);
        await pause(20);
      }
      const slow = members.find((m) => m.clientPort === null);
      if (slow !== undefined)
        throw new Error(`cairn member ${slow.id} did not start: ${slow.output}`);
      for (let i = 0; i < LEADER_POLLS; i++) {
        if ((await cluster.leaderIndex()) !== null) return cluster;
        await pause(50);
      }
      throw new Error('the Cairn members elected no leader in time');
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** Each member's client port, in id order. */
  get clientPorts(): number[] {
    return this.members.map((m) => m.clientPort ?? 0);
  }

  /** The members' process ids. */
  get pids(): number[] {
    return this.members.flatMap((m) => (m.child.pid === undefined ? [] : [m.child.pid]));
  }

  /**
   * Which member leads (an index into `clientPorts`), by the `srvr` answers: the one saying
   * `Mode: leader` (or `standalone`) while each other says `follower`; else null.
   */
  async leaderIndex(): Promise<number | null> {
    const answers = await Promise.all(this.clientPorts.map((p) => fourLetterWord(p, 'srvr')));
    if (!answers.every((a) => /Mode: (leader|follower|standalone)/.test(a))) return null;
    const leaders = answers.flatMap((a, i) => (/Mode: (leader|standalone)/.test(a) ? [i] : []));
    return leaders.length === 1 ? (leaders[0] as number) : null;
  }

  /** SIGTERM, SIGKILL for members still running after a bound, then removes the folder. */
  async close(): Promise<void> {
    for (const m of this.members) if (alive(m.child)) m.child.kill('SIGTERM');
    for (let i = 0; i < STOP_POLLS && this.members.some((m) => alive(m.child)); i++)
      await pause(20);
    for (const m of this.members) if (alive(m.child)) m.child.kill('SIGKILL');
    await Promise.all(this.members.map((m) => m.exited));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
