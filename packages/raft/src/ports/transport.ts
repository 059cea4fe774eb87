import type { NodeId } from '../ids.js';
import type { Message } from '../messages.js';

/**
 * Moves core messages between members. Implementations (TCP, memory, a channel the service
 * already has) must never block the caller: `send` queues and returns; a queue that is full
 * drops (Raft resends; unbounded memory it cannot survive). Delivery may lose, delay, duplicate
 * or reorder messages across connections; within one connection it should keep order.
 * `Snapshot` messages carry the whole snapshot; an implementation may chunk it on the wire and
 * must reassemble it before delivering. Membership changes reach a transport through the
 * optional `setPeer`/`removePeer` pair. `@cairn/raft/testing` has the conformance suite.
 */
export interface Transport {
  /** Queues messages for their `to` members; never throws for an unknown or unreachable peer. */
  send(messages: readonly Message[]): void;
  /** Sets where delivered messages go. Called once, before `start`. */
  onMessage(handler: (message: Message) => void): void;
  /** Sets who hears that a peer could not be reached (the runtime tells the core). */
  onUnreachable(handler: (peer: NodeId) => void): void;
  /**
   * Optional capability, with `removePeer`: implement both or neither. A transport whose peers
   * have addresses (TCP, WebSocket) implements them so membership changes reach it; one that
   * reaches peers by id alone (a bus topic per node, an in-process gate) may leave both out,
   * and the runtime then never tells it about membership.
   *
   * Adds peer `peer` at `address`, or moves it there: messages sent to `peer` after this call
   * go to `address` (what was already queued for it may still go to the old one), and messages
   * from `peer` are delivered again if it was removed. The address format is the
   * implementation's (`host:port` for TCP); a malformed one throws at once, since it is a
   * configuration error, never a network one. Setting this node's own id is ignored. May be
   * called before or after `start`; takes effect without blocking.
   */
  setPeer?(peer: NodeId, address: string): void;
  /**
   * Forgets peer `peer` (it left the cluster): what is queued for it is dropped, its
   * connections close, later `send`s to it are dropped as for an unknown peer (never a throw),
   * and nothing it sends is delivered until `setPeer` adds it again. Removing an unknown peer,
   * or this node's own id, does nothing.
   */
  removePeer?(peer: NodeId): void;
  /** Starts listening and connecting. */
  start(): Promise<void>;
  /** Stops: closes connections and listeners, drops queued messages, leaves no timer behind. */
  close(): Promise<void>;
}
