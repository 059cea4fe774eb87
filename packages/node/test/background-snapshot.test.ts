/**
 * The state machine's snapshot in slices (`beginSnapshot`): begun at applied index S, stepped
 * while entries go on being applied (writes, retries, session closes, members, incarnations,
 * removals, later times), its bytes restore to the same state as `snapshot()` taken at S: the
 * restored machines write byte-identical snapshots, and answer the runtime tables alike
 * (request numbers and results, closed sessions, members, incarnations, departed, time).
 * fast-check draws the entries and the step sizes (seed from CAIRN_SEED). Also: `bytes()`
 * before the end throws, `abort` lets the next job begin, `snapshot()` works meanwhile, and a
 * `restore` during a job leaves the job's snapshot as of its own index. Entries built by hand,
 * no cluster.
 */

import { type Entry, encodeConfChange, type LogIndex, type NodeId, type Term } from '@cairn/raft';
import { type CreateMode, OPEN_ACL_UNSAFE, type SessionId, type Txn } from '@cairn/znode';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Command, encodeCommand } from '../src/command.js';
import { StateMachine } from '../src/state-machine.js';

const SEED = Number(process.env.CAIRN_SEED ?? 20261122);
const T0 = 1_700_000_000_000;
const SESSIONS = [1n, 2n, 3n].map((k) => ((1n << 48n) | k) as SessionId);
const PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/c'];

/** Feeds a machine committed entries at consecutive indexes, each stamped a second later. */
class Feeder {
  readonly machine = new StateMachine();

  private entry(data: Uint8Array, type: Entry['type'] = 'normal'): void {
    const index = (this.machine.applied + 1) as LogIndex;
    this.machine.apply({ term: 1 as Term, index, type, data });
  }

  command(command: Command): void {
    this.entry(encodeCommand(command, T0 + this.machine.applied * 1000));
  }

  /** A request of `sessionId` with its next sequence number (or the last one again: a retry). */
  txn(txn: Txn & { sessionId: SessionId }, retry = false): void {
    const last = this.machine.lastSeq(txn.sessionId) ?? 0;
    const seq = retry ? Math.max(1, last) : last + 1;
    this.command({ kind: 'txn', txn, seq, acked: Math.max(0, seq - 2), epoch: 0 });
  }

  removeNode(nodeId: NodeId): void {
    this.entry(
      encodeConfChange({ changes: [{ type: 'removeNode', nodeId }], transition: 'auto' }),
      'confChange',
    );
  }
}

type Action =
  | { readonly kind: 'step'; readonly nodes: number }
  | { readonly kind: 'open' | 'close'; readonly session: number }
  | {
      readonly kind: 'create';
      readonly session: number;
      readonly path: string;
      readonly mode: CreateMode;
    }
  | {
      readonly kind: 'setData' | 'delete';
      readonly session: number;
      readonly path: string;
      readonly retry: boolean;
    }
  | { readonly kind: 'member' | 'incarnation' | 'remove'; readonly node: number };

const session = fc.nat({ max: SESSIONS.length - 1 });
const path = fc.constantFrom(...PATHS);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      nodes: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open' as const), session }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), session }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      session,
      path,
      mode: fc.constantFrom<CreateMode>('persistent', 'ephemeral', 'persistent-sequential'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('setData' as const, 'delete' as const),
      session,
      path,
      retry: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('member' as const, 'incarnation' as const, 'remove' as const),
      node: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

/** Applies one action as the entries it stands for. */
function play(f: Feeder, action: Exclude<Action, { kind: 'step' }>): void {
  if ('node' in action) {
    const nodeId = action.node as NodeId;
    if (action.kind === 'remove') f.removeNode(nodeId);
    else if (action.kind === 'member')
      f.command({ kind: 'member', nodeId, address: `10.0.0.${nodeId}:2181` });
    else f.command({ kind: 'incarnation', nodeId, incarnation: `i${f.machine.applied}` });
    return;
  }
  const sessionId = SESSIONS[action.session] as SessionId;
  const retry = 'retry' in action && action.retry;
  f.txn(txnOf(action, sessionId), retry);
}

function txnOf(
  action: Extract<Action, { session: number }>,
  sessionId: SessionId,
): Txn & { sessionId: SessionId } {
  switch (action.kind) {
    case 'open':
      return { type: 'createSession', sessionId, timeoutMs: 5000, password: new Uint8Array(16) };
    case 'close':
      return { type: 'closeSession', sessionId, reason: 'close' };
    case 'create':
      return {
        type: 'create',
        sessionId,
        path: action.path,
        data: new Uint8Array(1),
        acl: OPEN_ACL_UNSAFE,
        mode: action.mode,
      };
    case 'setData':
      return {
        type: 'setData',
        sessionId,
        path: action.path,
        data: new Uint8Array(2),
        version: -1,
      };
    case 'delete':
      return { type: 'delete', sessionId, path: action.path, version: -1 };
  }
}

/** Everything a restored machine answers from its tables, for the sessions and members used. */
function tables(machine: StateMachine): unknown {
  return {
    applied: machine.applied,
    time: machine.time,
    members: [...machine.members],
    incarnations: [...machine.incarnations],
    departed: [...machine.departed],
    sessions: SESSIONS.map((id) => ({
      lastSeq: machine.lastSeq(id),
      epoch: machine.epochOf(id),
      results: [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => machine.resultOf(id, seq)),
      closed: machine.wasClosed(id),
    })),
  };
}

function restored(bytes: Uint8Array, index: LogIndex): StateMachine {
  const machine = new StateMachine();
  machine.restore(bytes, index);
  return machine;
}

describe(`state machine snapshot in slices (seed ${SEED})`, () => {
  it('restores to the state as of its beginning, whatever is applied between steps', () => {
    fc.assert(
      fc.property(
        fc.array(actionArb, { maxLength: 40 }),
        fc.array(actionArb, { maxLength: 60 }),
        (before, during) => {
          const f = new Feeder();
          for (const action of before) if (action.kind !== 'step') play(f, action);
          const index = f.machine.applied;
          const reference = restored(f.machine.snapshot(), index);
          const job = f.machine.beginSnapshot(2);
          expect(job.index).toBe(index);
          let done = false;
          for (const action of during) {
            if (action.kind === 'step') done = job.step(action.nodes);
            else play(f, action);
          }
          while (!done) done = job.step(1);
          const copy = restored(job.bytes(), job.index);
          expect(copy.snapshot()).toEqual(reference.snapshot());
          expect(tables(copy)).toEqual(tables(reference));
          expect(copy.tree.digest()).toBe(reference.tree.digest());
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe('state machine snapshot in slices: the job', () => {
  function busy(): Feeder {
    const f = new Feeder();
    play(f, { kind: 'open', session: 0 });
    for (const p of ['/a', '/b', '/c'])
      play(f, { kind: 'create', session: 0, path: p, mode: 'persistent' });
    return f;
  }

  it('bytes() throws until the last step, and after abort; abort lets the next job begin', () => {
    const f = busy();
    const job = f.machine.beginSnapshot();
    expect(() => job.bytes()).toThrow(/not finished/);
    expect(() => f.machine.beginSnapshot()).toThrow(/in progress/);
    expect(job.step(1)).toBe(false);
    job.abort();
    expect(() => job.bytes()).toThrow(/aborted/);
    const next = f.machine.beginSnapshot();
    expect(next.step(Number.POSITIVE_INFINITY)).toBe(true);
    expect(next.bytes()).toEqual(f.machine.snapshot());
  });

  it('snapshot() may be taken while a job runs, and sees the state as of now', () => {
    const f = busy();
    const job = f.machine.beginSnapshot();
    job.step(2);
    play(f, { kind: 'create', session: 0, path: '/a/x', mode: 'persistent' });
    const now = restored(f.machine.snapshot(), f.machine.applied);
    expect(now.tree.node('/a/x')).toBeDefined();
    while (!job.step(1));
    expect(restored(job.bytes(), job.index).tree.node('/a/x')).toBeUndefined();
  });

  it('a restore during a job leaves the job’s snapshot as of its own index', () => {
    const f = busy();
    const index = f.machine.applied;
    const at = f.machine.snapshot();
    const job = f.machine.beginSnapshot();
    job.step(1);
    const other = busy();
    play(other, { kind: 'create', session: 0, path: '/other', mode: 'persistent' });
    f.machine.restore(other.machine.snapshot(), other.machine.applied);
    while (!job.step(1));
    expect(job.index).toBe(index);
    expect(restored(job.bytes(), index).snapshot()).toEqual(restored(at, index).snapshot());
    expect(f.machine.tree.node('/other')).toBeDefined();
  });
});
