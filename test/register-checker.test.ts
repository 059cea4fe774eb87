// The versioned-register checker behind test/jepsen.test.ts (test/support/register-checker.ts):
// it accepts histories a correct register can produce, including concurrent operations and
// writes whose outcome is unknown, and it names each planted violation: a stale read, a lost
// write, a version made twice, a read of a refused write, a version gap, a conditional write
// refused while its version stood, a session going back. A property run feeds it histories of
// a simulated correct register with random overlaps and unknown outcomes (all accepted), and
// the same histories with one read made stale (each rejected).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRegisters, type RegisterOp } from './support/register-checker.js';

let nextId = 0;
function op(fields: Partial<RegisterOp> & Pick<RegisterOp, 'kind' | 'invokeMs'>): RegisterOp {
  return {
    id: ++nextId,
    key: '/k',
    session: 's1',
    expected: -1,
    value: null,
    linearizable: true,
    returnMs: fields.invokeMs + 1,
    outcome: 'ok',
    version: null,
    code: null,
    ...fields,
  };
}
const write = (value: string, at: number, version: number | null, more: Partial<RegisterOp> = {}) =>
  op({ kind: 'write', value, invokeMs: at, version, ...more });
const read = (value: string, at: number, version: number, more: Partial<RegisterOp> = {}) =>
  op({ kind: 'read', value, invokeMs: at, version, ...more });

const violations = (ops: RegisterOp[]): string[] => checkRegisters(ops, '0').violations;

describe('checkRegisters accepts', () => {
  it('a sequential history', () => {
    expect(
      violations([
        read('0', 0, 0),
        write('a', 2, 1),
        read('a', 4, 1),
        write('b', 6, 2, { expected: 1 }),
      ]),
    ).toEqual([]);
  });

  it('concurrent writes in either order, and a read overlapping a write seeing either side', () => {
    expect(
      violations([
        write('a', 0, 2, { returnMs: 10 }),
        write('b', 1, 1, { returnMs: 9, session: 's2' }),
        read('b', 2, 1, { returnMs: 3, session: 's3' }),
        read('a', 11, 2, { session: 's3' }),
      ]),
    ).toEqual([]);
  });

  it('an unknown write that a read saw (it happened) and one nobody saw (it may not have)', () => {
    expect(
      violations([
        write('a', 0, null, { outcome: 'unknown', returnMs: null }),
        write('b', 1, null, { outcome: 'unknown', returnMs: null }),
        read('a', 5, 1),
        write('c', 7, 2),
        read('c', 9, 2),
      ]),
    ).toEqual([]);
  });

  it('a conditional write refused while another write changed the version', () => {
    expect(
      violations([
        write('a', 0, 1),
        write('b', 3, null, {
          expected: 1,
          outcome: 'fail',
          code: 'BadVersion',
          returnMs: 6,
          version: null,
        }),
        write('c', 4, 2, { session: 's2', returnMs: 5 }),
      ]),
    ).toEqual([]);
  });
});

describe('checkRegisters rejects', () => {
  it('a stale linearizable read after a write returned', () => {
    expect(violations([write('a', 0, 1), read('0', 5, 0, { session: 's2' })])).toEqual([
      expect.stringContaining('is ordered before'),
    ]);
  });

  it('a lost acknowledged write (a later final read sees an older version)', () => {
    const found = violations([
      write('a', 0, 1),
      write('b', 2, 2),
      read('a', 10, 1, { session: 'final' }),
    ]);
    expect(found.some((v) => v.includes('is ordered before'))).toBe(true);
  });

  it('one version made by two acknowledged writes', () => {
    expect(violations([write('a', 0, 1), write('b', 0.5, 1, { session: 's2' })])).toEqual([
      expect.stringContaining('made by'),
    ]);
  });

  it('a read of a value nobody wrote, and of a refused write', () => {
    const refused = write('x', 0, null, {
      expected: 5,
      outcome: 'fail',
      code: 'BadVersion',
      version: null,
    });
    const found = violations([refused, read('x', 3, 1), read('y', 5, 1)]);
    expect(found.some((v) => v.includes('refused write'))).toBe(true);
    expect(found.some((v) => v.includes('nobody wrote'))).toBe(true);
  });

  it('a version with no write that could have made it', () => {
    expect(violations([write('a', 0, 1), write('b', 2, 3)])).toEqual([
      expect.stringContaining('have no write'),
    ]);
  });

  it('a conditional write refused while its version stood', () => {
    const refused = write('b', 3, null, {
      expected: 1,
      outcome: 'fail',
      code: 'BadVersion',
      version: null,
    });
    expect(violations([write('a', 0, 1), refused, write('c', 10, 2)])).toEqual([
      expect.stringContaining('stood for its whole interval'),
    ]);
  });

  it('a session whose local reads go back in version', () => {
    expect(
      violations([
        write('a', 0, 1, { session: 'w' }),
        write('b', 2, 2, { session: 'w' }),
        read('b', 4, 2, { linearizable: false, session: 'r' }),
        read('a', 6, 1, { linearizable: false, session: 'r' }),
      ]),
    ).toEqual([expect.stringContaining('went back')]);
  });
});

/** A correct register run: ops with random overlaps, linearized at a random point of their interval. */
const correctHistory = fc
  .array(
    fc.record({
      kind: fc.constantFrom<'read' | 'write'>('read', 'write', 'write'),
      conditional: fc.boolean(),
      start: fc.integer({ min: 0, max: 1_000 }),
      length: fc.integer({ min: 1, max: 60 }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      unknown: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) => {
    const timed = specs
      .map((s, i) => ({ ...s, i, point: s.start + s.at * s.length }))
      .sort((a, b) => a.point - b.point);
    let version = 0;
    let value = '0';
    const ops: RegisterOp[] = [];
    for (const s of timed) {
      const base = {
        id: s.i,
        key: '/k',
        session: `s${s.i}`,
        linearizable: true,
        invokeMs: s.start,
        returnMs: s.start + s.length,
        code: null,
      };
      if (s.kind === 'read') {
        ops.push({ ...base, kind: 'read', expected: -1, value, outcome: 'ok', version });
        continue;
      }
      const expected = s.conditional ? (s.unknown % 2 === 0 ? version : version + 3) : -1;
      const written = `w${s.i}`;
      if (expected >= 0 && expected !== version) {
        ops.push({
          ...base,
          kind: 'write',
          expected,
          value: written,
          outcome: 'fail',
          version: null,
          code: 'BadVersion',
        });
        continue;
      }
      version++;
      value = written;
      if (s.unknown === 0)
        ops.push({
          ...base,
          kind: 'write',
          expected,
          value: written,
          outcome: 'unknown',
          version: null,
          returnMs: null,
        });
      else ops.push({ ...base, kind: 'write', expected, value: written, outcome: 'ok', version });
    }
    return ops;
  });

describe('checkRegisters on generated histories', () => {
  it('accepts every history of a correct register', () => {
    fc.assert(
      fc.property(correctHistory, (ops) => {
        expect(violations(ops)).toEqual([]);
      }),
      { numRuns: 300, seed: Number(process.env.CAIRN_SEED ?? 20261122) },
    );
  });

  it('rejects the same history with one read made stale after a later write returned', () => {
    fc.assert(
      fc.property(correctHistory, (ops) => {
        // A read invoked after a known write of a newer version returned, reporting an older one.
        const newest = ops
          .filter((o) => o.kind === 'write' && o.outcome === 'ok' && (o.version as number) >= 1)
          .sort((a, b) => (b.version as number) - (a.version as number))[0];
        fc.pre(newest !== undefined);
        const w = newest as RegisterOp;
        const stale: RegisterOp = {
          ...w,
          id: 10_000,
          kind: 'read',
          expected: -1,
          session: 'stale',
          value: '0',
          version: 0,
          invokeMs: (w.returnMs as number) + 1,
          returnMs: (w.returnMs as number) + 2,
        };
        expect(violations([...ops, stale]).length).toBeGreaterThan(0);
      }),
      { numRuns: 300, seed: Number(process.env.CAIRN_SEED ?? 20261122) },
    );
  });
});
