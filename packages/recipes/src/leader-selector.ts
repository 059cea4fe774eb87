/**
 * LeaderSelector (Curator's): runs `task(leadership)` each time this participant becomes the
 * leader, and campaigns again when the task returns (unless `autoRequeue` is false). When the
 * leadership is lost (session suspended or expired), `leadership.signal` aborts: the task must
 * stop at once. The selector then waits for the session to be connected again and re-enters;
 * when the session has expired it stops and `done` rejects with SessionExpired.
 *
 * LeaderLatch (Curator's) is a selector whose task holds the leadership until it is lost or the
 * latch is closed, with `hasLeadership()`, `await()` and change listeners.
 */
import type { Session } from '@cairn/node';
import { type ElectionOptions, LeaderElection } from './election.js';
import { deadlineSignal, hasEnded, timersOf, untilConnected } from './internal/util.js';
import type { Lease } from './lease.js';
import type { AcquireOptions } from './mutex.js';

export interface LeaderSelectorOptions extends ElectionOptions {
  /** Campaign again after the task returns or leadership is lost. Default true. */
  readonly autoRequeue?: boolean;
  /** Hears a task's failure (the selector goes on). */
  readonly onError?: (error: unknown) => void;
}

export class LeaderSelector {
  readonly election: LeaderElection;
  private readonly closing = new AbortController();
  private current: Lease | null = null;
  private done_: Promise<void> | null = null;

  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly task: (leadership: Lease) => Promise<void>,
    private readonly options: LeaderSelectorOptions,
  ) {
    this.election = new LeaderElection(session, path, options);
  }

  /** Starts campaigning (once). */
  start(): void {
    this.done_ ??= this.loop();
    this.done_.catch(() => {});
  }

  /** Settles when the selector stops: after `close()`, or rejects when the session ends. */
  get done(): Promise<void> {
    return this.done_ ?? Promise.resolve();
  }

  /** The leadership while this participant leads (and has not lost it), else null. */
  get leadership(): Lease | null {
    return this.current !== null && !this.current.lost ? this.current : null;
  }

  get isLeader(): boolean {
    return this.leadership !== null;
  }

  /** Stops campaigning; a running task sees its leadership's signal abort. */
  async close(): Promise<void> {
    this.closing.abort(new Error('the selector is closed'));
    await this.current?.release();
    await this.done_?.catch(() => {});
  }

  private async loop(): Promise<void> {
    const signal = this.closing.signal;
    while (!signal.aborted) {
      try {
        await untilConnected(this.session, signal);
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
      let lease: Lease;
      try {
        lease = await this.election.campaign({ signal });
      } catch (error) {
        if (signal.aborted) return;
        if (hasEnded(this.session)) throw error;
        continue; // Suspended during the campaign, or our znode vanished: try again.
      }
      this.current = lease;
      try {
        await this.task(lease);
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.current = null;
        await lease.release();
      }
      if (this.options.autoRequeue === false) return;
    }
  }
}

export class LeaderLatch {
  private readonly selector: LeaderSelector;
  private readonly listeners = new Set<(isLeader: boolean) => void>();
  private readonly waiters = new Set<(lease: Lease) => void>();

  constructor(session: Session, path: string, options: ElectionOptions) {
    const closing = new AbortController();
    this.closing = closing;
    this.selector = new LeaderSelector(
      session,
      path,
      async (lease) => {
        this.tell(true);
        for (const waiter of [...this.waiters]) waiter(lease);
        await new Promise<void>((resolve) => {
          if (lease.signal.aborted || closing.signal.aborted) resolve();
          lease.signal.addEventListener('abort', () => resolve(), { once: true });
          closing.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.tell(false);
      },
      options,
    );
    this.timers = timersOf(options);
  }

  private readonly closing: AbortController;
  private readonly timers: ReturnType<typeof timersOf>;

  get election(): LeaderElection {
    return this.selector.election;
  }

  start(): void {
    this.selector.start();
  }

  hasLeadership(): boolean {
    return this.selector.isLeader;
  }

  /** The current leadership (fencing token, guard, loss signal), or null. */
  get leadership(): Lease | null {
    return this.selector.leadership;
  }

  /** Calls `listener(true)` on gaining and `listener(false)` on losing leadership. */
  onChange(listener: (isLeader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the leadership once this participant leads. */
  async await(options: AcquireOptions = {}): Promise<Lease> {
    const now = this.leadership;
    if (now !== null) return now;
    const deadline = deadlineSignal(this.timers, options, `latch ${this.election.path}`);
    try {
      return await new Promise<Lease>((resolve, reject) => {
        const waiter = (lease: Lease): void => {
          this.waiters.delete(waiter);
          resolve(lease);
        };
        this.waiters.add(waiter);
        deadline.signal.addEventListener(
          'abort',
          () => {
            this.waiters.delete(waiter);
            reject(deadline.signal.reason);
          },
          { once: true },
        );
        this.selector.done.then(
          () => {},
          (error: unknown) => {
            this.waiters.delete(waiter);
            reject(error);
          },
        );
      });
    } finally {
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.selector.close();
  }

  private tell(isLeader: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(isLeader);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
