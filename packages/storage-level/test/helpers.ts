import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DurableLog, Entry, LogIndex } from '@cairn/raft';

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
