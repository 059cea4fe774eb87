// The @cairn/sim README's "For your own code" example runs in CI: the README's code block must be
// exactly test/sim-harness-example.ts, and importing that file runs it (a fast-check property:
// three Mutex sessions on three members under generated partition schedules, a counter guarded
// by the fencing token, every run checked by the harness). A failing run rejects the import with
// fast-check's counterexample and the harness's seed and replay line.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../packages/sim/README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('./sim-harness-example.ts', import.meta.url), 'utf8');

describe(`@cairn/sim README example (CAIRN_SEED=${process.env.CAIRN_SEED ?? 1})`, () => {
  it('is the code block of the README, verbatim', () => {
    const section = readme.slice(readme.indexOf('## For your own code'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(example);
  });

  it('runs and passes', async () => {
    await expect(import('./sim-harness-example.js')).resolves.toBeDefined();
  }, 300_000);
});
