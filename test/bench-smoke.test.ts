// Runs the programs the README points to as child processes, from the repository root and the
// way `pnpm bench` and `pnpm start` run them (tsx, the `source` export condition): the Raft core
// and znode benchmarks (and the transport and storage ones) in their short `--quick` form, and the
// end-to-end demo. Each must exit 0 and print its table header or final line. Nothing here looks at how fast they ran (STYLE §9).
// The ZooKeeper-protocol benchmark must also print a row for every configuration (with the
// ZooKeeper columns filled when ZooKeeper is installed) and leave no process or folder behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { zookeeperMissing } from './support/zookeeper-standalone.js';

const rootDir = fileURLToPath(new URL('..', import.meta.url));
/** A bound on each child process, so a hang fails the test instead of stalling the run. */
const CHILD_TIMEOUT_MS = 120_000;

function runScript(path: string, ...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', path, ...args],
    { cwd: rootDir, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('bench and demo smoke', () => {
  it('runs the Raft core benchmark with --quick and prints its table', () => {
    const { status, output } = runScript('bench/raft-core.ts', '--quick');
    expect(status, output).toBe(0);
    expect(output).toMatch(
      /nodes\s+batch\s+entries\s+seconds\s+entries\/s\s+bytes\/entry\s+msgs\/batch/,
    );
    for (const nodes of [3, 5])
      for (const batch of [64, 256, 1024])
        expect(output).toMatch(new RegExp(`^\\s+${nodes}\\s+${batch}\\s+[\\d,]+\\s`, 'm'));
    expect(output).toMatch(/^goal \(.*\): (met at batch [\d, ]+|NOT met) \(best [\d,]+\/s\)$/m);
  });

  it('runs the znode benchmark with --quick and prints its table', () => {
    const { status, output } = runScript('bench/znode.ts', '--quick');
    expect(status, output).toBe(0);
    expect(output).toMatch(/phase\s+znodes\s+ops\s+seconds\s+ops\/s\s+alloc B\/op/);
    for (const phase of ['create \\(build\\)', 'setData', 'setData \\(hot\\)', 'create', 'delete'])
      expect(output).toMatch(
        new RegExp(`^${phase}\\s+[\\d,]+\\s+[\\d,]+\\s+[\\d.]+\\s+[\\d,]+\\s`, 'm'),
      );
    expect(output).toMatch(/^ {2}total beyond the 100 data bytes\s+[\d.]+ B$/m);
    expect(output).toMatch(/^snapshot of [\d,]+ znodes: write [\d.]+ s, restore [\d.]+ s, /m);
    expect(output).toMatch(/^goal \(>= [\d,]+ setData\/s on [\d,]+ znodes\): (met|NOT met) \(/m);
    expect(output).toMatch(/^goal \(< \d+ heap B per znode beyond its data\): (met|NOT met) \(/m);
  });

  it('runs the transport benchmark with --quick and prints its table', () => {
    const { status, output } = runScript('bench/transport.ts', '--quick');
    expect(status, output).toBe(0);
    expect(output).toMatch(
      /batch\s+entries\s+messages\s+seconds\s+messages\/s\s+entries\/s\s+MB\/s/,
    );
    for (const batch of [64, 256])
      expect(output).toMatch(new RegExp(`^\\s+${batch}\\s+[\\d,]+\\s+[\\d,]+\\s`, 'm'));
    expect(output).toMatch(/^goal \(.*\): (met at batch [\d, ]+|NOT met) \(best [\d,]+\/s\)$/m);
  });

  it('runs the storage benchmark with --quick and prints its table', () => {
    const { status, output } = runScript('bench/storage.ts', '--quick');
    expect(status, output).toBe(0);
    expect(output).toMatch(
      /writer\s+batch\s+entries\s+seconds\s+entries\/s\s+syncs\/s\s+x raw fsync/,
    );
    expect(output).toMatch(/^raw fdatasync\s+1\s+[\d,]+\s/m);
    for (const batch of [1, 16, 256])
      expect(output).toMatch(new RegExp(`^LevelLog\\s+${batch}\\s+[\\d,]+\\s`, 'm'));
    expect(output).toMatch(
      /^goal \(batching >= 50x the raw fsync rate in entries\/s\): (met|NOT met) \(/m,
    );
    expect(output).toMatch(/^goal \(batch of 1 within 2x of one raw fsync\): (met|NOT met) \(/m);
  });

  it('runs the node benchmark with --quick and prints its table', () => {
    const { status, output } = runScript('bench/node.ts', '--quick');
    expect(status, output).toBe(0);
    expect(output).toMatch(
      /op\s+writers\s+cairn ops\/s\s+p50 ms\s+p99 ms\s+writes\/sync\s+zk ops\/s/,
    );
    for (const kind of ['create', 'setData'])
      for (const writers of [1, 16, 256])
        expect(output).toMatch(new RegExp(`^${kind}\\s+${writers}\\s+[\\d,]+\\s`, 'm'));
    expect(output).toMatch(/^peer ZooKeeper: skipped \(--quick\)$/m);
    expect(output).toMatch(/^goal \(local reads > [\d,]+\/s\): (met|NOT met) \(/m);
  });

  it('runs the ZooKeeper-protocol benchmark with --quick: a row per configuration, every process stopped', () => {
    const { status, output } = runScript('bench/zk-protocol.ts', '--quick');
    expect(status, output).toBe(0);
    const peer = zookeeperMissing() === null;
    expect(output).toMatch(/^node v\d+\.\d+\.\d+, .+ x \d+$/m);
    expect(output).toMatch(
      /^nodes +C op +\| +cairn\/s +p50 +p99 +p999 +max +err +cpu\/op +cli \| +zk\/s +p50 +p99 +p999 +max +err +cpu\/op +cli \| x ops\/s +x p99 +x cpu\/op$/m,
    );
    // ops/s, p50, p99, p99.9, max, errors, CPU µs per call (- without /proc), client CPU %.
    const measured = '[\\d,]+ +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+ +\\d+ +([\\d,]+|-) +\\d+%';
    const absent = '- +- +- +- +- +- +- +-';
    for (const size of [1, 3])
      for (const op of ['create', 'setData', 'getData'])
        for (const c of [1, 16, 128])
          expect(output).toMatch(
            new RegExp(
              `^ +${size} +${c} ${op} +\\| +${measured} \\| +${peer ? measured : absent} \\| +${
                peer ? '[\\d.]+x +[\\d.]+x +([\\d.]+x|-)' : '- +- +-'
              }$`,
              'm',
            ),
          );
    if (peer) {
      expect(output).toMatch(
        /^goal \(writes >= 2x ZooKeeper, reads >= 1x, p99 no worse\): (met|NOT met)/m,
      );
      expect(output).toMatch(/^slowest request at C=1 on 3 nodes, zookeeper: create [\d.]+ ms, /m);
    } else expect(output).toMatch(/^peer ZooKeeper: missing \(.+\); Cairn alone$/m);
    expect(output).toMatch(/^slowest request at C=1 on 3 nodes, cairn: create [\d.]+ ms, /m);
    expect(output).toMatch(
      /^goal \(no Cairn request stalls at C=1 on 3 nodes: every one under 1,000 ms\): (met|NOT met)/m,
    );
    // 1 + 3 Cairn members, and 1 + 3 ZooKeeper servers; one folder per system and size.
    const pids = /^cleanup: stopped (\d+) processes \(pids ([\d ]*)\)$/m.exec(output);
    expect(pids, output).not.toBeNull();
    const pidList = (pids?.[2] ?? '')
      .split(' ')
      .filter((p) => p !== '')
      .map(Number);
    expect(pidList).toHaveLength(peer ? 8 : 4);
    for (const pid of pidList) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow(/ESRCH/);
    const folders = /^cleanup: removed (\d+) folders \(([^)]*)\)$/m.exec(output);
    expect(folders, output).not.toBeNull();
    const folderList = (folders?.[2] ?? '').split(' ').filter((f) => f !== '');
    expect(folderList).toHaveLength(peer ? 4 : 2);
    for (const folder of folderList) expect(existsSync(folder), folder).toBe(false);
  });

  it('runs the main job (an embedded node on level) once, twice on one folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-main-'));
    try {
      const first = runScript('examples/node.ts', '--data', dir, '--once');
      expect(first.status, first.output).toBe(0);
      expect(first.output).toMatch(/this is start #1 \(\/cairn\/starts\/start-0000000000 = /);
      expect(first.output).toMatch(/^status: role=leader term=\d+ commit=\d+ applied=\d+/m);
      const second = runScript('examples/node.ts', '--data', dir, '--once');
      expect(second.status, second.output).toBe(0);
      expect(second.output).toMatch(/this is start #2 \(\/cairn\/starts\/start-0000000001 = /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the recipes example', () => {
    const { status, output } = runScript('examples/recipes.ts');
    expect(status, output).toBe(0);
    expect(output).not.toContain('FAILED');
    expect(output).toMatch(
      /^ok: \d+ leaderships one at a time, counter 15 after 15 critical sections, all 3 members saw config version \d+$/m,
    );
  });

  it('runs the demo to its final line', () => {
    const { status, output } = runScript('examples/demo.ts');
    expect(status, output).toBe(0);
    expect(output).not.toContain('FAILED');
    expect(output).toMatch(/^all 3 nodes applied the same \d+ entries/m);
  });
});
