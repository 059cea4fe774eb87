/**
 * The cluster's state as its members report it: `mntr` from every address of a connect string
 * (in parallel), read through the `cairn_*` lines each Cairn member adds, merged into one row per
 * member. Members of the configuration that no address reached get a row too (address unknown),
 * with the lag the leader sees for them. A plain ZooKeeper server gets a row from its `zk_*`
 * lines (no Raft fields).
 */
import { formatHostPort, type HostPort } from './connect-string.js';
import { fourLetterWord, parseMntr } from './four-letter-word.js';

/** One member's row. Fields a member could not report are null. */
export interface MemberStatus {
  /** Member id; null for an address that did not answer or is not a Cairn member. */
  readonly member: number | null;
  /** Client address; null for a member that no address of the connect string reached. */
  readonly address: string | null;
  readonly reachable: boolean;
  readonly role: string | null;
  readonly term: number | null;
  readonly commit: number | null;
  readonly applied: number | null;
  readonly lastIndex: number | null;
  /**
   * Entries behind the leader: the leader's last index minus this member's match index (as the
   * leader sees it); for a member the leader reports nothing on, the leader's commit index minus
   * this member's applied index. Null while no leader answered.
   */
  readonly lag: number | null;
  /** Sessions in the replicated tree (the same on every member that is caught up). */
  readonly sessions: number | null;
  /** Client connections open on this member. */
  readonly connections: number | null;
  /** Why the address did not answer. */
  readonly error: string | null;
}

export interface ClusterStatus {
  /** The leader of the highest term reported, or null. */
  readonly leader: number | null;
  readonly term: number | null;
  /** Voters as the highest-term report lists them. */
  readonly voters: readonly number[];
  readonly members: readonly MemberStatus[];
}

interface Report {
  readonly address: string;
  readonly values: Map<string, string> | null;
  readonly error: string | null;
}

const int = (values: Map<string, string> | null, name: string): number | null => {
  const text = values?.get(name);
  if (text === undefined || !/^-?\d+$/.test(text)) return null;
  return Number(text);
};

const ids = (text: string | undefined): number[] =>
  (text ?? '')
    .split(',')
    .filter((part) => /^\d+$/.test(part))
    .map(Number);

/** Parses `cairn_match_index` (`1=20,2=19`). */
function matchIndexes(text: string | undefined): Map<number, number> {
  const match = new Map<number, number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^(\d+)=(\d+)$/.exec(part);
    if (m !== null) match.set(Number(m[1]), Number(m[2]));
  }
  return match;
}

/** Asks every address for `mntr` and merges the answers. */
export async function collectClusterStatus(
  hosts: readonly HostPort[],
  timeoutMs?: number,
): Promise<ClusterStatus> {
  const reports = await Promise.all(
    hosts.map(async (host): Promise<Report> => {
      const address = formatHostPort(host);
      try {
        const values = parseMntr(await fourLetterWord(host.host, host.port, 'mntr', timeoutMs));
        if (!values.has('zk_server_state'))
          return { address, values: null, error: 'mntr is not answered (not in the allow-list?)' };
        return { address, values, error: null };
      } catch (error) {
        return { address, values: null, error: (error as Error).message };
      }
    }),
  );
  return mergeReports(reports);
}

/** Pure: the rows from the reports (exported for tests). */
export function mergeReports(reports: readonly Report[]): ClusterStatus {
  const answered = reports.filter((r) => r.values !== null);
  const latest = answered.reduce<Report | null>((best, r) => {
    const term = int(r.values, 'cairn_term') ?? -1;
    return best === null || term > (int(best.values, 'cairn_term') ?? -1) ? r : best;
  }, null);
  const term = int(latest?.values ?? null, 'cairn_term');
  const leaderReport =
    answered.find(
      (r) => r.values?.get('cairn_role') === 'leader' && int(r.values, 'cairn_term') === term,
    ) ?? null;
  const leaderId = int(latest?.values ?? null, 'cairn_leader');
  const leader =
    leaderReport !== null ? int(leaderReport.values, 'cairn_member_id') : leaderId || null;
  const voters = ids(latest?.values?.get('cairn_voters'));
  const match = matchIndexes(leaderReport?.values?.get('cairn_match_index'));
  const leaderLast = int(leaderReport?.values ?? null, 'cairn_last_index');
  const leaderCommit = int(leaderReport?.values ?? null, 'cairn_commit_index');

  const lagOf = (member: number | null, applied: number | null): number | null => {
    if (leaderLast === null || member === null) return null;
    const matched = match.get(member);
    if (matched !== undefined) return Math.max(0, leaderLast - matched);
    if (applied !== null && leaderCommit !== null) return Math.max(0, leaderCommit - applied);
    return null;
  };

  const rows: MemberStatus[] = reports.map((r) => {
    const member = int(r.values, 'cairn_member_id');
    const applied = int(r.values, 'cairn_applied_index');
    return {
      member,
      address: r.address,
      reachable: r.values !== null,
      role: r.values?.get('cairn_role') ?? r.values?.get('zk_server_state') ?? null,
      term: int(r.values, 'cairn_term'),
      commit: int(r.values, 'cairn_commit_index'),
      applied,
      lastIndex: int(r.values, 'cairn_last_index'),
      lag: lagOf(member, applied),
      sessions: int(r.values, 'cairn_sessions') ?? int(r.values, 'zk_global_sessions'),
      connections: int(r.values, 'zk_num_alive_connections'),
      error: r.error,
    };
  });
  const seen = new Set(rows.map((row) => row.member));
  for (const id of voters)
    if (!seen.has(id))
      rows.push({
        member: id,
        address: null,
        reachable: false,
        role: null,
        term: null,
        commit: null,
        applied: null,
        lastIndex: null,
        lag: lagOf(id, null),
        sessions: null,
        connections: null,
        error: 'no address of the connect string reached this member',
      });
  rows.sort(
    (a, b) => (a.member ?? Number.MAX_SAFE_INTEGER) - (b.member ?? Number.MAX_SAFE_INTEGER),
  );
  return { leader, term, voters, members: rows };
}

/** The rows as an aligned text table, then a one-line summary. */
export function formatClusterStatus(status: ClusterStatus): string[] {
  const header = [
    'member',
    'address',
    'role',
    'term',
    'commit',
    'applied',
    'lag',
    'sessions',
    'connections',
    'reachable',
  ];
  const text = (value: number | string | null): string => (value === null ? '-' : String(value));
  const table = [
    header,
    ...status.members.map((m) => [
      text(m.member ?? '?'),
      text(m.address ?? '?'),
      text(m.role),
      text(m.term),
      text(m.commit),
      text(m.applied),
      text(m.lag),
      text(m.sessions),
      text(m.connections),
      m.reachable ? 'yes' : `no (${m.error ?? 'unknown'})`,
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  const lines = table.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join('  '),
  );
  const reachable = status.members.filter((m) => m.reachable).length;
  lines.push(
    `leader ${text(status.leader)}, term ${text(status.term)}, voters [${status.voters.join(',')}], ${reachable} of ${status.members.length} reachable`,
  );
  return lines;
}
