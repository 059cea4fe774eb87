/**
 * Shared pieces of the node's cluster tests: a seed from the environment (printed in every
 * suite name), text codecs, and `codeOf`, which turns a call's outcome into its error `code`
 * (or `Ok`) so tests assert on codes, never on message text.
 */
import { type CairnNode, isCairnError } from '@cairn/node';
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
    if (error instanceof Error && 'code' in error && typeof error.code === 'string')
      return error.code;
    throw error;
  }
  return 'Ok';
}

/** The `code` of what `call` throws synchronously or rejects with, or `Ok`. */
export function codeOfCall(call: () => unknown): Promise<string> {
  return codeOf(new Promise((resolve) => resolve(call())));
}

export async function leaderOf(c: TestCluster): Promise<CairnNode> {
  await c.waitFor(() => c.leader() !== null, 10_000, 'a leader');
  return c.leader() as CairnNode;
}

/** Followers of the current leader, by id. */
export function followersOf(c: TestCluster, leader: CairnNode): CairnNode[] {
  return [...c.nodes.values()].filter((n) => n.id !== leader.id).sort((a, b) => a.id - b.id);
}
