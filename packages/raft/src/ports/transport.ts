import type { NodeId } from '../ids.js';
import type { Message } from '../messages.js';

/**
 * Moves core messages between members. Implementations (TCP, memory, a channel the service
 * already has) must never block the caller: `send` queues and returns; a queue that is full
 * drops (Raft resends; unbounded memory it cannot survive). Delivery may lose, delay, duplicate
 * or reorder messages across connections; within one connection it should keep order.
 * `Snapshot` messages carry the whole snapshot; an implementation may chunk it on the wire and
 * must reassemble it before delivering. `@cairn/raft/testing` has the conformance suite.
 */
export interface Transport {
  /** Queues messages for their `to` members; never throws for an unknown or unreachable peer. */
  send(messages: readonly Message[]): void;
  /** Sets where delivered messages go. Called once, before `start`. */
  onMessage(handler: (message: Message) => void): void;
  /** Sets who hears that a peer could not be reached (the runtime tells the core). */
  onUnreachable(handler: (peer: NodeId) => void): void;
  /** Starts listening and connecting. */
  start(): Promise<void>;
  /** Stops: closes connections and listeners, drops queued messages, leaves no timer behind. */
  close(): Promise<void>;
}
