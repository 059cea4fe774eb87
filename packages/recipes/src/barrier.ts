/**
 * Barriers (ZooKeeper's recipes).
 *
 * `Barrier`: a znode that holds processes back while it exists: `set()` raises it, `remove()`
 * lowers it, `wait()` resolves once it is gone. The barrier znode is persistent, so it
 * survives the expiry of whoever set it (remove it explicitly).
 *
 * `DoubleBarrier`: `count` participants `enter()` together and `leave()` together. Each enters
 * with an ephemeral znode; the one that sees `count` of them creates `ready`, which releases
 * every waiting `enter`. Leaving follows ZooKeeper's recipe (the lowest waits for the highest,
 * the others delete and wait for the lowest), so `leave` resolves once every participant has
 * left. A participant whose session expires leaves implicitly (its znode goes with it); one
 * that expires before `count` have entered means the others wait until `timeoutMs`.
 *
 * Reusable across rounds by a fixed group of `count` participants: the last one out removes
 * `ready` together with its znode, so the round ends atomically, and `leave` returns once
 * `ready` of its round is gone even if a faster participant has already entered the next
 * round. A participant that joins while a round is still up (its `ready` exists) passes `enter`
 * at once, as in ZooKeeper's recipe: start with the whole group, not a newcomer mid-round.
 */
import type { Session } from '@cairn/node';
import {
  deadlineSignal,
  enc,
  endedError,
  ensurePath,
  hasCode,
  join,
  type RecipeOptions,
  timersOf,
  untilAnyGone,
} from './internal/util.js';
import type { AcquireOptions } from './mutex.js';

export class Barrier {
  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly options: RecipeOptions = {},
  ) {}

  /** Raises the barrier (fine if it is up already). */
  async set(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await ensurePath(this.session, parent);
    try {
      await this.session.create(this.path);
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) throw error;
    }
  }

  /** Lowers the barrier (fine if it is down already). */
  async remove(): Promise<void> {
    try {
      await this.session.delete(this.path);
    } catch (error) {
      if (!hasCode(error, 'NoNode')) throw error;
    }
  }

  /** Resolves once the barrier is down (at once if it is). */
  async wait(options: AcquireOptions = {}): Promise<void> {
    const deadline = deadlineSignal(timersOf(this.options), options, `barrier ${this.path}`);
    try {
      await untilAnyGone(this.session, [this.path], deadline.signal);
    } finally {
      deadline.dispose();
    }
  }
}

export interface DoubleBarrierOptions extends RecipeOptions {
  /** This participant's name (unique among the participants). */
  readonly id: string;
  /** How many participants the barrier waits for. */
  readonly count: number;
}

const READY = 'ready';

export class DoubleBarrier {
  private readonly mine: string;
  /** The czxid of this round's `ready` (set once `enter` passes), or null between rounds. */
  private round: number | null = null;

  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly options: DoubleBarrierOptions,
  ) {
    this.mine = join(path, options.id);
  }

  /** Enters, and resolves once `count` participants have entered. */
  async enter(options: AcquireOptions = {}): Promise<void> {
    const deadline = deadlineSignal(timersOf(this.options), options, `barrier ${this.path}`);
    const readyPath = join(this.path, READY);
    try {
      await ensurePath(this.session, this.path);
      let released = false;
      const readyNow = new Promise<void>((resolve) => {
        void this.session
          .exists(readyPath, {
            watch: () => {
              released = true;
              resolve();
            },
          })
          .then(
            (stat) => {
              if (stat !== null) {
                released = true;
                resolve();
              }
            },
            // The session ended: the state listener below rejects the wait.
            () => {},
          );
      });
      await this.session.create(this.mine, enc(this.options.id), { mode: 'ephemeral' });
      const { children } = await this.session.getChildren(this.path);
      if (children.filter((name) => name !== READY).length >= this.options.count) {
        try {
          await this.session.create(readyPath);
        } catch (error) {
          if (!hasCode(error, 'NodeExists')) throw error;
        }
      }
      if (!released) {
        let off = (): void => {};
        try {
          await new Promise<void>((resolve, reject) => {
            readyNow.then(resolve);
            deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), {
              once: true,
            });
            off = this.session.onStateChange(() => {
              const ended = endedError(this.session);
              if (ended !== null) reject(ended);
            });
          });
        } finally {
          off();
        }
      }
      this.round = (await this.session.exists(readyPath))?.czxid ?? null;
    } catch (error) {
      try {
        await this.session.delete(this.mine);
      } catch {
        // Not created, or gone with the session.
      }
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Leaves, and resolves once every participant has left. The last one out deletes its znode
   * and `ready` in one multi, which ends the round: a participant still in `leave` then returns
   * even if a faster one has already entered the next round.
   */
  async leave(options: AcquireOptions = {}): Promise<void> {
    const deadline = deadlineSignal(timersOf(this.options), options, `barrier ${this.path}`);
    const me = this.options.id;
    const readyPath = join(this.path, READY);
    try {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        // One local read of both: `ready` and the names are from the same applied state.
        const [ready, listed] = await this.session.multiRead([
          { type: 'getData', path: readyPath },
          { type: 'getChildren', path: this.path },
        ]);
        if (ready === undefined || !ready.ok) break; // the round is over
        if (this.round !== null && ready.stat.czxid !== this.round) break; // a later round's
        const children = listed?.ok && 'children' in listed ? listed.children : [];
        const names = children.filter((name) => name !== READY).sort();
        if (names.length === 0) {
          // The last one out ended without ending the round (its session expired): end it.
          await this.deleteQuietly(readyPath, ready.stat.version);
          break;
        }
        const lowest = names[0] as string;
        const highest = names[names.length - 1] as string;
        if (names.length === 1 && lowest === me) {
          await this.leaveLast(readyPath, ready.stat.version);
          break;
        }
        if (lowest === me) {
          await untilAnyGone(this.session, [join(this.path, highest), readyPath], deadline.signal);
        } else {
          if (names.includes(me)) await this.session.delete(this.mine);
          await untilAnyGone(this.session, [join(this.path, lowest), readyPath], deadline.signal);
        }
      }
      this.round = null;
    } finally {
      deadline.dispose();
    }
  }

  /** Deletes our znode and `ready` together; NoNode on `ready` means someone ended the round. */
  private async leaveLast(readyPath: string, readyVersion: number): Promise<void> {
    try {
      await this.session.multi([
        { type: 'delete', path: this.mine, version: -1 },
        { type: 'delete', path: readyPath, version: readyVersion },
      ]);
    } catch (error) {
      if (!hasCode(error, 'NoNode') && !hasCode(error, 'BadVersion')) throw error;
      await this.deleteQuietly(this.mine, -1);
    }
  }

  private async deleteQuietly(path: string, version: number): Promise<void> {
    try {
      await this.session.delete(path, version);
    } catch (error) {
      if (!hasCode(error, 'NoNode') && !hasCode(error, 'BadVersion')) throw error;
    }
  }
}
