/**
 * `cairn shell` in this process against an in-process member, driven through a stdin stream
 * (non-TTY) with output captured: `ls -R` lists every path in zkCli's order (a node's sorted
 * children before descending, checked against what ZooKeeper 3.8's zkCli prints for the same
 * tree); `watch` prints events as another session causes them, `watch -R` those below too; the
 * shell's `status` prints the session and the cluster table; every line read goes to the history
 * file named by CAIRN_HISTORY (and none when it is empty), loaded back newest first; the
 * completer completes command names and the children of a path's parent; connect strings are
 * parsed (several hosts, a one-shot command after them) and bad ones refused with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { OP_CODES } from '@cairn/zk-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { looksLikeConnectString, parseConnectString } from '../src/connect-string.js';
import { runShell } from '../src/shell.js';
import { createCompleter } from '../src/shell-completer.js';
import { HISTORY_LINES_MAX, loadHistory } from '../src/shell-history.js';
import { ZkClient } from '../src/zk-client.js';
import { type InProcessServer, startInProcessServer } from './in-process-server.js';

let server: InProcessServer;
let dir: string;
const clients: ZkClient[] = [];
beforeEach(async () => {
  server = await startInProcessServer();
  dir = mkdtempSync(join(tmpdir(), 'cairn-shell-'));
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Polls (bounded: 200 polls of 25 ms) until `check` holds. */
async function until(check: () => boolean, what: string, detail?: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}${detail ? `: ${detail()}` : ''}`);
}

async function client(): Promise<ZkClient> {
  const c = await ZkClient.connect('127.0.0.1', server.port);
  clients.push(c);
  return c;
}

const acl = [{ perms: 31, scheme: 'world', id: 'anyone' }];
async function create(c: ZkClient, path: string, data = ''): Promise<void> {
  await c.request(OP_CODES.create, path, (w) =>
    w
      .string(path)
      .buffer(Buffer.from(data))
      .vector(acl, (e, a) => e.int(a.perms).string(a.scheme).string(a.id))
      .int(0),
  );
}
async function setData(c: ZkClient, path: string, data: string): Promise<void> {
  await c.request(OP_CODES.setData, path, (w) => w.string(path).buffer(Buffer.from(data)).int(-1));
}

/** Runs a shell script through stdin (non-TTY); returns the exit status and both streams. */
async function shell(
  script: readonly string[],
  args: readonly string[] = [`127.0.0.1:${server.port}`],
): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runShell(
    args,
    { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l) },
    Readable.from([`${script.join('\n')}\n`]),
    { CAIRN_HISTORY: '' },
  );
  return { status, out, err };
}

/** A shell reading from a stream the test writes to, line by line. */
function interactive(env: NodeJS.ProcessEnv = { CAIRN_HISTORY: '' }): {
  send(line: string): void;
  out: string[];
  err: string[];
  done: Promise<number>;
} {
  const input = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  const done = runShell(
    [`127.0.0.1:${server.port}`],
    { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l) },
    input,
    env,
  );
  return { send: (line) => input.write(`${line}\n`), out, err, done };
}

describe('cairn shell', () => {
  it('ls -R lists the path, then each level sorted before descending, as zkCli does', async () => {
    const created = ['/a', '/a/c', '/a/b', '/a/b/x', '/d'].map((p) => `create ${p}`);
    const { status, out, err } = await shell([...created, 'ls -R /', 'ls -R /a', 'ls -R /nope']);
    expect(err).toEqual(['Node does not exist: /nope']);
    expect(status).toBe(1);
    const listed = out.filter((l) => !l.startsWith('Created '));
    // zkCli.sh of ZooKeeper 3.8.4 printed exactly these lines for the same tree.
    expect(listed).toEqual([
      '/',
      '/a',
      '/d',
      '/zookeeper',
      '/a/b',
      '/a/c',
      '/a/b/x',
      '/zookeeper/config',
      '/zookeeper/quota',
      '/a',
      '/a/b',
      '/a/c',
      '/a/b/x',
    ]);
  });
});

describe('cairn shell, live', () => {
  it('watch prints each event as another session causes it; watch -R covers the subtree', async () => {
    const other = await client();
    await create(other, '/app', 'v0');
    const shell = interactive();
    shell.send('watch /app');
    shell.send('watch -R /tree');
    await until(() => shell.out.includes('watching /tree and below'), 'both watches armed');
    expect(shell.out).toContain('watching /app');

    await setData(other, '/app', 'v1');
    await until(
      () => shell.out.some((l) => l.includes('type:NodeDataChanged path:/app')),
      'first event',
    );
    await setData(other, '/app', 'v2'); // a persistent watch fires again
    await create(other, '/app/child');
    await create(other, '/tree');
    await create(other, '/tree/a');
    await create(other, '/tree/a/b');
    const events = (): string[] => shell.out.filter((l) => l.startsWith('WatchedEvent'));
    await until(
      () => events().length >= 6,
      'six events',
      () => shell.out.join('|'),
    );
    expect(events()).toEqual([
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/app',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/app',
      // /app/child: a persistent (non-recursive) watch on /app sees its children change.
      'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/app',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/tree',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/tree/a',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/tree/a/b',
    ]);
    shell.send('quit');
    expect(await shell.done).toBe(0);
    expect(shell.err).toEqual([]);
  });

  it("status prints the session and the cluster's table", async () => {
    const { status, out, err } = await shell(['status']);
    expect(err).toEqual([]);
    expect(status).toBe(0);
    expect(out[0]).toMatch(
      new RegExp(`^session 0x[0-9a-f]+ on 127\\.0\\.0\\.1:${server.port}, timeout \\d+ ms$`),
    );
    expect(out[1]).toMatch(
      /^member +address +role +term +commit +applied +lag +sessions +connections +reachable$/,
    );
    // Two connections: the shell's and the one mntr itself came in on (ZooKeeper counts it too).
    expect(out[2]).toMatch(
      new RegExp(`^1 +127\\.0\\.0\\.1:${server.port} +leader +\\d+ +\\d+ +\\d+ +0 +1 +2 +yes$`),
    );
    expect(out[3]).toMatch(/^leader 1, term \d+, voters \[1\], 1 of 1 reachable$/);
  });

  it('appends every line read to the history file and loads it back newest first', async () => {
    const file = join(dir, 'history');
    writeFileSync(file, 'ls /old\n');
    const shell = interactive({ CAIRN_HISTORY: file });
    shell.send('create /h one');
    shell.send('get /h');
    shell.send('quit');
    expect(await shell.done).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('ls /old\ncreate /h one\nget /h\nquit\n');
    expect(loadHistory(file)).toEqual(['quit', 'get /h', 'create /h one', 'ls /old']);
    expect(loadHistory(join(dir, 'missing'))).toEqual([]);
    expect(loadHistory(null)).toEqual([]);

    const long = Array.from({ length: 2 * HISTORY_LINES_MAX + 1 }, (_, i) => `get /n${i}`);
    writeFileSync(file, `${long.join('\n')}\n`);
    const loaded = loadHistory(file);
    expect(loaded).toHaveLength(HISTORY_LINES_MAX);
    expect(loaded[0]).toBe(`get /n${2 * HISTORY_LINES_MAX}`);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(HISTORY_LINES_MAX);

    const off = interactive({ CAIRN_HISTORY: '' });
    off.send('ls /');
    off.send('quit');
    expect(await off.done).toBe(0);
  });

  it('completes command names, then paths from the children of the parent', async () => {
    const c = await client();
    for (const p of ['/app', '/apple', '/app/config', '/app/cache', '/app/lock', '/b'])
      await create(c, p);
    const complete = createCompleter(c);
    expect(await complete('st')).toEqual([['stat', 'status'], 'st']);
    expect(await complete('deletea')).toEqual([['deleteall'], 'deletea']);
    expect(await complete('get /ap')).toEqual([['/app', '/apple'], '/ap']);
    expect(await complete('get /app/c')).toEqual([['/app/cache', '/app/config'], '/app/c']);
    expect(await complete('ls -R /app/')).toEqual([
      ['/app/cache', '/app/config', '/app/lock'],
      '/app/',
    ]);
    expect(await complete('get /')).toEqual([['/app', '/apple', '/b', '/zookeeper'], '/']);
    expect(await complete('get /nope/x')).toEqual([[], '/nope/x']);
    expect(await complete('set /b da')).toEqual([[], 'da']);
  });
});

describe('connect strings', () => {
  it('parses several hosts and refuses bad ones with the reason', async () => {
    expect(parseConnectString('127.0.0.1:2181,localhost:2182,[::1]:2183')).toEqual([
      { host: '127.0.0.1', port: 2181 },
      { host: 'localhost', port: 2182 },
      { host: '::1', port: 2183 },
    ]);
    expect(looksLikeConnectString('127.0.0.1:2181,127.0.0.1:2182')).toBe(true);
    expect(looksLikeConnectString('ls')).toBe(false);
    expect(looksLikeConnectString('/app')).toBe(false);
    expect(() => parseConnectString('127.0.0.1:2181/app')).toThrow(
      "a chroot suffix ('/app') is not supported",
    );
    expect(() => parseConnectString('127.0.0.1:99999')).toThrow(
      'connect string port must be in [1, 65535], got 99999',
    );
    expect(() => parseConnectString('')).toThrow('must name at least one host:port');
    // A one-shot command after the connect string; the second host is never needed.
    const { status, out } = await shell([], [`127.0.0.1:${server.port},127.0.0.1:1`, 'ls', '/']);
    expect(status).toBe(0);
    expect(out).toEqual(['[zookeeper]']);
  });
});
