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
          .then((stat) => {
            if (stat !== null) {
              released = true;
              resolve();
            }
          });
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

  /** Leaves, and resolves once every participant has left. */
  async leave(options: AcquireOptions = {}): Promise<void> {
    const deadline = deadlineSignal(timersOf(this.options), options, `barrier ${this.path}`);
    const me = this.options.id;
    try {
      for (let round = 0; round < 10_000; round++) {
        const { children } = await this.session.getChildren(this.path);
        const names = children.filter((name) => name !== READY).sort();
        if (names.length === 0) break;
        const lowest = names[0] as string;
        const highest = names[names.length - 1] as string;
        if (names.length === 1 && lowest === me) {
          await this.session.delete(this.mine);
          break;
        }
        if (lowest === me) {
          await untilAnyGone(this.session, [join(this.path, highest)], deadline.signal);
        } else {
          if (names.includes(me)) await this.session.delete(this.mine);
          await untilAnyGone(this.session, [join(this.path, lowest)], deadline.signal);
        }
      }
      // The last one out takes `ready` down so the barrier can be used again.
      try {
        await this.session.delete(join(this.path, READY));
      } catch (error) {
        if (!hasCode(error, 'NoNode') && !hasCode(error, 'NotEmpty')) throw error;
      }
    } finally {
      deadline.dispose();
    }
  }
}
