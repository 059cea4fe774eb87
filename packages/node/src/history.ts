import { type ChangeEvent, isAncestorOrSelf, type Zxid } from '@cairn/znode';

/** What `watch(path, { recursive })` follows: ZooKeeper's persistent and persistent-recursive modes. */
export interface WatchScope {
  readonly path: string;
  readonly recursive: boolean;
}

/**
 * Whether a persistent watch on `scope` sees `event` (ZooKeeper's addWatch semantics): a
 * persistent watch sees its node's created, deleted and data-changed events and its children
 * list changing; a recursive one sees those events on its node and every descendant, but never
 * NodeChildrenChanged (the creates and deletes of the children say it already).
 */
export function inScope(scope: WatchScope, event: ChangeEvent): boolean {
  if (scope.recursive)
    return event.type !== 'NodeChildrenChanged' && isAncestorOrSelf(scope.path, event.path);
  return event.path === scope.path;
}

/**
 * The change events of the most recent applied txns, for resumable watches: a watcher that
 * saw everything up to zxid z asks for what came after z. Bounded by a count of txns; `start`
 * is the zxid after which every change is held (events of txns above it).
 */
export class WatchHistory {
  private readonly txns: { zxid: Zxid; events: readonly ChangeEvent[] }[] = [];
  private head = 0;
  /** Every change with a zxid above this is held. */
  start: Zxid;

  constructor(
    readonly capacity: number,
    start: Zxid,
  ) {
    this.start = start;
  }

  /** Records one applied txn's events (call in log order; txns without events are skipped). */
  record(zxid: Zxid, events: readonly ChangeEvent[]): void {
    if (events.length === 0) return;
    this.txns.push({ zxid, events });
    if (this.txns.length - this.head > this.capacity) {
      this.start = (this.txns[this.head] as { zxid: Zxid }).zxid;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.txns.length) {
        this.txns.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  /** Forgets everything (a snapshot replaced the state): only changes after `zxid` are held. */
  reset(zxid: Zxid): void {
    this.txns.length = 0;
    this.head = 0;
    this.start = zxid;
  }

  /** The events after `fromZxid` in scope, or null when some of them are no longer held. */
  since(fromZxid: number, scope: WatchScope): ChangeEvent[] | null {
    if (fromZxid < this.start) return null;
    const out: ChangeEvent[] = [];
    // Binary search for the first txn above fromZxid.
    let lo = this.head;
    let hi = this.txns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.txns[mid] as { zxid: Zxid }).zxid <= fromZxid) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.txns.length; i++) {
      for (const event of (this.txns[i] as { events: readonly ChangeEvent[] }).events)
        if (inScope(scope, event)) out.push(event);
    }
    return out;
  }
}
