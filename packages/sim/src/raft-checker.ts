import type { NodeStatus } from '@cairn/node';
import type { Entry, LogIndex } from '@cairn/raft';
import type { TappedApply } from './apply-tap.js';
import { crc32 } from './crc32.js';

/** A broken invariant or a checker verdict, with enough to find it in the trace. */
export interface Violation {
  readonly checker: string;
  readonly message: string;
}

interface AppliedSlot {
  readonly term: number;
  readonly crc: number;
  readonly length: number;
  readonly digest: number;
  readonly node: number;
}

/**
 * Raft's invariants in the simulator's global view (RELIABILITY §4.1), fed at every step:
 * election safety (one leader per term, across all nodes and incarnations), commit and applied
 * indexes that never move back within an incarnation, and state machine safety: every node
 * applies the same entry (term, bytes) at each index and reaches the same tree digest after it.
 * It also keeps the canonical applied log (index -> command) for the history checkers.
 */
export class RaftChecker {
  /** Every snapshot restored into a node's state machine, in the order they happened. */
  readonly restores: { readonly node: number; readonly index: number }[] = [];
  readonly violations: Violation[] = [];
  /** Term -> the node that led it. */
  readonly leaders = new Map<number, number>();
  /** Index -> what was applied there, first seen. */
  private readonly slots = new Map<number, AppliedSlot>();
  /** Index -> the runtime's decoded command, first seen (the log the model replays). */
  readonly log = new Map<number, TappedApply>();
  private readonly commits = new Map<string, number>();
  private readonly applied = new Map<string, number>();
  /** Digests at snapshot indexes some node restored: checked when the index is applied. */
  private readonly restoredDigests = new Map<number, { digest: number; node: number }>();
  /** Node -> the last vote it made durable (term and candidate), across its incarnations. */
  private readonly votes = new Map<number, { readonly term: number; readonly vote: number }>();

  fail(message: string): void {
    this.violations.push({ checker: 'raft', message });
  }

  onLeader(node: number, term: number): void {
    const leader = this.leaders.get(term);
    if (leader === undefined) this.leaders.set(term, node);
    else if (leader !== node)
      this.fail(`election safety: nodes ${leader} and ${node} both lead term ${term}`);
  }

  /**
   * A node made a hard state durable (`sync` write; the runtime answers a vote only after it).
   * Raft's vote rule: a node grants at most one vote per term, whatever crashes come between.
   */
  onHardStatePersisted(node: number, term: number, vote: number | null): void {
    if (vote === null) return;
    const last = this.votes.get(node);
    if (last !== undefined && last.term === term && last.vote !== vote)
      this.fail(
        `one vote per term: node ${node} voted for ${last.vote} and then for ${vote} in term ${term}`,
      );
    if (last === undefined || term >= last.term) this.votes.set(node, { term, vote });
  }

  /** Called every step with each running node's status, keyed by node and incarnation. */
  onStatus(key: string, status: NodeStatus): void {
    const commit = this.commits.get(key) ?? 0;
    if (status.commit < commit)
      this.fail(`node ${key}: commit index moved back from ${commit} to ${status.commit}`);
    this.commits.set(key, status.commit);
    const applied = this.applied.get(key) ?? 0;
    if (status.applied < applied)
      this.fail(`node ${key}: applied index moved back from ${applied} to ${status.applied}`);
    this.applied.set(key, status.applied);
    if (status.applied > status.commit)
      this.fail(`node ${key}: applied ${status.applied} beyond commit ${status.commit}`);
    if (status.role === 'leader') this.onLeader(status.id, status.term);
  }

  onApplied(node: number, entry: Entry, command: TappedApply, digest: number): void {
    const index = entry.index as number;
    const slot: AppliedSlot = {
      term: entry.term,
      crc: crc32(entry.data),
      length: entry.data.length,
      digest,
      node,
    };
    const first = this.slots.get(index);
    if (first === undefined) {
      this.slots.set(index, slot);
      this.log.set(index, command);
    } else {
      if (first.term !== slot.term || first.crc !== slot.crc || first.length !== slot.length)
        this.fail(
          `state machine safety: index ${index} applied as term ${first.term} crc ${first.crc} on node ${first.node}, term ${slot.term} crc ${slot.crc} on node ${node}`,
        );
      else if (first.digest !== slot.digest)
        this.fail(
          `determinism: after index ${index} node ${first.node} has digest ${first.digest}, node ${node} ${slot.digest}`,
        );
    }
    const restored = this.restoredDigests.get(index);
    if (restored !== undefined && restored.digest !== digest)
      this.fail(
        `snapshot at ${index} restored on node ${restored.node} with digest ${restored.digest}, applied with ${digest}`,
      );
  }

  onRestored(node: number, index: LogIndex, digest: number): void {
    const at = index as number;
    this.restores.push({ node, index: at });
    const slot = this.slots.get(at);
    if (slot !== undefined && slot.digest !== digest)
      this.fail(
        `snapshot at ${at} restored on node ${node} with digest ${digest}, applied with ${slot.digest} on node ${slot.node}`,
      );
    if (!this.restoredDigests.has(at)) this.restoredDigests.set(at, { digest, node });
  }

  /** The highest index some node applied. */
  get lastApplied(): number {
    let last = 0;
    for (const index of this.slots.keys()) last = Math.max(last, index);
    return last;
  }

  digestAt(index: number): number | undefined {
    return this.slots.get(index)?.digest ?? this.restoredDigests.get(index)?.digest;
  }
}
