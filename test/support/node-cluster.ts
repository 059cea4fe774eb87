// Drives Cairn members in child processes (test/support/node-process.ts) on 127.0.0.1, for
// test/node-cluster.test.ts and bench/node.ts. Every wait is bounded in polls and every request
// in time; `close()` SIGKILLs whatever is still running and removes the data folders.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CommandBody, NodeProcessConfig, ProcessStatus } from './protocol.js';

export const LOOPBACK = '127.0.0.1';
const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const NODE_SCRIPT = 'test/support/node-process.ts';
/** Polls (of 20 ms) for a child to print ready: tsx compiles on first start. */
const READY_POLLS = 1_500;
const REQUEST_TIMEOUT_MS = 60_000;

/** An error answered by a child (or its death): `code` as the node names it. */
export class ProcessError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Free loopback ports: listen on port 0, note the port, close (a rare race fails loudly). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer().listen(0, LOOPBACK));
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` up to `polls` times, `intervalMs` apart; resolves to its first truthy value, or null. */
export async function poll<T>(
  check: () => Promise<T | null | undefined | false>,
  polls: number,
  intervalMs: number,
): Promise<T | null> {
  for (let i = 0; i < polls; i++) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    await pause(intervalMs);
  }
  return null;
}

/** One member's process and its request channel. */
export class NodeProcess {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private stderr = '';
  readonly exited: Promise<unknown>;
  fatal: string | null = null;
  /** The ZooKeeper client port it serves (config `clientPort`), once ready. */
  clientPort: number | null = null;

  private constructor(
    readonly config: NodeProcessConfig,
    private readonly child: ChildProcess,
    ready: () => void,
  ) {
    this.exited = once(child, 'exit');
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let message: {
        id?: number;
        event?: string;
        ok?: boolean;
        value?: unknown;
        code?: string;
        message?: string;
        clientPort?: number | null;
      };
      try {
        message = JSON.parse(line);
      } catch {
        return; // stray output
      }
      if (message.event === 'ready') {
        this.clientPort = message.clientPort ?? null;
        ready();
      }
      if (message.event === 'fatal') this.fatal = message.message ?? 'fatal';
      if (message.id === undefined || message.event !== undefined) return;
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new ProcessError(message.code ?? 'Error', message.message ?? ''));
    });
    void this.exited.then(() => {
      for (const waiter of this.pending.values())
        waiter.reject(new ProcessError('ProcessExited', `node ${config.id} exited`));
      this.pending.clear();
    });
  }

  static async start(config: NodeProcessConfig): Promise<NodeProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', NODE_SCRIPT, JSON.stringify(config)],
      { cwd: rootDir, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let isReady = false;
    const member = new NodeProcess(config, child, () => {
      isReady = true;
    });
    for (let i = 0; i < READY_POLLS && !isReady && member.alive; i++) await pause(20);
    if (!isReady) {
      if (member.alive) child.kill('SIGKILL');
      await member.exited;
      throw new ProcessError('StartFailed', `node ${config.id} did not start: ${member.stderr}`);
    }
    return member;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get errorOutput(): string {
    return this.stderr;
  }

  request<T>(body: CommandBody, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    if (!this.alive)
      return Promise.reject(new ProcessError('ProcessExited', `node ${this.config.id} exited`));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id))
          reject(new ProcessError('RequestTimeout', `${body.op} on node ${this.config.id}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin?.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  status(): Promise<ProcessStatus> {
    return this.request<ProcessStatus>({ op: 'status' }, 10_000);
  }

  /** Sends `signal` (SIGSTOP, SIGCONT, ...) and returns at once. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }
}

export interface ClusterOptions {
  readonly size: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries?: number;
  readonly snapshotRetainedEntries?: number;
  /** Each member also serves ZooKeeper's wire protocol, on a port it keeps across restarts. */
  readonly clientPorts?: boolean;
}

/** A cluster of member processes with data folders under one temporary folder. */
export class ProcessCluster {
  readonly members = new Map<number, NodeProcess>();
  private constructor(
    readonly dir: string,
    private readonly configs: Map<number, NodeProcessConfig>,
  ) {}

  static async start(options: ClusterOptions): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cluster-'));
    const ids = Array.from({ length: options.size }, (_, i) => i + 1);
    const ports = await freePorts(options.size * 2);
    const peers: Record<number, string> = {};
    for (const id of ids) peers[id] = `${LOOPBACK}:${ports[id - 1]}`;
    const configs = new Map<number, NodeProcessConfig>();
    for (const id of ids)
      configs.set(id, {
        id,
        dataDir: join(dir, `node${id}`),
        peers,
        tickMs: options.tickMs,
        electionTicks: options.electionTicks,
        ...(options.clientPorts === true ? { clientPort: ports[options.size + id - 1] } : {}),
        ...(options.snapshotEntries === undefined
          ? {}
          : { snapshotEntries: options.snapshotEntries }),
        ...(options.snapshotRetainedEntries === undefined
          ? {}
          : { snapshotRetainedEntries: options.snapshotRetainedEntries }),
      });
    const cluster = new ProcessCluster(dir, configs);
    try {
      await Promise.all(ids.map((id) => cluster.startMember(id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Starts (or restarts, on the same data folder and port) member `id`. */
  async startMember(id: number): Promise<NodeProcess> {
    const config = this.configs.get(id);
    if (config === undefined) throw new Error(`no member ${id}`);
    const member = await NodeProcess.start(config);
    this.members.set(id, member);
    return member;
  }

  /**
   * Starts member `id` as a joiner (`createNode({ join })`) on a free loopback port, knowing
   * every address so far; an existing member must then `addMember` it. Returns its address.
   */
  async startJoiner(id: number): Promise<string> {
    if (this.configs.has(id)) throw new Error(`member ${id} exists`);
    const [port, clientPort] = await freePorts(2);
    const address = `${LOOPBACK}:${port}`;
    const template = this.configs.values().next().value as NodeProcessConfig;
    const peers: Record<number, string> = {};
    for (const config of this.configs.values())
      peers[config.id] = config.peers[config.id] as string;
    peers[id] = address;
    this.configs.set(id, {
      ...template,
      id,
      dataDir: join(this.dir, `node${id}`),
      peers,
      join: true,
      ...(template.clientPort === undefined ? {} : { clientPort }),
    });
    await this.startMember(id);
    return address;
  }

  /** The connect string of the live members' client ports (`clientPorts`), in id order. */
  connectString(): string {
    return this.alive()
      .filter((m) => m.clientPort !== null)
      .sort((a, b) => a.config.id - b.config.id)
      .map((m) => `${LOOPBACK}:${m.clientPort}`)
      .join(',');
  }

  member(id: number): NodeProcess {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  alive(): NodeProcess[] {
    return [...this.members.values()].filter((m) => m.alive);
  }

  /** The statuses of the live members, in id order (a member that fails to answer is left out). */
  async statuses(): Promise<ProcessStatus[]> {
    const answers = await Promise.all(this.alive().map((m) => m.status().catch(() => null)));
    return answers.filter((s): s is ProcessStatus => s !== null).sort((a, b) => a.id - b.id);
  }

  /** Polls until every live member names the same leader, itself live; returns its status. */
  async waitForLeader(polls = 1_000, intervalMs = 10): Promise<ProcessStatus | null> {
    return poll(
      async () => {
        const statuses = await this.statuses();
        const leader = statuses.find((s) => s.role === 'leader');
        if (leader === undefined || statuses.length !== this.alive().length) return null;
        const agreed = statuses.every((s) => s.leader === leader.id && s.term === leader.term);
        return agreed ? leader : null;
      },
      polls,
      intervalMs,
    );
  }

  /** SIGKILLs every member still running and removes the data folders. */
  async close(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
