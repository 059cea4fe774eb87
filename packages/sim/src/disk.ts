import {
  type ConfState,
  type DurableLog,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  type Entry,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMetadata,
  type InitialState,
  type LogIndex,
  MemoryStorage,
  type Snapshot,
  type StorageFeatures,
  type StorageWrite,
  type Term,
} from '@cairn/raft';
import type { CrashTap } from './crash-points.js';
import { crc32 } from './crc32.js';
import type { Rng } from './rng.js';

/** Schedules the completion of a write in virtual time (the node's own, pausable timers). */
export interface DiskTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
}

export type SimStorageErrorCode = 'StorageCorrupted' | 'StorageMismatch' | 'StorageFailed';

/** A typed storage failure (DurableLog contract: the runtime stops rather than limp). */
export class SimStorageError extends Error {
  override readonly name = 'SimStorageError';
  constructor(
    readonly code: SimStorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Who a disk belongs to: written first, checked on every open (a swapped disk is refused). */
export interface DiskIdentity {
  readonly clusterId: string;
  readonly nodeId: number;
}

export interface SimDiskOptions {
  readonly identity: DiskIdentity;
  /** Decides crash outcomes (how much unsynced data survives) and latencies. */
  readonly rng: Rng;
  /** Virtual milliseconds a write takes, drawn in [min, max]. Default [0, 0]. */
  readonly writeLatencyMs?: readonly [number, number];
  /** Planted bugs (see `Plant`): acknowledge syncs without durability, forget the vote. */
  readonly plant?: { readonly ackUnsynced?: boolean; readonly forgetVote?: boolean };
}

export type Corruption = 'flip' | 'zero' | 'truncate';

/** One durable record: its bytes and the checksum written beside them. */
interface DiskRecord {
  bytes: Uint8Array;
  readonly crc: number;
}

interface InFlightWrite {
  /** The bytes a crash may find on disk if the write was in flight. */
  readonly records: readonly Uint8Array[];
  readonly sync: boolean;
  fail: (error: Error) => void;
}

const TAG_IDENTITY = 1;
const TAG_HARD_STATE = 2;
const TAG_SNAPSHOT = 3;
const TAG_ENTRY = 4;
const TAG_COMPACT = 5;
const TAG_TRUNCATE = 6;

/**
 * A simulated disk behind the `DurableLog` port (RELIABILITY F8-F10). Every write becomes a
 * checksummed byte record; `sync: true` makes it and everything before it durable. The read
 * view is a `MemoryStorage` rebuilt from the records on every open.
 *
 * - `crash()`: writes in flight and unsynced records may be lost (a random prefix of the
 *   unsynced ones survives, possibly with a torn last record; an in-flight write may have
 *   reached the platter without its acknowledgement).
 * - `corrupt(kind)`: damages a durable record (bit flip, zeroed byte, truncation); the next open
 *   detects it by checksum and the disk then answers every call with `StorageCorrupted`: it
 *   never mistakes a damaged record for the end of the log.
 * - `open(identity)`: another node's disk is refused with `StorageMismatch`. An empty disk
 *   cannot be told from a new node's: that needs the cluster (see docs/sim.md, amnesia).
 * - A compaction is two records, as on a real disk (snapshot file, then log truncation): the
 *   snapshot record, then a truncation record. One whose snapshot is not newer than the one the
 *   disk holds when it completes (a later write finished first) writes neither.
 * - `crashTap` (crash points, `crash-points.ts`): asked as a write completes (after persisting,
 *   after persisting a new vote), while a snapshot record is written (torn), between a
 *   compaction's snapshot and its truncation, and while the truncation record is written (torn).
 */
export class SimDisk implements DurableLog {
  readonly features: StorageFeatures = {
    durable: true,
    snapshotsStreamed: false,
    boundedCache: false,
  };
  private readonly records: DiskRecord[] = [];
  /** Invariant: records[0, synced) are durable; the rest vanish (or tear) in a crash. */
  private synced = 0;
  private view = new MemoryStorage();
  private failure: SimStorageError | null = null;
  private inFlight: InFlightWrite[] = [];
  private incarnation = 0;
  private timers: DiskTimers | null = null;
  /** A record being written when the crash comes: a torn prefix of it is left on the disk. */
  private tearing: Uint8Array | null = null;
  /** Crash points: set by the cluster for the member using this disk. */
  crashTap: CrashTap | null = null;
  /** Told of every hard state a `sync` write made durable (the Raft checker's vote rule). */
  onHardStatePersisted: ((hardState: NonNullable<StorageWrite['hardState']>) => void) | null = null;
  private readonly rng: Rng;
  private readonly latency: readonly [number, number];
  private readonly plant: NonNullable<SimDiskOptions['plant']>;
  readonly identity: DiskIdentity;
  /** Counters for coverage reports. */
  readonly stats = { writes: 0, syncs: 0, lostRecords: 0, tornRecords: 0 };

  private constructor(options: SimDiskOptions) {
    this.identity = options.identity;
    this.rng = options.rng;
    this.latency = options.writeLatencyMs ?? [0, 0];
    this.plant = options.plant ?? {};
    this.append(encodeIdentity(options.identity), true);
  }

  /** A founding member's disk: the genesis snapshot holding the initial membership. */
  static bootstrap(confState: ConfState, options: SimDiskOptions): SimDisk {
    const disk = new SimDisk(options);
    const genesis = MemoryStorage.bootstrap(confState);
    disk.append(
      encodeWrite({
        snapshot: genesis.snapshot(),
        hardState: genesis.initialState().hardState,
        entries: [],
      }),
      true,
    );
    return disk;
  }

  /** An empty disk (a node that joins later, or one that lost its data). */
  static empty(options: SimDiskOptions): SimDisk {
    return new SimDisk(options);
  }

  /**
   * Opens the disk for a new incarnation of node `expected`, using `timers` for write latency:
   * replays and verifies every record. A failure is kept and thrown by every call after.
   */
  open(expected: DiskIdentity, timers: DiskTimers): void {
    this.incarnation++;
    this.timers = timers;
    this.inFlight = [];
    this.failure = null;
    this.view = new MemoryStorage();
    try {
      this.replay(expected);
    } catch (error) {
      this.failure =
        error instanceof SimStorageError
          ? error
          : new SimStorageError('StorageCorrupted', 'a record did not decode', { cause: error });
    }
  }

  /** The failure found by the last `open`, if any. */
  get openFailure(): SimStorageError | null {
    return this.failure;
  }

  /** The process died: in-flight writes and unsynced records are lost, partly or wholly. */
  crash(): void {
    this.incarnation++;
    const inFlight = this.inFlight;
    this.inFlight = [];
    const died = new SimStorageError('StorageFailed', 'the process crashed during the write');
    for (const write of inFlight) write.fail(died);
    const tearing = this.tearing;
    this.tearing = null;
    // An in-flight write may have reached the disk although nobody heard back.
    const reached = inFlight.length > 0 && tearing === null && this.rng.chance(0.3);
    if (reached) {
      for (const write of inFlight)
        for (const record of write.records) this.append(record, write.sync);
      return;
    }
    if (tearing !== null) {
      // Crashed while writing `tearing`: what came before it may be lost too, and part of it
      // is left last on the disk, unsynced, with a checksum that cannot match.
      this.loseUnsynced();
      this.records.push({
        bytes: tearing.slice(0, this.rng.int(tearing.length)),
        crc: crc32(tearing),
      });
      this.stats.tornRecords++;
      return;
    }
    this.loseUnsynced(true);
  }

  /** Drops a random suffix of the unsynced records, maybe leaving the first lost one torn. */
  private loseUnsynced(mayTear = false): void {
    const unsynced = this.records.length - this.synced;
    if (unsynced === 0) return;
    const kept = this.rng.int(unsynced + 1);
    const lost = this.records.splice(this.synced + kept);
    this.stats.lostRecords += lost.length;
    const torn = lost[0];
    if (mayTear && torn !== undefined && torn.bytes.length > 1 && this.rng.chance(0.5)) {
      // A torn tail: part of the next record made it, with a checksum that cannot match.
      this.records.push({
        bytes: torn.bytes.slice(0, this.rng.int(torn.bytes.length)),
        crc: torn.crc,
      });
      this.stats.tornRecords++;
    }
  }

  /** Damages one durable record (not the identity record); false if there is none to damage. */
  corrupt(kind: Corruption): boolean {
    if (this.synced <= 1) return false;
    const at = 1 + this.rng.int(this.synced - 1);
    const record = this.records[at] as DiskRecord;
    if (record.bytes.length === 0) return false;
    const bytes = record.bytes.slice();
    const offset = this.rng.int(bytes.length);
    if (kind === 'flip') bytes[offset] = (bytes[offset] as number) ^ (1 << this.rng.int(8));
    else if (kind === 'zero') bytes[offset] = (bytes[offset] as number) === 0 ? 1 : 0;
    record.bytes = kind === 'truncate' ? bytes.slice(0, offset) : bytes;
    return true;
  }

  // ---- DurableLog -----------------------------------------------------------------------

  initialState(): InitialState {
    this.assertUsable();
    return this.view.initialState();
  }

  entries(lo: LogIndex, hi: LogIndex, bytesMax: number): Entry[] | null {
    this.assertUsable();
    return this.view.entries(lo, hi, bytesMax);
  }

  term(index: LogIndex): Term | null {
    this.assertUsable();
    return this.view.term(index);
  }

  firstIndex(): LogIndex {
    this.assertUsable();
    return this.view.firstIndex();
  }

  lastIndex(): LogIndex {
    this.assertUsable();
    return this.view.lastIndex();
  }

  snapshot(): Snapshot {
    this.assertUsable();
    return this.view.snapshot();
  }

  write(update: StorageWrite & { readonly sync: boolean }): Promise<void> {
    const record = encodeWrite(update);
    // Planted (ackUnsynced): the write is acknowledged below but stays volatile.
    const sync = update.sync && this.plant.ackUnsynced !== true;
    return this.complete({ records: [record], sync: update.sync, fail: () => {} }, () => {
      if (update.snapshot !== undefined && this.crashAt('midSnapshotWrite', record)) return true;
      const newVote = this.isNewVote(update.hardState);
      this.append(record, sync);
      this.view.write(update);
      if (update.sync && update.hardState !== undefined)
        this.onHardStatePersisted?.(update.hardState);
      if (newVote && this.crashAt('afterPersistVote')) return true;
      return this.crashAt('afterPersist');
    });
  }

  compact(snapshot: Snapshot, compactTo: LogIndex): Promise<void> {
    // Two records: the snapshot (no truncation yet), then the truncation.
    const index = snapshot.metadata.index;
    const saved = encodeCompact(snapshot, 0 as LogIndex);
    const truncate = encodeTruncate(compactTo, index);
    const sync = this.plant.ackUnsynced !== true;
    return this.complete({ records: [saved, truncate], sync: true, fail: () => {} }, () => {
      // A later write may have finished first and installed a newer snapshot: this compaction
      // then changes nothing and writes nothing (the DurableLog promise).
      if (index <= this.view.snapshot().metadata.index) return false;
      if (this.crashAt('midSnapshotWrite', saved)) return true;
      this.append(saved, sync);
      this.view.compact(snapshot, 0 as LogIndex);
      if (this.crashAt('afterSnapshotBeforeTruncate')) return true;
      if (this.crashAt('midCompaction', truncate)) return true;
      this.append(truncate, sync);
      this.view.discardEntriesTo(compactTo);
      return false;
    });
  }

  onAvailable(_listener: () => void): void {}

  async close(): Promise<void> {}

  // ---- private ----------------------------------------------------------------------------

  private assertUsable(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Asks the crash tap; `tearing` is the record being written (left torn if the node dies). */
  private crashAt(point: Parameters<CrashTap>[0], tearing?: Uint8Array): boolean {
    if (this.crashTap === null) return false;
    return this.crashTap(
      point,
      tearing === undefined
        ? undefined
        : () => {
            this.tearing = tearing;
          },
    );
  }

  /** Whether persisting `hardState` records a vote the disk did not hold. */
  private isNewVote(hardState: StorageWrite['hardState']): boolean {
    if (hardState === undefined || hardState.vote === null) return false;
    const before = this.view.initialState().hardState;
    return hardState.term !== before.term || hardState.vote !== before.vote;
  }

  /**
   * Writes complete after their latency, through the node's timers (so a pause stalls them).
   * The runtime awaits each write before the next, but not a compaction: a write issued after
   * it may finish first. `finish` appends the records and updates the view; it returns true when a crash
   * point killed the node on the way (the write then fails, as the process is gone).
   */
  private complete(write: InFlightWrite, finish: () => boolean): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const incarnation = this.incarnation;
    this.inFlight.push(write);
    this.stats.writes++;
    const [min, max] = this.latency;
    const delay = max > 0 ? this.rng.between(min, max) : 0;
    return new Promise<void>((resolve, reject) => {
      write.fail = reject;
      const done = (): void => {
        if (incarnation !== this.incarnation) return;
        this.inFlight.splice(this.inFlight.indexOf(write), 1);
        let crashed: boolean;
        try {
          crashed = finish();
        } catch (error) {
          reject(error);
          return;
        }
        if (crashed) reject(new SimStorageError('StorageFailed', 'the process crashed'));
        else resolve();
      };
      if (this.timers === null) done();
      else this.timers.setTimeout(done, delay);
    });
  }

  private append(bytes: Uint8Array, sync: boolean): void {
    this.records.push({ bytes, crc: crc32(bytes) });
    if (sync) {
      this.synced = this.records.length;
      this.stats.syncs++;
    }
  }

  private replay(expected: DiskIdentity): void {
    const view = this.view;
    for (let at = 0; at < this.records.length; at++) {
      const record = this.records[at] as DiskRecord;
      if (crc32(record.bytes) !== record.crc) {
        if (at >= this.synced) {
          // A torn record after the last sync: the write never completed, drop the tail.
          this.records.splice(at);
          return;
        }
        throw new SimStorageError(
          'StorageCorrupted',
          `record ${at} of ${this.records.length} fails its checksum (synced up to ${this.synced})`,
        );
      }
      if (at === 0) {
        const identity = decodeIdentity(record.bytes);
        if (identity.clusterId !== expected.clusterId || identity.nodeId !== expected.nodeId)
          throw new SimStorageError(
            'StorageMismatch',
            `disk of node ${identity.nodeId} in ${identity.clusterId}, opened as node ${expected.nodeId} in ${expected.clusterId}`,
          );
        continue;
      }
      applyRecord(view, record.bytes, this.plant.forgetVote === true);
    }
  }
}

// ---- record encoding: [tag u8][length u32][payload] parts -------------------------------------

function frame(parts: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  let size = 0;
  for (const [, payload] of parts) size += 5 + payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [tag, payload] of parts) {
    out[at] = tag;
    view.setUint32(at + 1, payload.length);
    out.set(payload, at + 5);
    at += 5 + payload.length;
  }
  return out;
}

function* unframe(bytes: Uint8Array): Generator<readonly [number, Uint8Array]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) throw new Error('record part header cut short');
    const tag = bytes[at] as number;
    const length = view.getUint32(at + 1);
    if (at + 5 + length > bytes.length) throw new Error('record part cut short');
    yield [tag, bytes.subarray(at + 5, at + 5 + length)];
    at += 5 + length;
  }
}

const text = new TextEncoder();
const untext = new TextDecoder();

function encodeIdentity(identity: DiskIdentity): Uint8Array {
  return frame([[TAG_IDENTITY, text.encode(`${identity.nodeId}@${identity.clusterId}`)]]);
}

function decodeIdentity(bytes: Uint8Array): DiskIdentity {
  for (const [tag, payload] of unframe(bytes)) {
    if (tag !== TAG_IDENTITY) break;
    const value = untext.decode(payload);
    const at = value.indexOf('@');
    return { nodeId: Number(value.slice(0, at)), clusterId: value.slice(at + 1) };
  }
  throw new SimStorageError('StorageCorrupted', 'no identity record');
}

function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return frame([
    [TAG_SNAPSHOT, encodeSnapshotMetadata(snapshot.metadata)],
    [TAG_SNAPSHOT, snapshot.data],
  ]);
}

function encodeWrite(update: StorageWrite): Uint8Array {
  const parts: [number, Uint8Array][] = [];
  if (update.snapshot !== undefined) parts.push([TAG_SNAPSHOT, encodeSnapshot(update.snapshot)]);
  for (const entry of update.entries) parts.push([TAG_ENTRY, encodeEntry(entry)]);
  if (update.hardState !== undefined)
    parts.push([TAG_HARD_STATE, encodeHardState(update.hardState)]);
  return frame(parts);
}

function encodeCompact(snapshot: Snapshot, compactTo: LogIndex): Uint8Array {
  const to = new Uint8Array(8);
  new DataView(to.buffer).setFloat64(0, compactTo);
  return frame([
    [TAG_COMPACT, encodeSnapshot(snapshot)],
    [TAG_COMPACT, to],
  ]);
}

/** The truncation half of a compaction, naming the snapshot it belongs to. */
function encodeTruncate(compactTo: LogIndex, snapshotIndex: LogIndex): Uint8Array {
  const to = new Uint8Array(16);
  const view = new DataView(to.buffer);
  view.setFloat64(0, compactTo);
  view.setFloat64(8, snapshotIndex);
  return frame([[TAG_TRUNCATE, to]]);
}

function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const [meta, data] = [...unframe(bytes)];
  if (meta === undefined || data === undefined) throw new Error('snapshot record incomplete');
  return { metadata: decodeSnapshotMetadata(meta[1]), data: data[1].slice() };
}

/** `forgetVote` is a planted bug: the replayed hard state loses its vote. */
function applyRecord(view: MemoryStorage, bytes: Uint8Array, forgetVote: boolean): void {
  const parts = [...unframe(bytes)];
  if (parts[0]?.[0] === TAG_COMPACT) {
    const [snapshot, to] = parts;
    if (snapshot === undefined || to === undefined) throw new Error('compaction record incomplete');
    const compactTo = new DataView(to[1].buffer, to[1].byteOffset, 8).getFloat64(0) as LogIndex;
    view.compact(decodeSnapshot(snapshot[1]), compactTo);
    return;
  }
  if (parts[0]?.[0] === TAG_TRUNCATE) {
    const to = new DataView(parts[0][1].buffer, parts[0][1].byteOffset, 16);
    // Only after its own snapshot record took effect: a crash may append an in-flight
    // compaction's records after a newer snapshot, and then both change nothing.
    if (view.snapshot().metadata.index === to.getFloat64(8))
      view.discardEntriesTo(to.getFloat64(0) as LogIndex);
    return;
  }
  let snapshot: Snapshot | undefined;
  const entries: Entry[] = [];
  let hardState: ReturnType<typeof decodeHardState> | undefined;
  for (const [tag, payload] of parts) {
    if (tag === TAG_SNAPSHOT) snapshot = decodeSnapshot(payload);
    else if (tag === TAG_ENTRY) entries.push(decodeEntry(payload));
    else if (tag === TAG_HARD_STATE) {
      hardState = decodeHardState(payload);
      if (forgetVote) hardState = { ...hardState, vote: null };
    } else throw new Error(`unknown record part ${tag}`);
  }
  view.write({ snapshot, entries, hardState });
}
