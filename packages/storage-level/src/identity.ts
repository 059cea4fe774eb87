import { randomUUID } from 'node:crypto';
import {
  type ConfState,
  encodeHardState,
  encodeSnapshotMetadata,
  type HardState,
  type LogIndex,
  type NodeId,
  type SnapshotMetadata,
  type Term,
} from '@cairn/raft';
import { StorageError } from './errors.js';
import {
  describeKey,
  encodeLogStart,
  HARD_STATE_KEY,
  IDENTITY_KEY,
  LOG_START_KEY,
  SNAPSHOT_KEY,
  sealRecord,
} from './records.js';
import { type Db, decodeRecord, getRecord } from './segment-reads.js';
import { writeSnapshotFile } from './snapshot-files.js';

/** The on-disk layout this code writes; a folder with another number is refused. */
const FORMAT_VERSION = 1;
/** Same genesis as `MemoryStorage.bootstrap`: every founding member starts from it. */
const GENESIS_INDEX = 1 as LogIndex;
const GENESIS_TERM = 1 as Term;

/**
 * Who a folder belongs to. `incarnation` is drawn when the folder is initialised: a node whose
 * data was lost comes back with a new one, so the cluster can tell it from the voter it was
 * (RELIABILITY F10) instead of letting it vote again in a term it forgot.
 */
export interface StorageIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly incarnation: string;
}

/** The options the identity is checked against (LevelLogOptions has them all). */
export interface IdentityOptions {
  readonly dir: string;
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly bootstrap?: ConfState;
}

interface PutOp {
  readonly type: 'put';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

function put(key: Uint8Array, payload: Uint8Array): PutOp {
  return { type: 'put', key, value: sealRecord(key, payload) };
}

interface IdentityRecord {
  readonly format: number;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly incarnation: string;
}

function parseIdentity(payload: Uint8Array): IdentityRecord {
  const value: unknown = JSON.parse(new TextDecoder().decode(payload));
  if (typeof value !== 'object' || value === null) throw new Error('identity: not an object');
  const fields = value as Record<string, unknown>;
  const { format, clusterId, nodeId, incarnation } = fields;
  if (
    typeof format !== 'number' ||
    typeof clusterId !== 'string' ||
    typeof nodeId !== 'number' ||
    typeof incarnation !== 'string'
  ) {
    throw new Error('identity: missing fields');
  }
  return { format, clusterId, nodeId, incarnation };
}

/**
 * The folder's identity, checked against the options; an empty folder is initialised here (with
 * the genesis snapshot when `bootstrap` is given). A folder with records but no identity is
 * refused: it was not written by this code, or lost its identity record.
 */
export async function loadIdentity(db: Db, options: IdentityOptions): Promise<StorageIdentity> {
  const payload = await getRecord(db, IDENTITY_KEY);
  if (payload === undefined) {
    for await (const key of db.keys({ limit: 1 })) {
      throw new StorageError(
        'StorageCorrupted',
        `${options.dir}: holds records (${describeKey(key)}) but no identity record`,
        { key: 'identity' },
      );
    }
    return initialise(db, options);
  }
  const stored = decodeRecord(IDENTITY_KEY, payload, parseIdentity);
  if (stored.format !== FORMAT_VERSION) {
    throw new StorageError(
      'StorageMismatch',
      `${options.dir}: on-disk format ${stored.format}, this code reads format ${FORMAT_VERSION}`,
    );
  }
  if (stored.clusterId !== options.clusterId || stored.nodeId !== options.nodeId) {
    throw new StorageError(
      'StorageMismatch',
      `${options.dir} belongs to cluster ${JSON.stringify(stored.clusterId)} node ${stored.nodeId}, ` +
        `not cluster ${JSON.stringify(options.clusterId)} node ${options.nodeId}`,
    );
  }
  return { clusterId: stored.clusterId, nodeId: options.nodeId, incarnation: stored.incarnation };
}

async function initialise(db: Db, options: IdentityOptions): Promise<StorageIdentity> {
  const identity: StorageIdentity = {
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    incarnation: randomUUID(),
  };
  const record: IdentityRecord = { format: FORMAT_VERSION, ...identity };
  const ops: PutOp[] = [put(IDENTITY_KEY, new TextEncoder().encode(JSON.stringify(record)))];
  if (options.bootstrap !== undefined) {
    const metadata: SnapshotMetadata = {
      index: GENESIS_INDEX,
      term: GENESIS_TERM,
      confState: options.bootstrap,
    };
    await writeSnapshotFile(options.dir, GENESIS_INDEX, GENESIS_TERM, new Uint8Array(0));
    ops.push(put(SNAPSHOT_KEY, encodeSnapshotMetadata(metadata)));
    ops.push(put(LOG_START_KEY, encodeLogStart(GENESIS_INDEX, GENESIS_TERM)));
    const hardState: HardState = { term: GENESIS_TERM, vote: null, commit: GENESIS_INDEX };
    ops.push(put(HARD_STATE_KEY, encodeHardState(hardState)));
  }
  // Identity and genesis in one synced batch: a crash leaves an empty folder or a whole one.
  await db.batch(ops, { sync: true });
  return identity;
}
