import type { LogIndex } from '../ids.js';
import { Inflights } from './inflights.js';

/**
 * How the leader replicates to one follower (thesis §10.2.1, etcd's tracker.Progress):
 * - `probe`: the match point is unknown; one append per heartbeat interval finds it.
 * - `replicate`: appends stream optimistically, bounded by the inflight window.
 * - `snapshot`: a snapshot is on its way; appends wait for it.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Invariant: match < next; in `snapshot` state, pendingSnapshot > 0. */
export class Progress {
  match: LogIndex = 0 as LogIndex;
  next: LogIndex;
  state: ProgressState = 'probe';
  /** In `snapshot` state: the index of the snapshot being sent. */
  pendingSnapshot: LogIndex = 0 as LogIndex;
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  /** In `probe` state: an append is outstanding; wait for a response or a heartbeat. */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(
    next: LogIndex,
    inflightMessagesMax: number,
    inflightBytesMax: number,
    isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
    this.isLearner = isLearner;
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // The snapshot may have landed: probing from just past it saves a round trip.
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1) as LogIndex;
    } else {
      this.next = (this.match + 1) as LogIndex;
    }
    this.reset('probe');
  }

  /** A new term: nothing is known of this follower yet; probe from `next`. */
  becomeProbeFresh(): void {
    this.recentActive = false;
    this.reset('probe');
  }

  becomeReplicate(): void {
    this.next = (this.match + 1) as LogIndex;
    this.reset('replicate');
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.reset('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `index`; returns whether `match` moved. Stale ones change nothing. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = (index + 1) as LogIndex;
    return updated;
  }

  /**
   * A rejection of the append at `rejected`; `probeFrom` is where the follower's hint says to
   * try next. Returns false for a stale rejection (one that says nothing new).
   */
  maybeDecreaseTo(rejected: LogIndex, probeFrom: LogIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeFrom), this.match + 1) as LogIndex;
    this.probeSent = false;
    return true;
  }

  /** Records an append of entries ending at `lastIndex` (`bytes` of them), or a bare commit. */
  sentEntries(count: number, lastIndex: LogIndex, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = (lastIndex + 1) as LogIndex;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0 as LogIndex;
    this.inflights.reset();
  }
}
