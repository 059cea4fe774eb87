import type { Message } from '@cairn/raft';

/**
 * A bounded FIFO of messages for one peer. When full, a push drops the oldest `Heartbeat` or
 * `Append` first (the leader resends both: the next heartbeat, or a probe after a rejected or
 * missing append), and only when there is none the oldest message of any type. Memory stays
 * bounded; Raft tolerates loss (STYLE.md §5).
 */
export class SendQueue {
  private items: Message[] = [];
  /** Index of the first live item: shifting an array per message would be O(n). */
  private head = 0;
  private readonly messagesMax: number;

  constructor(messagesMax: number) {
    this.messagesMax = messagesMax;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends; returns the message dropped to make room, or null. */
  push(message: Message): Message | null {
    let dropped: Message | null = null;
    if (this.length >= this.messagesMax) {
      this.compact();
      let victim = this.items.findIndex((m) => m.type === 'Heartbeat' || m.type === 'Append');
      if (victim === -1) victim = 0;
      dropped = this.items[victim] ?? null;
      this.items.splice(victim, 1);
    }
    this.items.push(message);
    return dropped;
  }

  shift(): Message | undefined {
    if (this.head >= this.items.length) return undefined;
    const message = this.items[this.head];
    this.head++;
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
    return message;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === 0) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
