/**
 * The README's first example is real code: this test extracts it, runs it (two transports on
 * 127.0.0.1, one message), and checks it prints what its comment claims.
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
    expect(log).toHaveBeenCalledWith('Heartbeat', 1, '->', 2);
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
