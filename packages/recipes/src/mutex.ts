/**
 * A fair, re-entrant distributed mutex (ZooKeeper's lock recipe). Each acquisition creates an
 * ephemeral-sequential znode under the lock's path; the lowest sequence number holds the lock,
 * and each waiter watches only the znode just ahead of it, so a release wakes one waiter.
 *
 * Guarantee: while the holder's session is connected, no other contender holds the lock. The
 * holder's lease is lost (its `signal` aborts, `onLost` runs) as soon as the session is
 * suspended, which is before the cluster can expire it and let the next contender in. The
 * lease's fencing token is the czxid of the holder's znode, strictly increasing from holder to
 * holder; its `guard()` op makes a `multi` fail once the holder no longer holds.
 *
 * On session expiry the ephemeral znode goes with the session and the next waiter gets the lock.
 */
import { CairnError, type Session } from '@cairn/node';
import { predecessor, type QueueKind, takeTurn } from './internal/turn.js';
import { deadlineSignal, type RecipeOptions, timersOf } from './internal/util.js';
import { type Lease, leaseOf } from './lease.js';

export interface AcquireOptions {
  readonly signal?: AbortSignal;
  /** Give up (OperationTimeout) after this long; the contender's znode is removed. */
  readonly timeoutMs?: number;
}

export interface MutexOptions extends RecipeOptions {
  /** Stored in the contender's znode (who holds or waits). Default empty. */
  readonly data?: Uint8Array;
}

const MUTEX: QueueKind = { prefix: 'lock-', prefixes: ['lock-'], blockersOf: predecessor };

/**
 * Re-entrant per instance: one `Mutex` object is one owner, and acquiring it again while held
 * counts up; each acquisition needs its own `release()` (or `await using`).
 */
export class Mutex {
  private lease_: Lease | null = null;
  private holds = 0;
  private pending: Promise<Lease> | null = null;

  constructor(
    private readonly session: Session,
    /** The lock's folder; created (with parents) on first use. */
    readonly path: string,
    private readonly options: MutexOptions = {},
    /** @internal the queue discipline (read-write locks share this class). */
    private readonly kind: QueueKind = MUTEX,
  ) {}

  /** The current lease, or null when not held. */
  get lease(): Lease | null {
    return this.lease_ !== null && !this.lease_.lost ? this.lease_ : null;
  }

  isHeld(): boolean {
    return this.lease !== null;
  }

  /**
   * Waits for the lock. Rejects with OperationTimeout after `timeoutMs`, with the signal's reason
   * when it aborts, with SessionExpired when the session ends.
   */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    while (this.pending !== null) await this.pending.catch(() => {});
    const held = this.lease;
    if (held !== null) {
      this.holds++;
      return held;
    }
    if (this.lease_ !== null) {
      const lost = this.lease_;
      this.lease_ = null;
      this.holds = 0;
      await lost.end();
    }
    const pending = this.take(options);
    this.pending = pending;
    try {
      const lease = await pending;
      this.lease_ = lease;
      this.holds = 1;
      return lease;
    } finally {
      this.pending = null;
    }
  }

  /** Releases one acquisition; the last one deletes the znode. Releasing a lost lease is fine. */
  async release(): Promise<void> {
    const lease = this.lease_;
    if (lease === null)
      throw new CairnError('BadArguments', this.path, { message: 'the lock is not held' });
    this.holds--;
    if (this.holds > 0) return;
    this.lease_ = null;
    await lease.end();
  }

  private async releaseLease(lease: Lease): Promise<void> {
    // A lease from an earlier, lost acquisition only cleans up after itself.
    if (lease === this.lease_) await this.release();
    else await lease.end();
  }

  private async take(options: AcquireOptions): Promise<Lease> {
    const deadline = deadlineSignal(timersOf(this.options), options, `lock ${this.path}`);
    try {
      const turn = await takeTurn(
        this.session,
        this.path,
        this.kind,
        this.options.data ?? new Uint8Array(0),
        deadline.signal,
      );
      return await leaseOf(this.session, turn, (lease) => this.releaseLease(lease));
    } finally {
      deadline.dispose();
    }
  }
}
