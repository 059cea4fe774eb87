/**
 * Shared pieces of the node's cluster tests: a seed from the environment (printed in every
 * suite name), text codecs, and `codeOf`, which turns a call's outcome into its error `code`
 * (or `Ok`) so tests assert on codes, never on message text.
 */
import { type CairnNode, isCairnError } from '@cairn/node';
import type { TestCluster } from '@cairn/node/testing';
import type { ConfState, NodeId, StorageWrite } from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';

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

/** The membership of a one-member cluster (node 1), for `MemoryStorage.bootstrap`. */
export const ONE_VOTER: ConfState = {
  voters: [1 as NodeId],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

/** One turn of the event loop. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Turns of the event loop a condition may take before a test gives up on it. */
const TURNS_MAX = 10_000;

export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < TURNS_MAX; i++) {
    if (condition()) return;
    await turn();
  }
  throw new Error(`never happened: ${what}`);
}

/** Releases held writes if the test never does, so a broken runtime fails, not hangs. */
const HOLD_FALLBACK_MS = 5_000;

/**
 * A memory log that, while `holding`, holds each write `holds` picks (every write by default)
 * until `release`.
 */
export class HeldWriteLog extends MemoryDurableLog {
  holding = false;
  held = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly fallback = setTimeout(() => this.release(), HOLD_FALLBACK_MS);

  constructor(
    storage: ConstructorParameters<typeof MemoryDurableLog>[0],
    private readonly holds: (update: StorageWrite) => boolean = () => true,
  ) {
    super(storage);
  }

  override write(update: StorageWrite & { readonly sync: boolean }): Promise<void> {
    if (!this.holding || !this.holds(update)) return super.write(update);
    this.held++;
    return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() =>
      super.write(update),
    );
  }

  release(): void {
    clearTimeout(this.fallback);
    this.holding = false;
    for (const resume of this.waiting.splice(0)) resume();
  }
}
