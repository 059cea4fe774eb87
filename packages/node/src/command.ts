import type { NodeId } from '@cairn/raft';
import {
  type Acl,
  CREATE_MODE_FLAGS,
  type CreateMode,
  type Id,
  type SessionId,
  sessionId,
  type Txn,
  type WriteOp,
} from '@cairn/znode';
import { Packr } from 'msgpackr';

/**
 * What a normal log entry carries. Byte 0 is the format, bytes 1-8 the leader's time stamp
 * (float64, big-endian, ms since the epoch; ARCHITECTURE: time is a fact of the log), then the
 * msgpackr body. The stamp sits at a fixed offset so the leader can restamp a forwarded
 * proposal without decoding it. Session ids travel as decimal strings (64-bit).
 *
 * - `txn`: a znode txn. `seq` numbers a session's requests (exactly-once: the state machine
 *   applies request n of a session only after n - 1, and answers a retry with the original
 *   result); null for txns no session asked for (expiry, reaping). `acked`: the proposer has
 *   the results of every request up to it, so the state machine may forget them.
 * - `member`: the address book (who is reachable where), replicated so every member can dial a
 *   new one; null removes.
 * - `incarnation`: which incarnation of its data folder a member runs on (recorded the first
 *   time the leader hears it; null forgets it, when the member is removed). A member that comes
 *   back with another one lost its data and is refused until removed and added again.
 * - `claim`: a session moves to another member (a ZooKeeper client reconnecting elsewhere). It
 *   checks the password and starts a new owner epoch: requests made under an older epoch are
 *   answered SessionMoved, so the old owner's stragglers cannot take the new owner's numbers.
 */
export type Command =
  | {
      readonly kind: 'txn';
      readonly txn: Txn;
      readonly seq: number | null;
      readonly acked: number;
      /** The session's owner epoch the request was made under (see `claim`). */
      readonly epoch: number;
    }
  | { readonly kind: 'member'; readonly nodeId: NodeId; readonly address: string | null }
  | {
      readonly kind: 'claim';
      readonly sessionId: SessionId;
      readonly password: Uint8Array;
      /** Names one attach: its retries carry the same nonce and move the session once. */
      readonly nonce: string;
    }
  | { readonly kind: 'incarnation'; readonly nodeId: NodeId; readonly incarnation: string | null };

export const COMMAND_FORMAT = 1;
export const STAMP_OFFSET = 1;
const HEADER_BYTES = 9;

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  bundleStrings: false,
});

/** A log entry's data that does not decode to a command: a bug or a damaged log. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly code = 'MarshallingError';
}

export function encodeCommand(command: Command, time: number): Uint8Array {
  const body = packr.pack(
    command.kind === 'txn'
      ? { k: 't', t: txnToWire(command.txn), q: command.seq, a: command.acked, e: command.epoch }
      : command.kind === 'member'
        ? { k: 'm', n: command.nodeId, d: command.address }
        : command.kind === 'claim'
          ? { k: 'c', s: command.sessionId.toString(), p: command.password, o: command.nonce }
          : { k: 'i', n: command.nodeId, v: command.incarnation },
  );
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out[0] = COMMAND_FORMAT;
  new DataView(out.buffer).setFloat64(STAMP_OFFSET, time);
  out.set(body, HEADER_BYTES);
  return out;
}

/** A copy of `data` carrying `time` as its stamp (the leader's, for a forwarded proposal). */
export function restamp(data: Uint8Array, time: number): Uint8Array {
  const out = new Uint8Array(data);
  if (out.length >= HEADER_BYTES && out[0] === COMMAND_FORMAT)
    new DataView(out.buffer).setFloat64(STAMP_OFFSET, time);
  return out;
}

export function stampOf(data: Uint8Array): number {
  if (data.length < HEADER_BYTES) throw new CommandError(`entry of ${data.length} bytes`);
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(STAMP_OFFSET);
}

export function decodeCommand(data: Uint8Array): { command: Command; time: number } {
  if (data.length < HEADER_BYTES || data[0] !== COMMAND_FORMAT)
    throw new CommandError(
      `entry format ${data[0]} (${data.length} bytes) is not ${COMMAND_FORMAT}`,
    );
  const time = stampOf(data);
  if (!Number.isFinite(time)) throw new CommandError(`entry stamp ${time}`);
  let body: unknown;
  try {
    body = packr.unpack(data.subarray(HEADER_BYTES));
  } catch (cause) {
    throw new CommandError('entry body is not msgpack', { cause });
  }
  const f = rec(body, 'command');
  if (f.k === 'm') {
    const address = f.d === null ? null : str(f.d, 'address');
    return { command: { kind: 'member', nodeId: int(f.n, 'nodeId') as NodeId, address }, time };
  }
  if (f.k === 'i') {
    const incarnation = f.v === null ? null : str(f.v, 'incarnation');
    return {
      command: { kind: 'incarnation', nodeId: int(f.n, 'nodeId') as NodeId, incarnation },
      time,
    };
  }
  if (f.k === 'c')
    return {
      command: {
        kind: 'claim',
        sessionId: sid(f.s),
        password: bytes(f.p, 'password'),
        nonce: str(f.o, 'nonce'),
      },
      time,
    };
  if (f.k !== 't') throw new CommandError(`command kind ${String(f.k)}`);
  const seq = f.q === null ? null : int(f.q, 'seq');
  const txn = txnFromWire(f.t);
  return {
    command: { kind: 'txn', txn, seq, acked: int(f.a, 'acked'), epoch: int(f.e, 'epoch') },
    time,
  };
}

// ---- txns on the wire ---------------------------------------------------------------------

type Wire = Record<string, unknown>;

function txnToWire(txn: Txn): Wire {
  return 'sessionId' in txn ? { ...txn, sessionId: txn.sessionId.toString() } : { ...txn };
}

function txnFromWire(value: unknown): Txn {
  const f = rec(value, 'txn');
  const type = f.type;
  if (type === 'reap') return { type, paths: list(f.paths, 'paths').map((p) => str(p, 'path')) };
  const session = sid(f.sessionId);
  switch (type) {
    case 'createSession':
      return {
        type,
        sessionId: session,
        timeoutMs: int(f.timeoutMs, 'timeoutMs'),
        password: bytes(f.password, 'password'),
      };
    case 'closeSession': {
      const reason = f.reason;
      if (reason !== 'close' && reason !== 'expire') throw new CommandError('closeSession.reason');
      return { type, sessionId: session, reason };
    }
    case 'addAuth':
      return { type, sessionId: session, id: idOf(f.id) };
    case 'setACL':
      return {
        type,
        sessionId: session,
        path: str(f.path, 'path'),
        acl: acls(f.acl),
        version: int(f.version, 'version'),
      };
    case 'multi':
      return { type, sessionId: session, ops: list(f.ops, 'ops').map(writeOp) };
    default:
      return { sessionId: session, ...writeOp(f) };
  }
}

function writeOp(value: unknown): WriteOp {
  const f = rec(value, 'op');
  const path = str(f.path, 'path');
  switch (f.type) {
    case 'create': {
      const mode = f.mode;
      if (typeof mode !== 'string' || !(mode in CREATE_MODE_FLAGS))
        throw new CommandError(`create.mode ${String(mode)}`);
      const op = {
        type: 'create' as const,
        path,
        data: bytes(f.data, 'data'),
        acl: acls(f.acl),
        mode: mode as CreateMode,
      };
      return f.ttlMs === undefined ? op : { ...op, ttlMs: int(f.ttlMs, 'ttlMs') };
    }
    case 'delete':
      return { type: 'delete', path, version: int(f.version, 'version') };
    case 'setData':
      return {
        type: 'setData',
        path,
        data: bytes(f.data, 'data'),
        version: int(f.version, 'version'),
      };
    case 'check':
      return { type: 'check', path, version: int(f.version, 'version') };
    default:
      throw new CommandError(`op type ${String(f.type)}`);
  }
}

function acls(value: unknown): Acl[] {
  return list(value, 'acl').map((item) => {
    const f = rec(item, 'acl[]');
    return { perms: int(f.perms, 'perms'), id: idOf(f.id) };
  });
}

function idOf(value: unknown): Id {
  const f = rec(value, 'id');
  return { scheme: str(f.scheme, 'scheme'), id: str(f.id, 'id') };
}

function sid(value: unknown): SessionId {
  const text = str(value, 'sessionId');
  if (!/^-?\d{1,20}$/.test(text)) throw new CommandError(`sessionId ${text}`);
  return sessionId(BigInt(text));
}

function rec(value: unknown, what: string): Wire {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  )
    throw new CommandError(`${what}: expected a map`);
  return value as Wire;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new CommandError(`${what}: expected a list`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new CommandError(`${what}: expected a string`);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new CommandError(`${what}: expected an integer`);
  return value;
}

function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CommandError(`${what}: expected bytes`);
  return value;
}
