// One vitest run for the whole monorepo. Tests import sibling packages from source through the
// aliases below (STYLE §2), so `pnpm test` needs no build.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const rootDir = fileURLToPath(new URL('.', import.meta.url));
const packagesDir = join(rootDir, 'packages');

interface Alias {
  find: RegExp;
  replacement: string;
}

// `@cairn/<dir>` -> packages/<dir>/src/index.ts, and `@cairn/<dir>/testing` ->
// src/testing/index.ts where it exists. The more specific alias comes first; both are anchored
// so neither can rewrite a prefix of the other.
function workspaceAliases(): Alias[] {
  if (!existsSync(packagesDir)) {
    return [];
  }
  const dirs = readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const aliases: Alias[] = [];
  for (const dir of dirs) {
    const testingEntry = join(packagesDir, dir, 'src', 'testing', 'index.ts');
    if (existsSync(testingEntry)) {
      aliases.push({ find: new RegExp(`^@cairn/${dir}/testing$`), replacement: testingEntry });
    }
  }
  for (const dir of dirs) {
    const mainEntry = join(packagesDir, dir, 'src', 'index.ts');
    if (existsSync(mainEntry)) {
      aliases.push({ find: new RegExp(`^@cairn/${dir}$`), replacement: mainEntry });
    }
  }
  return aliases;
}

// Tests that use randomness read CAIRN_SEED and pick their own default when it is unset, so an
// unset seed must stay unset rather than become the string 'undefined'.
const seed = process.env.CAIRN_SEED;
const testEnv: Record<string, string> = seed === undefined ? {} : { CAIRN_SEED: seed };

export default defineConfig({
  resolve: {
    alias: workspaceAliases(),
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    env: testEnv,
  },
});
