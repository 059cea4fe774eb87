import type { Clock, TimerHandle, Timers } from '@cairn/node';
import type { VirtualTime } from '@cairn/node/testing';
import type { Message, NodeId, Transport } from '@cairn/raft';
import type { CrashTap } from './crash-points.js';

interface Handle {
  cancelled: boolean;
  inner: TimerHandle | null;
}

/**
 * One node's view of virtual time: its own clock offset (clock jumps, F7) and timers that a
 * pause stalls (F6: a stopped process neither ticks nor finishes its disk writes). Each
 * incarnation of a node gets a fresh generation: timers of a crashed one never fire.
 */
export class NodeEnv implements Clock, Timers {
  offsetMs = 0;
  private paused = false;
  private deferred: (() => void)[] = [];
  private generation = 0;

  constructor(private readonly time: VirtualTime) {}

  now(): number {
    return this.time.now() + this.offsetMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle: Handle = { cancelled: false, inner: null };
    const generation = this.generation;
    handle.inner = this.time.setTimeout(() => this.run(generation, handle, callback), delayMs);
    return handle as unknown as TimerHandle;
  }

  clearTimeout(timer: TimerHandle): void {
    const handle = timer as unknown as Handle;
    handle.cancelled = true;
    if (handle.inner !== null) this.time.clearTimeout(handle.inner);
  }

  setImmediate(callback: () => void): void {
    const generation = this.generation;
    const handle: Handle = { cancelled: false, inner: null };
    this.time.setImmediate(() => this.run(generation, handle, callback));
  }

  /** The process died: nothing it scheduled runs any more. */
  kill(): void {
    this.generation++;
    this.paused = false;
    this.deferred = [];
  }

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  /** Runs what came due while paused, each as its own turn (promises settle in between). */
  resume(): void {
    this.paused = false;
    for (const callback of this.deferred.splice(0)) this.time.setImmediate(callback);
  }

  private run(generation: number, handle: Handle, callback: () => void): void {
    if (generation !== this.generation || handle.cancelled) return;
    if (this.paused) {
      this.deferred.push(() => {
        if (generation === this.generation && !handle.cancelled) callback();
      });
      return;
    }
    callback();
  }
}

/** What a gate sits on: one node's transport of the shared memory network. */
export interface GateTarget {
  send(messages: readonly Message[]): void;
}

/**
 * One node's door onto the shared network, surviving its restarts: closed while the node is
 * down, queueing both ways while it is paused (a stopped process reads its socket later).
 */
export class SimGate implements Transport {
  private handler: (message: Message) => void = () => {};
  private unreachable: (peer: NodeId) => void = () => {};
  private open = false;
  private paused = false;
  private inbox: Message[] = [];
  private outbox: Message[] = [];
  /** Crash point `afterSend`: asked before a batch goes out; set by the cluster. */
  crashTap: CrashTap | null = null;

  constructor(private readonly inner: GateTarget) {}

  send(messages: readonly Message[]): void {
    if (!this.open) return;
    if (this.paused) {
      this.outbox.push(...messages);
      return;
    }
    // Crash point: the first message leaves, then the process dies; the rest never do.
    const first = messages.slice(0, 1);
    if (first.length > 0 && this.crashTap?.('afterSend', () => this.inner.send(first))) return;
    // Crash point: a new vote was persisted; its answer leaves with this batch, then it dies.
    const all = (): void => this.inner.send(messages);
    if (first.length > 0 && this.crashTap?.('afterPersistVote', all)) return;
    this.inner.send(messages);
  }

  onMessage(handler: (message: Message) => void): void {
    this.handler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachable = handler;
  }

  deliver(message: Message): void {
    if (!this.open) return;
    if (this.paused) this.inbox.push(message);
    else this.handler(message);
  }

  reportUnreachable(peer: NodeId): void {
    if (this.open && !this.paused) this.unreachable(peer);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const outbox = this.outbox.splice(0);
    if (outbox.length > 0 && this.open) this.inner.send(outbox);
    for (const message of this.inbox.splice(0)) this.deliver(message);
  }

  /** The process died: what it had queued is gone. */
  kill(): void {
    this.open = false;
    this.paused = false;
    this.inbox = [];
    this.outbox = [];
  }

  async start(): Promise<void> {
    this.open = true;
  }

  async close(): Promise<void> {
    this.open = false;
  }
}
