// Keeps STYLE.md §1 true mechanically. The dependency test reads every packages/<dir>/package.json
// and every import in its src/**/*.ts and fails on any `@cairn/*` arrow not in the layer table
// (an unknown package fails too, and only `sim` may import `sim`). The purity test scans the
// non-test sources of `raft` and `znode` for clocks, randomness, timers, async code and Node
// builtins, comments stripped, and names file:line for each hit. Each has a sibling that feeds
// the same checker a planted violation, so a broken scanner cannot pass silently.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const rootDir = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(rootDir, 'packages');

/** STYLE §1: the Cairn packages each package may import. A package missing here is an error. */
const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  raft: [],
  znode: [],
  'storage-level': ['raft'],
  'transport-tcp': ['raft'],
  node: ['raft', 'znode', 'storage-level', 'transport-tcp'],
  'zk-server': ['node'],
  recipes: ['node'],
  cli: ['node', 'zk-server'],
  sim: ['node', 'raft', 'znode'],
  testkit: [],
};

/** Packages whose sources must stay pure (STYLE §1: no clock, randomness, I/O, timer or await). */
const PURE_PACKAGES = ['raft', 'znode'] as const;

const FORBIDDEN_WORDS: readonly { label: string; pattern: RegExp }[] = [
  { label: 'Date', pattern: /(?<![\w$])Date(?![\w$])/g },
  { label: 'Math.random', pattern: /(?<![\w$])Math\s*\.\s*random(?![\w$])/g },
  { label: 'setTimeout', pattern: /(?<![\w$])setTimeout(?![\w$])/g },
  { label: 'setInterval', pattern: /(?<![\w$])setInterval(?![\w$])/g },
  { label: 'setImmediate', pattern: /(?<![\w$])setImmediate(?![\w$])/g },
  { label: 'queueMicrotask', pattern: /(?<![\w$])queueMicrotask(?![\w$])/g },
  { label: 'process.', pattern: /(?<![\w$])process\s*\./g },
  { label: 'performance.', pattern: /(?<![\w$])performance\s*\./g },
  { label: 'await', pattern: /(?<![\w$])await(?![\w$])/g },
  { label: 'async', pattern: /(?<![\w$])async(?![\w$])/g },
  { label: 'Promise', pattern: /(?<![\w$])Promise(?![\w$])/g },
];

const NODE_BUILTINS = new Set(builtinModules);

interface SourceFile {
  /** Path relative to the repository root, for messages. */
  path: string;
  text: string;
}

interface PackageUnderTest {
  dir: string;
  manifest: Record<string, unknown>;
  sources: readonly SourceFile[];
}

/**
 * Blanks `//` and `/* *\/` comments, keeping every newline so offsets still map to the same line.
 * String, template and regex literals are skipped over, so `'http://x'` is not a comment.
 */
function stripComments(source: string): string {
  const out = source.split('');
  let i = 0;
  // The last non-space code character: decides whether a `/` starts a regex or divides.
  let previous = '';
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) {
      if (out[k] !== '\n') out[k] = ' ';
    }
  };
  while (i < source.length) {
    const c = source[i] ?? '';
    const next = source[i + 1] ?? '';
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(source, i, c);
      previous = c;
    } else if (c === '/' && (previous === '' || '(,=:[!&|?{};+-*%<>~^'.includes(previous))) {
      i = skipRegex(source, i);
      previous = '/';
    } else {
      if (!/\s/.test(c)) previous = c;
      i++;
    }
  }
  return out.join('');
}

function skipQuoted(source: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      i += 2;
    } else if (c === quote) {
      return i + 1;
    } else if (c === '\n' && quote !== '`') {
      return i;
    } else {
      i++;
    }
  }
  return i;
}

function skipRegex(source: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      i += 2;
    } else if (c === '\n') {
      return i;
    } else if (c === '[') {
      inClass = true;
      i++;
    } else if (c === ']') {
      inClass = false;
      i++;
    } else if (c === '/' && !inClass) {
      return i + 1;
    } else {
      i++;
    }
  }
  return i;
}

/** Ordinal comparison: the same order on every machine, whatever its locale (STYLE §6). */
function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k++) {
    if (text.charCodeAt(k) === 10) line++;
  }
  return line;
}

interface ImportSite {
  specifier: string;
  line: number;
}

/** Every module specifier in static imports, re-exports, `import()` and `require()`. */
function findImports(source: string): ImportSite[] {
  const code = stripComments(source);
  const pattern = /\b(?:from|import|require)\s*\(?\s*(['"])([^'"\n]+)\1/g;
  const sites: ImportSite[] = [];
  for (const match of code.matchAll(pattern)) {
    sites.push({ specifier: match[2] ?? '', line: lineAt(code, match.index) });
  }
  return sites;
}

/** `@cairn/node/testing` -> `node`; anything outside the `@cairn` scope -> undefined. */
function cairnPackageOf(specifier: string): string | undefined {
  const match = /^@cairn\/([^/]+)/.exec(specifier);
  return match?.[1];
}

function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0] ?? '');
}

/** The dependency-table violations of one package, one message per arrow not in the table. */
function checkDependencies(pkg: PackageUnderTest): string[] {
  const allowed = ALLOWED_IMPORTS[pkg.dir];
  if (allowed === undefined) {
    return [`packages/${pkg.dir}: not in the layer table of STYLE.md §1 (add it there first)`];
  }
  const violations: string[] = [];
  const manifestName = pkg.manifest.name;
  if (manifestName !== `@cairn/${pkg.dir}`) {
    violations.push(
      `packages/${pkg.dir}/package.json: name is ${JSON.stringify(manifestName)}, expected "@cairn/${pkg.dir}"`,
    );
  }
  const check = (where: string, target: string): void => {
    if (target === pkg.dir) return;
    if (target === 'sim') {
      violations.push(`${where}: @cairn/sim is for tests; only packages/sim may import it`);
    } else if (!allowed.includes(target)) {
      const permitted = allowed.length === 0 ? 'nothing' : allowed.join(', ');
      violations.push(`${where}: ${pkg.dir} -> ${target} (${pkg.dir} may import ${permitted})`);
    }
  };
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    const deps = pkg.manifest[field];
    if (typeof deps !== 'object' || deps === null) continue;
    for (const name of Object.keys(deps).sort()) {
      const target = cairnPackageOf(name);
      if (target !== undefined) check(`packages/${pkg.dir}/package.json ${field}`, target);
    }
  }
  for (const file of pkg.sources) {
    for (const site of findImports(file.text)) {
      const target = cairnPackageOf(site.specifier);
      if (target !== undefined) check(`${file.path}:${site.line}`, target);
    }
  }
  return violations;
}

/** Every clock, random, timer, async or Node-builtin use in one pure source file, as file:line. */
function scanPurity(file: SourceFile): string[] {
  const code = stripComments(file.text);
  const hits: { line: number; message: string }[] = [];
  for (const { label, pattern } of FORBIDDEN_WORDS) {
    for (const match of code.matchAll(pattern)) {
      hits.push({ line: lineAt(code, match.index), message: `uses ${label}` });
    }
  }
  for (const site of findImports(file.text)) {
    if (isNodeBuiltin(site.specifier)) {
      hits.push({ line: site.line, message: `imports Node builtin '${site.specifier}'` });
    }
  }
  return hits
    .sort((a, b) => a.line - b.line || compareText(a.message, b.message))
    .map((hit) => `${file.path}:${hit.line}: ${hit.message}`);
}

function listTsFiles(dir: string): string[] {
  const files: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    compareText(a.name, b.name),
  );
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') files.push(...listTsFiles(path));
    } else if (entry.name.endsWith('.ts')) {
      files.push(path);
    }
  }
  return files;
}

function readSources(dir: string, filter: (path: string) => boolean = () => true): SourceFile[] {
  const srcDir = join(packagesDir, dir, 'src');
  if (!existsSync(srcDir)) return [];
  return listTsFiles(srcDir)
    .filter(filter)
    .map((path) => ({ path: relative(rootDir, path), text: readFileSync(path, 'utf8') }));
}

function workspacePackages(): PackageUnderTest[] {
  if (!existsSync(packagesDir)) return [];
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((dir) => existsSync(join(packagesDir, dir, 'package.json')))
    .sort()
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')),
      sources: readSources(dir),
    }));
}

describe('dependency table (STYLE §1)', () => {
  it('allows only the Cairn imports listed in the layer table', () => {
    const violations = workspacePackages().flatMap(checkDependencies);
    expect(violations).toEqual([]);
  });

  it('catches planted arrows against the table (the checker is not blind)', () => {
    const planted: PackageUnderTest = {
      dir: 'raft',
      manifest: { name: '@cairn/raft', devDependencies: { '@cairn/znode': 'workspace:*' } },
      sources: [
        {
          path: 'packages/raft/src/fake.ts',
          text: [
            "// import { createNode } from '@cairn/node'; (a comment: not an import)",
            "import { createNode } from '@cairn/node';",
            "export { simulate } from '@cairn/sim/checkers';",
            "import type { Entry } from '@cairn/raft';",
            "const lazy = await import('@cairn/transport-tcp');",
          ].join('\n'),
        },
      ],
    };
    expect(checkDependencies(planted)).toEqual([
      'packages/raft/package.json devDependencies: raft -> znode (raft may import nothing)',
      'packages/raft/src/fake.ts:2: raft -> node (raft may import nothing)',
      'packages/raft/src/fake.ts:3: @cairn/sim is for tests; only packages/sim may import it',
      'packages/raft/src/fake.ts:5: raft -> transport-tcp (raft may import nothing)',
    ]);
    const mystery = { dir: 'mystery', manifest: { name: '@cairn/mystery' }, sources: [] };
    expect(checkDependencies(mystery)).toEqual([
      'packages/mystery: not in the layer table of STYLE.md §1 (add it there first)',
    ]);
    expect(
      checkDependencies({
        dir: 'cli',
        manifest: { name: '@cairn/cli', dependencies: { '@cairn/zk-server': 'workspace:*' } },
        sources: [{ path: 'x.ts', text: "import { createNode } from '@cairn/node';" }],
      }),
    ).toEqual([]);
  });
});

describe('purity of raft and znode (STYLE §1)', () => {
  it('finds no clock, randomness, timer, async code or Node builtin in their sources', () => {
    // Two places may speak of asynchrony: `src/testing/` (conformance suites for the ports,
    // test tooling exported as `./testing`) and `src/ports/`, whose interfaces declare the
    // Promise-returning methods adapters implement (declaring a type awaits nothing).
    const hits = PURE_PACKAGES.flatMap((dir) =>
      readSources(dir, (path) => !path.endsWith('.test.ts') && !path.includes('/src/testing/'))
        .flatMap(scanPurity)
        .filter((hit) => !(hit.includes('/src/ports/') && hit.endsWith(': uses Promise'))),
    );
    expect(hits).toEqual([]);
  });

  it('catches planted impurities and ignores them in comments (the scanner is not blind)', () => {
    const text = [
      '/* Date.now() and Math.random() in a block comment',
      '   spanning lines, with setTimeout too */',
      "const url = 'http://example'; const now = Date.now(); // Promise in a comment",
      'const roll = Math.random();',
      'const re = /\\/\\//; setTimeout(tick, 10);',
      "import { readFileSync } from 'node:fs';",
      "import { connect } from 'net';",
      "import { Packr } from 'msgpackr';",
      'export async function f(): Promise<void> { await g(); }',
      'const pid = process.pid; const t = performance.now();',
      'const updatedAt = 1; const isDate = true; const x = myDate;',
    ].join('\n');
    expect(scanPurity({ path: 'fake.ts', text })).toEqual([
      'fake.ts:3: uses Date',
      'fake.ts:4: uses Math.random',
      'fake.ts:5: uses setTimeout',
      "fake.ts:6: imports Node builtin 'node:fs'",
      "fake.ts:7: imports Node builtin 'net'",
      'fake.ts:9: uses Promise',
      'fake.ts:9: uses async',
      'fake.ts:9: uses await',
      'fake.ts:10: uses performance.',
      'fake.ts:10: uses process.',
    ]);
  });
});
