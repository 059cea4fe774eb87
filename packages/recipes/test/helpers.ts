/**
 * Shared pieces of the recipe tests: the seed (from CAIRN_SEED, printed in every suite name),
 * text codecs, `codeOf` (a call's outcome as its error `code` or `Ok`), and sessions spread
 * over the members of a TestCluster.
 */
import { type CairnNode, isCairnError, type Session } from '@cairn/node';
import type { TestCluster } from '@cairn/node/testing';

export const SEED = Number(process.env.CAIRN_SEED ?? 20261122);

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The `code` of the error `promise` rejects with, or `Ok`. Non-Cairn errors are rethrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return error.code;
    throw error;
  }
  return 'Ok';
}

export async function leaderOf(c: TestCluster): Promise<CairnNode> {
  await c.waitFor(() => c.leader() !== null, 10_000, 'a leader');
  return c.leader() as CairnNode;
}

/** Followers of the current leader, by id. */
export function followersOf(c: TestCluster, leader: CairnNode): CairnNode[] {
  return [...c.nodes.values()].filter((n) => n.id !== leader.id).sort((a, b) => a.id - b.id);
}

/** `count` sessions, round robin over the running members (by id). */
export async function sessionsOn(
  c: TestCluster,
  count: number,
  timeoutMs = 3000,
): Promise<Session[]> {
  const nodes = [...c.nodes.values()].sort((a, b) => a.id - b.id);
  const sessions: Session[] = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length] as CairnNode;
    sessions.push(await c.settle(node.session({ timeoutMs })));
  }
  return sessions;
}

/** `count` sessions, round robin over `nodes`, each with `timeoutMs`. */
export async function sessionsAcross(
  c: TestCluster,
  nodes: readonly CairnNode[],
  count: number,
  timeoutMs: number,
): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < count; i++) {
    const node = nodes[i % nodes.length] as CairnNode;
    sessions.push(await c.settle(node.session({ timeoutMs })));
  }
  return sessions;
}

/** Resolves after `ms` of the cluster's virtual time. */
export const pause = (c: TestCluster, ms: number): Promise<void> =>
  new Promise((resolve) => c.time.setTimeout(resolve, ms));

/** What a participant on a killed member sees: its session closed with the node. */
export const GONE_WITH_THE_NODE = ['SessionExpired', 'ConnectionLoss'];

/** Kills the leader and waits until another member leads. */
export async function killLeader(c: TestCluster, leader: CairnNode): Promise<CairnNode> {
  await c.kill(leader.id);
  await c.waitFor(() => c.leader() !== null, 10_000, 'a new leader');
  return c.leader() as CairnNode;
}

/**
 * Expires `session` as the cluster would for a client that went away: it stops reporting the
 * session as live, the leader expires it after its timeout, and the session hears it. Its member
 * and the network stay up.
 */
export async function expire(c: TestCluster, session: Session): Promise<void> {
  session.setLive(false);
  await c.waitFor(() => session.state === 'expired', 60_000, 'the session expired');
}
