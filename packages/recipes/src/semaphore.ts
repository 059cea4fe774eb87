/**
 * A counting semaphore with leases: at most `permits` holders at once. Each `acquire` creates an
 * ephemeral-sequential znode; a contender holds when fewer than `permits` znodes are ahead of it,
 * and while waiting it watches only the `permits` znodes just ahead (one of them must go before
 * its turn can come). Every acquisition is its own `Lease` (not re-entrant), lost on suspension
 * like a mutex's, and its znode goes with an expired session.
 *
 * Every participant must use the same `permits` for a path. Fencing tokens of a semaphore are
 * not a holder order (several hold at once); use the guard to tie a write to a live lease.
 */
import type { Session } from '@cairn/node';
import { type QueueKind, takeTurn } from './internal/turn.js';
import { deadlineSignal, timersOf } from './internal/util.js';
import { type Lease, leaseOf } from './lease.js';
import type { AcquireOptions, MutexOptions } from './mutex.js';

export class Semaphore {
  private readonly kind: QueueKind;

  constructor(
    private readonly session: Session,
    readonly path: string,
    readonly permits: number,
    private readonly options: MutexOptions = {},
  ) {
    if (!Number.isSafeInteger(permits) || permits < 1)
      throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.kind = {
      prefix: 'lease-',
      prefixes: ['lease-'],
      blockersOf: (names, index) => (index < permits ? [] : names.slice(index - permits, index)),
    };
  }

  /** Waits for a permit (OperationTimeout, abort, SessionExpired as for a mutex). */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    const deadline = deadlineSignal(timersOf(this.options), options, `semaphore ${this.path}`);
    try {
      const turn = await takeTurn(
        this.session,
        this.path,
        this.kind,
        this.options.data ?? new Uint8Array(0),
        deadline.signal,
      );
      return await leaseOf(this.session, turn, (lease) => lease.end());
    } finally {
      deadline.dispose();
    }
  }
}
