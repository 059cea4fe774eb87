import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DurableLog, Entry, LogIndex } from '@cairn/raft';
import { runDurableLogSuite } from '@cairn/raft/testing';
import { expect } from 'vitest';

/** Temporary folders for one test file, removed by `cleanup` (call it from afterEach/afterAll). */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-storage-level-'));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads one read may wait for before a test calls the log stuck. */
const LOADS_PER_READ_MAX = 10_000;

/**
 * Every entry of [lo, hi) as the core would read them: on 'unavailable', wait for the log's
 * listener (registered here, replacing any other) and ask again; a prefix, and read on.
 */
export async function readAll(log: DurableLog, lo: number, hi: number): Promise<Entry[] | null> {
  let wake: (() => void) | null = null;
  log.onAvailable(() => wake?.());
  const all: Entry[] = [];
  let loads = 0;
  for (let next = lo; next < hi; ) {
    const part = log.entries(next as LogIndex, hi as LogIndex, Number.MAX_SAFE_INTEGER);
    if (part === null) return next === lo ? null : all;
    if (part !== 'unavailable') {
      all.push(...part);
      next += part.length;
      continue;
    }
    if (++loads > LOADS_PER_READ_MAX) throw new Error(`entries from ${next} stay unavailable`);
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  return all;
}

/**
 * Runs the DurableLog conformance suite against `subject` outside vitest's own runner and
 * returns the names of the tests it failed, and of all it ran: a planted bug must fail the test
 * meant to catch it (and not the others).
 */
export async function suiteVerdicts(
  name: string,
  subject: Parameters<typeof runDurableLogSuite>[2],
): Promise<{ failed: string[]; ran: string[] }> {
  const collected: { name: string; body: () => Promise<void> }[] = [];
  runDurableLogSuite(
    {
      describe: (_name, body) => body(),
      it: (testName, body) => collected.push({ name: testName, body }),
      expect,
    },
    name,
    subject,
  );
  const failed: string[] = [];
  for (const test of collected) {
    try {
      await test.body();
    } catch {
      failed.push(test.name);
    }
  }
  return { failed, ran: collected.map((test) => test.name) };
}
