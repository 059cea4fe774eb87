/**
 * `pnpm sim` (src/cli.ts) as a process: `--seed S --trace` replays one seed and prints its
 * timeline, verdict and coverage; `--seeds N` runs a search with progress and the aggregate
 * coverage; a planted bug makes it report the failing seed with its replay command (with the
 * shape and plant flags it ran with) and exit 1; every crash point is listed in the coverage;
 * bad arguments exit 2 with the usage line.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

function sim(args: readonly string[]): { status: number | null; out: string } {
  const run = spawnSync(tsx, ['--conditions=source', 'packages/sim/src/cli.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('pnpm sim', () => {
  it('--seed S --trace prints a timeline and the verdict', () => {
    const { status, out } = sim(['--seed', '7', '--trace', '--safety-ms', '500']);
    expect(status, out).toBe(0);
    expect(out).toMatch(/^\s+\d+ ms {2}role \d leader/m);
    expect(out).toMatch(/^\s+\d+ ms {2}client \d on node \d: op \d+ /m);
    expect(out).toMatch(/seed 7 \(.+\): trace hash [0-9a-f]{8}\/\d+/);
    expect(out).toMatch(/^\s+elections\s+\d+/m);
    expect(out).toContain('seed 7: ok');
  }, 120_000);

  it('--seeds N reports progress, coverage and the result', () => {
    const { status, out } = sim(['--seeds', '2', '--start', '5', '--safety-ms', '400']);
    expect(status, out).toBe(0);
    expect(out).toContain('2/2 seeds, 0 failed');
    expect(out).toMatch(/coverage over 2 runs:\n\s+elections\s+\d+/);
    expect(out).toContain('all 2 seeds passed (seeds 5..6)');
  }, 120_000);

  it('a planted bug fails the search with the seed and its replay command', () => {
    const { status, out } = sim([
      '--seeds',
      '1',
      '--plant',
      'lateWatchMs=40',
      '--safety-ms',
      '1500',
    ]);
    expect(status, out).toBe(1);
    expect(out).toMatch(/seed 1 \(.+\) FAILED: \d+ violations/);
    expect(out).toContain('[watch]');
    expect(out).toContain('replay: pnpm sim --seed 1 --trace');
    expect(out).toContain('1 of 1 seeds failed: 1');
  }, 120_000);

  it('--shape split-vote finds forgetVote and replays the seed in that shape', () => {
    const { status, out } = sim(['--seeds', '2', '--shape', 'split-vote', '--plant', 'forgetVote']);
    expect(status, out).toBe(1);
    expect(out).toMatch(/seed 2 \(split-vote: .+\) FAILED/);
    expect(out).toContain('[raft] one vote per term');
    expect(out).toContain(
      'replay: pnpm sim --seed 2 --trace --shape split-vote --plant forgetVote',
    );
    expect(out).toMatch(/^\s+crashPoint:afterPersistVote\s+[1-9]\d*$/m);
    expect(out).toMatch(/^\s+crashPoint:midCompaction\s+0$/m);
  }, 120_000);

  it('rejects bad arguments with the usage line', () => {
    for (const args of [
      ['--seeds', 'x'],
      [],
      ['--seeds', '3', '--seed', '1'],
      ['--plant', 'nope', '--seed', '1'],
      ['--trace', '--seeds', '2'],
    ]) {
      const { status, out } = sim(args);
      expect(status, `${args.join(' ')}: ${out}`).toBe(2);
      expect(out).toContain('usage: pnpm sim');
    }
  }, 120_000);
});
