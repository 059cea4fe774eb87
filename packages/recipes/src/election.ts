/**
 * Leader election (ZooKeeper's recipe): each candidate creates an ephemeral-sequential znode
 * holding its id; the lowest is the leader; each candidate watches only the one just ahead.
 * Every participant can also observe who leads (`observe`): it watches the current leader's
 * znode, so a change of leader reaches every observer, and nothing else does.
 *
 * Guarantee: at most one candidate whose session is connected holds leadership. The leader's
 * `Lease` is lost (signal aborted, `onLost` called) as soon as its session is suspended, before
 * the cluster can expire it and elect the next candidate. Its fencing token (the czxid of its
 * znode) rises from leader to leader; `guard()` makes a `multi` fail once it no longer leads.
 *
 * On session expiry the candidate's znode goes with the session; `campaign` rejects with
 * SessionExpired, and the observers hear of the next leader.
 */
import type { Session } from '@cairn/node';
import { predecessor, type QueueKind, takeTurn } from './internal/turn.js';
import {
  deadlineSignal,
  dec,
  enc,
  ensurePath,
  hasCode,
  join,
  type RecipeOptions,
  sortBySequence,
  timersOf,
  untilAnyGone,
  untilChildrenChange,
} from './internal/util.js';
import { type Lease, leaseOf } from './lease.js';
import type { AcquireOptions } from './mutex.js';

export interface ElectionOptions extends RecipeOptions {
  /** This participant's id, stored in its candidate znode and reported to observers. */
  readonly id: string;
}

const CANDIDATE: QueueKind = {
  prefix: 'candidate-',
  prefixes: ['candidate-'],
  blockersOf: predecessor,
};

export class LeaderElection {
  constructor(
    private readonly session: Session,
    /** The election's folder; created (with parents) on first use. */
    readonly path: string,
    private readonly options: ElectionOptions,
  ) {}

  get id(): string {
    return this.options.id;
  }

  /**
   * Enters the election and resolves with the leadership once this candidate leads. Release
   * the lease to resign. Rejects with OperationTimeout, the signal's reason, or SessionExpired;
   * the candidacy is withdrawn then.
   */
  async campaign(options: AcquireOptions = {}): Promise<Lease> {
    const deadline = deadlineSignal(timersOf(this.options), options, `election ${this.path}`);
    try {
      const turn = await takeTurn(
        this.session,
        this.path,
        CANDIDATE,
        enc(this.options.id),
        deadline.signal,
      );
      return await leaseOf(this.session, turn, (lease) => lease.end());
    } finally {
      deadline.dispose();
    }
  }

  /** The current leader's id (a local read), or null when there is no candidate. */
  async leader(): Promise<string | null> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const first = await this.firstCandidate();
      if (first === null) return null;
      try {
        return dec((await this.session.getData(join(this.path, first))).data);
      } catch (error) {
        if (!hasCode(error, 'NoNode')) throw error;
      }
    }
    return null;
  }

  /**
   * Calls `listener` with the leader's id now and whenever it changes (null: no candidate),
   * until the returned function is called or the session ends. The leader is the candidate at
   * the front of the queue: one abandoning its candidacy (timeout, abort) just as it reaches
   * the front can be reported without ever acting as leader; only a `Lease` makes a leader.
   */
  observe(listener: (leaderId: string | null) => void): () => void {
    const controller = new AbortController();
    void this.observeLoop(listener, controller.signal).catch(() => {
      // Ended by the caller or by the session's end.
    });
    return () => controller.abort();
  }

  private async observeLoop(
    listener: (leaderId: string | null) => void,
    signal: AbortSignal,
  ): Promise<void> {
    await ensurePath(this.session, this.path);
    let last: string | null | undefined;
    const tell = (id: string | null): void => {
      if (id === last || signal.aborted) return;
      last = id;
      listener(id);
    };
    while (!signal.aborted) {
      const first = await this.firstCandidate();
      if (first === null) {
        tell(null);
        await untilChildrenChange(this.session, this.path, signal, async (fire) => {
          const now = await this.session.getChildren(this.path, { watch: fire });
          if (sortBySequence(now.children, CANDIDATE.prefixes).length > 0) fire();
        });
        continue;
      }
      const path = join(this.path, first);
      try {
        tell(dec((await this.session.getData(path)).data));
      } catch (error) {
        if (hasCode(error, 'NoNode')) continue;
        throw error;
      }
      await untilAnyGone(this.session, [path], signal);
    }
  }

  private async firstCandidate(): Promise<string | null> {
    try {
      const { children } = await this.session.getChildren(this.path);
      return sortBySequence(children, CANDIDATE.prefixes)[0] ?? null;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return null;
      throw error;
    }
  }
}
