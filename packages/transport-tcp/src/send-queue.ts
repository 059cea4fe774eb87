import type { Message } from '@cairn/raft';

/** One queued message and its encoded body (encoded once, when queued). */
export interface QueuedMessage {
  readonly message: Message;
  readonly body: Uint8Array;
}

/** Bytes a frame adds around a message body: the 4-byte length and the kind byte. */
const FRAME_OVERHEAD_BYTES = 5;

const NOTHING_DROPPED: readonly Message[] = [];

/**
 * A bounded FIFO of encoded messages for one peer, bounded twice: at most `messagesMax`
 * messages and at most `bytesMax` bytes of frames (body plus frame head). A push that would
 * break either bound drops the oldest `Heartbeat` or `Append` first (the leader resends both:
 * the next heartbeat, or a probe after a rejected or missing append), and only when there is
 * none the oldest message of any type, as many as it takes. A message that alone exceeds
 * `bytesMax` is dropped itself instead of emptying the queue for it. Memory stays bounded
 * whatever the message sizes; Raft tolerates loss (STYLE.md §5).
 */
export class SendQueue {
  private items: QueuedMessage[] = [];
  /** Index of the first live item: shifting an array per message would be O(n). */
  private head = 0;
  /** Invariant: the frame bytes of the live items (`items` from `head` on). */
  private queuedBytes = 0;

  constructor(
    private readonly messagesMax: number,
    private readonly bytesMax: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Frame bytes queued: body plus frame head of every message. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Appends; returns the messages dropped to make room (possibly the pushed one itself). */
  push(message: Message, body: Uint8Array): readonly Message[] {
    const size = body.length + FRAME_OVERHEAD_BYTES;
    if (size > this.bytesMax) return [message];
    let dropped = NOTHING_DROPPED;
    while (this.length >= this.messagesMax || this.queuedBytes + size > this.bytesMax) {
      if (dropped === NOTHING_DROPPED) {
        dropped = [];
        this.compact();
      }
      (dropped as Message[]).push(this.dropOne());
    }
    this.items.push({ message, body });
    this.queuedBytes += size;
    return dropped;
  }

  shift(): QueuedMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as QueuedMessage;
    this.head++;
    this.queuedBytes -= item.body.length + FRAME_OVERHEAD_BYTES;
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /** Removes the oldest Heartbeat or Append, else the oldest message. Needs `head === 0`. */
  private dropOne(): Message {
    let victim = this.items.findIndex(
      (item) => item.message.type === 'Heartbeat' || item.message.type === 'Append',
    );
    if (victim === -1) victim = 0;
    const [item] = this.items.splice(victim, 1) as [QueuedMessage];
    this.queuedBytes -= item.body.length + FRAME_OVERHEAD_BYTES;
    return item.message;
  }

  private compact(): void {
    if (this.head === 0) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
