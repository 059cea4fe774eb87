import {
  decodeHardState,
  decodeSnapshotMetadata,
  type Entry,
  type HardState,
  type SnapshotMetadata,
} from '@cairn/raft';
import type { Level } from 'level';
import { EntryTail, entryCost } from './entry-cache.js';
import { StorageError } from './errors.js';
import {
  decodeLogStart,
  decodeSegment,
  describeKey,
  HARD_STATE_KEY,
  indexOfSegmentKey,
  LOG_START_KEY,
  openRecord,
  SEGMENTS_END_KEY,
  SNAPSHOT_KEY,
  segmentKey,
} from './records.js';
import { readSnapshotFile } from './snapshot-files.js';
import { TermRuns } from './term-runs.js';

/**
 * Reading LevelLog's records back: the scan on open (every record checked, terms of every
 * entry kept, entry data only for the tail that fits the cache) and the range reads that serve
 * cache misses (checked the same way). Every read checks checksums and the shape of what it
 * finds; anything wrong is `StorageCorrupted` naming the record, never a shorter log.
 */
export type Db = Level<Uint8Array, Uint8Array>;

export function corrupted(key: string, message: string): StorageError {
  return new StorageError('StorageCorrupted', `${key}: ${message}`, { key });
}

/** A record's checked payload, or undefined when the key is absent. */
export async function getRecord(db: Db, key: Uint8Array): Promise<Uint8Array | undefined> {
  const value = await db.get(key);
  return value === undefined ? undefined : openRecord(key, value);
}

/** Decodes a record's payload; a payload that passes its checksum but not the codec is corrupt. */
export function decodeRecord<T>(
  key: Uint8Array,
  payload: Uint8Array,
  decode: (bytes: Uint8Array) => T,
): T {
  try {
    return decode(payload);
  } catch (error) {
    const where = describeKey(key);
    throw new StorageError('StorageCorrupted', `${where}: does not decode`, {
      key: where,
      cause: error,
    });
  }
}

/** The entries of one stored segment record, each checked to sit at its own index. */
export function openSegment(
  key: Uint8Array,
  value: Uint8Array,
): { first: number; entries: Entry[] } {
  const first = indexOfSegmentKey(key);
  const where = describeKey(key);
  if (first === null) throw corrupted(where, 'malformed segment key');
  const payload = openRecord(key, value);
  const entries = decodeRecord(key, payload, (bytes) => decodeSegment(bytes, where));
  if (entries.length === 0) throw corrupted(where, 'empty segment');
  entries.forEach((entry, i) => {
    if (entry.index !== first + i) throw corrupted(where, `holds entry ${entry.index} at ${i}`);
  });
  return { first, entries };
}

/** What the scan on open found. */
export interface LoadedLog {
  readonly hardState: HardState | undefined;
  /** The log start: entries begin after `index`, whose term is `term`. */
  readonly start: { readonly index: number; readonly term: number };
  readonly snapshot: SnapshotMetadata | undefined;
  /** The recorded snapshot's data, read and checked (empty when none is recorded). */
  readonly snapshotData: Uint8Array;
  readonly last: number;
  readonly terms: TermRuns;
  readonly tail: EntryTail;
  readonly segments: number[];
}

/**
 * Reads every record back, checking each checksum and the shape of the whole: entries exactly
 * (logStart, last] with no gap, each stored under its own index, and the recorded snapshot file
 * present and intact (its data is read then, asynchronously, and returned). Keeps the terms of
 * all entries, and in `tail` the most recent entries within `cacheBytes` plus every one above the
 * hard state's commit index.
 */
export async function loadLog(db: Db, dir: string, cacheBytes: number): Promise<LoadedLog> {
  const hardPayload = await getRecord(db, HARD_STATE_KEY);
  const hardState =
    hardPayload === undefined
      ? undefined
      : decodeRecord(HARD_STATE_KEY, hardPayload, decodeHardState);
  const startPayload = await getRecord(db, LOG_START_KEY);
  const start =
    startPayload === undefined
      ? { index: 0, term: 0 }
      : decodeRecord(LOG_START_KEY, startPayload, decodeLogStart);
  const snapshotPayload = await getRecord(db, SNAPSHOT_KEY);
  let snapshot: SnapshotMetadata | undefined;
  let snapshotData: Uint8Array = new Uint8Array(0);
  if (snapshotPayload !== undefined) {
    snapshot = decodeRecord(SNAPSHOT_KEY, snapshotPayload, decodeSnapshotMetadata);
    snapshotData = await readSnapshotFile(dir, snapshot.index, snapshot.term);
  }
  const keepFrom = (hardState?.commit ?? 0) + 1;
  const terms = new TermRuns();
  terms.reset(start.index + 1);
  const tail = new EntryTail(start.index + 1);
  const segments: number[] = [];
  let expected = start.index + 1;
  for await (const [key, value] of db.iterator({ gte: segmentKey(0), lt: SEGMENTS_END_KEY })) {
    const { first, entries } = openSegment(key, value);
    const segmentLast = first + entries.length - 1;
    // Wholly below the log start: compacted, its deletion (a range clear after the switch
    // record, see LevelLog.switchSnapshot) interrupted by a crash. Not part of the log.
    if (segments.length === 0 && segmentLast < expected) continue;
    // Only the first segment may reach below the log start (compacted inside it).
    const starts = segments.length === 0 ? first <= expected && segmentLast >= expected : false;
    if (first !== expected && !starts) {
      throw corrupted(
        describeKey(key),
        `found where entry ${expected} was expected (a gap or an overlap)`,
      );
    }
    for (const entry of entries) {
      if (entry.index < expected) continue;
      terms.append(entry.index, entry.term);
      tail.append(entry);
    }
    tail.evict(cacheBytes, keepFrom);
    segments.push(first);
    expected = segmentLast + 1;
  }
  // Decoded data are views into whole records: copy what stays, so the records can go.
  tail.copyData();
  const snapshotIndex = snapshot?.index ?? 0;
  const last = expected - 1;
  if (snapshotIndex < start.index) {
    throw corrupted('snapshot', `index ${snapshotIndex} below the log start ${start.index}`);
  }
  if (snapshotIndex > last) {
    throw corrupted('snapshot', `index ${snapshotIndex} beyond the last entry ${last}`);
  }
  return { hardState, start, snapshot, snapshotData, last, terms, tail, segments };
}

/**
 * Entries from `lo` on, read from disk: the segment starting at `segmentStart` (the one holding
 * `lo`) and the ones after it, until `bytesMax` bytes of entries (passed by at most the last
 * entry) or index `stopAt` (from where the caller holds them in memory). Data are copied out of
 * the records.
 */
export async function readRange(
  db: Db,
  range: { segmentStart: number; lo: number; stopAt: number; bytesMax: number },
): Promise<Entry[]> {
  const { segmentStart, lo, stopAt, bytesMax } = range;
  const entries: Entry[] = [];
  let bytes = 0;
  let expected: number | null = null;
  const iterator = db.iterator({ gte: segmentKey(segmentStart), lt: segmentKey(stopAt) });
  for await (const [key, value] of iterator) {
    const segment = openSegment(key, value);
    // One iterator reads one consistent state of the database: a gap in it is damage.
    if (expected !== null && segment.first !== expected) {
      throw corrupted(describeKey(key), `found where entry ${expected} was expected (a gap)`);
    }
    expected = segment.first + segment.entries.length;
    for (const entry of segment.entries) {
      if (entry.index < lo) continue;
      if (entry.index >= stopAt || bytes >= bytesMax) break;
      entries.push({ ...entry, data: entry.data.slice() });
      bytes += entryCost(entry);
    }
    if (bytes >= bytesMax || expected >= stopAt) break;
  }
  return entries;
}
