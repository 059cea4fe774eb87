/**
 * A lease: what a lock, semaphore, latch or election hands its holder. It carries the fencing
 * token (the czxid of the holder's znode: the zxid that made it the holder), a guard op that
 * makes a `multi` fail once the holder's znode is gone, and the loss signal.
 *
 * Loss is decided on the holder's side from the session's own deadline: the lease is lost as
 * soon as the session leaves `connected` (it is `suspended` two thirds of the timeout after the
 * last liveness report the leader confirmed, well before the leader may expire it), or starts
 * closing (from the call to `close()`), or ends, or the holder's znode is deleted. See the README for the timing argument.
 */
import {
  CairnError,
  ConnectionLossError,
  NoNodeError,
  type Session,
  SessionExpiredError,
  type SessionState,
  type WriteOp,
} from '@cairn/node';
import { hasEnded } from './internal/util.js';

export class Lease implements AsyncDisposable {
  /** Aborted (with the reason) when the lease is lost or released. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly listeners = new Set<(reason: Error) => void>();
  private lostReason: Error | null = null;
  private released = false;
  private readonly offState: () => void;

  /** @internal created by the recipes */
  constructor(
    private readonly session: Session,
    /** The holder's znode. */
    readonly path: string,
    /**
     * The zxid that created the holder's znode. Strictly increasing from one holder of a lock
     * or leadership to the next: pass it to the resource you protect and have it refuse any
     * token lower than the highest it has seen.
     */
    readonly fencingToken: number,
    private readonly onRelease: (lease: Lease) => Promise<void>,
  ) {
    this.signal = this.controller.signal;
    this.offState = session.onStateChange((state) => this.onState(state));
    this.onState(session.state);
    if (this.lostReason === null) this.watchZnode();
  }

  /** Whether the lease is lost (session suspended or ended, or the znode deleted). */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** Why the lease was lost, or null. */
  get lostBecause(): Error | null {
    return this.lostReason;
  }

  /** Until when the holder's session cannot have expired, by its node's clock. */
  safeUntil(): number {
    return this.session.safeUntil();
  }

  /**
   * A check op on the holder's znode: put it first in a `multi` and the multi fails (NoNode)
   * unless this lease's znode still exists, i.e. unless this holder still holds.
   */
  guard(): WriteOp {
    return { type: 'check', path: this.path, version: -1 };
  }

  /** Runs `listener` once, synchronously, when the lease is lost (at once if it already is). */
  onLost(listener: (reason: Error) => void): () => void {
    if (this.lostReason !== null) {
      listener(this.lostReason);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Gives the lease back (deletes the znode unless the session is gone). Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    await this.onRelease(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** @internal The recipe let go of it: stop listening, abort the signal, delete the znode. */
  async end(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.offState();
    if (!this.controller.signal.aborted)
      this.controller.abort(new CairnError('APIError', this.path, { message: 'released' }));
    await deleteQuietly(this.session, this.path);
  }

  private onState(state: SessionState): void {
    if (state === 'connected' || state === 'connecting') return;
    if (state === 'suspended')
      this.lose(
        new ConnectionLossError(this.path, {
          message: 'the session is suspended: it may expire, so the lease is treated as lost',
        }),
      );
    else if (state === 'expired') this.lose(new SessionExpiredError(this.path));
    // `closing`: lost from the call to close(), as the close may apply elsewhere first.
    else this.lose(new SessionExpiredError(this.path, { message: `the session is ${state}` }));
  }

  private watchZnode(): void {
    this.session
      .exists(this.path, {
        watch: (event) => {
          if (event.type === 'NodeDeleted') this.lose(new NoNodeError(this.path));
          else if (!this.released && this.lostReason === null) this.watchZnode();
        },
      })
      .then((stat) => {
        if (stat === null) this.lose(new NoNodeError(this.path));
      })
      .catch(() => {
        // The session ended: onState reports it.
      });
  }

  private lose(reason: Error): void {
    if (this.lostReason !== null || this.released) return;
    this.lostReason = reason;
    this.offState();
    this.controller.abort(reason);
    for (const listener of [...this.listeners]) {
      try {
        listener(reason);
      } catch {
        // A listener's failure is its own.
      }
    }
    this.listeners.clear();
    // Let the next contender in once the session is back (an expired one took the znode along).
    void deleteQuietly(this.session, this.path);
  }
}

/** Deletes `path` if the session still can; a missing node or an ended session is fine. */
export async function deleteQuietly(session: Session, path: string): Promise<void> {
  // A closing session's close takes its ephemerals along (and it accepts no other write).
  if (hasEnded(session)) return;
  try {
    await session.delete(path);
  } catch {
    // NoNode (already gone) or SessionExpired (gone with the session).
  }
}

/**
 * The lease for a turn just taken, or the reason it is already lost (the session was suspended
 * or started closing in between): a recipe never hands out a lease that is lost on arrival.
 */
export async function leaseOf(
  session: Session,
  turn: { readonly path: string; readonly czxid: number },
  onRelease: (lease: Lease) => Promise<void>,
): Promise<Lease> {
  const lease = new Lease(session, turn.path, turn.czxid, onRelease);
  const lost = lease.lostBecause;
  if (lost === null) return lease;
  await lease.end();
  throw lost;
}
