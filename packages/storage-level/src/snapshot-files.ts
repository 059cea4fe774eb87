import { randomUUID } from 'node:crypto';
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
 * The data of a recorded snapshot, read asynchronously a chunk at a time into one buffer of the
 * file's size (no second copy), checksum summed on the way; a missing, short or damaged file is
 * `StorageCorrupted` naming it. Never synchronous: the image may be large, and opening a node or
 * serving a follower must not stall the event loop (docs/adapters.md).
 */
export async function readSnapshotFile(
  dir: string,
  index: number,
  term: number,
): Promise<Uint8Array> {
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
    const bytes = new Uint8Array(size);
    const dataBytes = size - CHECKSUM_BYTES;
    // Summed chunk by chunk between reads, so no turn of the event loop sums more than a chunk.
    let crc = 0;
    for (let at = 0; at < size; ) {
      const length = Math.min(SNAPSHOT_CHUNK_BYTES, size - at);
      const { bytesRead } = await file.read(bytes, at, length, at);
      if (bytesRead === 0) throw shortFile(name);
      if (at < dataBytes) crc = crc32(bytes.subarray(at, Math.min(at + bytesRead, dataBytes)), crc);
      at += bytesRead;
    }
    const stored = new DataView(bytes.buffer, bytes.byteOffset, size).getUint32(dataBytes);
    if (stored !== crc) throw checksumMismatch(name);
    return bytes.subarray(0, dataBytes);
  } catch (error) {
    throw error instanceof StorageError ? error : unreadable(name, error);
  } finally {
    await file.close();
  }
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
