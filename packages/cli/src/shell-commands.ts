/**
 * The commands of `cairn shell`, named and printed as ZooKeeper's zkCli.sh does: create, ls
 * (with -R), get, set, delete, deleteall, stat, sync; plus `watch` (a persistent watch whose
 * events print as they arrive), `status` (the cluster's table, as `cairn status`) and sleep (for
 * scripts that wait for a watch). Each returns normally or throws `ZkReplyError` /
 * `UsageError`; printing errors is the caller's. Watches the server arms are recorded on the
 * session, which re-registers them after a move to another host.
 */
import { OP_CODES } from '@cairn/zk-server';
import { collectClusterStatus, formatClusterStatus } from './cluster-status.js';
import { formatHostPort, type HostPort } from './connect-string.js';
import type { Output } from './output.js';
import { formatStat } from './shell-format.js';
import { deleteAll, getChildren, listRecursive } from './shell-tree.js';
import { UsageError } from './usage-error.js';
import { readStat, ZkReplyError } from './zk-client.js';
import type { ZkSession } from './zk-session.js';

/** What a command runs against. */
export interface ShellContext {
  readonly session: ZkSession;
  readonly output: Output;
  /** The connect string's hosts (`status` asks each of them). */
  readonly hosts: readonly HostPort[];
}

/** OPEN_ACL_UNSAFE: world:anyone with every permission. */
const OPEN_ACL = [{ perms: 31, scheme: 'world', id: 'anyone' }];
const CREATE_FLAGS = { ephemeral: 1, sequential: 2, container: 4 } as const;

export const SHELL_HELP = [
  'create [-s] [-e] [-c] path [data]',
  'ls [-s] [-w] [-R] path',
  'get [-s] [-w] path',
  'set [-s] [-v version] path data',
  'delete [-v version] path',
  'deleteall path',
  'stat [-w] path',
  'sync path',
  'watch [-R] path    (persistent; -R: the whole subtree; events print as they arrive)',
  'status             (the cluster: members, leader, term, commit, applied, lag, sessions)',
  'sleep ms',
  'quit',
];

/** Command names, for completion. */
export const SHELL_COMMANDS = [
  'create',
  'delete',
  'deleteall',
  'get',
  'help',
  'ls',
  'quit',
  'set',
  'sleep',
  'stat',
  'status',
  'sync',
  'watch',
] as const;

/** addWatch modes (ZOOKEEPER.md: AddWatchMode). */
const ADD_WATCH_PERSISTENT = 0;
const ADD_WATCH_PERSISTENT_RECURSIVE = 1;
const NO_NODE = -101;

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

/** Runs one command line. Returns false for quit. */
export async function runShellCommand(
  ctx: ShellContext,
  words: readonly string[],
): Promise<boolean> {
  const { session: client, output } = ctx;
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
      if (flags.has('R')) {
        await listRecursive(client, path, (p) => output.out(p));
        return true;
      }
      const { children, stat } = await getChildren(client, path, flags.has('w'));
      if (flags.has('w')) client.noteWatch('child', path);
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
      if (flags.has('w')) client.noteWatch('data', path);
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
      await deleteAll(client, checkPath(rest[0]));
      return true;
    }
    case 'stat': {
      const { flags, rest } = options(args, 'w');
      const path = checkPath(rest[0]);
      const watch = flags.has('w');
      const r = await client
        .request(OP_CODES.exists, path, (w) => w.string(path).boolean(watch))
        .catch((error: unknown) => {
          // exists on a missing node still arms the watch, as one for its creation.
          if (watch && error instanceof ZkReplyError && error.code === NO_NODE)
            client.noteWatch('exist', path);
          throw error;
        });
      if (watch) client.noteWatch('data', path);
      for (const line of formatStat(readStat(r))) output.out(line);
      return true;
    }
    case 'sync': {
      const path = checkPath(args[0]);
      await client.request(OP_CODES.sync, path, (w) => w.string(path));
      output.out('Sync is OK');
      return true;
    }
    case 'watch': {
      const { flags, rest } = options(args, 'R');
      const path = checkPath(rest[0]);
      const recursive = flags.has('R');
      await client.request(OP_CODES.addWatch, path, (w) =>
        w.string(path).int(recursive ? ADD_WATCH_PERSISTENT_RECURSIVE : ADD_WATCH_PERSISTENT),
      );
      client.noteWatch(recursive ? 'persistentRecursive' : 'persistent', path);
      output.out(`watching ${path}${recursive ? ' and below' : ''}`);
      return true;
    }
    case 'status': {
      output.out(
        `session 0x${BigInt.asUintN(64, client.sessionId).toString(16)} on ${formatHostPort(client.host)}, timeout ${client.timeoutMs} ms`,
      );
      for (const line of formatClusterStatus(await collectClusterStatus(ctx.hosts)))
        output.out(line);
      return true;
    }
    default:
      throw new UsageError(`unknown command '${command}' (try help)`);
  }
}
