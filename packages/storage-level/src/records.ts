import {
  decodeEntry,
  type Entry,
  type EntryType,
  type LogIndex,
  RaftAssertionError,
  type Term,
} from '@cairn/raft';
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
 *
 * A payload made by `encodeSegment` already has room for the checksum behind it: the value is
 * then that same memory, one view longer, instead of a copy (a 256-entry segment is ~38 KB).
 * The payload must not be changed or reused after it is sealed.
 */
export function sealRecord(key: Uint8Array, payload: Uint8Array): Uint8Array {
  const checksum = crc32(payload, crc32(key));
  if (roomForChecksum.delete(payload)) {
    const value = new Uint8Array(
      payload.buffer,
      payload.byteOffset,
      payload.length + CHECKSUM_BYTES,
    );
    new DataView(value.buffer, value.byteOffset, value.length).setUint32(payload.length, checksum);
    return value;
  }
  const value = new Uint8Array(payload.length + CHECKSUM_BYTES);
  value.set(payload, 0);
  new DataView(value.buffer).setUint32(payload.length, checksum);
  return value;
}

/**
 * Payloads followed by CHECKSUM_BYTES of their own, unused buffer. Invariant: a payload is in
 * the set only from `encodeSegment` until `sealRecord` fills those bytes (delete: once).
 */
const roomForChecksum = new WeakSet<Uint8Array>();

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

/**
 * Byte 0 of a segment payload: its layout. Version 1 is the binary layout below. A payload
 * starting with 0 is the layout before the version byte (each entry as msgpack behind a 4-byte
 * length, whose first byte is 0 for any entry under 16 MiB) and is still read.
 */
export const SEGMENT_FORMAT_VERSION = 1;
const SEGMENT_FORMAT_LEGACY = 0;
/** Version byte, then the entry count (u32). */
const SEGMENT_HEAD_BYTES = 5;
/** Per entry: index u64, term u64, type u8 (0 normal, 1 confChange), data length u32. */
const ENTRY_HEAD_BYTES = 21;
const TWO_TO_32 = 2 ** 32;
/** The high word of 2^53 - 1: any larger u64 is not a safe integer. */
const U64_HIGH_MAX = 0x1f_ffff;

/**
 * A segment's payload, format 1: version byte, entry count (u32), then each entry as a fixed
 * head (index u64, term u64, type u8, data length u32; big-endian) and its data bytes, in one
 * buffer written once. msgpack maps per entry cost more to build than the rest of the write
 * path together (issue 4); the fixed head also makes the record ~15% smaller, and LevelDB's
 * cost grows with the bytes it logs and compacts. The buffer holds CHECKSUM_BYTES more than
 * the payload, for `sealRecord`.
 */
export function encodeSegment(entries: readonly Entry[]): Uint8Array {
  let length = SEGMENT_HEAD_BYTES + entries.length * ENTRY_HEAD_BYTES;
  for (let i = 0; i < entries.length; i++) length += (entries[i] as Entry).data.length;
  // Every byte is written below, so the zero-fill of `new Uint8Array` would be wasted work.
  const buffer = Buffer.allocUnsafeSlow(length + CHECKSUM_BYTES);
  const payload = new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  const view = new DataView(buffer.buffer, buffer.byteOffset, length);
  view.setUint8(0, SEGMENT_FORMAT_VERSION);
  view.setUint32(1, entries.length);
  let at = SEGMENT_HEAD_BYTES;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Entry;
    writeU64(view, at, entry.index, 'index');
    writeU64(view, at + 8, entry.term, 'term');
    view.setUint8(at + 16, entryTypeCode(entry.type));
    view.setUint32(at + 17, entry.data.length);
    payload.set(entry.data, at + ENTRY_HEAD_BYTES);
    at += ENTRY_HEAD_BYTES + entry.data.length;
  }
  roomForChecksum.add(payload);
  return payload;
}

/**
 * The entries of a segment payload; anything that is not exactly a whole segment (an unknown
 * version, a short head, a count or length running past the end, bytes left over, a bad type
 * or an index or term above 2^53 - 1) is `StorageCorrupted` naming `where`. Entry data are
 * views into the payload.
 */
export function decodeSegment(payload: Uint8Array, where: string): Entry[] {
  const corrupted = (detail: string): StorageError =>
    new StorageError('StorageCorrupted', `${where}: ${detail}`, { key: where });
  if (payload.length === 0) throw corrupted('empty segment payload');
  if (payload[0] === SEGMENT_FORMAT_LEGACY) return decodeLegacySegment(payload, where);
  if (payload[0] !== SEGMENT_FORMAT_VERSION) {
    throw corrupted(`segment format ${payload[0]}, this code reads ${SEGMENT_FORMAT_VERSION}`);
  }
  if (payload.length < SEGMENT_HEAD_BYTES) throw corrupted('truncated segment head');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const count = view.getUint32(1);
  if (count * ENTRY_HEAD_BYTES > payload.length - SEGMENT_HEAD_BYTES) {
    throw corrupted(`${count} entries do not fit in ${payload.length} bytes`);
  }
  const entries: Entry[] = new Array(count);
  let at = SEGMENT_HEAD_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_HEAD_BYTES > payload.length) throw corrupted('truncated entry head');
    const index = readU64(view, at);
    const term = readU64(view, at + 8);
    const type = entryTypeOf(view.getUint8(at + 16));
    const length = view.getUint32(at + 17);
    const end = at + ENTRY_HEAD_BYTES + length;
    if (index === null || term === null || type === null || end > payload.length) {
      throw corrupted(`entry ${i} does not decode`);
    }
    const data = new Uint8Array(payload.buffer, payload.byteOffset + end - length, length);
    entries[i] = { term: term as Term, index: index as LogIndex, type, data };
    at = end;
  }
  if (at !== payload.length) throw corrupted(`${payload.length - at} bytes after the last entry`);
  return entries;
}

/** The core hands over only valid entries: anything else is a programmer error (STYLE §7). */
function writeU64(view: DataView, at: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RaftAssertionError(`entry ${what} ${value} is not a non-negative safe integer`);
  }
  view.setUint32(at, Math.floor(value / TWO_TO_32));
  view.setUint32(at + 4, value >>> 0);
}

/** A u64 that is a safe integer, or null. */
function readU64(view: DataView, at: number): number | null {
  const high = view.getUint32(at);
  return high > U64_HIGH_MAX ? null : high * TWO_TO_32 + view.getUint32(at + 4);
}

function entryTypeCode(type: EntryType): number {
  if (type === 'normal') return 0;
  if (type === 'confChange') return 1;
  throw new RaftAssertionError(`entry type ${String(type)} has no segment code`);
}

function entryTypeOf(code: number): EntryType | null {
  if (code === 0) return 'normal';
  if (code === 1) return 'confChange';
  return null;
}

const LEGACY_FRAME_HEADER_BYTES = 4;

/** A segment from before the version byte: each entry in the core's codec behind its length. */
function decodeLegacySegment(payload: Uint8Array, where: string): Entry[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const entries: Entry[] = [];
  let at = 0;
  while (at < payload.length) {
    if (at + LEGACY_FRAME_HEADER_BYTES > payload.length) {
      throw new StorageError('StorageCorrupted', `${where}: truncated frame header`, {
        key: where,
      });
    }
    const length = view.getUint32(at);
    const end = at + LEGACY_FRAME_HEADER_BYTES + length;
    if (end > payload.length) {
      throw new StorageError('StorageCorrupted', `${where}: frame past the end`, { key: where });
    }
    entries.push(decodeEntry(payload.subarray(at + LEGACY_FRAME_HEADER_BYTES, end)));
    at = end;
  }
  return entries;
}
