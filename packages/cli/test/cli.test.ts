/**
 * The `cairn` command end to end: `start` with no flags but `--client-port 0` in a temporary
 * folder serves ZooKeeper clients (node-zookeeper-client) with its data in ./data and stops
 * cleanly on SIGTERM; `start --json` prints only JSON lines (ready with the bound addresses,
 * stopping, stopped); a scripted `shell` and `status` against it; a three-member `cluster
 * --size 3` (the older name of `local --nodes 3`, see local-cluster.test.ts) that serves a write
 * on one member and the read on another and stops on SIGINT; and flag and config validation
 * (bad input exits 2 with the reason).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../src/command.js';
import { resolveStartConfig } from '../src/start-config.js';
import { CairnProcess, runCairn, startCairn } from './cairn-process.js';

interface NpmClient {
  once(event: 'connected', listener: () => void): void;
  connect(): void;
  close(): void;
  create(path: string, data: Buffer, callback: (error: Error | null, path: string) => void): void;
  getData(path: string, callback: (error: Error | null, data: Buffer) => void): void;
}
const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as {
  createClient(connect: string, options?: { sessionTimeout?: number }): NpmClient;
};

const processes: CairnProcess[] = [];
const dirs: string[] = [];
const clients: NpmClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const p of processes.splice(0)) p.kill();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-'));
  dirs.push(dir);
  return dir;
}

async function connect(connectString: string): Promise<NpmClient> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000 });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${connectString}`)), 20_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}

const call = <T>(run: (done: (error: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));

function capture(): {
  out: string[];
  err: string[];
  output: { out(l: string): void; err(l: string): void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

describe('cairn start', () => {
  it('serves a ZooKeeper client with data in ./data, stops on SIGTERM, and keeps the data', async () => {
    const cwd = tempDir();
    const first = await startCairn(['--client-port', '0'], cwd);
    processes.push(first.process);
    expect(first.host).toBe('127.0.0.1');
    expect(existsSync(join(cwd, 'data'))).toBe(true);
    const client = await connect(`${first.host}:${first.port}`);
    expect(await call<string>((done) => client.create('/hello', Buffer.from('world'), done))).toBe(
      '/hello',
    );
    client.close();

    const status = runCairn(['status', '--server', `${first.host}:${first.port}`]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(`^1 +${first.host.replaceAll('.', '\\.')}:${first.port} +leader +\\d+ `, 'm'),
    );
    expect(status.stdout).toMatch(/^leader 1, term \d+, voters \[1\], 1 of 1 reachable$/m);

    expect(await first.process.stop('SIGTERM')).toBe(0);
    expect(first.process.lines).toContain('cairn: stopped');

    const second = await startCairn(['--client-port', '0'], cwd);
    processes.push(second.process);
    const again = await connect(`${second.host}:${second.port}`);
    expect((await call<Buffer>((done) => again.getData('/hello', done))).toString()).toBe('world');
    again.close();
    expect(await second.process.stop('SIGINT')).toBe(0);
  });

  it('runs a scripted shell: create, ls, get -s, set, delete, deleteall, stat, sync and a watch', async () => {
    const cwd = tempDir();
    const { process, host, port } = await startCairn(['--client-port', '0'], cwd);
    processes.push(process);
    const script = [
      '# a comment',
      'create /app first',
      'create -s /app/job- a',
      'create -s /app/job- b',
      'create -e /app/me',
      'ls /app',
      'get -s -w /app',
      'set /app second',
      'get /app',
      'set -v 0 /app third',
      'delete /app/job-0000000000',
      'delete /app',
      'stat /app/job-0000000001',
      'deleteall /app',
      'ls /',
      'sync /',
      'create /app again',
    ].join('\n');
    const result = runCairn(['shell', '--server', `${host}:${port}`], { input: `${script}\n` });
    expect(result.status).toBe(1); // two commands fail on purpose
    const out = result.stdout;
    expect(out).toContain('Created /app\n');
    expect(out).toContain(
      'Created /app/job-0000000000\nCreated /app/job-0000000001\nCreated /app/me\n',
    );
    expect(out).toContain('[job-0000000000, job-0000000001, me]\n');
    expect(out).toMatch(
      /^first\ncZxid = 0x[0-9a-f]+\nctime = .*\nmZxid = 0x[0-9a-f]+\nmtime = .*\npZxid = 0x[0-9a-f]+\ncversion = 3\ndataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 3$/m,
    );
    expect(out).toContain(
      'WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/app\n',
    );
    expect(out).toContain('second\n');
    expect(out).toMatch(/^ephemeralOwner = 0x0\ndataLength = 1\nnumChildren = 0$/m);
    expect(out).toContain('[zookeeper]\nSync is OK\nCreated /app\n');
    expect(result.stderr).toBe('version No is not valid : /app\nNode not empty: /app\n');
    expect(await process.stop()).toBe(0);
  });

  it('--json prints one ready line with the bound addresses, then stop events, and nothing else', async () => {
    const cwd = tempDir();
    const member = CairnProcess.spawn(['start', '--json', '--client-port', '0'], cwd);
    processes.push(member);
    const match = await member.waitFor(/^\{"event":"ready".*\}$/);
    const ready = JSON.parse(match[0]) as Record<string, unknown>;
    expect(ready).toMatchObject({
      event: 'ready',
      member: 1,
      members: [1],
      clientHost: '127.0.0.1',
      peerAddress: null,
      dataDir: join(cwd, 'data'),
      pid: member.child.pid,
    });
    expect(ready.clientPort).toEqual(expect.any(Number));
    expect(ready.clientAddress).toBe(`127.0.0.1:${ready.clientPort}`);
    const client = await connect(ready.clientAddress as string);
    client.close();
    expect(await member.stop('SIGTERM')).toBe(0);
    expect(member.lines.map((l) => JSON.parse(l) as { event: string }).map((l) => l.event)).toEqual(
      ['ready', 'stopping', 'stopped'],
    );
  });

  it('refuses bad flags with the reason and status 2', async () => {
    const spawned = runCairn(['start', '--client-port', 'http']);
    expect(spawned.status).toBe(2);
    expect(spawned.stderr).toContain("cairn: --client-port must be an integer, got 'http'");
    const cases: [string[], string][] = [
      [['start', '--bogus'], 'unknown flag --bogus'],
      [['start', '--id'], '--id needs a value'],
      [['start', '--id', '0'], '--id must be in [1, 32767], got 0'],
      [['start', '--client-port', '70000'], '--client-port must be in [0, 65535], got 70000'],
      [['start', '--peers', '1=127.0.0.1'], '--peers 1 must be host:port'],
      [['start', '--peers', '2=127.0.0.1:7002'], '--peers must list this member (--id 1)'],
      [['start', '--tls-cert', 'c.pem'], '--tls-cert, --tls-key and --tls-ca go together'],
      [
        ['start', '--session-timeout-min', '9000', '--session-timeout-max', '5000'],
        '--session-timeout-min must not exceed',
      ],
      [['start', '--four-letter-words', 'ruok,kill'], "unknown word 'kill'"],
      [['start', '--config', '/nonexistent/cairn.json'], 'cannot read config file'],
      [['cluster', '--size', '12'], '--size must be in [1, 9], got 12'],
      [['local', '--nodes', '0'], '--nodes must be in [1, 9], got 0'],
      [['local', '--nodes', '3', '--size', '3'], '--nodes and --size are the same flag'],
      [['local', '--json=yes'], '--json takes no value'],
      [['status', '127.0.0.1:2181', 'extra'], "unexpected argument 'extra'"],
      [['status', '127.0.0.1:2181/app'], "a chroot suffix ('/app') is not supported"],
      [['status', '127.0.0.1:2181', '--server', '127.0.0.1:2181'], 'not both'],
      [['shell', '127.0.0.1:2181', '--server', '127.0.0.1:2181'], 'not both'],
      [['shell', '--server', 'nowhere'], "--server must be host:port, got 'nowhere'"],
      [['status', '--server', '127.0.0.1:0'], '--server port must be in [1, 65535]'],
      [['launch'], "unknown command 'launch'"],
      [[], 'a command is required'],
    ];
    for (const [args, reason] of cases) {
      const { err, output } = capture();
      expect(await runCommand(args, output), args.join(' ')).toBe(2);
      expect(err.join('\n'), args.join(' ')).toContain(reason);
    }
  });

  it('reads a config file, with flags taking precedence', () => {
    const dir = tempDir();
    const file = join(dir, 'cairn.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 2,
        data: '/var/cairn/2',
        peers: { 1: '127.0.0.1:7001', 2: '127.0.0.1:7002', 3: '127.0.0.1:7003' },
        clientPort: 2182,
        sessionTimeoutMax: 60000,
        snapshotEntries: 5000,
        secret: 's3cret',
      }),
    );
    const config = resolveStartConfig(
      new Map([
        ['config', file],
        ['client-port', '0'],
      ]),
    );
    expect(config.node).toMatchObject({
      id: 2,
      dataDir: '/var/cairn/2',
      listen: '127.0.0.1:7002',
      peers: { 1: '127.0.0.1:7001', 2: '127.0.0.1:7002', 3: '127.0.0.1:7003' },
      sessionTimeoutMaxMs: 60_000,
      snapshotEntries: 5000,
      secret: 's3cret',
    });
    expect(config.server).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      maxSessionTimeoutMs: 60_000,
    });
    writeFileSync(file, JSON.stringify({ clientPrt: 1 }));
    expect(() => resolveStartConfig(new Map([['config', file]]))).toThrow(
      "unknown key 'clientPrt'",
    );
  });
});

describe('cairn cluster', () => {
  it('runs three members on loopback, serves a write on one and the read on another, stops on SIGINT', async () => {
    const baseDir = tempDir();
    const cluster = CairnProcess.spawn(['cluster', '--size', '3', '--base-dir', baseDir]);
    processes.push(cluster);
    const match = await cluster.waitFor(/^connect string: (\S+)$/, 45_000);
    const addresses = (match[1] as string).split(',');
    expect(addresses).toHaveLength(3);
    const one = await connect(addresses[0] as string);
    await call<string>((done) => one.create('/shared', Buffer.from('x'), done));
    const three = await connect(addresses[2] as string);
    expect((await call<Buffer>((done) => three.getData('/shared', done))).toString()).toBe('x');
    one.close();
    three.close();
    expect(await cluster.stop('SIGINT', 20_000)).toBe(0);
    expect(cluster.lines).toContain('cairn local: stopped');
    for (const id of [1, 2, 3]) expect(existsSync(join(baseDir, String(id)))).toBe(true);
  }, 90_000);
});
