import { randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './checksum.js';
import { StorageError } from './errors.js';

/**
 * Snapshot files beside the database: `snapshot-<index>-<term>.bin` holds the state machine's
 * bytes then a CRC-32 of them (4 bytes, big-endian). A file is switched in atomically: written
 * under a temporary name, fsynced, renamed, and the folder fsynced so the rename itself is
 * durable. Only then does the database record point at it, so a crash at any step leaves the
 * previous snapshot (still recorded, still on disk) intact; the leftovers are removed on open.
 */
const FILE_PATTERN = /^snapshot-(\d+)-(\d+)\.bin$/;
const TEMP_SUFFIX = '.tmp';
const CHECKSUM_BYTES = 4;

export function snapshotFileName(index: number, term: number): string {
  return `snapshot-${index}-${term}.bin`;
}

export async function writeSnapshotFile(
  dir: string,
  index: number,
  term: number,
  data: Uint8Array,
): Promise<void> {
  const name = snapshotFileName(index, term);
  // A unique temporary name: a compaction may write its file while a Ready installs another.
  const temp = join(dir, `${name}.${randomUUID()}${TEMP_SUFFIX}`);
  const trailer = new Uint8Array(CHECKSUM_BYTES);
  new DataView(trailer.buffer).setUint32(0, crc32(data));
  const file = await open(temp, 'w');
  try {
    await file.writev([data, trailer]);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, join(dir, name));
  await syncDirectory(dir);
}

/** The data of a recorded snapshot, checksum checked; a missing or damaged file is corruption. */
export async function readSnapshotFile(
  dir: string,
  index: number,
  term: number,
): Promise<Uint8Array> {
  const name = snapshotFileName(index, term);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, name));
  } catch (error) {
    throw new StorageError('StorageCorrupted', `${name}: recorded snapshot file unreadable`, {
      key: name,
      cause: error,
    });
  }
  if (bytes.length < CHECKSUM_BYTES) {
    throw new StorageError('StorageCorrupted', `${name}: shorter than its checksum`, { key: name });
  }
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length - CHECKSUM_BYTES);
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(data.length);
  if (stored !== crc32(data)) {
    throw new StorageError('StorageCorrupted', `${name}: checksum mismatch`, { key: name });
  }
  return data;
}

/**
 * Removes snapshot files older than the recorded one (index below `keepIndex`, or the same index
 * with another term) and, when `removeTemporary` (only on open, when no write can be in flight),
 * the temporary files of interrupted writes. Files newer than the recorded snapshot are left: a
 * compaction may be about to record one.
 */
export async function removeStaleSnapshotFiles(
  dir: string,
  keepIndex: number,
  keepTerm: number,
  removeTemporary: boolean,
): Promise<void> {
  for (const name of await readdir(dir)) {
    const match = FILE_PATTERN.exec(name);
    if (match !== null) {
      const index = Number(match[1]);
      const term = Number(match[2]);
      if (index < keepIndex || (index === keepIndex && term !== keepTerm)) {
        await rm(join(dir, name), { force: true });
      }
    } else if (removeTemporary && name.startsWith('snapshot-') && name.endsWith(TEMP_SUFFIX)) {
      await rm(join(dir, name), { force: true });
    }
  }
}

/** Newer recorded-nowhere files on open: left by a crash between rename and the DB record. */
export async function removeUnrecordedSnapshotFiles(
  dir: string,
  keepIndex: number,
  keepTerm: number,
): Promise<void> {
  for (const name of await readdir(dir)) {
    if (FILE_PATTERN.test(name) && name !== snapshotFileName(keepIndex, keepTerm)) {
      await rm(join(dir, name), { force: true });
    }
  }
}

/** fsync of the folder: makes a rename (a directory entry) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
