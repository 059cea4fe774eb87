// A standalone Apache ZooKeeper 3.8 (the Debian `zookeeper` package's jar, run with `java -cp`)
// on a free 127.0.0.1 port with a temporary dataDir, the admin server off and every four-letter
// word allowed, for test/zk-differential.test.ts. `zookeeperMissing()` names what is not
// installed (the tests skip with that reason); `close()` SIGKILLs the JVM and removes the folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, LOOPBACK, pause } from './node-cluster.js';
import { zookeeperJar } from './zookeeper.js';

/** zkCli.sh from the package, for test/zkcli.test.ts. */
export const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';
/** Polls (of 100 ms) for the server to answer `ruok`. */
const READY_POLLS = 300;

/** Why ZooKeeper cannot run here, or null when it can. */
export function zookeeperMissing(): string | null {
  if (zookeeperJar() === null)
    return 'ZooKeeper is not installed (no /usr/bin/java or /usr/share/java/zookeeper.jar; apt-get install zookeeper)';
  return null;
}

/** Why zkCli.sh cannot run here, or null. */
export function zkCliMissing(): string | null {
  return zookeeperMissing() ?? (existsSync(ZKCLI) ? null : `${ZKCLI} is not installed`);
}

/** Sends a four-letter word and returns the answer ('' if the server is not up). */
export function fourLetterWord(port: number, word: string): Promise<string> {
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

export class StandaloneZooKeeper {
  private constructor(
    private readonly dir: string,
    private readonly server: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<StandaloneZooKeeper> {
    const jar = zookeeperJar();
    if (jar === null) throw new Error('ZooKeeper is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'cairn-zk-standalone-'));
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const [port] = await freePorts(1);
    const config = join(dir, 'zoo.cfg');
    writeFileSync(
      config,
      [
        'tickTime=2000',
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        `clientPortAddress=${LOOPBACK}`,
        'maxClientCnxns=0',
        'admin.enableServer=false',
        '4lw.commands.whitelist=*',
        '',
      ].join('\n'),
    );
    const server = spawn(
      '/usr/bin/java',
      [
        '-cp',
        jar,
        `-Dzookeeper.log.dir=${dir}`,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        config,
      ],
      { stdio: 'ignore' },
    );
    const zk = new StandaloneZooKeeper(dir, server, port as number);
    for (let i = 0; i < READY_POLLS; i++) {
      if (server.exitCode !== null) break;
      if ((await fourLetterWord(zk.port, 'srvr')).includes('Mode: standalone')) return zk;
      await pause(100);
    }
    await zk.close();
    throw new Error(`ZooKeeper did not serve on ${LOOPBACK}:${port} in time`);
  }

  /** The server's process id. */
  get pid(): number | undefined {
    return this.server.pid;
  }

  /** The temporary folder holding its data, removed by `close()`. */
  get folder(): string {
    return this.dir;
  }

  async close(): Promise<void> {
    if (this.server.exitCode === null && this.server.signalCode === null) {
      const exited = once(this.server, 'exit');
      this.server.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
