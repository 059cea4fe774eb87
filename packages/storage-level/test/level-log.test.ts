// What LevelLog adds to the conformance suite, checked on disk: truncation and compaction leave
// no stale entry segments in LevelDB (a truncation inside a segment rewrites its kept part
// together with the new entries); compaction runs in the background (its snapshot file is held
// at its fsync by a gate on FileHandle.sync while appends go on and resolve first; until its
// switch the previous snapshot and every entry are in force; a snapshot installed meanwhile
// wins over the older compaction); a snapshot switch-over interrupted before the rename (a temp
// file) or before the database record (a renamed, unrecorded file) leaves the previous snapshot
// in force; a flipped byte in any record, a deleted entry in the middle, or a damaged snapshot
// file fails `open` with StorageCorrupted naming the record (never a shorter log); another
// cluster's or node's folder is refused with StorageMismatch naming both; a second open of one
// folder is StorageLocked with LevelDB's lock error as `cause`; bootstrap writes the same
// genesis as MemoryStorage.bootstrap.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConfState,
  type Entry,
  type LogIndex,
  MemoryStorage,
  type NodeId,
  nodeId,
  type Snapshot,
  type Term,
} from '@cairn/raft';
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LevelLog, type StorageError } from '../src/index.js';
import { SEGMENTS_END_KEY, segmentKey } from '../src/records.js';
import { TempDirs } from './helpers.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

const CLUSTER = 'c1';
const NODE = nodeId(1);
const CONF: ConfState = {
  voters: [1, 2, 3] as NodeId[],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

function entry(index: number, term: number): Entry {
  return {
    index: index as LogIndex,
    term: term as Term,
    type: 'normal',
    data: Uint8Array.of(index & 0xff, term),
  };
}

function entries(from: number, to: number, term: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term));
  return list;
}

function snapshotAt(index: number, term: number, fill: number): Snapshot {
  return {
    metadata: { index: index as LogIndex, term: term as Term, confState: CONF },
    data: Uint8Array.of(fill, fill, fill),
  };
}

function open(dir: string, clusterId = CLUSTER, node = NODE): Promise<LevelLog> {
  return LevelLog.open({ dir, clusterId, nodeId: node });
}

/** The rejection of `promise`, which must reject. */
async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    return error as StorageError;
  }
  throw new Error('expected a rejection');
}

/** The first index of each entry segment in the folder's database, through a raw handle. */
async function storedSegments(dir: string): Promise<number[]> {
  const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  const indices: number[] = [];
  for await (const key of db.keys({ gte: segmentKey(0), lt: SEGMENTS_END_KEY })) {
    indices.push(Number(new DataView(key.buffer, key.byteOffset).getBigUint64(1)));
  }
  await db.close();
  return indices;
}

/** Flips one byte of the value stored under `key`, as a disk fault would. */
async function flipByte(dir: string, key: Uint8Array, offset: number): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  const value = await db.get(key);
  if (value === undefined) throw new Error('no such record');
  const damaged = Uint8Array.from(value);
  damaged[offset] = (damaged[offset] ?? 0) ^ 0x01;
  await db.put(key, damaged);
  await db.close();
}

/** How long a held fsync waits at most: a broken log that waits for it then fails, not hangs. */
const HOLD_FALLBACK_MS = 3_000;

interface HeldSyncs {
  /** Resolves once a FileHandle fsync (the snapshot file's) is being held. */
  readonly reached: Promise<void>;
  release(): void;
  restore(): void;
}

/**
 * Holds every `FileHandle.sync` (snapshot files and their folder; LevelDB syncs natively, so
 * its batches are not held) until `release`: a snapshot file as slow as a disk can make it.
 */
async function holdFileSyncs(dir: string): Promise<HeldSyncs> {
  const probe = await openFile(join(dir, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const sync = prototype.sync;
  let reach: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const fallback = setTimeout(() => release(), HOLD_FALLBACK_MS);
  const spy = vi.spyOn(prototype, 'sync').mockImplementation(async function (this: unknown) {
    reach();
    await released;
    return sync.call(this);
  });
  return {
    reached,
    release: () => {
      clearTimeout(fallback);
      release();
    },
    restore: () => {
      clearTimeout(fallback);
      spy.mockRestore();
    },
  };
}

describe('LevelLog on disk', () => {
  it('truncation deletes the replaced suffix from disk in the same write', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 3, 1), sync: true });
    await log.write({ entries: entries(4, 10, 1), sync: true });
    await log.write({ entries: entries(11, 12, 1), sync: true });
    // Lands inside the segment 4..10: its kept part 4..5 and the new 6..7 become one segment
    // under key 4, and 11..12 is deleted, all in one batch.
    await log.write({ entries: entries(6, 7, 2), sync: true });
    expect(log.lastIndex()).toBe(7);
    await log.close();
    expect(await storedSegments(dir)).toEqual([1, 4]);
    const reopened = await open(dir);
    expect(reopened.lastIndex()).toBe(7);
    expect(reopened.entries(1 as LogIndex, 8 as LogIndex, 1 << 20)).toEqual([
      ...entries(1, 5, 1),
      ...entries(6, 7, 2),
    ]);
    // At a segment's first index: that segment goes whole.
    await reopened.write({ entries: [entry(4, 3)], sync: true });
    await reopened.close();
    expect(await storedSegments(dir)).toEqual([1, 4]);
    const again = await open(dir);
    expect(again.entries(1 as LogIndex, 5 as LogIndex, 1 << 20)).toEqual([
      ...entries(1, 3, 1),
      entry(4, 3),
    ]);
    await again.close();
  });

  it('splits a write larger than one segment and truncates across the pieces', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 2500, 1), sync: true });
    await log.write({ entries: entries(1500, 1501, 2), sync: true });
    await log.close();
    // 1025..1499 kept and 1500..1501 appended: one rewritten segment; 1025's old tail is gone.
    expect(await storedSegments(dir)).toEqual([1, 1025]);
    const reopened = await open(dir);
    expect(reopened.lastIndex()).toBe(1501);
    expect(reopened.term(1499 as LogIndex)).toBe(1);
    expect(reopened.term(1500 as LogIndex)).toBe(2);
    await reopened.close();
  });

  it('compaction deletes entries up to compactTo from disk and records the snapshot', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 4, 1), sync: true });
    await log.write({ entries: entries(5, 8, 1), sync: true });
    await log.write({ entries: entries(9, 10, 1), sync: true });
    // Appends queued behind the compaction still land, in order.
    const compacted = log.compact(snapshotAt(8, 1, 5), 6 as LogIndex);
    const appended = log.write({ entries: entries(11, 12, 1), sync: true });
    await Promise.all([compacted, appended]);
    await log.close();
    // 1..4 is gone; 5..8 straddles compactTo and stays (its 5 and 6 are below the log start).
    expect(await storedSegments(dir)).toEqual([5, 9, 11]);
    expect(readdirSync(dir).filter((name) => name.startsWith('snapshot-'))).toEqual([
      'snapshot-8-1.bin',
    ]);
    const reopened = await open(dir);
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.term(6 as LogIndex)).toBe(1);
    expect(reopened.snapshot()).toEqual(snapshotAt(8, 1, 5));
    await reopened.close();
  });

  it('a crash between the switch record and the range clear leaves segments load skips', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 4, 1), sync: true });
    await log.write({ entries: entries(5, 8, 1), sync: true });
    await log.write({ entries: entries(9, 10, 1), sync: true });
    await log.close();
    // Segment 1..4 as stored, to put back after the compaction deleted it.
    const raw = async (write: Uint8Array | null): Promise<Uint8Array | undefined> => {
      const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
        keyEncoding: 'view',
        valueEncoding: 'view',
      });
      const value = write === null ? await db.get(segmentKey(1)) : undefined;
      if (write !== null) await db.put(segmentKey(1), write);
      await db.close();
      return value;
    };
    const first = await raw(null);
    if (first === undefined) throw new Error('no segment 1');
    const compacting = await open(dir);
    await compacting.compact(snapshotAt(8, 1, 5), 6 as LogIndex);
    await compacting.close();
    expect(await storedSegments(dir)).toEqual([5, 9]);
    // The switch record landed, the clear did not: segment 1..4 is back below the log start.
    await raw(first);
    expect(await storedSegments(dir)).toEqual([1, 5, 9]);
    const reopened = await open(dir);
    expect(reopened.firstIndex()).toBe(7);
    expect(reopened.lastIndex()).toBe(10);
    expect(reopened.entries(7 as LogIndex, 11 as LogIndex, Number.MAX_SAFE_INTEGER)).toHaveLength(
      4,
    );
    // The next compaction's clear takes it with the rest.
    await reopened.compact(snapshotAt(10, 1, 7), 10 as LogIndex);
    await reopened.close();
    expect(await storedSegments(dir)).toEqual([]);
  });

  it('compaction does not hold appends behind its snapshot file', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 4, 1), sync: true });
    await log.write({ entries: entries(5, 10, 1), sync: true });
    const held = await holdFileSyncs(dir);
    const settled: string[] = [];
    try {
      const compacted = log
        .compact(snapshotAt(8, 1, 5), 6 as LogIndex)
        .then(() => settled.push('compaction'));
      await held.reached;
      // The file is at its fsync; appends, a hard state and a truncation go ahead of it.
      await log.write({ entries: entries(11, 14, 1), sync: true });
      await log.write({ entries: entries(13, 13, 2), sync: true });
      const hardState = { term: 2 as Term, vote: NODE, commit: 12 as LogIndex };
      await log.write({ entries: [], hardState, sync: true });
      settled.push('appends');
      // Until the switch the previous snapshot and every entry are in force.
      expect(log.snapshot().metadata.index).toBe(0);
      expect(log.firstIndex()).toBe(1);
      expect(log.entries(1 as LogIndex, 14 as LogIndex, 1 << 20)).toEqual([
        ...entries(1, 12, 1),
        entry(13, 2),
      ]);
      held.release();
      await compacted;
      expect(settled).toEqual(['appends', 'compaction']);
    } finally {
      held.restore();
    }
    expect(log.snapshot()).toEqual(snapshotAt(8, 1, 5));
    expect(log.firstIndex()).toBe(7);
    expect(log.lastIndex()).toBe(13);
    await log.close();
    expect(await storedSegments(dir)).toEqual([5, 11]);
    const reopened = await open(dir);
    expect(reopened.initialState().hardState).toEqual({ term: 2, vote: NODE, commit: 12 });
    expect(reopened.snapshot()).toEqual(snapshotAt(8, 1, 5));
    expect(reopened.entries(7 as LogIndex, 14 as LogIndex, 1 << 20)).toEqual([
      ...entries(7, 12, 1),
      entry(13, 2),
    ]);
    await reopened.close();
  });

  it('a snapshot installed while a compaction writes its file wins over the older one', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 10, 1), sync: true });
    const held = await holdFileSyncs(dir);
    let compacted: Promise<void>;
    let installed: Promise<void>;
    try {
      compacted = log.compact(snapshotAt(6, 1, 5), 6 as LogIndex);
      await held.reached;
      // The leader's snapshot replaces the whole log; its own file is held too.
      installed = log.write({ snapshot: snapshotAt(20, 2, 9), entries: [], sync: true });
      held.release();
      await Promise.all([compacted, installed]);
    } finally {
      held.restore();
    }
    expect(log.snapshot()).toEqual(snapshotAt(20, 2, 9));
    expect(log.firstIndex()).toBe(21);
    expect(log.lastIndex()).toBe(20);
    await log.close();
    expect(readdirSync(dir).filter((name) => name.startsWith('snapshot-'))).toEqual([
      'snapshot-20-2.bin',
    ]);
    const reopened = await open(dir);
    expect(reopened.snapshot()).toEqual(snapshotAt(20, 2, 9));
    expect(reopened.firstIndex()).toBe(21);
    await reopened.close();
  });

  it('close waits for a compaction still writing its file', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 10, 1), sync: true });
    const held = await holdFileSyncs(dir);
    try {
      const compacted = log.compact(snapshotAt(8, 1, 5), 8 as LogIndex);
      await held.reached;
      const closed = log.close();
      held.release();
      await Promise.all([compacted, closed]);
    } finally {
      held.restore();
    }
    const reopened = await open(dir);
    expect(reopened.snapshot()).toEqual(snapshotAt(8, 1, 5));
    expect(reopened.firstIndex()).toBe(9);
    // One asked for once close has begun is refused: close would not wait for it.
    const closed = reopened.close();
    await expect(reopened.compact(snapshotAt(9, 1, 6), 9 as LogIndex)).rejects.toMatchObject({
      code: 'StorageFailed',
    });
    await closed;
  });

  it('a snapshot switch-over interrupted before the rename or the record keeps the old one', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ entries: entries(1, 10, 1), sync: true });
    await log.compact(snapshotAt(5, 1, 1), 5 as LogIndex);
    await log.close();
    // A crash after the temp file was written but before the rename...
    writeFileSync(join(dir, 'snapshot-9-1.bin.0000.tmp'), 'half a snapshot');
    // ...and one after the rename but before the database recorded it.
    writeFileSync(join(dir, 'snapshot-10-1.bin'), 'renamed, never recorded');
    const reopened = await open(dir);
    expect(reopened.snapshot()).toEqual(snapshotAt(5, 1, 1));
    expect(reopened.firstIndex()).toBe(6);
    expect(readdirSync(dir).filter((name) => name.startsWith('snapshot-'))).toEqual([
      'snapshot-5-1.bin',
    ]);
    // The switch-over still works after the leftovers are gone.
    await reopened.compact(snapshotAt(9, 1, 2), 9 as LogIndex);
    expect(readdirSync(dir).filter((name) => name.startsWith('snapshot-'))).toEqual([
      'snapshot-9-1.bin',
    ]);
    await reopened.close();
    const again = await open(dir);
    expect(again.snapshot()).toEqual(snapshotAt(9, 1, 2));
    await again.close();
  });

  it('a flipped byte in an entry is StorageCorrupted naming it, never a shorter log', async () => {
    const dir = temp.make();
    const log = await open(dir);
    for (let i = 1; i <= 5; i++) await log.write({ entries: [entry(i, 1)], sync: true });
    await log.close();
    await flipByte(dir, segmentKey(3), 6);
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageCorrupted');
    expect(error.key).toBe('entries from 3');
    expect(error.message).toContain('entries from 3');
  });

  it('a flipped byte in the hard state or its checksum is StorageCorrupted', async () => {
    for (const offset of [0, -1]) {
      const dir = temp.make();
      const log = await open(dir);
      await log.write({
        hardState: { term: 3 as Term, vote: 2 as NodeId, commit: 0 as LogIndex },
        entries: [],
        sync: true,
      });
      await log.close();
      const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
        keyEncoding: 'view',
        valueEncoding: 'view',
      });
      const length = (await db.get(Uint8Array.of(0x68)))?.length ?? 0;
      await db.close();
      await flipByte(dir, Uint8Array.of(0x68), offset < 0 ? length - 1 : offset);
      const error = await failureOf(open(dir));
      expect(error.code).toBe('StorageCorrupted');
      expect(error.key).toBe('hardState');
    }
  });

  it('an entry missing in the middle is StorageCorrupted (a gap), not the end of the log', async () => {
    const dir = temp.make();
    const log = await open(dir);
    for (let i = 1; i <= 5; i++) await log.write({ entries: [entry(i, 1)], sync: true });
    await log.close();
    const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.del(segmentKey(3));
    await db.close();
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageCorrupted');
    expect(error.key).toBe('entries from 4');
  });

  it('a damaged or missing snapshot file is StorageCorrupted naming the file', async () => {
    const dir = temp.make();
    const log = await open(dir);
    await log.write({ snapshot: snapshotAt(4, 2, 9), entries: [], sync: true });
    await log.close();
    const file = join(dir, 'snapshot-4-2.bin');
    const bytes = readFileSync(file);
    bytes[0] = (bytes[0] ?? 0) ^ 0x80;
    writeFileSync(file, bytes);
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageCorrupted');
    expect(error.key).toBe('snapshot-4-2.bin');
  });

  it('refuses a folder of another cluster or node with StorageMismatch naming both', async () => {
    const dir = temp.make();
    const log = await open(dir);
    const incarnation = log.identity.incarnation;
    await log.close();
    const otherCluster = await failureOf(open(dir, 'c2', NODE));
    expect(otherCluster.code).toBe('StorageMismatch');
    expect(otherCluster.message).toContain('"c1" node 1');
    expect(otherCluster.message).toContain('"c2" node 1');
    const otherNode = await failureOf(open(dir, CLUSTER, nodeId(2)));
    expect(otherNode.code).toBe('StorageMismatch');
    expect(otherNode.message).toContain('"c1" node 2');
    // The rightful owner still opens it, with the incarnation drawn when it was initialised.
    const owner = await open(dir);
    expect(owner.identity.incarnation).toBe(incarnation);
    await owner.close();
    // A folder initialised afresh (data lost) gets a new incarnation.
    const fresh = await open(temp.make());
    expect(fresh.identity.incarnation).not.toBe(incarnation);
    await fresh.close();
  });

  it('a second open of one folder is StorageLocked with the lock error as cause', async () => {
    const dir = temp.make();
    const log = await open(dir);
    const error = await failureOf(open(dir));
    expect(error.code).toBe('StorageLocked');
    expect((error.cause as { code?: string }).code).toBe('LEVEL_LOCKED');
    await log.close();
    const reopened = await open(dir);
    await reopened.close();
  });

  it('bootstrap writes the genesis of MemoryStorage.bootstrap, once', async () => {
    const dir = temp.make();
    const log = await LevelLog.open({ dir, clusterId: CLUSTER, nodeId: NODE, bootstrap: CONF });
    const reference = MemoryStorage.bootstrap(CONF);
    const view = (s: MemoryStorage | LevelLog): unknown[] => [
      s.initialState(),
      s.snapshot(),
      s.firstIndex(),
      s.lastIndex(),
      s.term(1 as LogIndex),
    ];
    expect(view(log)).toEqual(view(reference));
    await log.write({ entries: entries(2, 3, 2), sync: true });
    await log.close();
    // Reopening with `bootstrap` again must not reset the folder.
    const reopened = await LevelLog.open({
      dir,
      clusterId: CLUSTER,
      nodeId: NODE,
      bootstrap: CONF,
    });
    expect(reopened.lastIndex()).toBe(3);
    expect(reopened.snapshot()).toEqual(reference.snapshot());
    await reopened.close();
  });

  it('serves nothing after close', async () => {
    const log = await open(temp.make());
    await log.close();
    expect(() => log.lastIndex()).toThrow(expect.objectContaining({ code: 'StorageFailed' }));
  });
});
