import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './checksum.js';
import { StorageError } from './errors.js';

/**
 * Snapshot files beside the database: `snapshot-<index>-<term>.bin` holds the state machine's
 * bytes then a CRC-32 of them (4 bytes, big-endian). A file is switched in atomically: written
 * under a temporary name, fsynced, renamed, and the folder fsynced so the rename itself is
 * durable. Only then does the database record point at it, so a crash at any step leaves the
 * previous snapshot (still recorded, still on disk) intact; the leftovers are removed on open.
 * Files are written and checked in chunks of SNAPSHOT_CHUNK_BYTES: no second copy of the image
 * is built on the way to disk, and checking one on open holds one chunk at a time.
 */
const FILE_PATTERN = /^snapshot-(\d+)-(\d+)\.bin$/;
const TEMP_SUFFIX = '.tmp';
const CHECKSUM_BYTES = 4;
/** The most one write or read of a snapshot file moves at a time. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

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
  const file = await open(temp, 'w');
  try {
    let crc = 0;
    for (let at = 0; at < data.length; at += SNAPSHOT_CHUNK_BYTES) {
      const chunk = data.subarray(at, at + SNAPSHOT_CHUNK_BYTES);
      crc = crc32(chunk, crc);
      await writeAll(file, chunk);
    }
    const trailer = new Uint8Array(CHECKSUM_BYTES);
    new DataView(trailer.buffer).setUint32(0, crc);
    await writeAll(file, trailer);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, join(dir, name));
  await syncDirectory(dir);
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at);
    at += bytesWritten;
  }
}

/**
 * Checks a recorded snapshot file without holding it: reads it a chunk at a time, summing the
 * checksum. A missing, short or damaged file is `StorageCorrupted` naming it.
 */
export async function verifySnapshotFile(dir: string, index: number, term: number): Promise<void> {
  const name = snapshotFileName(index, term);
  let file: FileHandle;
  try {
    file = await open(join(dir, name), 'r');
  } catch (error) {
    throw unreadable(name, error);
  }
  try {
    const size = (await file.stat()).size;
    if (size < CHECKSUM_BYTES) throw shortFile(name);
    const dataBytes = size - CHECKSUM_BYTES;
    const buffer = new Uint8Array(
      Math.min(SNAPSHOT_CHUNK_BYTES, Math.max(dataBytes, CHECKSUM_BYTES)),
    );
    let crc = 0;
    for (let at = 0; at < dataBytes; ) {
      const length = Math.min(buffer.length, dataBytes - at);
      const { bytesRead } = await file.read(buffer, 0, length, at);
      if (bytesRead === 0) throw shortFile(name);
      crc = crc32(buffer.subarray(0, bytesRead), crc);
      at += bytesRead;
    }
    const { bytesRead } = await file.read(buffer, 0, CHECKSUM_BYTES, dataBytes);
    if (bytesRead !== CHECKSUM_BYTES) throw shortFile(name);
    if (new DataView(buffer.buffer).getUint32(0) !== crc) throw checksumMismatch(name);
  } catch (error) {
    throw error instanceof StorageError ? error : unreadable(name, error);
  } finally {
    await file.close();
  }
}

/**
 * The data of a recorded snapshot, read whole and synchronously (the core's `snapshot()` cannot
 * wait), checksum checked; a missing or damaged file is `StorageCorrupted` naming it.
 */
export function readSnapshotFileSync(dir: string, index: number, term: number): Uint8Array {
  const name = snapshotFileName(index, term);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(dir, name));
  } catch (error) {
    throw unreadable(name, error);
  }
  if (bytes.length < CHECKSUM_BYTES) throw shortFile(name);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length - CHECKSUM_BYTES);
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(data.length);
  if (stored !== crc32(data)) throw checksumMismatch(name);
  return data;
}

function unreadable(name: string, cause: unknown): StorageError {
  return new StorageError('StorageCorrupted', `${name}: recorded snapshot file unreadable`, {
    key: name,
    cause,
  });
}

function shortFile(name: string): StorageError {
  return new StorageError('StorageCorrupted', `${name}: shorter than its checksum`, { key: name });
}

function checksumMismatch(name: string): StorageError {
  return new StorageError('StorageCorrupted', `${name}: checksum mismatch`, { key: name });
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
