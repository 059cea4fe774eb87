/**
 * Planted bugs (STYLE §9.2): each checker is fed a small history or log that is correct, then
 * the same with one violation planted — a request applied twice, an acknowledged write missing
 * from the log, a wrong zxid, a result the model disagrees with, a stale linearizable read, a
 * read older than its session has seen, a watch fired twice or after the data, two leaders in
 * one term, two different entries at one index — and each must be caught, so a broken checker
 * cannot pass silently.
 */
import type { Entry, LogIndex, Term } from '@cairn/raft';
import type { SessionId, Stat, Txn, TxnResult } from '@cairn/znode';
import { describe, expect, it } from 'vitest';
import type { TappedApply } from '../src/apply-tap.js';
import { History, type HistoryOp, type Outcome } from '../src/history.js';
import { checkHistory } from '../src/history-checker.js';
import { TreeModel } from '../src/model.js';
import { RaftChecker } from '../src/raft-checker.js';

const S = 0x1_0000_0000_0001n as SessionId;
const text = new TextEncoder();
const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** A log built from txns, with the results the model gives (a correct runtime's). */
function logOf(entries: readonly { txn: Txn; seq: number | null }[]): Map<number, TappedApply> {
  const model = new TreeModel();
  const log = new Map<number, TappedApply>();
  entries.forEach(({ txn, seq }, i) => {
    const index = (i + 2) as LogIndex;
    const result = model.apply(txn, index);
    log.set(index, { kind: 'txn', index, txn, seq, outcome: 'applied', result });
  });
  return log;
}

const createSession: Txn = {
  type: 'createSession',
  sessionId: S,
  timeoutMs: 1000,
  password: new Uint8Array(16),
};
const createA: Txn = {
  type: 'create',
  sessionId: S,
  path: '/a',
  data: text.encode('x'),
  acl,
  mode: 'persistent',
};
const setA: Txn = {
  type: 'setData',
  sessionId: S,
  path: '/a',
  data: text.encode('y'),
  version: -1,
};

function stat(zxid: number, mzxid: number, version: number): Stat {
  return {
    czxid: zxid,
    mzxid,
    pzxid: zxid,
    ctime: 0,
    mtime: 0,
    version,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    dataLength: 1,
    numChildren: 0,
  } as Stat;
}

interface Call {
  kind: HistoryOp['kind'];
  path: string;
  seq?: number;
  outcome: Outcome;
  applied: [number, number];
  linearizable?: boolean;
  watch?: HistoryOp['watch'];
}

function historyOf(calls: readonly Call[]): { history: History; ops: HistoryOp[] } {
  const history = new History();
  const ops = calls.map((call) => {
    const op = history.add({
      client: 0,
      node: 1,
      session: S,
      seq: call.seq ?? null,
      kind: call.kind,
      path: call.path,
      input: '',
      linearizable: call.linearizable ?? false,
      watch: call.watch ?? null,
      invokeMs: 0,
      invokeApplied: call.applied[0],
    });
    history.complete(op, call.outcome, 0, call.applied[1]);
    return op;
  });
  return { history, ops };
}

const created: Outcome = {
  status: 'ok',
  results: [{ type: 'create', path: '/a', stat: stat(3, 3, 0) }],
};
const updated: Outcome = { status: 'ok', results: [{ type: 'setData', stat: stat(3, 4, 1) }] };
const log = logOf([
  { txn: createSession, seq: 0 },
  { txn: createA, seq: 1 },
  { txn: setA, seq: 2 },
]);
const checkers = (verdict: ReturnType<typeof checkHistory>): string[] =>
  verdict.violations.map((v) => v.checker);

describe('history checker', () => {
  const good = historyOf([
    { kind: 'create', path: '/a', seq: 1, outcome: created, applied: [2, 3] },
    { kind: 'setData', path: '/a', seq: 2, outcome: updated, applied: [3, 4] },
    {
      kind: 'getData',
      path: '/a',
      outcome: { status: 'ok', read: { kind: 'getData', data: 'y', stat: stat(3, 4, 1) } },
      applied: [4, 4],
      linearizable: true,
    },
  ]);

  it('passes a correct history', () => {
    expect(checkHistory(log, good.history).violations).toEqual([]);
  });

  it('catches a request applied twice', () => {
    const twice = new Map(log);
    twice.set(5, { ...(log.get(4) as TappedApply), index: 5 as LogIndex });
    expect(checkers(checkHistory(twice, good.history))).toContain('exactly-once');
  });

  it('catches an acknowledged write that is not in the log', () => {
    const lost = new Map(log);
    lost.delete(4);
    expect(checkers(checkHistory(lost, good.history))).toContain('durability');
  });

  it('catches a write that returned the wrong zxid', () => {
    const { history } = historyOf([
      {
        kind: 'create',
        path: '/a',
        seq: 1,
        outcome: { status: 'ok', results: [{ type: 'create', path: '/a', stat: stat(7, 7, 0) }] },
        applied: [2, 3],
      },
    ]);
    expect(checkers(checkHistory(log, history))).toContain('zxid');
  });

  it('catches a runtime result the model disagrees with', () => {
    const wrong = new Map(log);
    const entry = log.get(3) as TappedApply;
    const bad: TxnResult = { ok: false, type: 'op', error: { code: 'NodeExists', path: '/a' } };
    wrong.set(3, { ...entry, result: bad });
    expect(checkers(checkHistory(wrong, good.history))).toContain('model');
  });

  it('catches a stale linearizable read', () => {
    const { history } = historyOf([
      { kind: 'create', path: '/a', seq: 1, outcome: created, applied: [2, 3] },
      { kind: 'setData', path: '/a', seq: 2, outcome: updated, applied: [3, 4] },
      {
        kind: 'getData',
        path: '/a',
        outcome: { status: 'ok', read: { kind: 'getData', data: 'x', stat: stat(3, 3, 0) } },
        applied: [3, 4],
        linearizable: true,
      },
    ]);
    expect(checkers(checkHistory(log, history))).toContain('linearizable-read');
  });

  it('catches a local read older than what the session has seen', () => {
    const { history } = historyOf([
      { kind: 'create', path: '/a', seq: 1, outcome: created, applied: [2, 3] },
      { kind: 'setData', path: '/a', seq: 2, outcome: updated, applied: [3, 4] },
      {
        kind: 'getData',
        path: '/a',
        outcome: { status: 'ok', read: { kind: 'noNode' } },
        applied: [2, 4],
      },
    ]);
    expect(checkers(checkHistory(log, history))).toContain('session-read');
  });

  const watched = (): { history: History; ops: HistoryOp[] } =>
    historyOf([
      { kind: 'create', path: '/a', seq: 1, outcome: created, applied: [2, 3] },
      {
        kind: 'getData',
        path: '/a',
        outcome: { status: 'ok', read: { kind: 'getData', data: 'x', stat: stat(3, 3, 0) } },
        applied: [3, 3],
        watch: 'data',
      },
      { kind: 'setData', path: '/a', seq: 2, outcome: updated, applied: [3, 4] },
    ]);

  it('passes a watch that fired once, before the data', () => {
    const { history, ops } = watched();
    const setOp = ops[2] as HistoryOp;
    // Fired while the write applied, before it returned.
    history.fires.push({
      op: 1,
      type: 'NodeDataChanged',
      path: '/a',
      zxid: 4,
      order: (setOp.returnOrder as number) - 1,
    });
    expect(checkHistory(log, history).violations).toEqual([]);
  });

  it('catches a watch that fired twice', () => {
    const { history, ops } = watched();
    const order = ((ops[2] as HistoryOp).returnOrder as number) - 1;
    history.fires.push({ op: 1, type: 'NodeDataChanged', path: '/a', zxid: 4, order });
    history.fires.push({ op: 1, type: 'NodeDataChanged', path: '/a', zxid: 4, order });
    expect(checkers(checkHistory(log, history))).toContain('watch');
  });

  it('catches a watch that fired after the session saw the change', () => {
    const { history } = watched();
    history.fires.push({
      op: 1,
      type: 'NodeDataChanged',
      path: '/a',
      zxid: 4,
      order: history.nextOrder(),
    });
    expect(checkers(checkHistory(log, history))).toContain('watch');
  });

  it('catches a watch that fired for the wrong change', () => {
    const { history, ops } = watched();
    const order = ((ops[2] as HistoryOp).returnOrder as number) - 1;
    history.fires.push({ op: 1, type: 'NodeDataChanged', path: '/a', zxid: 3, order });
    expect(checkers(checkHistory(log, history))).toContain('watch');
  });

  it('catches writes whose zxids go against real time', () => {
    const swapped = logOf([
      { txn: createSession, seq: 0 },
      { txn: setA, seq: 2 },
      { txn: createA, seq: 1 },
    ]);
    const { history } = historyOf([
      {
        kind: 'create',
        path: '/a',
        seq: 1,
        outcome: { status: 'ok', results: [{ type: 'create', path: '/a', stat: stat(4, 4, 0) }] },
        applied: [2, 4],
      },
      {
        kind: 'setData',
        path: '/a',
        seq: 2,
        outcome: { status: 'error', code: 'NoNode' },
        applied: [4, 4],
      },
    ]);
    expect(checkers(checkHistory(swapped, history))).toContain('real-time');
  });
});

describe('raft checker', () => {
  const entry = (index: number, term: number, byte: number): Entry => ({
    index: index as LogIndex,
    term: term as Term,
    type: 'normal',
    data: new Uint8Array([byte]),
  });
  const noop: TappedApply = { kind: 'noop', index: 1 as LogIndex };

  it('passes one leader per term and equal applied entries', () => {
    const checker = new RaftChecker();
    checker.onLeader(1, 2);
    checker.onLeader(1, 2);
    checker.onLeader(2, 3);
    checker.onApplied(1, entry(5, 2, 7), noop, 100);
    checker.onApplied(2, entry(5, 2, 7), noop, 100);
    expect(checker.violations).toEqual([]);
  });

  it('catches two leaders in one term', () => {
    const checker = new RaftChecker();
    checker.onLeader(1, 2);
    checker.onLeader(3, 2);
    expect(checker.violations.map((v) => v.message).join()).toContain('election safety');
  });

  it('catches two different entries applied at one index', () => {
    const checker = new RaftChecker();
    checker.onApplied(1, entry(5, 2, 7), noop, 100);
    checker.onApplied(2, entry(5, 2, 8), noop, 100);
    expect(checker.violations.map((v) => v.message).join()).toContain('state machine safety');
  });

  it('catches replicas whose trees differ after the same entry', () => {
    const checker = new RaftChecker();
    checker.onApplied(1, entry(5, 2, 7), noop, 100);
    checker.onApplied(2, entry(5, 2, 7), noop, 101);
    expect(checker.violations.map((v) => v.message).join()).toContain('determinism');
  });

  it('catches a commit index that moves back', () => {
    const checker = new RaftChecker();
    const status = { id: 1, role: 'follower', term: 2, commit: 9, applied: 9 } as never;
    checker.onStatus('1.1', status);
    checker.onStatus('1.1', { ...(status as object), commit: 8, applied: 8 } as never);
    expect(checker.violations.map((v) => v.message).join()).toContain('commit index moved back');
  });
});
