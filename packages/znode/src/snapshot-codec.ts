import { Packr } from 'msgpackr';
import type { Acl } from './types.js';

/**
 * Snapshot format: a stream of msgpackr chunks, so a tree of millions of znodes never needs one
 * giant buffer. The first chunk is a header (format, last zxid, node count, digest, sessions);
 * each later chunk holds some nodes, parents before children and siblings sorted, plus the ACL
 * lists first used in it (ACLs are interned: most znodes share a few lists). How many nodes a
 * chunk holds is the writer's choice; the reader takes any split. Session ids and owners travel
 * as decimal strings (64-bit signed). The writers are in snapshot-writer.ts, the reader (which
 * validates every field) in snapshot.ts.
 */
export const FORMAT = 1;

export const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
});

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly code = 'MarshallingError';
}

export interface Header {
  format: number;
  lastZxid: number;
  /** Every node, `/` and `/zookeeper` included; checked after restore, with `digest`. */
  nodeCount: number;
  digest: number;
  sessions: Array<{
    id: string;
    timeoutMs: number;
    password: Uint8Array;
    authIds: Array<{ scheme: string; id: string }>;
  }>;
}

/** [path, data, aclIndex, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, owner] */
export type NodeRecord = [
  string,
  Uint8Array,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  string,
];

export interface Chunk {
  acls: Array<readonly Acl[]>;
  nodes: NodeRecord[];
}
