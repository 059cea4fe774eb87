/**
 * A failed simulation explains itself without a replay (issue 8): the seed and replay line, the
 * minimal failing history of its primary violation (the calls it names, the calls on its paths,
 * their ancestors' creates and deletes, child-list changes where the rule is about children,
 * its sessions' calls between the named ones, and the faults and role changes overlapping
 * them, bounded) and a timeline excerpt around it. Hand-built histories pin the selection; then
 * planted bugs make real runs fail (a late watch names calls; a disk that acknowledges unsynced
 * writes stops a member, which names none and gets the timeline before the stop), and the
 * report must hold the named calls and not unrelated ones, through `pnpm sim`, the batch's
 * message and `simulateCluster`'s SimulationFailedError too.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHAPES, seedFailureReport, simulateSeed } from '../src/batch.js';
import {
  FAILURE_HISTORY_LINES_MAX,
  failureDetails,
  violationSubject,
} from '../src/failure-report.js';
import { History, type HistoryOp, type Outcome } from '../src/history.js';
import { SimulationFailedError, simulateCluster } from '../src/index.js';
import type { Violation } from '../src/raft-checker.js';
import type { TraceLine } from '../src/rng.js';
import type { RunEvidence } from '../src/run-timeline.js';

const START = 1_700_000_000_000;

interface CallSpec {
  readonly client: number;
  readonly session: bigint;
  readonly kind: HistoryOp['kind'];
  readonly path: string;
  readonly at: number;
  readonly watch?: HistoryOp['watch'];
  readonly outcome?: Outcome;
}

/** A history of calls that each return 2 ms after they begin, in the order given. */
function historyOf(calls: readonly CallSpec[]): History {
  const history = new History();
  for (const spec of calls) {
    const op = history.add({
      client: spec.client,
      node: 1,
      session: spec.session,
      seq: null,
      kind: spec.kind,
      path: spec.path,
      input: spec.kind,
      linearizable: false,
      watch: spec.watch ?? null,
      invokeMs: START + spec.at,
      invokeApplied: 0,
    });
    history.complete(op, spec.outcome ?? { status: 'ok' }, START + spec.at + 2, 1);
  }
  return history;
}

/** Op ids of the minimal failing history's lines (named ones marked with `*`). */
function historyIds(details: string): { all: number[]; named: number[] } {
  const section = details.split(/\ntimeline (around|after)/)[0] ?? '';
  const all: number[] = [];
  const named: number[] = [];
  for (const [, mark, id] of section.matchAll(/^(\*| ) +\d+\.\.(?:\d+|never) {2}op (\d+) /gm)) {
    all.push(Number(id));
    if (mark === '*') named.push(Number(id));
  }
  return { all, named };
}

// Sessions 1 and 2 (clients 0 and 1); /app and its child /app/x; /other is unrelated.
const CALLS: CallSpec[] = [
  { client: 0, session: 1n, kind: 'open', path: '/', at: 0 }, // op 0
  { client: 1, session: 2n, kind: 'open', path: '/', at: 3 }, // op 1
  { client: 0, session: 1n, kind: 'create', path: '/app', at: 10 }, // op 2
  { client: 1, session: 2n, kind: 'create', path: '/app/x', at: 20 }, // op 3
  { client: 1, session: 2n, kind: 'setData', path: '/other', at: 30 }, // op 4
  { client: 0, session: 1n, kind: 'getData', path: '/app', at: 40, watch: 'data' }, // op 5
  { client: 1, session: 2n, kind: 'getData', path: '/app/x', at: 45 }, // op 6
  { client: 1, session: 2n, kind: 'setData', path: '/app', at: 50 }, // op 7
  { client: 0, session: 1n, kind: 'getData', path: '/other', at: 55 }, // op 8
  { client: 0, session: 1n, kind: 'exists', path: '/q', at: 60 }, // op 9
  { client: 0, session: 1n, kind: 'getChildren', path: '/app', at: 70, watch: 'child' }, // op 10
];

const TRACE: TraceLine[] = [
  { atMs: 5, text: 'role 1 leader t2 l1' },
  { atMs: 42, text: 'partition: node 3 alone' },
  { atMs: 300, text: 'fatal 2 commit 9 beyond last index 3: log lost or corrupted' },
  { atMs: 400, text: 'role 1 leader t4 l1' },
  { atMs: 450, text: 'crash 3 @1700000000450' },
];

function evidence(history: History, trace: readonly TraceLine[] = TRACE): RunEvidence {
  return { history, trace, startMs: START, endMs: 1000 };
}

describe('the minimal failing history', () => {
  it('keeps the named calls, their path, their session between them, and nothing else', () => {
    const history = historyOf(CALLS);
    history.fire(5, { type: 'NodeDataChanged', path: '/app', zxid: 6 });
    const violation: Violation = {
      checker: 'watch',
      message:
        'watch of op 5 (data on /app, session 1): op 9 returned zxid 7 >= 6 before the watch fired (never)',
    };
    expect(violationSubject(violation, history)).toEqual({
      ops: [5, 9],
      paths: ['/app'],
      sessions: [1n],
      children: false,
    });
    const details = failureDetails(violation, evidence(history));
    const { all, named } = historyIds(details);
    // The session's open, every call on /app, the session's call between the two named ones.
    expect(all).toEqual([0, 2, 5, 7, 8, 9, 10]);
    expect(named).toEqual([5, 9]);
    expect(details).toMatch(/~\d+ {2}watch of op 5 fired: NodeDataChanged \/app at zxid 6/);
    // The fault during the named calls is in the history; the ones long after are not.
    const section = details.split('\ntimeline around')[0] ?? '';
    expect(section).toContain('partition: node 3 alone');
    expect(section).not.toContain('crash 3');
    expect(details).toMatch(/^timeline around \d+ ms/m);
    expect(details).toMatch(/^ +40 ms {2}client 0 on node 1: op 5 getData \+data watch \/app/m);
  });

  it('adds the creates of ancestors, and child-list changes where the rule is about children', () => {
    const history = historyOf(CALLS);
    const child = failureDetails(
      { checker: 'model', message: 'op 6 (client 1, getData /app/x) returned NoNode' },
      evidence(history),
    );
    // create /app (an ancestor must exist), create /app/x, its session's open; not reads of /app.
    expect(historyIds(child).all).toEqual([1, 2, 3, 6]);
    const children = failureDetails(
      { checker: 'watch', message: 'watch of op 10 (child on /app, session 1) fired twice' },
      evidence(history),
    );
    // create /app/x changes /app's child list; getData /app/x does not.
    expect(historyIds(children).all).toEqual([0, 2, 3, 5, 7, 10]);
  });

  it('stays within its line budget on a busy path', () => {
    const calls: CallSpec[] = [];
    for (let i = 0; i < 300; i++)
      calls.push({ client: i % 5, session: BigInt(i % 5), kind: 'setData', path: '/app', at: i });
    const trace = Array.from({ length: 200 }, (_, i) => ({ atMs: i, text: `pause ${i % 3}` }));
    const details = failureDetails(
      { checker: 'model', message: 'op 150 (client 0, setData /app) returned "ok"' },
      evidence(historyOf(calls), trace),
    );
    const section = (details.split('\ntimeline around')[0] ?? '').split('\n');
    expect(section.length).toBeLessThanOrEqual(FAILURE_HISTORY_LINES_MAX + 2);
    expect(section.at(-1)).toMatch(/more events left out/);
    expect(historyIds(details).named).toEqual([150]);
  });

  it('gives a violation that names no call the timeline lines before its moment', () => {
    const history = historyOf(CALLS);
    const stopped = failureDetails(
      {
        checker: 'runtime',
        message: 'node 2 stopped: commit 9 beyond last index 3: log lost or corrupted',
      },
      evidence(history),
    );
    const [before, after] = stopped.split('\ntimeline after');
    expect(before).toMatch(/names no call or path: .* up to 300 ms \(node 2 stopped\)/);
    expect(before).toContain('fatal 2 commit 9');
    expect(before).toContain('client 0 on node 1: op 10 getChildren');
    expect(before).not.toContain('role 1 leader t4');
    expect(after).toContain('role 1 leader t4');
    const vote = failureDetails(
      {
        checker: 'raft',
        message: 'one vote per term: node 1 voted for 2 and then for 3 in term 4',
      },
      evidence(history),
    );
    expect(vote).toMatch(/up to 400 ms \(the last role change of term 4\)/);
    const unknown = failureDetails(
      { checker: 'liveness', message: 'equal replicas not reached' },
      evidence(history),
    );
    expect(unknown).toMatch(/up to 1000 ms \(the end of the run/);
  });
});

describe('failed runs print it', () => {
  it('a late watch (planted): the named calls, not unrelated ones, and the timeline', async () => {
    const shape = SHAPES[0];
    if (shape === undefined) throw new Error('no shape');
    const report = await simulateSeed(1, { plant: { lateWatchMs: 40 }, safetyMs: 1500 }, shape);
    const text = seedFailureReport(report, 'pnpm sim --seed 1 --trace --plant lateWatchMs=40');
    console.log(text);
    expect(text).toMatch(/^seed 1 \(3 voters\) FAILED: \d+ violations\n {4}\[watch\] watch of op/);
    expect(text).toContain('    replay: pnpm sim --seed 1 --trace --plant lateWatchMs=40');
    const details = report.failure;
    expect(text.endsWith(details)).toBe(true);
    const header =
      /^minimal failing history of \[watch\] \(ops ([\d ]+); paths ([^;]+); sessions /m.exec(
        details,
      );
    if (header === null) throw new Error(`no history heading in\n${details}`);
    const namedIds = (header[1] ?? '').split(' ').map(Number);
    const paths = (header[2] ?? '').split(' ');
    const { all, named } = historyIds(details);
    expect(named).toEqual(namedIds);
    // Calls of other clients on unrelated paths that the excerpt shows stay out of the history.
    const timeline = details.split(/\ntimeline around \d+ ms[^\n]*\n/)[1] ?? '';
    const lines = timeline.split('\n');
    for (const line of lines) expect(line).toMatch(/^ +\d+ ms {2}\S/);
    const namedClients = new Set<string>();
    for (const [, id, client] of details.matchAll(/^\* +\S+ {2}op (\d+) .* by client (\d+)/gm))
      if (namedIds.includes(Number(id))) namedClients.add(client as string);
    const near = (path: string): boolean =>
      paths.some(
        (p) => p === '/' || path === p || path.startsWith(`${p}/`) || p.startsWith(`${path}/`),
      );
    const unrelated = [
      ...timeline.matchAll(/client (\d+) on node \d+: op (\d+) (\w+)[^/]* (\/\S*)/g),
    ].filter(([, client, , kind, path]) => {
      if (namedClients.has(client as string)) return false;
      if (kind === 'getData' || kind === 'exists' || kind === 'setData')
        return !paths.includes(path as string);
      return !near(path as string);
    });
    expect(unrelated.length, timeline).toBeGreaterThan(0);
    for (const [, , id] of unrelated) expect(all).not.toContain(Number(id));
    // Every call in the history is named, of a named call's client, or on a path near theirs.
    const calls = [
      ...details.matchAll(/^[* ] +\S+ {2}op (\d+) \w+[^/]* (\/\S*) .* by client (\d+)/gm),
    ];
    expect(calls.length).toBe(all.length);
    for (const [line, id, path, client] of calls)
      expect(
        namedIds.includes(Number(id)) || namedClients.has(client as string) || near(path as string),
        line,
      ).toBe(true);
  }, 120_000);

  it('a member stopped by lost synced writes (planted): the faults and lines before the stop', async () => {
    const shape = SHAPES[0];
    if (shape === undefined) throw new Error('no shape');
    const report = await simulateSeed(6, { plant: { ackUnsynced: true } }, shape);
    const text = seedFailureReport(report, 'replay');
    // The stop, not the liveness verdict it caused, is the primary violation.
    expect(text).toMatch(/FAILED: \d+ violations\n {4}\[runtime\] node (\d) stopped: .*log lost/);
    const [before, after] = report.failure.split('\ntimeline after');
    const node = /names no call or path: .* \(node (\d) stopped\)/.exec(before ?? '')?.[1];
    expect(node, report.failure).toBeDefined();
    expect(before).toMatch(new RegExp(`^ +\\d+ ms {2}crash ${node} @`, 'm'));
    expect(before).toMatch(new RegExp(`^ +\\d+ ms {2}fatal ${node} commit \\d+ beyond`, 'm'));
    expect(before).toMatch(/^ +\d+ ms {2}client \d on node \d: op \d+ /m);
    expect(after).not.toContain(`fatal ${node}`);
  }, 120_000);

  it('SimulationFailedError from simulateCluster carries the history of the named path', async () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const error = await simulateCluster({ nodes: 3, seed: 7 }, async (cluster) => {
      const session = await cluster.session(1);
      await session.create('/x', enc('1'));
      await session.create('/y', enc('1'));
      await session.setData('/y', enc('2'), -1);
      await session.getData('/x');
      throw new Error('wrong value read at /x');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulationFailedError);
    const failed = error as SimulationFailedError;
    expect(failed.details).toMatch(/^minimal failing history of \[user\] \(paths \/x/m);
    expect(failed.details).toMatch(/op \d+ create \/x /);
    expect(failed.details).toMatch(/op \d+ getData \/x /);
    expect(failed.details.split('\ntimeline around')[0]).not.toMatch(/op \d+ \w+ \/y /);
    expect(failed.message).toContain(failed.details);
  }, 60_000);

  it('pnpm sim --seeds prints it for a failing seed', () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const args = ['--seeds', '1', '--plant', 'lateWatchMs=40', '--safety-ms', '1500'];
    const run = spawnSync(tsx, ['--conditions=source', 'packages/sim/src/cli.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const out = `${run.stdout}${run.stderr}`;
    expect(run.status, out).toBe(1);
    expect(out).toMatch(/seed 1 \(.+\) FAILED: \d+ violations/);
    expect(out).toMatch(/^minimal failing history of \[watch\] \(ops \d+/m);
    expect(out).toMatch(/^\* +\d+\.\.\d+ {2}op \d+ /m);
    expect(out).toMatch(/^timeline around \d+ ms/m);
  }, 120_000);
});
