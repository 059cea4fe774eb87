import {
  type CairnNode,
  type Children,
  type ChildrenOptions,
  type CreateOptions,
  OPEN_ACL_UNSAFE,
  type OpResult,
  type ReadOptions,
  type Session,
  type Stat,
  Transaction,
  type WatchEvent,
  type WriteOp,
} from '@cairn/node';
import type { History, HistoryOp, OpKind, Outcome, ReadValue, WatchKind } from './history.js';
import { describeOps, failure } from './outcome.js';

const untext = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** What a recorded call needs from the run: the history and the clock. */
export interface RecordingContext {
  readonly history: History;
  now(): number;
  /** Calls the log carried that were not recorded (setACL, addAuth): tier 2 cannot judge. */
  unrecordedWrites: number;
}

/** What `node.propose` was called with, as far as matching a call to its request number goes. */
interface Proposed {
  readonly type: string;
  readonly path?: string;
  readonly ops?: readonly WriteOp[];
  readonly data?: Uint8Array;
}

interface Waiting {
  readonly op: HistoryOp;
  readonly matches: (txn: Proposed) => boolean;
}

/**
 * Gives every recorded write its request number. A session numbers its writes only once a
 * write slot is free (after an `await`), so the number is taken where the request leaves the
 * session: `node.propose(txn, seq)`, wrapped once per node incarnation. Each proposal goes to
 * the oldest waiting call of that session whose request it is (same type and path, the same
 * ops array for a multi); a resend of a number already given is ignored.
 */
export class SeqTracker {
  private readonly waiting = new Map<bigint, Waiting[]>();
  private readonly given = new Map<bigint, Set<number>>();
  private readonly hooked = new WeakSet<CairnNode>();

  constructor(private readonly context: RecordingContext) {}

  hook(node: CairnNode): void {
    if (this.hooked.has(node)) return;
    this.hooked.add(node);
    const target = node as unknown as {
      propose(txn: Proposed & { sessionId?: bigint }, seq: number | null, ...rest: number[]): void;
    };
    const original = target.propose.bind(node);
    target.propose = (txn, seq, ...rest) => {
      if (seq !== null && txn.sessionId !== undefined) this.proposed(txn.sessionId, txn, seq);
      original(txn, seq, ...rest);
    };
  }

  expect(session: bigint, op: HistoryOp, matches: (txn: Proposed) => boolean): void {
    let list = this.waiting.get(session);
    if (list === undefined) {
      list = [];
      this.waiting.set(session, list);
    }
    list.push({ op, matches });
  }

  /** The call returned: it no longer waits for a number (it may never have been proposed). */
  done(session: bigint, op: HistoryOp): void {
    const list = this.waiting.get(session);
    if (list === undefined) return;
    const at = list.findIndex((waiting) => waiting.op === op);
    if (at >= 0) list.splice(at, 1);
  }

  private proposed(session: bigint, txn: Proposed, seq: number): void {
    let given = this.given.get(session);
    if (given === undefined) {
      given = new Set();
      this.given.set(session, given);
    }
    if (given.has(seq)) return;
    given.add(seq);
    const list = this.waiting.get(session) ?? [];
    const at = list.findIndex((waiting) => waiting.matches(txn));
    const found = list[at];
    if (found === undefined) {
      // Opening a session is not a call of the session; a close it did not record (the node's
      // own) changes only what the model derives. Anything else changed the tree unseen.
      if (txn.type !== 'createSession' && txn.type !== 'closeSession')
        this.context.unrecordedWrites++;
      return;
    }
    list.splice(at, 1);
    (found.op as { seq: number | null }).seq = seq;
  }
}

/** A recorded session's identity in the history. */
export interface RecordedSessionInfo {
  /** The history's client number of this session (0, 1, ... in the order they were opened). */
  readonly client: number;
  readonly node: CairnNode;
  readonly session: Session;
}

/**
 * Wraps a real `Session` so every call that the checkers can judge is recorded as a [call,
 * return] interval in `history` (STYLE §9.6), and otherwise behaves exactly as the session:
 * same results, same errors, same watch callbacks (recorded as fires first). Recorded: create,
 * create2, setData, delete, multi (and `transaction().commit()`), close, getData, exists,
 * getChildren (without paging), sync. Everything else passes through unrecorded.
 */
export function recordSession(
  info: RecordedSessionInfo,
  context: RecordingContext,
  seqs: SeqTracker,
): Session {
  const { session, node, client } = info;
  const history = context.history;
  const record = (
    kind: OpKind,
    path: string,
    input: string,
    linearizable: boolean,
    watch: WatchKind | null,
    request?: readonly WriteOp[],
  ): HistoryOp =>
    history.add({
      ...(request === undefined ? {} : { request }),
      client,
      node: node.id,
      session: session.id,
      seq: null,
      kind,
      path,
      input,
      linearizable,
      watch,
      invokeMs: context.now(),
      invokeApplied: node.applied,
    });
  const complete = (op: HistoryOp, outcome: Outcome): void => {
    seqs.done(session.id, op);
    history.complete(op, outcome, context.now(), node.applied);
  };
  async function write<T>(
    kind: 'create' | 'setData' | 'delete' | 'multi' | 'close',
    path: string,
    input: string,
    request: readonly WriteOp[] | undefined,
    matches: (txn: Proposed) => boolean,
    call: () => Promise<T>,
    results: (value: T) => readonly OpResult[] | undefined,
  ): Promise<T> {
    const op = record(kind, path, input, false, null, request);
    seqs.expect(session.id, op, matches);
    try {
      const value = await call();
      const got = results(value);
      complete(op, got === undefined ? { status: 'ok' } : { status: 'ok', results: got });
      return value;
    } catch (error) {
      complete(op, failure(error));
      throw error;
    }
  }
  async function read<T>(
    kind: 'getData' | 'exists' | 'getChildren',
    path: string,
    options: ReadOptions,
    call: (options: ReadOptions) => Promise<T>,
    value: (result: T) => ReadValue,
  ): Promise<T> {
    const watcher = options.watch;
    const watchKind: WatchKind | null =
      typeof watcher !== 'function'
        ? null
        : kind === 'getData'
          ? 'data'
          : kind === 'exists'
            ? 'exist'
            : 'child';
    const op = record(kind, path, kind, options.linearizable === true, watchKind);
    const wrapped =
      typeof watcher === 'function'
        ? (event: WatchEvent): void => {
            history.fire(op.id, event);
            watcher(event);
          }
        : watcher;
    try {
      const result = await call(wrapped === undefined ? options : { ...options, watch: wrapped });
      complete(op, { status: 'ok', read: value(result) });
      return result;
    } catch (error) {
      const outcome = failure(error);
      complete(
        op,
        outcome.status === 'error' && outcome.code === 'NoNode'
          ? { status: 'ok', read: { kind: 'noNode' } }
          : outcome,
      );
      throw error;
    }
  }

  const create2 = (
    path: string,
    data: Uint8Array = EMPTY,
    options: CreateOptions = {},
  ): Promise<{ path: string; stat: Stat }> => {
    const mode = options.mode ?? 'persistent';
    const request: WriteOp = {
      type: 'create',
      path,
      data,
      acl: options.acl ?? OPEN_ACL_UNSAFE,
      mode,
      ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
    };
    return write(
      'create',
      path,
      `${mode} ${untext.decode(data)}`,
      [request],
      (txn) => txn.type === 'create' && txn.path === path && txn.data === data,
      () => session.create2(path, data, options),
      (created) => [{ type: 'create', path: created.path, stat: created.stat }],
    );
  };
  const overrides: Partial<Session> = {
    create: async (path: string, data: Uint8Array = EMPTY, options: CreateOptions = {}) =>
      (await create2(path, data, options)).path,
    create2,
    setData: (path: string, data: Uint8Array, version = -1, options = {}) =>
      write(
        'setData',
        path,
        `v${version} ${untext.decode(data)}`,
        [{ type: 'setData', path, data, version }],
        (txn) => txn.type === 'setData' && txn.path === path && txn.data === data,
        () => session.setData(path, data, version, options),
        (stat) => [{ type: 'setData', stat }],
      ),
    delete: (path: string, version = -1, options = {}) =>
      write(
        'delete',
        path,
        `v${version}`,
        [{ type: 'delete', path, version }],
        (txn) => txn.type === 'delete' && txn.path === path,
        () => session.delete(path, version, options),
        () => [{ type: 'delete' }],
      ),
    multi: (ops: readonly WriteOp[], options = {}) =>
      write(
        'multi',
        ops[0]?.path ?? '/',
        describeOps(ops),
        ops,
        (txn) => txn.type === 'multi' && txn.ops === ops,
        () => session.multi(ops, options),
        (results) => results,
      ),
    close: () =>
      write(
        'close',
        '/',
        'close',
        undefined,
        (txn) => txn.type === 'closeSession',
        () => session.close(),
        () => undefined,
      ),
    getData: (path: string, options: ReadOptions = {}) =>
      read(
        'getData',
        path,
        options,
        (o) => session.getData(path, o),
        (found) => ({
          kind: 'getData',
          data: untext.decode(found.data),
          stat: found.stat,
        }),
      ),
    exists: (path: string, options: ReadOptions = {}) =>
      read(
        'exists',
        path,
        options,
        (o) => session.exists(path, o),
        (stat) => ({
          kind: 'exists',
          stat,
        }),
      ),
    getChildren: (path: string, options: ChildrenOptions = {}): Promise<Children> => {
      // A page is not the whole list the checkers compare: pass it through unrecorded.
      if (options.limit !== undefined || options.after !== undefined)
        return session.getChildren(path, options);
      return read(
        'getChildren',
        path,
        options,
        (o) => session.getChildren(path, o),
        (found) => ({
          kind: 'getChildren',
          children: found.children,
          stat: found.stat,
        }),
      );
    },
    sync: async (path = '/', options = {}) => {
      const op = record('sync', path, 'sync', true, null);
      try {
        await session.sync(path, options);
        complete(op, { status: 'ok' });
      } catch (error) {
        complete(op, failure(error));
        throw error;
      }
    },
  };
  const proxy: Session = new Proxy(session, {
    get(target, property) {
      if (property === 'transaction') return () => new Transaction(proxy);
      if (typeof property === 'string' && Object.hasOwn(overrides, property))
        return overrides[property as keyof Session];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return proxy;
}
