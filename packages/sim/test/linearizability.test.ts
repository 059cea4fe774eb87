/**
 * The tier-2 linearizability checker (WGL search with Lowe's memo, partitioned by path, against
 * the znode specification). Small hand-written histories that are linearizable and that are not
 * (a stale read, a lost write, a real-time order violation, a timed-out write that must be taken
 * as applied and one that must be taken as not applied, a multi, sequential names, ephemerals
 * of an expired session, a phantom child) must get the right verdict; a search past its budget
 * must say `unknown`, never loop; and a fast-check property compares the checker (partitions,
 * memo, search) with a brute-force search over every order on tiny random histories, half of
 * them with one answer planted wrong.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckedCall, checkCalls } from '../src/lin-checker.js';
import { searchLinearization } from '../src/linearizability.js';
import { exactTreeKey } from '../src/spec-tree-key.js';
import {
  execute,
  initialTree,
  type SpecInput,
  type SpecOutput,
  type SpecState,
  type SpecWrite,
  describe as text,
  unseenEvents,
  ZnodeSpec,
} from '../src/znode-spec.js';

const S1 = 11n;
const S2 = 12n;
const S3 = 13n;
const INF = Number.POSITIVE_INFINITY;
const CONTAINER = -(2n ** 63n);

let nextId = 0;
function call(at: number, ret: number, input: SpecInput, output: SpecOutput): CheckedCall {
  const id = nextId++;
  return {
    id,
    call: at,
    ret,
    input,
    output,
    describe: `call ${id} ${JSON.stringify(input, (_, v) => (typeof v === 'bigint' ? String(v) : v instanceof Set ? [...v] : v))}`,
  };
}
const write = (session: bigint, ...ops: SpecWrite[]): SpecInput => ({
  kind: 'write',
  session,
  ops,
  positions: ops.map((_, i) => i),
});
const ok = (...texts: string[]): SpecOutput => ({ kind: 'write', texts, failedAt: null });
const failed = (code: string): SpecOutput => ({ kind: 'write', texts: [code], failedAt: 0 });
const read = (value: string): SpecOutput => ({ kind: 'read', text: value });
const create = (
  path: string,
  data = '',
  mode: SpecWrite & { type: 'create' } extends { mode: infer M } ? M : never = 'persistent',
): SpecWrite => ({ type: 'create', path, data, mode });
const setData = (path: string, data: string, version = -1): SpecWrite => ({
  type: 'setData',
  path,
  data,
  version,
});
const getData = (path: string): SpecInput => ({ kind: 'getData', path });
const created = (path: string, data = '', owner = 0n): string =>
  text.create(path, owner, data.length);

function verdictOf(calls: CheckedCall[]): 'ok' | 'illegal' | 'unknown' {
  const verdict = checkCalls(calls);
  if (verdict.stats.linIllegal > 0) return 'illegal';
  if (verdict.stats.linUnknown > 0) return 'unknown';
  return 'ok';
}

describe('tier-2 checker: hand-written histories', () => {
  it('accepts a read concurrent with a write returning either value', () => {
    const base = [
      call(0, 1, write(S1, create('/a', 'x')), ok(created('/a', 'x'))),
      call(2, 5, write(S1, setData('/a', 'y')), ok(text.setData(1, 1))),
    ];
    expect(verdictOf([...base, call(3, 4, getData('/a'), read(text.getData('x', 0, 0n)))])).toBe(
      'ok',
    );
    expect(verdictOf([...base, call(3, 4, getData('/a'), read(text.getData('y', 1, 0n)))])).toBe(
      'ok',
    );
  });

  it('finds a stale read: the write returned before the read began', () => {
    const calls = [
      call(0, 1, write(S1, create('/a', 'x')), ok(created('/a', 'x'))),
      call(2, 3, write(S1, setData('/a', 'y')), ok(text.setData(1, 1))),
      call(4, 5, getData('/a'), read(text.getData('x', 0, 0n))),
    ];
    const verdict = checkCalls(calls);
    expect(verdict.stats.linIllegal).toBe(1);
    expect(verdict.violations[0]?.checker).toBe('linearizability');
    expect(verdict.violations[0]?.message).toContain('none of these could come next');
  });

  it('finds a lost write: an acknowledged create that a later read does not see', () => {
    const calls = [
      call(0, 1, write(S1, create('/a', 'x')), ok(created('/a', 'x'))),
      call(2, 3, { kind: 'exists', path: '/a' }, read('null')),
    ];
    expect(verdictOf(calls)).toBe('illegal');
  });

  it('finds a real-time order violation between two writes', () => {
    // Two unconditional writes in sequence; a later read sees the first one's value.
    const calls = [
      call(0, 1, write(S1, create('/a', '0')), ok(created('/a', '0'))),
      call(2, 3, write(S1, setData('/a', '1')), ok(text.setData(1, 1))),
      call(4, 5, write(S2, setData('/a', '2')), ok(text.setData(2, 1))),
      call(6, 7, getData('/a'), read(text.getData('1', 2, 0n))),
    ];
    expect(verdictOf(calls)).toBe('illegal');
    // The same answers with the writes concurrent are fine (the search reorders them).
    const concurrent = [
      call(0, 1, write(S1, create('/a', '0')), ok(created('/a', '0'))),
      call(2, 5, write(S1, setData('/a', '1')), ok(text.setData(2, 1))),
      call(3, 4, write(S2, setData('/a', '2')), ok(text.setData(1, 1))),
      call(6, 7, getData('/a'), read(text.getData('1', 2, 0n))),
    ];
    expect(verdictOf(concurrent)).toBe('ok');
  });

  it('takes a timed-out write as applied when a later read shows it', () => {
    const calls = [
      call(0, 1, write(S1, create('/a', 'x')), ok(created('/a', 'x'))),
      call(2, INF, write(S1, setData('/a', 'y')), null),
      call(5, 6, getData('/a'), read(text.getData('y', 1, 0n))),
    ];
    expect(verdictOf(calls)).toBe('ok');
    // Without the timed-out write, the same read is impossible.
    expect(verdictOf([calls[0] as CheckedCall, calls[2] as CheckedCall])).toBe('illegal');
  });

  it('takes a timed-out write as not applied when later calls show it was not', () => {
    const calls = [
      call(0, INF, write(S1, create('/a', 'lost')), null),
      call(2, 3, getData('/a'), read('NoNode')),
      call(4, 5, write(S2, create('/a', 'z')), ok(created('/a', 'z'))),
      call(6, 7, getData('/a'), read(text.getData('z', 0, 0n))),
    ];
    expect(verdictOf(calls)).toBe('ok');
    // A definite failure is not unknown: a failed create changes nothing.
    const definite = [
      call(0, 1, write(S1, create('/a', 'x')), failed('NoNode')),
      call(2, 3, getData('/a'), read('NoNode')),
    ];
    expect(verdictOf(definite)).toBe('illegal');
  });

  it('checks a multi as one atomic step, and a failed multi as no change', () => {
    const multi = write(S1, create('/a', 'm'), create('/a/x', 'n'));
    const applied = [
      call(0, 3, multi, ok(created('/a', 'm'), created('/a/x', 'n'))),
      call(1, 2, getData('/a/x'), read(text.getData('n', 0, 0n))),
      call(2.5, 2.8, getData('/a'), read('NoNode')),
    ];
    expect(verdictOf(applied)).toBe('illegal'); // /a/x without /a: the multi was torn
    const failedMulti: SpecOutput = { kind: 'write', texts: ['Ok', 'NodeExists'], failedAt: 1 };
    const calls = [
      call(0, 1, write(S2, create('/a/x', 'pre')), failed('NoNode')),
      call(2, 3, write(S1, create('/b', 'b'), create('/b', 'again')), failedMulti),
      call(4, 5, getData('/b'), read('NoNode')),
    ];
    expect(verdictOf(calls)).toBe('ok');
    const wrong = [...calls.slice(0, 2), call(4, 5, getData('/b'), read(text.getData('b', 0, 0n)))];
    expect(verdictOf(wrong)).toBe('illegal');
  });

  it('names sequential children by the parent counter', () => {
    const calls = [
      call(0, 1, write(S1, create('/q')), ok(created('/q'))),
      call(
        2,
        3,
        write(S1, create('/q/n-', 'a', 'persistent-sequential')),
        ok(created('/q/n-0000000000', 'a')),
      ),
      call(
        4,
        5,
        write(S2, create('/q/n-', 'b', 'persistent-sequential')),
        ok(created('/q/n-0000000001', 'b')),
      ),
    ];
    expect(verdictOf(calls)).toBe('ok');
    const swapped = [
      calls[0],
      calls[2],
      {
        ...calls[1],
        input: (calls[1] as CheckedCall).input,
        output: ok(created('/q/n-0000000001', 'a')),
      },
    ] as CheckedCall[];
    expect(verdictOf(swapped)).toBe('illegal');
  });

  it('lets a session expire (its ephemerals vanish) only after its answered writes', () => {
    const eph = created('/e', 'x', S1);
    const calls = [
      call(0, 1, write(S1, create('/e', 'x', 'ephemeral')), ok(eph)),
      call(2, 3, { kind: 'exists', path: '/e' }, read('null')),
    ];
    expect(verdictOf(calls)).toBe('ok'); // S1 expired in between
    const answeredLater = [
      ...calls,
      call(4, 5, write(S1, setData('/e', 'y')), ok(text.setData(1, 1))),
    ];
    expect(verdictOf(answeredLater)).toBe('illegal'); // S1 was alive at 4..5, /e with it
    const alive = checkCalls(calls, { liveAtEnd: new Set([S1]) });
    expect(alive.stats.linIllegal).toBe(1);
  });

  it('finds a phantom child in getChildren, and accepts the children the writes explain', () => {
    const calls = [
      call(0, 1, write(S1, create('/a')), ok(created('/a'))),
      call(2, 3, write(S1, create('/a/x')), ok(created('/a/x'))),
      call(2, 3, write(S2, create('/b')), ok(created('/b'))),
    ];
    const children = (path: string): SpecInput => ({
      kind: 'children',
      path,
      keys: null,
      withParent: true,
    });
    expect(
      verdictOf([
        ...calls,
        call(4, 5, children('/'), read(text.children(['a', 'b', 'zookeeper'], 0))),
      ]),
    ).toBe('ok');
    expect(
      verdictOf([...calls, call(4, 5, children('/'), read(text.children(['a', 'zookeeper'], 0)))]),
    ).toBe('illegal');
    expect(
      verdictOf([
        ...calls,
        call(4, 5, children('/'), read(text.children(['a', 'b', 'c', 'zookeeper'], 0))),
      ]),
    ).toBe('illegal');
    expect(verdictOf([...calls, call(4, 5, children('/a'), read(text.children(['x'], 0)))])).toBe(
      'ok',
    );
  });

  it('cuts independent paths into separate partitions, and a multi joins none of them', () => {
    const calls = [
      call(0, 1, write(S1, create('/a')), ok(created('/a'))),
      call(0, 1, write(S2, create('/b')), ok(created('/b'))),
      call(
        2,
        3,
        write(S1, setData('/a', 'x'), setData('/b', 'y')),
        ok(text.setData(1, 1), text.setData(1, 1)),
      ),
      call(4, 5, getData('/a'), read(text.getData('x', 1, 0n))),
    ];
    const verdict = checkCalls(calls);
    expect(verdict.stats.linPartitions).toBe(2);
    expect(verdict.stats.linIllegal).toBe(0);
  });

  it('keys trees by a hash of their nodes, and checks an illegal verdict again with exact keys', () => {
    const tree = initialTree();
    const ab = execute(execute(tree, write(S1, create('/a'))).tree, write(S1, create('/b'))).tree;
    const ba = execute(execute(tree, write(S1, create('/b'))).tree, write(S1, create('/a'))).tree;
    expect(ab.key).toBe(ba.key);
    expect(exactTreeKey(ab)).toBe(exactTreeKey(ba));
    const changed = execute(ab, write(S1, setData('/a', 'x'))).tree;
    const back = execute(changed, write(S1, setData('/a', ''))).tree;
    expect(changed.key).not.toBe(ab.key);
    expect(back.key).not.toBe(ab.key); // the version moved on
    const gone = execute(ab, write(S1, { type: 'delete', path: '/b', version: -1 })).tree;
    const trees = [tree, ab, ba, changed, back, gone, execute(tree, write(S1, create('/a'))).tree];
    for (const one of trees)
      for (const other of trees)
        expect(one.key === other.key).toBe(exactTreeKey(one) === exactTreeKey(other));
    // A stale read: illegal, and searched twice (hashed keys, then exact keys).
    const calls = [
      call(0, 1, write(S1, create('/a', 'v')), ok(created('/a', 'v'))),
      call(2, 3, write(S1, setData('/a', 'w')), ok(text.setData(1, 1))),
      call(4, 5, getData('/a'), read(text.getData('v', 0, 0n))),
    ];
    const verdict = checkCalls(calls);
    expect(verdict.stats.linIllegal).toBe(1);
    const bare = searchLinearization(
      new ZnodeSpec({ exactKeys: true }),
      calls.map((c, id) => ({ id, call: c.call, ret: c.ret, input: c.input, output: c.output })),
    );
    expect(bare.result).toBe('illegal');
    expect(verdict.stats.linSteps).toBe(2 * bare.steps);
  });

  it('answers unknown, not forever, when the search budget runs out', () => {
    // Fourteen timed-out writes and a read that fits none of their combinations: the search
    // would try every subset and order of them before it could say illegal.
    const calls: CheckedCall[] = [call(0, 1, write(S1, create('/a', 'v')), ok(created('/a', 'v')))];
    for (let i = 0; i < 14; i++)
      calls.push(call(2 + i, INF, write(S2, setData('/a', `w${i}`)), null));
    calls.push(call(200, 201, getData('/a'), read(text.getData('never', 15, 0n))));
    const verdict = checkCalls(calls, { searchStepsMax: 200 });
    expect(verdict.stats.linUnknown).toBe(1);
    expect(verdict.partitions[0]?.verdict.result).toBe('unknown');
  });
});

// ---- fast-check: the checker against a brute-force search ------------------------------------

const PATHS = ['/a', '/a/x', '/b'] as const;

const writeArb: fc.Arbitrary<SpecWrite> = fc.oneof(
  fc.record({
    type: fc.constant('create' as const),
    path: fc.constantFrom(...PATHS),
    data: fc.constantFrom('p', 'q'),
    mode: fc.constantFrom('persistent' as const, 'ephemeral' as const),
  }),
  fc.record({
    type: fc.constant('setData' as const),
    path: fc.constantFrom(...PATHS),
    data: fc.constantFrom('r', 's'),
    version: fc.constantFrom(-1, 0, 1),
  }),
  fc.record({
    type: fc.constant('delete' as const),
    path: fc.constantFrom(...PATHS),
    version: fc.constantFrom(-1, 0),
  }),
);

const inputArb: fc.Arbitrary<SpecInput> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(S1, S2), fc.array(writeArb, { minLength: 1, maxLength: 2 }))
      .map(([session, ops]) => write(session, ...ops)),
  },
  { weight: 2, arbitrary: fc.constantFrom(...PATHS).map((path) => getData(path)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<SpecInput>(
      { kind: 'children', path: '/', keys: null, withParent: true },
      { kind: 'children', path: '/a', keys: null, withParent: true },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<SpecInput>({ kind: 'close', session: S1 }) },
);

/** A history built from one sequential run: each op's point in time, its interval around it. */
const historyArb = fc
  .array(fc.record({ input: inputArb, before: fc.nat(3), after: fc.nat(3), unknown: fc.nat(5) }), {
    minLength: 1,
    maxLength: 6,
  })
  .chain((ops) => fc.tuple(fc.constant(ops), fc.nat(ops.length - 1), fc.nat(3), fc.boolean()));

function build([ops, victim, twist, plant]: [
  { input: SpecInput; before: number; after: number; unknown: number }[],
  number,
  number,
  boolean,
]): CheckedCall[] {
  let tree = initialTree();
  const calls: CheckedCall[] = [];
  ops.forEach((op, i) => {
    const point = 10 * (i + 1);
    const ran = execute(tree, op.input);
    tree = ran.tree;
    const unknown = op.unknown === 0 && op.input.kind !== 'getData' && op.input.kind !== 'children';
    let output = unknown ? null : ran.output;
    if (plant && i === victim && output !== null) output = plantWrong(output, twist);
    calls.push({
      id: i,
      call: point - 1 - op.before * 4,
      ret: unknown ? INF : point + 1 + op.after * 4,
      input: op.input,
      output,
      describe: `op ${i}`,
    });
  });
  return calls;
}

function plantWrong(output: SpecOutput, twist: number): SpecOutput {
  if (output === null) return output;
  if (output.kind === 'read')
    return {
      kind: 'read',
      text:
        output.text === 'NoNode'
          ? text.getData(['p', 'q', 'r', 's'][twist] as string, 0, 0n)
          : 'NoNode',
    };
  if (output.kind === 'write' && output.texts.length > 0)
    return output.failedAt === null
      ? { kind: 'write', texts: ['NoNode', ...output.texts.slice(1).map(() => '-')], failedAt: 0 }
      : {
          kind: 'write',
          texts: output.texts.map((t, i) =>
            i === output.failedAt ? (t === 'NoNode' ? 'NodeExists' : 'NoNode') : t,
          ),
          failedAt: output.failedAt,
        };
  return output;
}

/** Every order that respects real time, each op placed or (unknown ones) left out. */
function bruteForce(calls: readonly CheckedCall[]): boolean {
  const model = new ZnodeSpec({ closure: 'eager' });
  const search = (state: SpecState, left: readonly CheckedCall[]): boolean => {
    if (left.every((c) => c.ret === INF)) return true;
    const firstReturn = Math.min(...left.map((c) => c.ret));
    for (const next of left) {
      if (next.call > firstReturn) continue;
      const after = model.step(state, next.input, next.output);
      if (after === null || after === 'limit') continue;
      if (
        search(
          after,
          left.filter((c) => c !== next),
        )
      )
        return true;
    }
    return false;
  };
  return search(model.init(), calls);
}

describe('tier-2 checker: against a brute-force search', () => {
  it('agrees on tiny random histories, linearizable or with one answer planted wrong', () => {
    let illegal = 0;
    let legal = 0;
    fc.assert(
      fc.property(historyArb, (parts) => {
        const calls = build(parts);
        const expected = bruteForce(calls);
        const got = checkCalls(calls);
        expect(got.stats.linUnknown).toBe(0);
        if (!parts[3])
          expect(expected, 'a history from a sequential run is linearizable').toBe(true);
        expect(got.stats.linIllegal === 0).toBe(expected);
        if (expected) legal++;
        else illegal++;
      }),
      { numRuns: 400, seed: 8_2024 },
    );
    // Both verdicts were exercised (a property that only ever saw one could not fail).
    expect(legal).toBeGreaterThan(50);
    expect(illegal).toBeGreaterThan(20);
  });

  it('the bare search agrees with the brute force on single-register histories', () => {
    // No partitioning: all calls on one path through searchLinearization directly.
    fc.assert(
      fc.property(historyArb, (parts) => {
        const calls = build(parts);
        const verdict = searchLinearization(
          new ZnodeSpec(),
          calls.map((c) => ({
            id: c.id,
            call: c.call,
            ret: c.ret,
            input: c.input,
            output: c.output,
          })),
        );
        expect(verdict.result === 'ok').toBe(bruteForce(calls));
      }),
      { numRuns: 300, seed: 8_2025 },
    );
  });
});

// ---- fast-check: the lazy closure of unseen events against the eager one ---------------------

const LAZY_PATHS = ['/a', '/a/x', '/b'] as const;

const lazyWriteArb: fc.Arbitrary<SpecWrite> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        path: fc.constantFrom(...LAZY_PATHS, '/a/s-'),
        data: fc.constantFrom('p', 'q'),
        mode: fc.constantFrom(
          'persistent' as const,
          'ephemeral' as const,
          'ephemeral' as const,
          'ephemeral-sequential' as const,
          'container' as const,
          'persistent-with-ttl' as const,
        ),
      })
      .map(({ path, data, mode }): SpecWrite => {
        const sequential = path.endsWith('-') || mode === 'ephemeral-sequential';
        const at = sequential && !path.endsWith('-') ? '/a/s-' : path;
        const final =
          at.endsWith('-') && mode !== 'ephemeral-sequential' ? 'persistent-sequential' : mode;
        return {
          type: 'create',
          path: at,
          data,
          mode: final,
          ...(final === 'persistent-with-ttl' ? { ttlMs: 1000 } : {}),
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('setData' as const),
      path: fc.constantFrom(...LAZY_PATHS),
      data: fc.constantFrom('r', 's'),
      version: fc.constantFrom(-1, 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('delete' as const),
      path: fc.constantFrom(...LAZY_PATHS),
      version: fc.constant(-1),
    }),
  },
);

const lazyInputArb: fc.Arbitrary<SpecInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(S1, S2, S3), fc.array(lazyWriteArb, { minLength: 1, maxLength: 2 }))
      .map(([session, ops]) => write(session, ...ops)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...LAZY_PATHS), fc.constantFrom('getData' as const, 'exists' as const))
      .map(([path, kind]): SpecInput => ({ kind, path })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<SpecInput>(
      { kind: 'children', path: '/', keys: null, withParent: true },
      { kind: 'children', path: '/a', keys: null, withParent: true },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(S1, S2).map((session): SpecInput => ({ kind: 'close', session })),
  },
);

/**
 * A sequential run with unseen events between its calls (an expiry or a reap the eager model
 * offers, picked by `hidden`), each call's interval around its point; optionally one answer
 * planted wrong.
 */
const lazyHistoryArb = fc
  .array(
    fc.record({
      input: lazyInputArb,
      before: fc.nat(3),
      after: fc.nat(3),
      unknown: fc.nat(3),
      hidden: fc.nat(3),
    }),
    { minLength: 1, maxLength: 9 },
  )
  .chain((ops) =>
    fc.tuple(fc.constant(ops), fc.nat(ops.length - 1), fc.nat(3), fc.boolean(), fc.boolean()),
  );

function buildWithEvents([ops, victim, twist, plant, s3Lives]: [
  { input: SpecInput; before: number; after: number; unknown: number; hidden: number }[],
  number,
  number,
  boolean,
  boolean,
]): { calls: CheckedCall[]; liveAtEnd: Set<bigint> } {
  const liveAtEnd = new Set<bigint>(s3Lives ? [S3] : []);
  let tree = initialTree();
  const calls: CheckedCall[] = [];
  ops.forEach((op, i) => {
    const events = unseenEvents(tree, liveAtEnd);
    if (op.hidden < events.length) tree = events[op.hidden] as typeof tree;
    const point = 10 * (i + 1);
    const ran = execute(tree, op.input);
    tree = ran.tree;
    const unknown =
      op.unknown === 0 &&
      op.input.kind !== 'getData' &&
      op.input.kind !== 'exists' &&
      op.input.kind !== 'children';
    let output = unknown ? null : ran.output;
    if (plant && i === victim && output !== null) output = plantWrong(output, twist);
    calls.push({
      id: i,
      call: point - 1 - op.before * 4,
      ret: unknown ? INF : point + 1 + op.after * 4,
      input: op.input,
      output,
      describe: `op ${i}`,
    });
  });
  return { calls, liveAtEnd };
}

describe('tier-2 checker: the lazy closure of unseen events', () => {
  // Each rule of the lazy closure (znode-spec.ts, unseen-events.ts), with a history it must
  // accept (it would be a false alarm) and one it must not (the pruning is not a pass).
  const eph = (session: bigint, path: string): [SpecInput, SpecOutput] => [
    write(session, create(path, '', 'ephemeral')),
    ok(created(path, '', session)),
  ];
  const children = (path: string): SpecInput => ({
    kind: 'children',
    path,
    keys: null,
    withParent: true,
  });

  it('lets an unknown write succeed after an expiry no read saw', () => {
    const history = (owner: bigint): CheckedCall[] => [
      call(0, 1, ...eph(S1, '/e')),
      call(2, INF, write(S2, create('/e')), null),
      call(5, 6, getData('/e'), read(text.getData('', 0, owner))),
    ];
    expect(verdictOf(history(0n))).toBe('ok'); // S1 expired, then S2's create took effect
    expect(verdictOf(history(S2))).toBe('illegal'); // no call made /e ephemeral of S2
    const live = checkCalls(history(0n), { liveAtEnd: new Set([S1]) });
    expect(live.stats.linIllegal).toBe(1); // S1 never expired: /e stayed S1's
  });

  it('lets an answered write succeed after an expiry no read saw, not before the expiring session answered', () => {
    const calls = [
      call(0, 1, ...eph(S1, '/e')),
      call(2, 3, write(S2, create('/e')), ok(created('/e'))),
    ];
    expect(verdictOf(calls)).toBe('ok');
    const s1Later = [...calls, call(4, 5, write(S1, setData('/e', 'v')), ok(text.setData(1, 1)))];
    expect(verdictOf(s1Later)).toBe('illegal'); // S1 answered at 4..5: alive at 2..3
  });

  it('lets a delete succeed once an unseen expiry emptied the node', () => {
    const calls = [
      call(0, 1, write(S1, create('/p')), ok(created('/p'))),
      call(2, 3, ...eph(S2, '/p/k')),
      call(4, 5, write(S1, { type: 'delete', path: '/p', version: -1 }), ok('delete')),
    ];
    expect(verdictOf(calls)).toBe('ok'); // S2 expired, /p/k with it
    expect(checkCalls(calls, { liveAtEnd: new Set([S2]) }).stats.linIllegal).toBe(1);
  });

  it('removes every ephemeral of an expired session at once, for good', () => {
    const setup = [
      call(0, 1, write(S1, create('/a')), ok(created('/a'))),
      call(2, 3, ...eph(S1, '/a/x')),
      call(2, 3, ...eph(S2, '/a/y')),
      call(2, 3, ...eph(S2, '/a/z')),
      call(2, 3, ...eph(S3, '/a/w')),
    ];
    const listing = (names: string[]): CheckedCall =>
      call(4, 5, children('/a'), read(text.children(names, 0)));
    expect(verdictOf([...setup, listing(['w', 'x'])])).toBe('ok'); // S2 expired
    expect(verdictOf([...setup, listing(['x'])])).toBe('ok'); // S2 and S3 expired
    expect(verdictOf([...setup, listing(['w', 'x', 'y'])])).toBe('illegal'); // half of S2
    const back = call(6, 7, getData('/a/z'), read(text.getData('', 0, S2)));
    expect(verdictOf([...setup, listing(['x']), back])).toBe('illegal'); // expiry is final
  });

  it('reaps a container only once its children are gone', () => {
    const setup = (childMode: 'ephemeral' | 'persistent'): CheckedCall[] => [
      call(0, 1, write(S2, create('/c', '', 'container')), ok(created('/c', '', CONTAINER))),
      call(
        2,
        3,
        write(S1, create('/c/k', '', childMode)),
        ok(created('/c/k', '', childMode === 'ephemeral' ? S1 : 0n)),
      ),
    ];
    const gone = call(4, 5, getData('/c'), read('NoNode'));
    expect(verdictOf([...setup('ephemeral'), gone])).toBe('ok'); // S1 expired, /c reaped
    expect(verdictOf([...setup('persistent'), gone])).toBe('illegal'); // /c/k still there
    const live = checkCalls([...setup('ephemeral'), gone], { liveAtEnd: new Set([S1]) });
    expect(live.stats.linIllegal).toBe(1);
    const child = call(6, 7, getData('/c/k'), read(text.getData('', 0, S1)));
    expect(verdictOf([...setup('ephemeral'), gone, child])).toBe('illegal');
    // A write that notices the reap only through the expiry it waits for.
    const recreate = call(4, 5, write(S2, create('/c')), ok(created('/c')));
    expect(verdictOf([...setup('ephemeral'), recreate])).toBe('ok');
    expect(verdictOf([...setup('persistent'), recreate])).toBe('illegal');
  });

  it('agrees with the eager closure on histories with expiries, reaps and unknown outcomes', () => {
    let illegal = 0;
    let legal = 0;
    let expired = 0;
    fc.assert(
      fc.property(lazyHistoryArb, (parts) => {
        const { calls, liveAtEnd } = buildWithEvents(parts);
        const eager = checkCalls(calls, { liveAtEnd, closure: 'eager', statesMax: 4096 });
        const lazy = checkCalls(calls, { liveAtEnd });
        expect(eager.stats.linUnknown).toBe(0);
        expect(lazy.stats.linUnknown).toBe(0);
        if (!parts[3]) expect(lazy.stats.linIllegal, 'a sequential run is linearizable').toBe(0);
        expect(lazy.stats.linIllegal).toBe(eager.stats.linIllegal);
        if (lazy.stats.linIllegal === 0) legal++;
        else illegal++;
        if (parts[0].some((op) => op.hidden < 1)) expired++;
      }),
      { numRuns: 1000, seed: 8_2026 },
    );
    expect(legal).toBeGreaterThan(300);
    expect(illegal).toBeGreaterThan(100);
    expect(expired).toBeGreaterThan(300);
  });
});
