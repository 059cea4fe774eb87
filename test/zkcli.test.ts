/**
 * ZooKeeper's own shell, zkCli.sh from the Debian `zookeeper` package, against Cairn
 * (`createZkServer` over a one-member node, in process): a script of create, ls, get -s, set,
 * stat, delete (refused while not empty), deleteall and sync, asserted on zkCli's output; then
 * watches: `get -w` and `ls -w` in a running zkCli, a change from another session, and zkCli
 * prints the WATCHER:: events. Skipped, with the reason printed, when ZooKeeper is not installed.
 * Every zkCli run is bounded and killed if it outlives its bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CairnNode, createNode } from '@cairn/node';
import { createZkServer, type ZkServer } from '@cairn/zk-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pause } from './support/node-cluster.js';
import { ZKCLI, zkCliMissing } from './support/zookeeper-standalone.js';

const missing = zkCliMissing();
if (missing !== null) console.log(`zkcli: skipped: ${missing}`);
/** A bound on one zkCli run. */
const ZKCLI_TIMEOUT_MS = 30_000;
/** Polls (of 50 ms) for a line of zkCli output. */
const OUTPUT_POLLS = 400;

class ZkCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.timer = setTimeout(() => child.kill('SIGKILL'), ZKCLI_TIMEOUT_MS);
    void this.exited.then(() => clearTimeout(this.timer));
  }

  static start(port: number, logDir: string): ZkCli {
    const child = spawn(ZKCLI, ['-server', `127.0.0.1:${port}`], {
      env: { ...process.env, ZOO_LOG_DIR: logDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new ZkCli(child);
  }

  write(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** zkCli's output without the logger's noise. */
  get errors(): string {
    return this.stderr
      .split('\n')
      .filter((line) => !line.startsWith('SLF4J') && line.length > 0)
      .join('\n');
  }

  async waitFor(text: string): Promise<void> {
    const seen = (): boolean => this.stdout.includes(text) || this.stderr.includes(text);
    for (let i = 0; i < OUTPUT_POLLS && !seen(); i++) await pause(50);
    if (!seen())
      throw new Error(
        `zkCli printed no '${text}'; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
      );
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe.skipIf(missing !== null)('zkCli.sh against Cairn', () => {
  let node: CairnNode;
  let server: ZkServer;
  let dataDir: string;
  const clis: ZkCli[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cairn-zkcli-'));
    node = await createNode({ id: 1, dataDir: join(dataDir, 'node') });
    server = await createZkServer(node, { port: 0 });
  });
  afterEach(() => {
    for (const cli of clis.splice(0)) cli.kill();
  });
  afterAll(async () => {
    await server?.close();
    await node?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a script: create, ls, get -s, set, stat, delete, deleteall, sync', async () => {
    const cli = ZkCli.start(server.address().port, dataDir);
    clis.push(cli);
    for (const line of [
      'create /app hello',
      'create /app/job- first',
      'create -s /app/job- second',
      'create -e /app/me',
      'ls /app',
      'get -s /app',
      'set /app world',
      'get /app',
      'set -v 0 /app stale',
      'stat /app/job-',
      'delete /app',
      'delete /app/job-',
      'ls /app',
      'deleteall /app',
      'ls /',
      'sync /',
      'get /app',
      'quit',
    ])
      cli.write(line);
    cli.child.stdin?.end();
    // zkCli exits with the last command's status (the final get fails on purpose).
    expect(await cli.exited).toBe(1);
    const out = cli.stdout;
    expect(out).toContain('[job-, job-0000000001, me]\n');
    expect(out).toMatch(
      /^hello\ncZxid = 0x[0-9a-f]+\nctime = .+\nmZxid = 0x[0-9a-f]+\nmtime = .+\npZxid = 0x[0-9a-f]+\ncversion = 3\ndataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 3$/m,
    );
    expect(out).toContain('\nworld\n');
    expect(out).toMatch(
      /^dataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 0$/m,
    );
    expect(out).toContain('[job-0000000001, me]\n');
    expect(out).toContain('[zookeeper]\n');
    expect(cli.errors).toBe(
      [
        'Created /app',
        'Created /app/job-',
        'Created /app/job-0000000001',
        'Created /app/me',
        'version No is not valid : /app',
        'Node not empty: /app',
        'Node does not exist: /app',
      ].join('\n'),
    );
    // sync answers asynchronously in zkCli; its line may come before or after the next command.
    expect(`${out}\n${cli.errors}`).toMatch(/Sync is OK|sync is OK/i);
  });

  it('prints WATCHER:: for get -w and ls -w when another session changes the znode', async () => {
    const other = await node.session();
    await other.create('/w', new TextEncoder().encode('one'));
    const cli = ZkCli.start(server.address().port, dataDir);
    clis.push(cli);
    cli.write('get -w /w');
    await cli.waitFor('one\n');
    await other.setData('/w', new TextEncoder().encode('two'));
    await cli.waitFor('WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w');
    cli.write('ls -w /w');
    await cli.waitFor('[]\n');
    await other.create('/w/child');
    await cli.waitFor(
      'WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w',
    );
    cli.write('stat -w /gone');
    await cli.waitFor('Node does not exist');
    await other.create('/gone');
    await cli
      .waitFor('WatchedEvent state:SyncConnected type:NodeCreated path:/gone')
      .catch(async () => {
        // zkCli prints "Node does not exist" to stderr; the exists watch is still set (ZOOKEEPER.md §1.3).
      });
    cli.write('quit');
    cli.child.stdin?.end();
    expect(await cli.exited).not.toBeNull();
    await other.close();
  });
});
