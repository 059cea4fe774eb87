// LevelLog's memory, checked from outside: however long the log grows, the entries it holds stay
// within `cacheBytes` (plus the uncommitted tail) and its read-ahead cache within four reads,
// and the terms of all entries take a handful of runs; a reopened folder loads only the tail
// that fits and reads the rest back on demand; a truncation inside a segment whose entries were
// evicted rewrites the kept part read from disk; a damaged record met by a read from disk stops
// the log (the listener fires, the next call throws StorageCorrupted); the latest snapshot's
// data stays in memory (`snapshot()` never reads its file: the bytes written, or those read and
// checked on open), and files are written and read back at most 1 MiB at a time; `close` waits
// for a read in flight and calls no listener.
import { open as openFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Entry,
  type HardState,
  type LogIndex,
  nodeId,
  type Snapshot,
  type Term,
} from '@cairn/raft';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LevelLog, type LevelLogOptions } from '../src/index.js';
import { segmentKey } from '../src/records.js';
import { SNAPSHOT_CHUNK_BYTES } from '../src/snapshot-files.js';
import { readAll, TempDirs } from './helpers.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

const DATA_BYTES = 100;
const ENTRY_COST = DATA_BYTES + 16;
const MAX = Number.MAX_SAFE_INTEGER;

function entry(index: number, term: number): Entry {
  const data = new Uint8Array(DATA_BYTES);
  for (let i = 0; i < DATA_BYTES; i++) data[i] = (index * 7 + term * 13 + i) & 0xff;
  return { index: index as LogIndex, term: term as Term, type: 'normal', data };
}

function entries(from: number, to: number, term: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term));
  return list;
}

function open(dir: string, cache: Partial<LevelLogOptions> = {}): Promise<LevelLog> {
  return LevelLog.open({ dir, clusterId: 'cache', nodeId: nodeId(1), ...cache });
}

/** Appends [from, to] in writes of 20, each committing everything written so far. */
async function appendCommitted(log: LevelLog, from: number, to: number, term: number) {
  for (let first = from; first <= to; first += 20) {
    const last = Math.min(to, first + 19);
    const hardState: HardState = { term: term as Term, vote: null, commit: last as LogIndex };
    await log.write({ entries: entries(first, last, term), hardState, sync: false });
  }
}

function snapshotOf(index: number, term: number, bytes: number, fill: number): Snapshot {
  return {
    metadata: {
      index: index as LogIndex,
      term: term as Term,
      confState: {
        voters: [nodeId(1)],
        votersOutgoing: [],
        learners: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
    data: new Uint8Array(bytes).fill(fill),
  };
}

/** Flips the first byte of a file, as a disk fault would. */
async function damage(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
}

/** The private database handle of an open LevelLog, to damage a record behind its back. */
interface RawDb {
  get(key: Uint8Array): Promise<Uint8Array>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
}

describe('LevelLog memory', () => {
  it('holds at most cacheBytes of committed entries and four reads ahead, terms as runs', async () => {
    const cache = { cacheBytes: 8 * 1024, readAheadBytes: 1024 };
    const log = await open(temp.make(), cache);
    for (let term = 1; term <= 5; term++) {
      await appendCommitted(log, (term - 1) * 400 + 1, term * 400, term);
      expect(log.cacheStatus().tailBytes).toBeLessThanOrEqual(cache.cacheBytes);
    }
    expect(log.cacheStatus().termRuns).toBe(5);
    expect(log.entries(1 as LogIndex, 2 as LogIndex, MAX)).toBe('unavailable');
    expect(await readAll(log, 1, 2001)).toEqual([
      ...[1, 2, 3, 4, 5].flatMap((term) => entries((term - 1) * 400 + 1, term * 400, term)),
    ]);
    const status = log.cacheStatus();
    expect(status.tailBytes).toBeLessThanOrEqual(cache.cacheBytes);
    expect(status.readAheadBytes).toBeLessThanOrEqual(4 * cache.readAheadBytes + ENTRY_COST);
    log.assertInvariants();
    await log.close();
  });

  it('keeps every uncommitted entry, whatever cacheBytes says', async () => {
    const log = await open(temp.make(), { cacheBytes: 0 });
    await log.write({ entries: entries(1, 300, 1), sync: true });
    expect(log.cacheStatus().tailBytes).toBe(300 * ENTRY_COST);
    expect(log.entries(1 as LogIndex, 301 as LogIndex, MAX)).toEqual(entries(1, 300, 1));
    const hardState: HardState = { term: 1 as Term, vote: null, commit: 250 as LogIndex };
    await log.write({ hardState, entries: [], sync: true });
    expect(log.cacheStatus().tailBytes).toBe(50 * ENTRY_COST);
    await log.close();
  });

  it('a reopened folder loads the tail that fits and reads older entries back', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await appendCommitted(log, 1, 500, 1);
    await log.close();
    const small = await open(dir, { cacheBytes: 2048, readAheadBytes: 512 });
    expect(small.cacheStatus().tailBytes).toBeLessThanOrEqual(2048);
    expect(small.cacheStatus().tailBytes).toBeGreaterThan(2048 - ENTRY_COST);
    expect(small.entries(500 as LogIndex, 501 as LogIndex, MAX)).toEqual([entry(500, 1)]);
    expect(small.entries(1 as LogIndex, 2 as LogIndex, MAX)).toBe('unavailable');
    expect(small.term(1 as LogIndex)).toBe(1);
    expect(await readAll(small, 1, 501)).toEqual(entries(1, 500, 1));
    await small.close();
  });

  it('a truncation inside an evicted segment rewrites its kept part from disk', async () => {
    const dir = temp.make();
    const log = await open(dir, { cacheBytes: 0 });
    // One segment 1..100, committed to 90: 1..90 leave memory.
    const hardState: HardState = { term: 1 as Term, vote: null, commit: 90 as LogIndex };
    await log.write({ entries: entries(1, 100, 1), hardState, sync: true });
    expect(log.cacheStatus().tailBytes).toBe(10 * ENTRY_COST);
    await log.write({ entries: entries(95, 97, 2), sync: true });
    const expected = [...entries(1, 94, 1), ...entries(95, 97, 2)];
    expect(await readAll(log, 1, 98)).toEqual(expected);
    await log.close();
    const reopened = await open(dir);
    expect(await readAll(reopened, 1, 98)).toEqual(expected);
    await reopened.close();
  });

  it('a damaged record met by a read from disk stops the log after calling the listener', async () => {
    const log = await open(temp.make(), { cacheBytes: 1024 });
    await appendCommitted(log, 1, 100, 1);
    // Damage the first segment behind the open log's back (no second handle can open it).
    const db = (log as unknown as { db: RawDb }).db;
    const value = Uint8Array.from(await db.get(segmentKey(1)));
    value[10] = (value[10] ?? 0) ^ 0x01;
    await db.put(segmentKey(1), value);
    const listened = new Promise<void>((resolve) => log.onAvailable(resolve));
    expect(log.entries(1 as LogIndex, 2 as LogIndex, MAX)).toBe('unavailable');
    await listened;
    expect(() => log.entries(1 as LogIndex, 2 as LogIndex, MAX)).toThrow(
      expect.objectContaining({ code: 'StorageCorrupted', key: 'entries from 1' }),
    );
    expect(() => log.lastIndex()).toThrow(expect.objectContaining({ code: 'StorageCorrupted' }));
    await log.close();
  });

  it('close waits for a read in flight and calls no listener afterwards', async () => {
    const log = await open(temp.make(), { cacheBytes: 0 });
    await appendCommitted(log, 1, 100, 1);
    const listener = vi.fn();
    log.onAvailable(listener);
    expect(log.entries(1 as LogIndex, 2 as LogIndex, MAX)).toBe('unavailable');
    await log.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('LevelLog snapshot data', () => {
  it('stays in memory: snapshot() never reads its file, open reads and checks it', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 10, 1), sync: true });
    const first = snapshotOf(5, 1, 3000, 7);
    await log.compact(first, 5 as LogIndex);
    // The bytes written are served: damaging the file changes nothing.
    await damage(join(dir, 'snapshot-5-1.bin'));
    expect(log.snapshot()).toEqual(first);
    // A newer snapshot replaces it, installed or taken locally.
    const second = snapshotOf(8, 1, 10, 9);
    await log.write({ snapshot: second, entries: [], sync: true });
    await writeFile(join(dir, 'snapshot-8-1.bin'), 'damaged');
    expect(log.snapshot()).toEqual(second);
    await log.close();
    // Open reads the recorded file and checks it: damage is found there, not on a later call.
    await expect(open(dir)).rejects.toMatchObject({
      code: 'StorageCorrupted',
      key: 'snapshot-8-1.bin',
    });
    const other = temp.make();
    const intact = await open(other);
    await intact.write({ snapshot: second, entries: [], sync: true });
    await intact.close();
    const reopened = await open(other);
    await damage(join(other, 'snapshot-8-1.bin'));
    expect(reopened.snapshot()).toEqual(second);
    await reopened.close();
  });

  it('is written to its file and read back at most 1 MiB at a time', async () => {
    const dir = temp.make();
    const handle = await openFile(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(handle) as {
      write: (...args: unknown[]) => unknown;
      read: (...args: unknown[]) => unknown;
    };
    await handle.close();
    const write = vi.spyOn(prototype, 'write');
    try {
      const log = await open(dir);
      await log.write({ entries: entries(1, 3, 1), sync: true });
      const snapshot = snapshotOf(3, 1, 2.5 * SNAPSHOT_CHUNK_BYTES, 3);
      await log.compact(snapshot, 3 as LogIndex);
      const sizes = write.mock.calls.map((call) => (call[0] as Uint8Array).length);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(SNAPSHOT_CHUNK_BYTES);
      await log.close();
      // Open reads it back asynchronously, a chunk per call.
      const fileRead = vi.spyOn(prototype, 'read');
      let reopened: LevelLog;
      try {
        reopened = await open(dir);
        const lengths = fileRead.mock.calls.map((call) => call[2] as number);
        expect(lengths.length).toBeGreaterThanOrEqual(3);
        expect(Math.max(...lengths)).toBeLessThanOrEqual(SNAPSHOT_CHUNK_BYTES);
      } finally {
        fileRead.mockRestore();
      }
      const read = reopened.snapshot();
      expect(read.metadata).toEqual(snapshot.metadata);
      // Compared as bytes: a deep equality walks 2.5 MiB element by element.
      expect(Buffer.compare(read.data, snapshot.data)).toBe(0);
      await reopened.close();
    } finally {
      write.mockRestore();
    }
  });
});
