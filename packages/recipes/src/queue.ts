/**
 * A distributed FIFO queue (ZooKeeper's queue recipe): `put` creates a persistent-sequential
 * znode under the queue's path; `take` reads the children in sequence order and deletes the
 * first it can, and the one whose delete succeeds owns that item. A PriorityQueue puts the
 * priority in the name ahead of the sequence number, so lower priorities come out first and
 * equal ones in FIFO order.
 *
 * Guarantee: each item is taken at most once (only one delete of a znode can succeed), and
 * every item put is eventually taken while takers keep taking. It is taken exactly once unless
 * the taker dies between its delete and using the item. Items are persistent: session expiry
 * loses no item; a `take` waiting on an expired session rejects with SessionExpired.
 *
 * Waiting takers watch the queue's children, so a put wakes all of them (a herd bounded by the
 * number of waiting takers); each then races to delete, and the losers wait again.
 */
import type { Session } from '@cairn/node';
import {
  deadlineSignal,
  ensurePath,
  hasCode,
  join,
  type RecipeOptions,
  sequenceOf,
  timersOf,
  untilChildrenChange,
} from './internal/util.js';
import type { AcquireOptions } from './mutex.js';

const ITEM = 'item-';

export class DistributedQueue {
  constructor(
    protected readonly session: Session,
    readonly path: string,
    protected readonly options: RecipeOptions = {},
  ) {}

  /** Adds an item; resolves with its znode path. */
  async put(data: Uint8Array): Promise<string> {
    return this.putNamed(ITEM, data);
  }

  /** The number of items now (a local read). */
  async size(): Promise<number> {
    return (await this.names()).length;
  }

  /** Takes the first item, or null when the queue is empty. */
  async poll(): Promise<Uint8Array | null> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const names = await this.names();
      if (names.length === 0) return null;
      for (const name of names) {
        const taken = await this.tryTake(join(this.path, name));
        if (taken !== null) return taken;
      }
    }
    return null;
  }

  /** Takes the first item, waiting for one (OperationTimeout, abort, SessionExpired). */
  async take(options: AcquireOptions = {}): Promise<Uint8Array> {
    const deadline = deadlineSignal(timersOf(this.options), options, `queue ${this.path}`);
    try {
      await ensurePath(this.session, this.path);
      for (;;) {
        deadline.signal.throwIfAborted();
        const item = await this.poll();
        if (item !== null) return item;
        await untilChildrenChange(this.session, this.path, deadline.signal, async (fire) => {
          const { children } = await this.session.getChildren(this.path, { watch: fire });
          if (this.sorted(children).length > 0) fire();
        });
      }
    } finally {
      deadline.dispose();
    }
  }

  protected async putNamed(prefix: string, data: Uint8Array): Promise<string> {
    await ensurePath(this.session, this.path);
    return this.session.create(join(this.path, prefix), data, { mode: 'persistent-sequential' });
  }

  /** Item names in the order they are taken. */
  protected sorted(names: readonly string[]): string[] {
    return names
      .filter((name) => name.startsWith(ITEM))
      .sort((a, b) => sequenceOf(a) - sequenceOf(b));
  }

  private async names(): Promise<string[]> {
    try {
      return this.sorted((await this.session.getChildren(this.path)).children);
    } catch (error) {
      if (hasCode(error, 'NoNode')) return [];
      throw error;
    }
  }

  private async tryTake(path: string): Promise<Uint8Array | null> {
    try {
      const { data } = await this.session.getData(path);
      await this.session.delete(path);
      return data;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return null; // Another taker won it.
      throw error;
    }
  }
}

/** Priorities are integers in [0, 999999]; lower comes out first, FIFO among equals. */
export class PriorityQueue extends DistributedQueue {
  override put(data: Uint8Array, priority = 0): Promise<string> {
    if (!Number.isSafeInteger(priority) || priority < 0 || priority > 999_999)
      throw new RangeError(`priority must be an integer in [0, 999999], got ${priority}`);
    return this.putNamed(`${ITEM}${String(priority).padStart(6, '0')}-`, data);
  }

  protected override sorted(names: readonly string[]): string[] {
    // item-PPPPPP-SSSSSSSSSS: the name order is priority, then sequence.
    return names.filter((name) => name.startsWith(ITEM)).sort();
  }
}
