import {
  decodeMessage,
  encodeMessage,
  type Message,
  type NodeId,
  type Random,
  seededRandom,
  type Transport,
} from '@cairn/raft';
import { TransportError } from './errors.js';

/** Faults on one direction of one link. Probabilities are in [0, 1]. */
export interface LinkFaults {
  /** Chance that a message is lost. */
  dropProbability?: number;
  /** Rounds a message waits before it can be delivered (0: next round). */
  delayRounds?: number;
  /** Chance that a message is delivered twice. */
  duplicateProbability?: number;
  /** Deliver the messages due in one round in a random order instead of send order. */
  reorder?: boolean;
}

export interface MemoryNetworkOptions {
  /** Seeded: every drop, duplicate and reorder decision comes from it, so a seed replays. */
  random?: Random;
  /** Bound on messages in flight per link; a send beyond it is dropped (as TCP's queue does). */
  queueMessagesMax?: number;
  /**
   * Pass each message through the core's codec, so the receiver gets a copy decoded from the
   * same bytes TCP would carry (and shares no buffer with the sender). Default true.
   */
  codec?: boolean;
}

/** Default bound on messages in flight per link. */
const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
/** `deliverAll` stops after this many rounds: a ping-pong that never ends is a test bug. */
const DELIVER_ROUNDS_MAX_DEFAULT = 10_000;
/** Probabilities are drawn as integers in [0, PROBABILITY_SCALE). */
const PROBABILITY_SCALE = 1_000_000;

interface InFlight {
  message: Message;
  dueRound: number;
  /** Send order, the tie-breaker for messages due in the same round. */
  sequence: number;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}>${to}`;

/**
 * Several nodes' transports in one process, delivered by a scheduler the test drives: nothing
 * moves until `tick()` (one round) or `deliverAll()`. No timers, no sockets. Faults are set
 * per direction of each link (`setLink`), and partitions cut links wholesale, symmetric or
 * one-way (RELIABILITY.md F1-F3). Messages cut by a partition report their target as
 * unreachable to the sender on the next round, as a failed TCP dial would.
 */
export class MemoryNetwork {
  private readonly random: Random;
  private readonly queueMessagesMax: number;
  private readonly codec: boolean;
  private readonly transports = new Map<NodeId, MemoryTransport>();
  private readonly faults = new Map<string, LinkFaults>();
  /** Directions that deliver nothing: `from>to`. */
  private readonly cut = new Set<string>();
  private readonly inFlight = new Map<string, InFlight[]>();
  private readonly unreachableReports: { from: NodeId; to: NodeId }[] = [];
  private round = 0;
  private sequence = 0;
  /** Counters tests can assert on. */
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.random = options.random ?? seededRandom(1);
    this.queueMessagesMax = options.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT;
    this.codec = options.codec ?? true;
  }

  /** The transport of node `id` (created once; a closed one stays closed). */
  transport(id: number): MemoryTransport {
    const nodeId = id as NodeId;
    let transport = this.transports.get(nodeId);
    if (transport === undefined) {
      transport = new MemoryTransport(this, nodeId);
      this.transports.set(nodeId, transport);
    }
    return transport;
  }

  setLink(from: number, to: number, faults: LinkFaults): void {
    for (const p of [faults.dropProbability, faults.duplicateProbability]) {
      if (p !== undefined && !(p >= 0 && p <= 1)) {
        throw new TransportError('ConfigInvalid', `probability ${p} outside [0, 1]`);
      }
    }
    this.faults.set(linkKey(from as NodeId, to as NodeId), faults);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(groupA: readonly number[], groupB: readonly number[]): void {
    for (const a of groupA) {
      for (const b of groupB) {
        this.cut.add(linkKey(a as NodeId, b as NodeId));
        this.cut.add(linkKey(b as NodeId, a as NodeId));
      }
    }
  }

  /** Cuts `from -> to` only: `to` still reaches `from` (a half-failed switch, F2). */
  partitionOneWay(from: number, to: number): void {
    this.cut.add(linkKey(from as NodeId, to as NodeId));
  }

  /** Removes every partition and every link fault. Messages in flight stay in flight. */
  heal(): void {
    this.cut.clear();
    this.faults.clear();
  }

  /** Messages waiting for a round. */
  get pending(): number {
    let n = 0;
    for (const queue of this.inFlight.values()) n += queue.length;
    return n;
  }

  /** Called by `MemoryTransport.send`. */
  enqueue(message: Message): void {
    this.stats.sent++;
    const key = linkKey(message.from, message.to);
    const target = this.transports.get(message.to);
    if (target === undefined || target.closed) {
      this.stats.dropped++;
      return;
    }
    if (this.cut.has(key)) {
      this.stats.dropped++;
      this.unreachableReports.push({ from: message.from, to: message.to });
      return;
    }
    const faults = this.faults.get(key) ?? {};
    if (this.chance(faults.dropProbability)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.chance(faults.duplicateProbability) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    let queue = this.inFlight.get(key);
    if (queue === undefined) {
      queue = [];
      this.inFlight.set(key, queue);
    }
    for (let copy = 0; copy < copies; copy++) {
      if (queue.length >= this.queueMessagesMax) {
        this.stats.dropped++;
        continue;
      }
      const carried = this.codec ? decodeMessage(encodeMessage(message)) : message;
      const dueRound = this.round + 1 + (faults.delayRounds ?? 0);
      queue.push({ message: carried, dueRound, sequence: this.sequence++ });
    }
  }

  /**
   * One round: reports unreachable peers, then delivers every message due by now, link by link
   * in sorted order, each link in send order (or shuffled when `reorder` is set). Messages sent
   * while delivering are due next round. Returns how many were delivered.
   */
  tick(): number {
    this.round++;
    for (const { from, to } of this.unreachableReports.splice(0)) {
      this.transports.get(from)?.reportUnreachable(to);
    }
    const due: InFlight[] = [];
    for (const key of [...this.inFlight.keys()].sort()) {
      const queue = this.inFlight.get(key) ?? [];
      const ready = queue.filter((item) => item.dueRound <= this.round);
      if (ready.length === 0) continue;
      this.inFlight.set(
        key,
        queue.filter((item) => item.dueRound > this.round),
      );
      if (this.cut.has(key)) {
        // Cut while in flight: lost, as bytes in a dead connection are.
        this.stats.dropped += ready.length;
        continue;
      }
      if (this.faults.get(key)?.reorder === true) this.shuffle(ready);
      due.push(...ready);
    }
    let delivered = 0;
    for (const item of due) {
      const target = this.transports.get(item.message.to);
      if (target === undefined || target.closed) {
        this.stats.dropped++;
        continue;
      }
      if (!target.deliver(item.message)) {
        this.stats.dropped++;
        continue;
      }
      delivered++;
      this.stats.delivered++;
    }
    return delivered;
  }

  /** Ticks until nothing is in flight or `roundsMax` rounds passed; returns messages delivered. */
  deliverAll(roundsMax = DELIVER_ROUNDS_MAX_DEFAULT): number {
    let delivered = 0;
    for (let r = 0; r < roundsMax; r++) {
      if (this.pending === 0 && this.unreachableReports.length === 0) return delivered;
      delivered += this.tick();
    }
    return delivered;
  }

  /** Drops what is in flight on `from -> to` (the sender removed that peer). */
  dropInFlight(from: NodeId, to: NodeId): void {
    const key = linkKey(from, to);
    this.stats.dropped += this.inFlight.get(key)?.length ?? 0;
    this.inFlight.delete(key);
  }

  private chance(probability: number | undefined): boolean {
    if (probability === undefined || probability <= 0) return false;
    return this.random.nextInt(PROBABILITY_SCALE) < probability * PROBABILITY_SCALE;
  }

  private shuffle(items: InFlight[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.random.nextInt(i + 1);
      const a = items[i] as InFlight;
      items[i] = items[j] as InFlight;
      items[j] = a;
    }
  }
}

/** One node's end of a `MemoryNetwork`: the memory twin of `TcpTransport`. */
export class MemoryTransport implements Transport {
  private messageHandler: (message: Message) => void = () => {};
  private unreachableHandler: (peer: NodeId) => void = () => {};
  private started = false;
  private isClosed = false;
  /** Peers forgotten by `removePeer`: nothing is sent to them or delivered from them. */
  private readonly removed = new Set<NodeId>();
  private readonly addresses = new Map<NodeId, string>();

  constructor(
    private readonly network: MemoryNetwork,
    readonly nodeId: NodeId,
  ) {}

  send(messages: readonly Message[]): void {
    if (this.isClosed) return;
    for (const message of messages) {
      if (this.removed.has(message.to)) this.network.stats.dropped++;
      else this.network.enqueue(message);
    }
  }

  /**
   * The port's `setPeer`. The network routes by node id, so the address is only recorded
   * (`peerAddress`); what the call changes is that a removed peer is a peer again. Throws
   * `ConfigInvalid` for an empty address, as a real transport throws for a malformed one.
   */
  setPeer(peer: NodeId, address: string): void {
    if (address.length === 0) {
      throw new TransportError('ConfigInvalid', `peer ${peer}: empty address`);
    }
    if (peer === this.nodeId) return;
    this.removed.delete(peer);
    this.addresses.set(peer, address);
  }

  /** The port's `removePeer`: drops what is in flight to the peer; nothing passes either way. */
  removePeer(peer: NodeId): void {
    if (peer === this.nodeId) return;
    this.removed.add(peer);
    this.addresses.delete(peer);
    this.network.dropInFlight(this.nodeId, peer);
  }

  /** The address last set for `peer` with `setPeer`, or null. */
  peerAddress(peer: number): string | null {
    return this.addresses.get(peer as NodeId) ?? null;
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async close(): Promise<void> {
    this.isClosed = true;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Called by the network on a tick; false when the message is lost (this transport is not
   * started, is closed, or removed the sender).
   */
  deliver(message: Message): boolean {
    if (!this.started || this.isClosed || this.removed.has(message.from)) return false;
    this.messageHandler(message);
    return true;
  }

  reportUnreachable(peer: NodeId): void {
    if (this.started && !this.isClosed) this.unreachableHandler(peer);
  }
}
