/**
 * The records of `zookeeper.jute` that the server reads and writes: Stat, ACL and Id, the
 * handshake, the request and reply headers, WatcherEvent, and the multi encoding. Wire order
 * and field types follow ZOOKEEPER.md §1.2, §1.4 and §5.1.
 */
import type { Acl, Stat } from '@cairn/node';
import { type JuteReader, type JuteWriter, MalformedRecordError } from './jute.js';

/** `ZooDefs.OpCode` (3.8): every opcode a client may send. */
export const OP_CODES = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** Special xids (ZOOKEEPER.md §5.1). */
export const XIDS = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/** ZooKeeper's `Watcher.Event.KeeperState` values the server sends. */
export const KEEPER_STATES = { SyncConnected: 3, Expired: -112 } as const;

/** ConnectRequest without its optional readOnly byte: 4 + 8 + 4 + 8 + (4 + 16). */
export const CONNECT_REQUEST_BYTES_MIN = 44;
export const PASSWORD_BYTES = 16;

export interface ConnectRequest {
  readonly protocolVersion: number;
  readonly lastZxidSeen: number;
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  /** Whether the client sent the readOnly byte (3.4+ clients do; node-zookeeper-client does not). */
  readonly readOnlyByteSent: boolean;
  readonly readOnly: boolean;
}

export function readConnectRequest(reader: JuteReader): ConnectRequest {
  const protocolVersion = reader.int();
  const lastZxidSeen = reader.zxid();
  const timeoutMs = reader.int();
  const sessionId = reader.long();
  const password = reader.buffer() ?? new Uint8Array(0);
  const readOnlyByteSent = reader.remaining > 0;
  const readOnly = readOnlyByteSent ? reader.boolean() : false;
  return {
    protocolVersion,
    lastZxidSeen,
    timeoutMs,
    sessionId,
    password,
    readOnlyByteSent,
    readOnly,
  };
}

export function writeStat(w: JuteWriter, stat: Stat): void {
  w.long(stat.czxid)
    .long(stat.mzxid)
    .long(stat.ctime)
    .long(stat.mtime)
    .int(stat.version)
    .int(stat.cversion)
    .int(stat.aversion)
    .long(stat.ephemeralOwner)
    .int(stat.dataLength)
    .int(stat.numChildren)
    .long(stat.pzxid);
}

/** ACL{int perms, Id{ustring scheme, ustring id}}: at least 12 bytes. */
export const ACL_BYTES_MIN = 12;

export function readAcl(r: JuteReader): Acl {
  const perms = r.int();
  const scheme = r.text();
  const id = r.text();
  return { perms, id: { scheme, id } };
}

export function writeAcl(w: JuteWriter, acl: Acl): void {
  w.int(acl.perms).string(acl.id.scheme).string(acl.id.id);
}

/** One string of a vector<ustring>: at least its 4-byte length. */
export const STRING_BYTES_MIN = 4;

export function readStrings(r: JuteReader): string[] {
  return r.vector((e) => e.text(), STRING_BYTES_MIN);
}

export function writeStrings(w: JuteWriter, values: readonly string[]): void {
  w.vector(values, (e, v) => e.string(v));
}

/** `MultiHeader{int type, boolean done, int err}` as it precedes each op of a multi. */
export interface MultiHeader {
  readonly type: number;
  readonly done: boolean;
  readonly err: number;
}

export function readMultiHeader(r: JuteReader): MultiHeader {
  return { type: r.int(), done: r.boolean(), err: r.int() };
}

export function writeMultiHeader(w: JuteWriter, header: MultiHeader): void {
  w.int(header.type).boolean(header.done).int(header.err);
}

/** Ops a multi holds at most: each needs at least a 9-byte header, the frame bounds the rest. */
export function assertMultiOpType(type: number, allowed: readonly number[]): void {
  if (!allowed.includes(type))
    throw new MalformedRecordError(`op type ${type} is not allowed here`);
}
