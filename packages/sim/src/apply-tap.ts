import { type CairnNode, createNode } from '@cairn/node';
import { MemoryDurableLog, VirtualTime } from '@cairn/node/testing';
import type { Entry, LogIndex, NodeId } from '@cairn/raft';
import type { SessionId, Txn, TxnResult } from '@cairn/znode';

/** What the runtime's state machine reported for one applied entry (its `AppliedCommand`). */
export interface TappedApply {
  readonly kind: 'txn' | 'member' | 'incarnation' | 'claim' | 'confChange' | 'noop';
  readonly index: LogIndex;
  readonly txn?: Txn;
  readonly seq?: number | null;
  readonly outcome?: 'applied' | 'duplicate' | 'gap' | 'moved';
  readonly result?: TxnResult | null;
}

/** The state machine as the tap sees it (the runtime's `StateMachine`, not exported). */
interface Machine {
  apply(entry: Entry): TappedApply;
  restore(data: Uint8Array, index: LogIndex): void;
  applied: LogIndex;
  tree: { digest(): number };
}

export interface ApplyListener {
  applied(entry: Entry, command: TappedApply, digest: number): void;
  restored(index: LogIndex, digest: number): void;
}

type Event =
  | { kind: 'applied'; entry: Entry; command: TappedApply; digest: number }
  | { kind: 'restored'; index: LogIndex; digest: number };

const listeners = new WeakMap<object, ApplyListener>();
/** Events of machines not registered yet (a node applies during `createNode`). */
const buffered = new WeakMap<object, Event[]>();
let installed: Promise<void> | null = null;

/**
 * Taps every state machine of the runtime in this process: each applied entry (with its
 * decoded txn, request number and result) and each snapshot restore, with the tree digest after
 * it. The runtime does not export its `StateMachine`, so the tap wraps the prototype's `apply`
 * and `restore`, found on a throwaway node. Test-only: this is why `sim` is never imported by
 * production code.
 */
export function installApplyTap(): Promise<void> {
  installed ??= install();
  return installed;
}

async function install(): Promise<void> {
  const time = new VirtualTime();
  const probe = await createNode({
    id: 1,
    storage: MemoryDurableLog.bootstrap({
      voters: [1 as NodeId],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    }),
    clock: time,
    timers: time,
  });
  const proto = Object.getPrototypeOf(
    (probe as unknown as { machine: Machine }).machine,
  ) as Machine;
  await probe.close();
  const apply = proto.apply;
  const restore = proto.restore;
  proto.apply = function (this: Machine, entry: Entry): TappedApply {
    const command = apply.call(this, entry);
    emit(this, { kind: 'applied', entry, command, digest: this.tree.digest() });
    return command;
  };
  proto.restore = function (this: Machine, data: Uint8Array, index: LogIndex): void {
    restore.call(this, data, index);
    emit(this, { kind: 'restored', index, digest: this.tree.digest() });
  };
}

function emit(machine: object, event: Event): void {
  const listener = listeners.get(machine);
  if (listener === undefined) {
    let queue = buffered.get(machine);
    if (queue === undefined) {
      queue = [];
      buffered.set(machine, queue);
    }
    queue.push(event);
    return;
  }
  deliver(listener, event);
}

function deliver(listener: ApplyListener, event: Event): void {
  if (event.kind === 'applied') listener.applied(event.entry, event.command, event.digest);
  else listener.restored(event.index, event.digest);
}

/**
 * Routes `node`'s state machine events to `listener` (and replays those it made before). Call
 * again after every step: a snapshot install may give the node a new state machine.
 */
export function tapNode(node: CairnNode, listener: ApplyListener): void {
  const machine = (node as unknown as { machine: object }).machine;
  if (listeners.get(machine) === listener) return;
  listeners.set(machine, listener);
  const queue = buffered.get(machine);
  if (queue === undefined) return;
  buffered.delete(machine);
  for (const event of queue) deliver(listener, event);
}

export type { SessionId };
