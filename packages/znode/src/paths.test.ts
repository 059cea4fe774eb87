// Proves that paths.ts follows ZooKeeper's path rules (PathUtils.validatePath, RELIABILITY.md
// §3.1) and its naming of sequential nodes. A table holds the tricky cases from the reference.
// A property compares validatePath on path-like strings with a second, obviously different
// model (split into segments, check each one), and a sibling plants a bug in that model to show
// the property can fail. Another property checks that validatePath never throws, on strings and
// on any other value. The helpers (parentOf, nameOf, joinPath, isAncestorOrSelf) are checked
// on generated valid paths, sequentialName against Java's %010d on both sides of the int wrap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  explainInvalidPath,
  formatSequence,
  isAncestorOrSelf,
  isReservedPath,
  joinPath,
  nameOf,
  parentOf,
  sequentialName,
  validatePath,
} from './paths.js';

const seed = Number(process.env.CAIRN_SEED ?? 1);

/** [path, valid as a plain path, valid as a sequential prefix] */
const TABLE: readonly (readonly [string, boolean, boolean])[] = [
  ['/', true, true],
  ['/a', true, true],
  ['/a/b/c', true, true],
  ['', false, false],
  ['a', false, false],
  ['a/b', false, false],
  ['/a/', false, true],
  ['/q/', false, true],
  ['//', false, false],
  ['/a//b', false, false],
  ['//a', false, false],
  ['/.', false, true],
  ['/..', false, true],
  ['/a/.', false, true],
  ['/a/..', false, true],
  ['/a/./b', false, false],
  ['/a/../b', false, false],
  ['/a/...', true, true],
  ['/...', true, true],
  ['/a.b', true, true],
  ['/a..b', true, true],
  ['/.a', true, true],
  ['/a.', true, true],
  ['/..a', true, true],
  ['/a/.hidden/b', true, true],
  ['/\u0000', false, false],
  ['/a\u0000b', false, false],
  ['/\u0001', false, false],
  ['/\u001f', false, false],
  ['/\u007f', false, false],
  ['/\u0080', false, false],
  ['/\u009f', false, false],
  ['/\u00a0', true, true],
  ['/\ud83d\ude00', false, false],
  ['/\ud800', false, false],
  ['/\udfff', false, false],
  ['/\ue000', false, false],
  ['/\uf8ff', false, false],
  ['/\uf900', true, true],
  ['/\ufeff', true, true],
  ['/\uffef', true, true],
  ['/\ufff0', false, false],
  ['/\uffff', false, false],
  ['/a b', true, true],
  ['/*:?', true, true],
  ['/zookeeper', true, true],
  ['/zookeeper/config', true, true],
  ['/日本語', true, true],
  ['/lock-', true, true],
];

describe('validatePath', () => {
  it.each(TABLE)('judges %j: plain %s, sequential %s', (path, plain, sequential) => {
    expect(validatePath(path, false) === null).toBe(plain);
    expect(validatePath(path, true) === null).toBe(sequential);
  });

  it('answers BadArguments with the path', () => {
    expect(validatePath('/a//b', false)).toEqual({ code: 'BadArguments', path: '/a//b' });
    expect(validatePath('/a/', false)).toEqual({ code: 'BadArguments', path: '/a/' });
  });

  it('answers BadArguments without a path for a value that is not a string', () => {
    expect(validatePath(undefined as unknown as string, false)).toEqual({ code: 'BadArguments' });
    expect(validatePath(42 as unknown as string, true)).toEqual({ code: 'BadArguments' });
  });

  it("explains a rejection in ZooKeeper's words, with the unit index", () => {
    expect(explainInvalidPath('/a', false)).toBeNull();
    expect(explainInvalidPath('', false)).toBe('Path length must be > 0');
    expect(explainInvalidPath('a', false)).toBe('Path must start with / character');
    expect(explainInvalidPath('/a/', false)).toBe('Path must not end with / character');
    expect(explainInvalidPath('/a//b', false)).toMatch(/empty node name specified @3$/);
    expect(explainInvalidPath('/a/..', false)).toMatch(/relative paths not allowed @4$/);
    expect(explainInvalidPath('/a/.', false)).toMatch(/relative paths not allowed @3$/);
    expect(explainInvalidPath('/a\u0000', false)).toMatch(/null character not allowed @2$/);
    expect(explainInvalidPath('/ab\u007f', false)).toMatch(/invalid character @3$/);
    expect(explainInvalidPath('/a/..', true)).toBeNull();
  });
});

/** A second model of the rules, by segments rather than by ZooKeeper's character scan. */
function segmentModel(path: string, forbidden: (unit: number) => boolean): boolean {
  if (!path.startsWith('/')) return false;
  if (path === '/') return true;
  return path
    .slice(1)
    .split('/')
    .every(
      (segment) =>
        segment !== '' &&
        segment !== '.' &&
        segment !== '..' &&
        [...Array(segment.length).keys()].every((i) => !forbidden(segment.charCodeAt(i))),
    );
}

function forbiddenUnit(unit: number): boolean {
  return (
    unit <= 0x1f ||
    (unit >= 0x7f && unit <= 0x9f) ||
    (unit >= 0xd800 && unit <= 0xf8ff) ||
    unit >= 0xfff0
  );
}

/** Units that sit on every boundary of the rules, plus ordinary letters. */
const UNITS = [
  '/',
  '/',
  '.',
  '.',
  'a',
  'b',
  ' ',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u0020',
  '\u007e',
  '\u007f',
  '\u009f',
  '\u00a0',
  '\ud7ff',
  '\ud800',
  '\udc00',
  '\uf8ff',
  '\uf900',
  '\uffef',
  '\ufff0',
  '\uffff',
];
const pathLike = fc
  .array(fc.constantFrom(...UNITS), { maxLength: 12 })
  .map((units) => units.join(''));
const slashFirst = pathLike.map((rest) => `/${rest}`);
const candidates = fc.oneof(pathLike, slashFirst, slashFirst);
/** Any UTF-16 code units, lone surrogates included. */
const anyUnits = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 16 })
  .map((units) => String.fromCharCode(...units));

describe(`validatePath properties (seed ${seed})`, () => {
  it('agrees with the segment model on path-like strings', () => {
    fc.assert(
      fc.property(fc.oneof(candidates, anyUnits), fc.boolean(), (path, sequential) => {
        const checked = sequential ? `${path}1` : path;
        expect(validatePath(path, sequential) === null).toBe(segmentModel(checked, forbiddenUnit));
      }),
      { seed, numRuns: 3000 },
    );
  });

  it('catches a planted bug: a model that lets U+007F through disagrees', () => {
    const planted = (unit: number): boolean => unit !== 0x7f && forbiddenUnit(unit);
    const result = fc.check(
      fc.property(
        candidates,
        (path) => (validatePath(path, false) === null) === segmentModel(path, planted),
      ),
      { seed, numRuns: 3000 },
    );
    expect(result.failed).toBe(true);
  });

  it('treats a sequential prefix as the prefix plus "1"', () => {
    fc.assert(
      fc.property(candidates, (path) => {
        expect(validatePath(path, true) === null).toBe(validatePath(`${path}1`, false) === null);
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyUnits, candidates, fc.anything({ maxDepth: 1 })),
        fc.boolean(),
        (value, s) => {
          const verdict = validatePath(value as string, s);
          expect(verdict === null || verdict.code === 'BadArguments').toBe(true);
          explainInvalidPath(value as string, s);
        },
      ),
      { seed, numRuns: 1000 },
    );
  });
});

const segment = fc
  .array(fc.constantFrom('a', 'b', 'z', '.', '-', '0', ' ', '\u00e9'), {
    minLength: 1,
    maxLength: 4,
  })
  .map((units) => units.join(''))
  .filter((name) => name !== '.' && name !== '..');
const validPath = fc.array(segment, { maxLength: 5 }).map((segments) => `/${segments.join('/')}`);

describe(`path helpers (seed ${seed})`, () => {
  it('splits and joins: joinPath(parentOf(p), nameOf(p)) is p for every path but the root', () => {
    fc.assert(
      fc.property(validPath, (path) => {
        expect(validatePath(path, false)).toBeNull();
        if (path === '/') return;
        expect(joinPath(parentOf(path), nameOf(path))).toBe(path);
        expect(validatePath(parentOf(path), false)).toBeNull();
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('names parents and children of the root and deeper paths', () => {
    expect(parentOf('/')).toBe('/');
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b')).toBe('/a');
    expect(parentOf('/q/')).toBe('/q');
    expect(nameOf('/')).toBe('');
    expect(nameOf('/a/b')).toBe('b');
    expect(nameOf('/q/')).toBe('');
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/a', 'b')).toBe('/a/b');
  });

  it('finds ancestors segment-wise', () => {
    expect(isAncestorOrSelf('/', '/')).toBe(true);
    expect(isAncestorOrSelf('/', '/a/b')).toBe(true);
    expect(isAncestorOrSelf('/a', '/a')).toBe(true);
    expect(isAncestorOrSelf('/a', '/a/b')).toBe(true);
    expect(isAncestorOrSelf('/a', '/ab')).toBe(false);
    expect(isAncestorOrSelf('/a/b', '/a')).toBe(false);
    expect(isAncestorOrSelf('/a', '/')).toBe(false);
  });

  it('makes every ancestor of a path an ancestor, and nothing else', () => {
    fc.assert(
      fc.property(validPath, validPath, (a, b) => {
        const ancestors = new Set<string>();
        for (let p = b; ; p = parentOf(p)) {
          ancestors.add(p);
          if (p === '/') break;
        }
        expect(isAncestorOrSelf(a, b)).toBe(ancestors.has(a));
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('reserves /zookeeper and its subtree only', () => {
    expect(isReservedPath('/zookeeper')).toBe(true);
    expect(isReservedPath('/zookeeper/config')).toBe(true);
    expect(isReservedPath('/zookeeper/quota/app')).toBe(true);
    expect(isReservedPath('/zookeeper2')).toBe(false);
    expect(isReservedPath('/zookeeper0000000001')).toBe(false);
    expect(isReservedPath('/app/zookeeper')).toBe(false);
    expect(isReservedPath('/')).toBe(false);
  });
});

describe('sequentialName', () => {
  it.each([
    [0, '0000000000'],
    [1, '0000000001'],
    [42, '0000000042'],
    [1_234_567_890, '1234567890'],
    [2_147_483_647, '2147483647'],
    [-1, '-000000001'],
    [-5, '-000000005'],
    [-123_456_789, '-123456789'],
    [-1_234_567_890, '-1234567890'],
    [-2_147_483_648, '-2147483648'],
  ])("formats %i as Java's %%010d: %s", (counter, suffix) => {
    expect(formatSequence(counter)).toBe(suffix);
  });

  it('wraps past 2147483647 to -2147483648, as a Java int does', () => {
    expect(formatSequence(2_147_483_647 + 1)).toBe('-2147483648');
    expect(formatSequence(2 ** 32)).toBe('0000000000');
  });

  it('appends the suffix to the prefix, even one ending in a slash', () => {
    expect(sequentialName('/app/lock-', 3)).toBe('/app/lock-0000000003');
    expect(sequentialName('/q/', 1)).toBe('/q/0000000001');
    expect(sequentialName('/', 7)).toBe('/0000000007');
  });

  it('gives a valid path for every int counter after a valid sequential prefix', () => {
    fc.assert(
      fc.property(validPath, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (prefix, n) => {
        const path = sequentialName(prefix === '/' ? '/' : `${prefix}/`, n);
        expect(validatePath(path, false)).toBeNull();
        expect(nameOf(path)).toMatch(/^(\d{10}|-\d{9,10})$/);
      }),
      { seed, numRuns: 500 },
    );
  });
});
