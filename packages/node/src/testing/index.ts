import type { Message, NodeId, Transport } from '@cairn/raft';
import { MemoryDurableLog } from '@cairn/storage-level';
import { MemoryNetwork, type MemoryTransport } from '@cairn/transport-tcp';
import { type Clock, seededNodeRandom, type TimerHandle, type Timers } from '../env.js';
import { type CairnNode, createNode } from '../node.js';
import type { NodeOptions } from '../options.js';

interface Scheduled {
  due: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** Lets pending promise callbacks run (one real macrotask: every queued microtask drains first). */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A virtual clock and timers: nothing happens until `advance`, which runs due callbacks in
 * order of due time (then of scheduling) and lets promises settle after each. One seed and one
 * sequence of calls give one run.
 */
export class VirtualTime implements Clock, Timers {
  private nowMs: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const item: Scheduled = {
      due: this.nowMs + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.insert(item);
    return item as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as unknown as Scheduled).cancelled = true;
  }

  setImmediate(callback: () => void): void {
    this.insert({ due: this.nowMs, seq: this.seq++, callback, cancelled: false });
  }

  private insert(item: Scheduled): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.queue[mid] as Scheduled;
      if (at.due < item.due || (at.due === item.due && at.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Runs everything due within `ms` of virtual time. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    await drain();
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.due > end) break;
      this.queue.shift();
      if (next.cancelled) continue;
      this.nowMs = Math.max(this.nowMs, next.due);
      next.callback();
      await drain();
    }
    this.nowMs = end;
  }

  /** Timers still scheduled (cancelled ones excluded): a closed cluster should leave none. */
  get scheduled(): number {
    return this.queue.filter((item) => !item.cancelled).length;
  }
}

/**
 * One node's view of a shared `MemoryNetwork` that survives restarts: the network keeps one
 * transport per id forever, and each incarnation of the node gets a fresh gate onto it.
 */
class Gate implements Transport {
  private handler: (message: Message) => void = () => {};
  private unreachable: (peer: NodeId) => void = () => {};
  open = false;
  constructor(private readonly inner: MemoryTransport) {}
  send(messages: readonly Message[]): void {
    if (this.open) this.inner.send(messages);
  }
  onMessage(handler: (message: Message) => void): void {
    this.handler = handler;
  }
  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachable = handler;
  }
  deliver(message: Message): void {
    if (this.open) this.handler(message);
  }
  reportUnreachable(peer: NodeId): void {
    if (this.open) this.unreachable(peer);
  }
  async start(): Promise<void> {
    this.open = true;
  }
  async close(): Promise<void> {
    this.open = false;
  }
}

export interface TestClusterOptions {
  readonly size?: number;
  readonly seed?: number;
  /** Virtual milliseconds per Raft tick. Default 10. */
  readonly tickMs?: number;
  /** Virtual milliseconds per network round. Default 1. */
  readonly roundMs?: number;
  /** Options passed to every node. */
  readonly node?: Partial<NodeOptions>;
}

/**
 * Several real `CairnNode`s in one process on a `MemoryNetwork`, memory storage and virtual
 * time: deterministic from `seed`, fast (no real waiting), and able to kill, restart and
 * partition members.
 */
export class TestCluster {
  readonly time: VirtualTime;
  readonly network: MemoryNetwork;
  readonly nodes = new Map<number, CairnNode>();
  readonly storages = new Map<number, MemoryDurableLog>();
  private readonly gates = new Map<number, Gate>();
  private roundTimer: TimerHandle | null = null;
  private readonly founders: number[];

  private constructor(
    private readonly options: TestClusterOptions,
    readonly seed: number,
  ) {
    this.time = new VirtualTime();
    this.network = new MemoryNetwork({ random: seededNodeRandom(seed) });
    const size = options.size ?? 3;
    this.founders = Array.from({ length: size }, (_, i) => i + 1);
  }

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const cluster = new TestCluster(options, options.seed ?? 1);
    cluster.pump();
    for (const id of cluster.founders) await cluster.startNode(id);
    await cluster.waitFor(() => cluster.leader() !== null, 10_000, 'a leader');
    return cluster;
  }

  private pump(): void {
    const roundMs = this.options.roundMs ?? 1;
    this.roundTimer = this.time.setTimeout(() => {
      this.network.tick();
      this.pump();
    }, roundMs);
  }

  private gate(id: number): Gate {
    let gate = this.gates.get(id);
    if (gate === undefined) {
      const inner = this.network.transport(id);
      gate = new Gate(inner);
      const g = gate;
      inner.onMessage((m) => g.deliver(m));
      inner.onUnreachable((p) => g.reportUnreachable(p));
      void inner.start();
      this.gates.set(id, gate);
    }
    return gate;
  }

  /** Starts (or restarts on its old storage) node `id`; `join` for a node the cluster will add. */
  async startNode(id: number, options: { join?: boolean } = {}): Promise<CairnNode> {
    let storage = this.storages.get(id);
    if (storage === undefined) {
      storage = options.join
        ? new MemoryDurableLog()
        : MemoryDurableLog.bootstrap({
            voters: this.founders as NodeId[],
            votersOutgoing: [],
            learners: [],
            learnersNext: [],
            autoLeave: false,
          });
      this.storages.set(id, storage);
    }
    const gate = this.gate(id);
    const node = await createNode({
      id,
      members: this.founders,
      join: options.join ?? false,
      storage,
      transport: gate,
      clock: this.time,
      timers: this.time,
      random: seededNodeRandom(this.seed * 1000 + id),
      tickMs: this.options.tickMs ?? 10,
      sessionTimeoutMinMs: 100,
      ...this.options.node,
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Stops node `id` (its storage is kept, as a crashed process keeps its synced disk). */
  async kill(id: number): Promise<void> {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    this.nodes.delete(id);
    const closing = node.close();
    await this.time.advance(0);
    await closing;
  }

  async restart(id: number): Promise<CairnNode> {
    await this.kill(id);
    return this.startNode(id);
  }

  node(id: number): CairnNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} is not running`);
    return node;
  }

  leader(): CairnNode | null {
    for (const node of this.nodes.values()) if (node.status().role === 'leader') return node;
    return null;
  }

  /** A running node that is not the leader. */
  follower(): CairnNode {
    for (const node of this.nodes.values()) if (node.status().role !== 'leader') return node;
    throw new Error('no follower');
  }

  async run(ms: number): Promise<void> {
    await this.time.advance(ms);
  }

  /** Advances virtual time until `promise` settles (at most `maxMs`), and returns its outcome. */
  async settle<T>(promise: Promise<T>, maxMs = 60_000, stepMs = 5): Promise<T> {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown };
    let outcome: Outcome | null = null;
    promise.then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    for (let waited = 0; waited <= maxMs; waited += stepMs) {
      await this.time.advance(stepMs);
      const settled = outcome as Outcome | null;
      if (settled !== null) {
        if (settled.ok) return settled.value;
        throw settled.error;
      }
    }
    throw new Error(`not settled within ${maxMs} virtual ms`);
  }

  /** Advances virtual time until `predicate` holds (at most `maxMs`). */
  async waitFor(
    predicate: () => boolean,
    maxMs = 60_000,
    what = 'condition',
    stepMs = 5,
  ): Promise<void> {
    for (let waited = 0; waited <= maxMs; waited += stepMs) {
      if (predicate()) return;
      await this.time.advance(stepMs);
    }
    throw new Error(`${what} not reached within ${maxMs} virtual ms (seed ${this.seed})`);
  }

  async close(): Promise<void> {
    const closing = [...this.nodes.values()].map((node) => node.close());
    this.nodes.clear();
    await this.time.advance(0);
    await Promise.all(closing);
    if (this.roundTimer !== null) this.time.clearTimeout(this.roundTimer);
    this.roundTimer = null;
  }
}

export { MemoryDurableLog, MemoryNetwork };
