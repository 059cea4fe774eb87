// Apache ZooKeeper as a peer for bench/node.ts: a 3-server ensemble on 127.0.0.1 (distinct
// client, quorum and election ports; data folders in a temporary folder; default fsync), run
// from the Debian `zookeeper` package's jar, and a promise wrapper over the
// `node-zookeeper-client` npm client. `zookeeperJar()` is null when ZooKeeper is not installed.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, LOOPBACK, pause } from './node-cluster.js';

const JAR_PATHS = ['/usr/share/java/zookeeper.jar'];
const JAVA = '/usr/bin/java';
/** Polls (of 250 ms) for the ensemble to elect a leader. */
const QUORUM_POLLS = 240;

export function zookeeperJar(): string | null {
  if (!existsSync(JAVA)) return null;
  return JAR_PATHS.find((path) => existsSync(path)) ?? null;
}

/** Sends a four-letter word (`srvr`) and returns the answer, or '' when the server is not up. */
async function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    let answer = '';
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
  });
}

export class ZooKeeperEnsemble {
  private constructor(
    private readonly dir: string,
    private readonly servers: ChildProcess[],
    readonly clientPorts: readonly number[],
  ) {}

  static async start(jar: string, size = 3): Promise<ZooKeeperEnsemble> {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-zk-'));
    const ports = await freePorts(size * 3);
    const clientPorts = ports.slice(0, size);
    const lines = Array.from(
      { length: size },
      (_, i) => `server.${i + 1}=${LOOPBACK}:${ports[size + i]}:${ports[2 * size + i]}`,
    );
    const servers: ChildProcess[] = [];
    const ensemble = new ZooKeeperEnsemble(dir, servers, clientPorts);
    for (let i = 0; i < size; i++) {
      const dataDir = join(dir, `zk${i + 1}`);
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const config = join(dir, `zoo${i + 1}.cfg`);
      writeFileSync(
        config,
        [
          'tickTime=2000',
          'initLimit=10',
          'syncLimit=5',
          `dataDir=${dataDir}`,
          `clientPort=${clientPorts[i]}`,
          `clientPortAddress=${LOOPBACK}`,
          'maxClientCnxns=0',
          'admin.enableServer=false',
          '4lw.commands.whitelist=srvr',
          ...lines,
          '',
        ].join('\n'),
      );
      servers.push(
        spawn(
          JAVA,
          [
            '-cp',
            jar,
            `-Dzookeeper.log.dir=${dir}`,
            'org.apache.zookeeper.server.quorum.QuorumPeerMain',
            config,
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (let i = 0; i < QUORUM_POLLS; i++) {
      if ((await ensemble.leaderIndex()) !== null) return ensemble;
      await pause(250);
    }
    await ensemble.close();
    throw new Error('the ZooKeeper ensemble elected no leader in time');
  }

  /** The servers' process ids. */
  get pids(): number[] {
    return this.servers.flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
  }

  /** The temporary folder holding every server's data, removed by `close()`. */
  get folder(): string {
    return this.dir;
  }

  /** Which server leads (by its `srvr` answer), or null. */
  async leaderIndex(): Promise<number | null> {
    const answers = await Promise.all(this.clientPorts.map((p) => fourLetterWord(p, 'srvr')));
    if (!answers.every((a) => /Mode: (leader|follower)/.test(a))) return null;
    const index = answers.findIndex((a) => a.includes('Mode: leader'));
    return index < 0 ? null : index;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(async (server) => {
        if (server.exitCode !== null || server.signalCode !== null) return;
        const exited = once(server, 'exit');
        server.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The part of `node-zookeeper-client` the bench uses (it ships no types). */
interface RawClient {
  once(event: 'connected', listener: () => void): void;
  connect(): void;
  close(): void;
  create(path: string, data: Buffer, callback: (error: Error | null, path: string) => void): void;
  setData(
    path: string,
    data: Buffer,
    version: number,
    callback: (error: Error | null) => void,
  ): void;
  getData(path: string, callback: (error: Error | null, data: Buffer) => void): void;
}
interface ClientModule {
  createClient(connectString: string, options?: { sessionTimeout?: number }): RawClient;
}

export interface ZkClient {
  create(path: string, data: Buffer): Promise<string>;
  setData(path: string, data: Buffer): Promise<void>;
  getData(path: string): Promise<Buffer>;
  close(): void;
}

export async function connectZk(connectString: string, timeoutMs = 20_000): Promise<ZkClient> {
  const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as ClientModule;
  const raw = zookeeper.createClient(connectString, { sessionTimeout: 30_000 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      raw.close();
      reject(new Error(`no ZooKeeper connection to ${connectString}`));
    }, timeoutMs);
    raw.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    raw.connect();
  });
  const call = <T>(run: (done: (error: Error | null, value: T) => void) => void): Promise<T> =>
    new Promise((resolve, reject) =>
      run((error, value) => (error === null ? resolve(value) : reject(error))),
    );
  return {
    create: (path, data) => call((done) => raw.create(path, data, done)),
    setData: (path, data) =>
      call<void>((done) => raw.setData(path, data, -1, (error) => done(error, undefined))),
    getData: (path) => call((done) => raw.getData(path, done)),
    close: () => raw.close(),
  };
}
