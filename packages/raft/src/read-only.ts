import type { LogIndex, NodeId } from './ids.js';

/** One ReadIndex request waiting for a heartbeat quorum to confirm leadership (thesis §6.4). */
export interface PendingRead {
  readonly index: LogIndex;
  readonly context: string;
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

/**
 * Pending ReadIndex requests in arrival order. A quorum of heartbeat acks for one context
 * confirms every request queued before it too: they were all made while leadership held.
 */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  /** Queues a read at `index`; a context already pending is ignored. */
  add(index: LogIndex, context: string, from: NodeId): void {
    if (this.pending.has(context)) return;
    this.pending.set(context, { index, context, from, acks: new Set() });
    this.queue.push(context);
  }

  /** Records that `from` acknowledged the heartbeat carrying `context`; returns its acks. */
  recordAck(from: NodeId, context: string): ReadonlySet<NodeId> | null {
    const read = this.pending.get(context);
    if (read === undefined) return null;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every read up to and including `context`, in order. */
  release(context: string): PendingRead[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1).map((key) => this.pending.get(key) as PendingRead);
    for (const read of released) this.pending.delete(read.context);
    this.queue = this.queue.slice(at + 1);
    return released;
  }

  lastPendingContext(): string | null {
    return this.queue.length === 0 ? null : (this.queue[this.queue.length - 1] as string);
  }

  size(): number {
    return this.queue.length;
  }
}
