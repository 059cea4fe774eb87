/**
 * The published shape works: every package with a build script is built with tsup, then
 * imported from a plain Node process the way a user would, as ESM (`import`) and as CJS
 * (`require`), through its `exports` map (no `source` condition, so the built files are used).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const found = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
      scripts?: Record<string, string>;
      dependencies?: Record<string, string>;
    },
  }))
  .filter(({ manifest }) => manifest.scripts?.build !== undefined && manifest.private !== true);

/** Dependencies first: a package's built files import its Cairn dependencies' built files. */
const packages: typeof found = [];
const visit = (entry: (typeof found)[number], path: readonly string[]): void => {
  if (packages.includes(entry)) return;
  if (path.includes(entry.manifest.name)) throw new Error(`dependency cycle: ${path.join(' -> ')}`);
  for (const name of Object.keys(entry.manifest.dependencies ?? {})) {
    const dependency = found.find(({ manifest }) => manifest.name === name);
    if (dependency !== undefined) visit(dependency, [...path, entry.manifest.name]);
  }
  packages.push(entry);
};
for (const entry of found) visit(entry, []);

describe('built packages', () => {
  for (const { dir, manifest } of packages) {
    it(`${manifest.name} builds and loads as ESM and CJS`, () => {
      execFileSync(join(root, 'node_modules', '.bin', 'tsup'), { cwd: dir, stdio: 'pipe' });
      const esm = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import('${manifest.name}'); console.log(Object.keys(m).length)`,
        ],
        { cwd: root, encoding: 'utf8' },
      );
      const cjs = execFileSync(
        process.execPath,
        ['-e', `console.log(Object.keys(require('${manifest.name}')).length)`],
        { cwd: root, encoding: 'utf8' },
      );
      expect(Number(esm.trim())).toBeGreaterThan(0);
      expect(Number(cjs.trim())).toBe(Number(esm.trim()));
      expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'index.d.cts'))).toBe(true);
    });
  }
});
