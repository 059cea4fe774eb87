// The line protocol between a parent and test/support/node-process.ts: one JSON object a line.
import type { NodeStatus } from '@cairn/node';

export interface NodeProcessConfig {
  readonly id: number;
  readonly dataDir: string;
  /** Every member's `127.0.0.1:port` by id, this one included. */
  readonly peers: Readonly<Record<number, string>>;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries?: number;
  readonly snapshotRetainedEntries?: number;
  /** Starts as a new member that an existing member then adds (`createNode({ join })`). */
  readonly join?: boolean;
  /** Also serve ZooKeeper's wire protocol on 127.0.0.1 at this port (0 picks one). */
  readonly clientPort?: number;
}

/** Closed-loop writes of `valueBytes`-byte values by `writers` writers sharing `sessions` sessions. */
export interface BenchRequest {
  readonly kind: 'create' | 'setData';
  readonly writers: number;
  readonly sessions: number;
  readonly valueBytes: number;
  /** An existing znode under which the writers work. */
  readonly prefix: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** A bound on the measured calls, whatever the duration. */
  readonly opsMax: number;
}

export interface BenchResult {
  readonly ops: number;
  readonly seconds: number;
  readonly latenciesMs: readonly number[];
}

type WithoutId =
  | { op: 'session'; timeoutMs: number }
  | { op: 'create'; session: number; path: string; data: string }
  | { op: 'setData'; session: number; path: string; data: string }
  | { op: 'getData'; session: number; path: string; linearizable: boolean }
  | { op: 'getMany'; session: number; paths: readonly string[]; linearizable: boolean }
  | { op: 'getChildren'; session: number; path: string; linearizable: boolean }
  | { op: 'read'; session: number; path: string; linearizable: boolean }
  | { op: 'write'; session: number; path: string; data: string; version: number }
  | { op: 'closeSession'; session: number }
  | { op: 'status' }
  | { op: 'addMember'; member: number; address: string; learner: boolean }
  | { op: 'removeMember'; member: number }
  | { op: 'bench'; bench: BenchRequest }
  | { op: 'localReads'; paths: readonly string[]; count: number }
  | { op: 'close' };

export type Command = WithoutId & { id: number };
export type CommandBody = WithoutId;

export interface ProcessStatus extends NodeStatus {
  /** Ticks of this node since its process started. */
  readonly ticks: number;
  /** Every role change this process saw, with the tick it saw it at. */
  readonly roleLog: readonly {
    role: string;
    leader: number | null;
    term: number;
    tick: number;
  }[];
  readonly snapshots: number;
  readonly snapshotsInstalled: number;
  readonly leaderChanges: number;
  /** Synced storage writes so far, and committed entries applied so far. */
  readonly syncs: number;
  readonly appliedEntries: number;
  /** `node.metrics.toObject()`. */
  readonly metrics: Record<
    string,
    number | { count: number; sum: number; p50: number; p99: number }
  >;
}

/** A `read` answer: the data and the version it has (a `write` answers the new version). */
export interface Versioned {
  readonly data: string;
  readonly version: number;
}

/** A `getMany` answer per path: the data, or the error code. */
export type ReadOutcome = string | { error: string };
