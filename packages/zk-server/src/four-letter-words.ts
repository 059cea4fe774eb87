/**
 * Four-letter words on the client port (ZOOKEEPER.md §1.10, §5.1): the first four bytes of a
 * connection spell the command, the server answers in text and closes. The texts follow
 * ZooKeeper 3.8's layout so scripts that scrape them (`echo mntr | nc`) keep working.
 */
import type { CairnNode } from '@cairn/node';
import type { Connection } from './connection.js';
import type { ResolvedServerOptions } from './options.js';
import type { ServerStats } from './stats.js';

/** The version string srvr, stat, mntr and envi report. */
export const SERVER_VERSION = '3.8.4-cairn-0.1.0, built on 1970-01-01 00:00 UTC';

export interface FourLetterWordContext {
  readonly node: CairnNode;
  readonly options: ResolvedServerOptions;
  readonly stats: ServerStats;
  readonly connections: ReadonlySet<Connection>;
  readonly port: number;
}

/** The answer to `word` (already checked against the allow-list). */
export async function answerFourLetterWord(
  word: string,
  ctx: FourLetterWordContext,
): Promise<string> {
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'srvr':
      return `Zookeeper version: ${SERVER_VERSION}\n${summary(ctx)}`;
    case 'stat':
      return `Zookeeper version: ${SERVER_VERSION}\nClients:\n${clients(ctx, false)}\n${summary(ctx)}`;
    case 'cons':
      return `${clients(ctx, true)}\n`;
    case 'mntr':
      return mntr(ctx);
    case 'conf':
      return conf(ctx);
    case 'wchs':
      return wchs(ctx);
    case 'dump':
      return dump(ctx);
    case 'envi':
      return envi();
    default:
      return '';
  }
}

function mode(node: CairnNode): string {
  const status = node.status();
  if (status.voters.length === 1 && status.voters[0] === status.id) return 'standalone';
  return status.role === 'leader' ? 'leader' : 'follower';
}

/**
 * ZooKeeper's node count: its DataTree holds the root twice (under "" and "/"), so it reports
 * one more than there are znodes (5 on a fresh tree); scripts that compare counts see the same.
 */
function nodeCount(node: CairnNode): number {
  return node.status().znodes + 1;
}

function outstanding(ctx: FourLetterWordContext): number {
  let total = 0;
  for (const connection of ctx.connections) total += connection.outstanding;
  return total;
}

function summary(ctx: FourLetterWordContext): string {
  const latency = ctx.stats.latencySummary();
  const status = ctx.node.status();
  return [
    `Latency min/avg/max: ${latency.min}/${latency.avg.toFixed(4)}/${latency.max}`,
    `Received: ${ctx.stats.packetsReceived}`,
    `Sent: ${ctx.stats.packetsSent}`,
    `Connections: ${ctx.connections.size}`,
    `Outstanding: ${outstanding(ctx)}`,
    `Zxid: 0x${status.applied.toString(16)}`,
    `Mode: ${mode(ctx.node)}`,
    `Node count: ${nodeCount(ctx.node)}`,
    '',
  ].join('\n');
}

function clients(ctx: FourLetterWordContext, detailed: boolean): string {
  const lines: string[] = [];
  for (const c of ctx.connections) {
    const base = ` /${c.remoteAddress}:${c.remotePort}[1](queued=${c.outstanding},recved=${c.packetsReceived},sent=${c.packetsSent}`;
    if (!detailed || c.session === null) {
      lines.push(`${base})`);
      continue;
    }
    lines.push(
      `${base},sid=0x${BigInt.asUintN(64, c.session.id).toString(16)},est=${c.openedAt},to=${c.session.timeoutMs})`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

function watchCounts(ctx: FourLetterWordContext): {
  connections: number;
  paths: number;
  total: number;
} {
  const paths = new Set<string>();
  let connections = 0;
  let total = 0;
  for (const c of ctx.connections) {
    if (c.watches.size > 0) connections++;
    for (const [path, kinds] of c.watches) {
      paths.add(path);
      total += kinds.size;
    }
  }
  return { connections, paths: paths.size, total };
}

function wchs(ctx: FourLetterWordContext): string {
  const counts = watchCounts(ctx);
  return `${counts.connections} connections watching ${counts.paths} paths\nTotal watches:${counts.total}\n`;
}

function mntr(ctx: FourLetterWordContext): string {
  const latency = ctx.stats.latencySummary();
  const status = ctx.node.status();
  const lines: [string, string | number][] = [
    ['zk_version', SERVER_VERSION],
    ['zk_server_state', mode(ctx.node)],
    ['zk_avg_latency', latency.avg.toFixed(4)],
    ['zk_max_latency', latency.max],
    ['zk_min_latency', latency.min],
    ['zk_packets_received', ctx.stats.packetsReceived],
    ['zk_packets_sent', ctx.stats.packetsSent],
    ['zk_num_alive_connections', ctx.connections.size],
    ['zk_outstanding_requests', outstanding(ctx)],
    ['zk_znode_count', nodeCount(ctx.node)],
    ['zk_watch_count', watchCounts(ctx).total],
    ['zk_global_sessions', status.sessions],
    ['zk_uptime', Date.now() - ctx.stats.startedAt],
  ];
  if (status.role === 'leader') {
    const followers = status.voters.filter((id) => id !== status.id);
    const synced = followers.filter((id) => (status.match[id] ?? 0) >= status.commit);
    lines.push(['zk_followers', followers.length], ['zk_synced_followers', synced.length]);
  }
  for (const [name, value] of Object.entries(ctx.node.metrics.toObject()))
    if (typeof value === 'number') lines.push([name, value]);
  lines.push(...raftLines(ctx.node));
  return lines.map(([name, value]) => `${name}\t${value}\n`).join('');
}

/**
 * Cairn's own mntr lines, after ZooKeeper's (whose names and order stay as they are, so tools
 * that scrape them keep working): this member's Raft view, which `cairn status` reads from every
 * member to print the cluster. Lists are comma-separated; `cairn_match_index` (`id=index`, one
 * per member) only on the leader; `cairn_leader` is 0 while no leader is known.
 */
function raftLines(node: CairnNode): [string, string | number][] {
  const status = node.status();
  const lines: [string, string | number][] = [
    ['cairn_member_id', status.id],
    ['cairn_role', status.role],
    ['cairn_term', status.term],
    ['cairn_leader', status.leader ?? 0],
    ['cairn_commit_index', status.commit],
    ['cairn_applied_index', status.applied],
    ['cairn_last_index', status.lastIndex],
    ['cairn_voters', status.voters.join(',')],
    ['cairn_learners', status.learners.join(',')],
    ['cairn_sessions', status.sessions],
  ];
  if (status.role === 'leader')
    lines.push([
      'cairn_match_index',
      Object.entries(status.match)
        .map(([id, index]) => [Number(id), index] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([id, index]) => `${id}=${index}`)
        .join(','),
    ]);
  return lines;
}

function conf(ctx: FourLetterWordContext): string {
  return [
    `clientPort=${ctx.port}`,
    `clientPortAddress=${ctx.options.host}`,
    `serverId=${ctx.node.id}`,
    `minSessionTimeout=${ctx.options.minSessionTimeoutMs}`,
    `maxSessionTimeout=${ctx.options.maxSessionTimeoutMs}`,
    `maxClientCnxns=${ctx.options.connectionsMax}`,
    `jute.maxbuffer=${ctx.options.maxFrameBytes}`,
    '',
  ].join('\n');
}

async function dump(ctx: FourLetterWordContext): Promise<string> {
  const lines = ['SessionTracker dump:', `Global Sessions(${ctx.node.status().sessions}):`];
  const owners: string[] = [];
  for (const c of ctx.connections) {
    const session = c.session;
    if (session === null) continue;
    const id = `0x${BigInt.asUintN(64, session.id).toString(16)}`;
    lines.push(`${id}\t${session.timeoutMs}ms`);
    const ephemerals = await session.getEphemerals('/').catch(() => [] as string[]);
    if (ephemerals.length > 0) owners.push(`${id}:`, ...ephemerals.map((p) => `\t${p}`));
  }
  lines.push(
    'ephemeral nodes dump:',
    `Sessions with Ephemerals (${owners.filter((l) => !l.startsWith('\t')).length}):`,
    ...owners,
    '',
  );
  return lines.join('\n');
}

function envi(): string {
  return [
    'Environment:',
    `zookeeper.version=${SERVER_VERSION}`,
    `node.version=${process.version}`,
    `os.name=${process.platform}`,
    `os.arch=${process.arch}`,
    `user.dir=${process.cwd()}`,
    `pid=${process.pid}`,
    '',
  ].join('\n');
}
