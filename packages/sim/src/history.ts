import type { OpResult, Stat, WriteOp } from '@cairn/znode';

export type WriteKind = 'create' | 'setData' | 'delete' | 'multi' | 'close';
export type ReadKind = 'getData' | 'exists' | 'getChildren';
export type OpKind = WriteKind | ReadKind | 'open' | 'sync';
export type WatchKind = 'data' | 'exist' | 'child';

/** What a read returned (NoNode is a value here: it says something about the tree). */
export type ReadValue =
  | { readonly kind: 'getData'; readonly data: string; readonly stat: Stat }
  | { readonly kind: 'exists'; readonly stat: Stat | null }
  | { readonly kind: 'getChildren'; readonly children: readonly string[]; readonly stat: Stat }
  | { readonly kind: 'noNode' };

export type Outcome =
  | { readonly status: 'pending' }
  | { readonly status: 'ok'; readonly results?: readonly OpResult[]; readonly read?: ReadValue }
  | {
      readonly status: 'error';
      readonly code: string;
      /** A failed multi's per-op codes. */
      readonly codes?: readonly string[];
    };

/**
 * One client call as a [call, return] interval (STYLE §9.6), with what the checkers need:
 * the session and its request number (writes), the node it ran on and that node's applied
 * index at both ends (a read reflects some state in between), and global orders that place
 * it among the other calls and the watch callbacks.
 */
export interface HistoryOp {
  readonly id: number;
  readonly client: number;
  readonly node: number;
  readonly session: bigint | null;
  /** The request number of a write within its session (1, 2, ...). */
  readonly seq: number | null;
  readonly kind: OpKind;
  readonly path: string;
  /** Describes the call (mode, version, ops). */
  readonly input: string;
  /** A write's ops as sent (a multi's list; one op otherwise), for the tier-2 checker. */
  readonly request?: readonly WriteOp[];
  readonly linearizable: boolean;
  readonly watch: WatchKind | null;
  readonly invokeMs: number;
  readonly invokeOrder: number;
  readonly invokeApplied: number;
  returnMs: number | null;
  returnOrder: number | null;
  returnApplied: number | null;
  outcome: Outcome;
}

/** A one-shot watcher callback as it ran. */
export interface WatchFire {
  /** The read that set the watch. */
  readonly op: number;
  readonly type: string;
  readonly path: string;
  readonly zxid: number;
  readonly order: number;
}

/** A session's end as its client saw it. */
export interface SessionEnd {
  readonly session: bigint;
  readonly state: 'closed' | 'expired' | 'abandoned' | 'open';
  /** Whether the session's node is still up with the session live at the end of the run. */
  readonly liveAtEnd: boolean;
  readonly node: number;
}

/** Everything the clients did, in a form the checkers read. */
export class History {
  readonly ops: HistoryOp[] = [];
  readonly fires: WatchFire[] = [];
  readonly sessions = new Map<bigint, SessionEnd>();
  private order = 0;

  nextOrder(): number {
    return ++this.order;
  }

  add(
    op: Omit<
      HistoryOp,
      'id' | 'invokeOrder' | 'returnMs' | 'returnOrder' | 'returnApplied' | 'outcome'
    >,
  ): HistoryOp {
    const full: HistoryOp = {
      ...op,
      id: this.ops.length,
      invokeOrder: this.nextOrder(),
      returnMs: null,
      returnOrder: null,
      returnApplied: null,
      outcome: { status: 'pending' },
    };
    this.ops.push(full);
    return full;
  }

  complete(op: HistoryOp, outcome: Outcome, nowMs: number, applied: number): void {
    op.outcome = outcome;
    op.returnMs = nowMs;
    op.returnOrder = this.nextOrder();
    op.returnApplied = applied;
  }

  fire(op: number, event: { type: string; path: string; zxid: number }): void {
    this.fires.push({
      op,
      type: event.type,
      path: event.path,
      zxid: event.zxid,
      order: this.nextOrder(),
    });
  }

  /** Calls that never returned. */
  pending(): HistoryOp[] {
    return this.ops.filter((op) => op.outcome.status === 'pending');
  }
}
