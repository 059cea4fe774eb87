/**
 * The README's first example is real code: extracted, run, and checked against what its
 * comments claim.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';

it('runs the README example', async () => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const dir = mkdtempSync(join(import.meta.dirname, '.readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, code as string);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(file);
    expect(log.mock.calls).toEqual([[true, true], [false], ['worker-1', false], [6]]);
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
