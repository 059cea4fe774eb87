import type { DurableLog, NodeId, Transport } from '@cairn/raft';
import type { TlsOptions } from '@cairn/transport-tcp';
import type { Id } from '@cairn/znode';
import {
  type Clock,
  type NodeRandom,
  systemClock,
  systemRandom,
  systemTimers,
  type Timers,
} from './env.js';
import { NodeError } from './errors.js';

export interface NodeOptions {
  /** This member's id, an integer in [1, 32767] (it is the high bits of its session ids). */
  readonly id: number;
  /** Names the cluster; storage and transport refuse a member of another. Default `cairn`. */
  readonly clusterId?: string;
  /** The data folder for the default storage (`level`). Needed unless `storage` is given. */
  readonly dataDir?: string;
  /** Bytes of recent log entries the default storage keeps in memory (older ones are read back in ranges). Default 64 MiB. */
  readonly logCacheBytes?: number;
  /** Any `DurableLog` (the memory twin for tests); overrides `dataDir`. */
  readonly storage?: DurableLog;
  /** `host:port` the default TCP transport listens on (for a cluster of more than one). */
  readonly listen?: string;
  /** Every founding member's `host:port` by id, this one included. */
  readonly peers?: Readonly<Record<number, string>>;
  /** Any `Transport` (the memory twin for tests); overrides `listen`/`peers` for messaging. */
  readonly transport?: Transport;
  /**
   * The founding voters when `peers` does not list them (a custom transport). Default: the
   * ids of `peers`, or just this node.
   */
  readonly members?: readonly number[];
  /** Start with no membership and wait to be added by `addMember` on the cluster. */
  readonly join?: boolean;
  /** Shared cluster secret and TLS for the default transport. */
  readonly secret?: string;
  readonly tls?: TlsOptions;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: NodeRandom;
  /** Milliseconds per Raft tick. Default 100. */
  readonly tickMs?: number;
  /** Election timeout in ticks (randomised in [n, 2n)). Default 10. */
  readonly electionTicks?: number;
  /** Session timeouts are clamped into [min, max] as ZooKeeper negotiates them. Defaults 4 s, 40 s. */
  readonly sessionTimeoutMinMs?: number;
  readonly sessionTimeoutMaxMs?: number;
  /** Take a snapshot (and compact the log) every this many applied entries. Default 100,000 (ZooKeeper's snapCount). */
  readonly snapshotEntries?: number;
  /** Entries kept below a snapshot for slow followers before they need the snapshot. Default 1,000. */
  readonly snapshotRetainedEntries?: number;
  /**
   * Znodes a snapshot writes per turn of the event loop; applies and I/O run between slices,
   * so a big tree never holds the loop for long. Default 2,000 (a few ms a slice).
   */
  readonly snapshotSliceZnodes?: number;
  /** Txns kept for resumable watches (`watch(path, { fromZxid })`). Default 10,000. */
  readonly watchHistoryTxns?: number;
  /** Write requests in flight on this node before calls wait. Default 10,000. */
  readonly proposalsInflightMax?: number;
  /** Largest znode data in bytes. Default 1 MiB (jute.maxbuffer). */
  readonly dataBytesMax?: number;
  /** Identities with every permission everywhere (ZooKeeper's superDigest). */
  readonly superIds?: readonly Id[];
  /** Where the node reports what it does not throw (storage failure, a watcher that threw). */
  readonly onEvent?: (event: NodeEvent) => void;
}

export type NodeEvent =
  | { readonly type: 'fatal'; readonly error: Error }
  | { readonly type: 'watcherThrew'; readonly error: unknown }
  /** A member came back with another data incarnation (it lost its data): its messages are dropped. */
  | { readonly type: 'memberRefused'; readonly nodeId: number; readonly reason: string }
  | {
      readonly type: 'roleChanged';
      readonly role: string;
      readonly leader: number | null;
      readonly term: number;
    };

export interface ResolvedOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly founders: readonly NodeId[];
  readonly join: boolean;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: NodeRandom;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly sessionTimeoutMinMs: number;
  readonly sessionTimeoutMaxMs: number;
  readonly snapshotEntries: number;
  readonly snapshotSliceZnodes: number;
  readonly watchHistoryTxns: number;
  readonly snapshotRetainedEntries: number;
  readonly proposalsInflightMax: number;
  readonly dataBytesMax: number;
  readonly superIds: readonly Id[];
  readonly onEvent: (event: NodeEvent) => void;
}

/** Validates once (STYLE §3); the runtime trusts the result. */
export function resolveOptions(options: NodeOptions): ResolvedOptions {
  const int = (
    name: string,
    value: number | undefined,
    fallback: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new NodeError(
        'ConfigInvalid',
        `${name} must be an integer in [${min}, ${max}], got ${v}`,
      );
    return v;
  };
  const id = int('id', options.id, 0, 1, 32_767) as NodeId;
  const founders = (
    options.members ?? (options.peers ? Object.keys(options.peers).map(Number) : [id])
  )
    .map((member) => int('members[]', member, 0, 1, 32_767) as NodeId)
    .sort((a, b) => a - b);
  if (!options.join && !founders.includes(id))
    throw new NodeError(
      'ConfigInvalid',
      `node ${id} is not among the founding members ${founders.join(', ')}; use join`,
    );
  const sessionTimeoutMinMs = int('sessionTimeoutMinMs', options.sessionTimeoutMinMs, 4_000, 1);
  const clusterId = options.clusterId ?? 'cairn';
  if (clusterId.length === 0) throw new NodeError('ConfigInvalid', 'clusterId must not be empty');
  return {
    id,
    clusterId,
    founders,
    join: options.join ?? false,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? systemRandom(),
    tickMs: int('tickMs', options.tickMs, 100, 1),
    electionTicks: int('electionTicks', options.electionTicks, 10, 2),
    sessionTimeoutMinMs,
    sessionTimeoutMaxMs: int(
      'sessionTimeoutMaxMs',
      options.sessionTimeoutMaxMs,
      40_000,
      sessionTimeoutMinMs,
    ),
    snapshotEntries: int('snapshotEntries', options.snapshotEntries, 100_000, 1),
    snapshotSliceZnodes: int('snapshotSliceZnodes', options.snapshotSliceZnodes, 2_000, 1),
    snapshotRetainedEntries: int(
      'snapshotRetainedEntries',
      options.snapshotRetainedEntries,
      1000,
      0,
    ),
    watchHistoryTxns: int('watchHistoryTxns', options.watchHistoryTxns, 10_000, 1),
    proposalsInflightMax: int('proposalsInflightMax', options.proposalsInflightMax, 10_000, 1),
    dataBytesMax: int('dataBytesMax', options.dataBytesMax, 1024 * 1024, 1),
    superIds: options.superIds ?? [],
    onEvent: options.onEvent ?? (() => {}),
  };
}
