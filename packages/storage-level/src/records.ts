import { decodeEntry, type Entry, encodeEntry } from '@cairn/raft';
import { crc32 } from './checksum.js';
import { StorageError } from './errors.js';

/**
 * The key space of one LevelDB folder. Entries are stored in segments: the entries of one write
 * (at most SEGMENT_ENTRIES_MAX) under 'e' + the index of the first as 8 bytes big-endian, so
 * LevelDB's byte order is index order and a range of indices is a range of keys. One record
 * per write rather than per entry is what makes group commit pay: LevelDB's cost per record,
 * not the fsync, bounded a batch of 256 one-entry records to ~60,000 entries/s. The other
 * records are single-letter keys that sort outside the entry range.
 */
const ENTRY_PREFIX = 0x65; // 'e'
const ENTRY_KEY_BYTES = 9;
/** Entries per segment record: bounds the bytes a truncation inside a segment rewrites. */
export const SEGMENT_ENTRIES_MAX = 1024;

export const HARD_STATE_KEY = Uint8Array.of(0x68); // 'h'
export const IDENTITY_KEY = Uint8Array.of(0x69); // 'i'
/** The log's start: the index entries begin after and its term (compaction or snapshot). */
export const LOG_START_KEY = Uint8Array.of(0x6f); // 'o'
export const SNAPSHOT_KEY = Uint8Array.of(0x73); // 's'

/** The first key after every segment key: the exclusive end of an iteration over them. */
export const SEGMENTS_END_KEY = Uint8Array.of(ENTRY_PREFIX + 1);

const CHECKSUM_BYTES = 4;

/** The key of the segment whose first entry is `index`. */
export function segmentKey(index: number): Uint8Array {
  const key = new Uint8Array(ENTRY_KEY_BYTES);
  key[0] = ENTRY_PREFIX;
  new DataView(key.buffer).setBigUint64(1, BigInt(index));
  return key;
}

/** The first index of a segment key, or null for any other key. */
export function indexOfSegmentKey(key: Uint8Array): number | null {
  if (key.length !== ENTRY_KEY_BYTES || key[0] !== ENTRY_PREFIX) return null;
  return Number(new DataView(key.buffer, key.byteOffset, key.length).getBigUint64(1));
}

/** A key as a person reads it in an error: `entry 42`, `hardState`, or hex for a stranger. */
export function describeKey(key: Uint8Array): string {
  const index = indexOfSegmentKey(key);
  if (index !== null) return `entries from ${index}`;
  if (key.length === 1) {
    switch (key[0]) {
      case 0x68:
        return 'hardState';
      case 0x69:
        return 'identity';
      case 0x6f:
        return 'logStart';
      case 0x73:
        return 'snapshot';
    }
  }
  return `key 0x${Buffer.from(key).toString('hex')}`;
}

/**
 * A stored value: the payload (codec bytes) then a CRC-32 of key and payload, big-endian. The
 * key is in the checksum so a valid value under the wrong key (a misdirected write) is caught
 * too, not only a damaged one.
 */
export function sealRecord(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const value = new Uint8Array(payload.length + CHECKSUM_BYTES);
  value.set(payload, 0);
  new DataView(value.buffer).setUint32(payload.length, crc32(payload, crc32(key)));
  return value;
}

/**
 * The payload of a stored value after checking its checksum; a mismatch is `StorageCorrupted`
 * naming the key. The payload is a plain `Uint8Array` view (not a `Buffer`), so decoded byte
 * fields compare equal to what was written.
 */
export function openRecord(key: Uint8Array, value: Uint8Array): Uint8Array {
  const where = describeKey(key);
  if (value.length < CHECKSUM_BYTES) {
    throw new StorageError('StorageCorrupted', `${where}: record shorter than its checksum`, {
      key: where,
    });
  }
  const payload = new Uint8Array(value.buffer, value.byteOffset, value.length - CHECKSUM_BYTES);
  const stored = new DataView(value.buffer, value.byteOffset, value.length).getUint32(
    payload.length,
  );
  if (stored !== crc32(payload, crc32(key))) {
    throw new StorageError('StorageCorrupted', `${where}: checksum mismatch`, { key: where });
  }
  return payload;
}

/** 8-byte big-endian pair (index, term): the log start record. */
export function encodeLogStart(index: number, term: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(index));
  view.setBigUint64(8, BigInt(term));
  return bytes;
}

export function decodeLogStart(payload: Uint8Array): { index: number; term: number } {
  if (payload.length !== 16) {
    throw new StorageError('StorageCorrupted', 'logStart: expected 16 bytes', { key: 'logStart' });
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  return { index: Number(view.getBigUint64(0)), term: Number(view.getBigUint64(8)) };
}

const FRAME_HEADER_BYTES = 4;

/** A segment's payload: each entry in the core's codec, prefixed with its length (4 bytes BE). */
export function encodeSegment(entries: readonly Entry[]): Uint8Array {
  const encoded = entries.map(encodeEntry);
  let total = 0;
  for (const bytes of encoded) total += FRAME_HEADER_BYTES + bytes.length;
  const payload = new Uint8Array(total);
  const view = new DataView(payload.buffer);
  let at = 0;
  for (const bytes of encoded) {
    view.setUint32(at, bytes.length);
    payload.set(bytes, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + bytes.length;
  }
  return payload;
}

/** The entries of a segment payload; a frame running past the end is corruption. */
export function decodeSegment(payload: Uint8Array, where: string): Entry[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const entries: Entry[] = [];
  let at = 0;
  while (at < payload.length) {
    if (at + FRAME_HEADER_BYTES > payload.length) {
      throw new StorageError('StorageCorrupted', `${where}: truncated frame header`, {
        key: where,
      });
    }
    const length = view.getUint32(at);
    const end = at + FRAME_HEADER_BYTES + length;
    if (end > payload.length) {
      throw new StorageError('StorageCorrupted', `${where}: frame past the end`, { key: where });
    }
    entries.push(decodeEntry(payload.subarray(at + FRAME_HEADER_BYTES, end)));
    at = end;
  }
  return entries;
}
