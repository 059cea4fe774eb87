/**
 * The README's example is real code: this test extracts its first `ts` block, runs it (a real
 * LevelDB folder under the OS temp dir, opened, written, closed and reopened), and checks it
 * prints what its last comment claims.
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
    expect(log).toHaveBeenCalledWith('read back', 2, 'hello');
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
