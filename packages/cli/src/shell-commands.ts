/**
 * The commands of `cairn shell`, named and printed as ZooKeeper's zkCli.sh does: create, ls,
 * get, set, delete, deleteall, stat, sync, plus sleep (for scripts that wait for a watch).
 * Each returns normally or throws `ZkReplyError` / `UsageError`; printing errors is the caller's.
 */
import { OP_CODES } from '@cairn/zk-server';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';
import { readStat, type ZkClient, ZkReplyError, type ZkStat } from './zk-client.js';

/** OPEN_ACL_UNSAFE: world:anyone with every permission. */
const OPEN_ACL = [{ perms: 31, scheme: 'world', id: 'anyone' }];
const CREATE_FLAGS = { ephemeral: 1, sequential: 2, container: 4 } as const;
/** Recursion depth `deleteall` follows at most. */
const DELETEALL_DEPTH_MAX = 1_000;

export const SHELL_HELP = [
  'create [-s] [-e] [-c] path [data]',
  'ls [-s] [-w] path',
  'get [-s] [-w] path',
  'set [-s] [-v version] path data',
  'delete [-v version] path',
  'deleteall path',
  'stat [-w] path',
  'sync path',
  'sleep ms',
  'quit',
];

const EVENT_NAMES: Record<number, string> = {
  [-1]: 'None',
  1: 'NodeCreated',
  2: 'NodeDeleted',
  3: 'NodeDataChanged',
  4: 'NodeChildrenChanged',
  5: 'DataWatchRemoved',
  6: 'ChildWatchRemoved',
  7: 'PersistentWatchRemoved',
};
const STATE_NAMES: Record<number, string> = { 3: 'SyncConnected', [-112]: 'Expired' };

export function describeEvent(event: { type: number; state: number; path: string }): string {
  const type = EVENT_NAMES[event.type] ?? String(event.type);
  const state = STATE_NAMES[event.state] ?? String(event.state);
  return `WATCHER::\n\nWatchedEvent state:${state} type:${type} path:${event.path}`;
}

/** The message zkCli prints for a failed request. */
export function describeReplyError(error: ZkReplyError): string {
  switch (error.code) {
    case -101:
      return `Node does not exist: ${error.path}`;
    case -110:
      return `Node already exists: ${error.path}`;
    case -103:
      return `version No is not valid : ${error.path}`;
    case -111:
      return `Node not empty: ${error.path}`;
    case -108:
      return `Ephemerals cannot have children: ${error.path}`;
    default:
      return `KeeperErrorCode = ${error.code} for ${error.path}`;
  }
}

/** Splits a line into words; double or single quotes keep spaces. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = pattern.exec(line); m !== null; m = pattern.exec(line))
    words.push(m[1] ?? m[2] ?? m[3] ?? '');
  return words;
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

export function formatStat(stat: ZkStat): string[] {
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${new Date(Number(stat.ctime)).toUTCString()}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${new Date(Number(stat.mtime)).toUTCString()}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

/** Options (`-s`, `-v 3`) and the remaining words of one command. */
function options(
  words: readonly string[],
  allowed: string,
  withValue = '',
): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (/^-[a-zA-Z]$/.test(word)) {
      const letter = word.slice(1);
      if (withValue.includes(letter)) {
        const value = words[++i];
        if (value === undefined) throw new UsageError(`${word} needs a value`);
        flags.set(letter, value);
      } else if (allowed.includes(letter)) flags.set(letter, '');
      else throw new UsageError(`unknown option ${word}`);
    } else rest.push(word);
  }
  return { flags, rest };
}

function checkPath(path: string | undefined): string {
  if (path === undefined || !path.startsWith('/'))
    throw new UsageError('a path starting with / is required');
  return path;
}

function version(text: string | undefined): number {
  if (text === undefined) return -1;
  if (!/^-?\d+$/.test(text)) throw new UsageError(`-v needs an integer, got ${text}`);
  return Number(text);
}

export async function getChildren(
  client: ZkClient,
  path: string,
  watch: boolean,
): Promise<{ children: string[]; stat: ZkStat }> {
  const r = await client.request(OP_CODES.getChildren2, path, (w) => w.string(path).boolean(watch));
  const children = r.vector((e) => e.text(), 4);
  return { children: children.sort(), stat: readStat(r) };
}

async function deleteAll(client: ZkClient, path: string, depth: number): Promise<void> {
  if (depth > DELETEALL_DEPTH_MAX)
    throw new UsageError(`deleteall: deeper than ${DELETEALL_DEPTH_MAX}`);
  const { children } = await getChildren(client, path, false);
  for (const child of children)
    await deleteAll(client, `${path === '/' ? '' : path}/${child}`, depth + 1);
  if (path !== '/') await client.request(OP_CODES.delete, path, (w) => w.string(path).int(-1));
}

/** Runs one command line. Returns false for quit. */
export async function runShellCommand(
  client: ZkClient,
  words: readonly string[],
  output: Output,
): Promise<boolean> {
  const [command, ...args] = words;
  switch (command) {
    case undefined:
      return true;
    case 'quit':
    case 'exit':
    case 'close':
      return false;
    case 'help':
      for (const line of SHELL_HELP) output.out(line);
      return true;
    case 'sleep': {
      const ms = Number(args[0]);
      if (!Number.isSafeInteger(ms) || ms < 0 || ms > 600_000)
        throw new UsageError('sleep needs milliseconds in [0, 600000]');
      await new Promise((resolve) => setTimeout(resolve, ms));
      return true;
    }
    case 'create': {
      const { flags, rest } = options(args, 'sec');
      const path = checkPath(rest[0]);
      const data = rest[1] === undefined ? null : Buffer.from(rest[1], 'utf8');
      const container = flags.has('c');
      const flagBits =
        (flags.has('e') ? CREATE_FLAGS.ephemeral : 0) |
        (flags.has('s') ? CREATE_FLAGS.sequential : 0) |
        (container ? CREATE_FLAGS.container : 0);
      const r = await client.request(
        container ? OP_CODES.createContainer : OP_CODES.create,
        path,
        (w) =>
          w
            .string(path)
            .buffer(data)
            .vector(OPEN_ACL, (e, acl) => e.int(acl.perms).string(acl.scheme).string(acl.id))
            .int(flagBits),
      );
      output.out(`Created ${r.text()}`);
      return true;
    }
    case 'ls': {
      const { flags, rest } = options(args, 'swR');
      const path = checkPath(rest[0]);
      const { children, stat } = await getChildren(client, path, flags.has('w'));
      output.out(`[${children.join(', ')}]`);
      if (flags.has('s')) for (const line of formatStat(stat)) output.out(line);
      return true;
    }
    case 'get': {
      const { flags, rest } = options(args, 'sw');
      const path = checkPath(rest[0]);
      const r = await client.request(OP_CODES.getData, path, (w) =>
        w.string(path).boolean(flags.has('w')),
      );
      const data = r.buffer();
      const stat = readStat(r);
      output.out(data === null ? 'null' : data.toString('utf8'));
      if (flags.has('s')) for (const line of formatStat(stat)) output.out(line);
      return true;
    }
    case 'set': {
      const { flags, rest } = options(args, 's', 'v');
      const path = checkPath(rest[0]);
      if (rest[1] === undefined) throw new UsageError('set needs data');
      const data = Buffer.from(rest[1], 'utf8');
      const r = await client.request(OP_CODES.setData, path, (w) =>
        w
          .string(path)
          .buffer(data)
          .int(version(flags.get('v'))),
      );
      const stat = readStat(r);
      if (flags.has('s')) for (const line of formatStat(stat)) output.out(line);
      return true;
    }
    case 'delete': {
      const { flags, rest } = options(args, '', 'v');
      const path = checkPath(rest[0]);
      await client.request(OP_CODES.delete, path, (w) =>
        w.string(path).int(version(flags.get('v'))),
      );
      return true;
    }
    case 'deleteall': {
      const { rest } = options(args, 'b');
      await deleteAll(client, checkPath(rest[0]), 0);
      return true;
    }
    case 'stat': {
      const { flags, rest } = options(args, 'w');
      const path = checkPath(rest[0]);
      const r = await client.request(OP_CODES.exists, path, (w) =>
        w.string(path).boolean(flags.has('w')),
      );
      for (const line of formatStat(readStat(r))) output.out(line);
      return true;
    }
    case 'sync': {
      const path = checkPath(args[0]);
      await client.request(OP_CODES.sync, path, (w) => w.string(path));
      output.out('Sync is OK');
      return true;
    }
    default:
      throw new UsageError(`unknown command '${command}' (try help)`);
  }
}

export { ZkReplyError };
