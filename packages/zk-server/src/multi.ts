/**
 * multi (14) and multiRead (22): the request is a run of `MultiHeader` + op record ended by a
 * header with `done`; the response the same with one result per op (ZOOKEEPER.md §1.4). A failed
 * multi is answered with ReplyHeader.err 0 and an ErrorResult per op (Ok before the failing op,
 * its code, RuntimeInconsistency after), as ZooKeeper's FinalRequestProcessor does: clients find
 * the failing op in the results (node-zookeeper-client and the Java client both read them).
 */
import {
  BadArgumentsError,
  type CreateMode,
  isCairnError,
  type MultiReadOp,
  type Session,
  type WriteOp,
  type ZkErrorCode,
} from '@cairn/node';
import { type JuteReader, type JuteWriter, MalformedRecordError } from './jute.js';
import type { Reply } from './operations.js';
import {
  ACL_BYTES_MIN,
  OP_CODES,
  readAcl,
  readMultiHeader,
  writeMultiHeader,
  writeStat,
  writeStrings,
} from './records.js';
import { toWireError, wireCode } from './wire-errors.js';

/** Ops in one multi, at most (each needs a 9-byte header; the frame size bounds them anyway). */
export const MULTI_OPS_MAX = 10_000;

/** One decoded op: what to run, and the opcode it came as (it picks the result record). */
export type MultiOp =
  | { readonly type: number; readonly op: WriteOp | null; readonly error?: undefined }
  | { readonly type: number; readonly op: null; readonly error: BadArgumentsError };

export interface DecodedMultiRead {
  readonly type: number;
  readonly op: MultiReadOp;
}

const WRITE_TYPES: readonly number[] = [
  OP_CODES.create,
  OP_CODES.create2,
  OP_CODES.createContainer,
  OP_CODES.createTTL,
  OP_CODES.delete,
  OP_CODES.setData,
  OP_CODES.check,
];
const READ_TYPES: readonly number[] = [OP_CODES.getData, OP_CODES.getChildren];

export function readMulti(r: JuteReader, kind: 'write'): { type: number; op: WriteOp }[];
export function readMulti(r: JuteReader, kind: 'read'): DecodedMultiRead[];
export function readMulti(
  r: JuteReader,
  kind: 'write' | 'read',
): { type: number; op: WriteOp }[] | DecodedMultiRead[] {
  const ops: { type: number; op: WriteOp | MultiReadOp }[] = [];
  for (;;) {
    const header = readMultiHeader(r);
    if (header.done) break;
    if (ops.length >= MULTI_OPS_MAX) throw new MalformedRecordError('too many ops in a multi');
    const allowed = kind === 'write' ? WRITE_TYPES : READ_TYPES;
    if (!allowed.includes(header.type))
      throw new MalformedRecordError(`op type ${header.type} is not allowed in this multi`);
    ops.push({ type: header.type, op: readOp(header.type, r) });
  }
  return ops as { type: number; op: WriteOp }[] | DecodedMultiRead[];
}

function readOp(type: number, r: JuteReader): WriteOp | MultiReadOp {
  switch (type) {
    case OP_CODES.create:
    case OP_CODES.create2:
    case OP_CODES.createContainer:
    case OP_CODES.createTTL: {
      const path = r.text();
      const data = r.buffer() ?? new Uint8Array(0);
      const acl = r.vector(readAcl, ACL_BYTES_MIN);
      const flags = r.int();
      const ttl = type === OP_CODES.createTTL ? Number(r.long()) : null;
      // An unfitting mode fails the multi at run time (BadArguments), not the connection.
      const mode = (FLAG_MODES[flags] ?? `invalid-${flags}`) as CreateMode;
      return {
        type: 'create',
        path,
        data,
        acl,
        mode,
        ...(ttl === null ? {} : { ttlMs: ttl }),
      };
    }
    case OP_CODES.delete:
      return { type: 'delete', path: r.text(), version: r.int() };
    case OP_CODES.setData:
      return {
        type: 'setData',
        path: r.text(),
        data: r.buffer() ?? new Uint8Array(0),
        version: r.int(),
      };
    case OP_CODES.check:
      return { type: 'check', path: r.text(), version: r.int() };
    case OP_CODES.getData: {
      const path = r.text();
      r.boolean(); // watch: multiRead sets none
      return { type: 'getData', path };
    }
    default: {
      const path = r.text();
      r.boolean();
      return { type: 'getChildren', path };
    }
  }
}

const FLAG_MODES: readonly CreateMode[] = [
  'persistent',
  'ephemeral',
  'persistent-sequential',
  'ephemeral-sequential',
  'container',
  'persistent-with-ttl',
  'persistent-sequential-with-ttl',
];

const END = { type: -1, done: true, err: -1 };

/** Runs a multi and encodes its MultiResponse. */
export async function multiReply(
  session: Session,
  ops: readonly { type: number; op: WriteOp }[],
  legacy: boolean,
): Promise<Reply> {
  for (const { type, op } of ops) {
    if (op.type === 'create' && !FLAG_MODES.includes(op.mode))
      throw new BadArgumentsError(op.path, { message: `invalid create flags in multi (${type})` });
  }
  let results: Awaited<ReturnType<Session['multi']>>;
  try {
    results = await session.multi(ops.map((o) => o.op));
  } catch (error) {
    const perOp = isCairnError(error)
      ? (error as { results?: readonly { code: string }[] }).results
      : undefined;
    if (perOp === undefined || perOp.length !== ops.length) throw error;
    return {
      err: 0,
      body: (w) => {
        for (const result of perOp) {
          const code = result.code === 'Ok' ? 0 : wireCode(result.code as ZkErrorCode, legacy);
          writeMultiHeader(w, { type: OP_CODES.error, done: false, err: code });
          w.int(code);
        }
        writeMultiHeader(w, END);
      },
    };
  }
  return {
    err: 0,
    body: (w) => {
      results.forEach((result, i) => {
        const type = ops[i]?.type ?? OP_CODES.error;
        writeWriteResult(w, type, result);
      });
      writeMultiHeader(w, END);
    },
  };
}

function writeWriteResult(
  w: JuteWriter,
  type: number,
  result: Awaited<ReturnType<Session['multi']>>[number],
): void {
  switch (result.type) {
    case 'create':
      if (type === OP_CODES.create) {
        writeMultiHeader(w, { type: OP_CODES.create, done: false, err: 0 });
        w.string(result.path);
      } else {
        writeMultiHeader(w, { type: OP_CODES.create2, done: false, err: 0 });
        writeStat(w.string(result.path), result.stat);
      }
      return;
    case 'delete':
      writeMultiHeader(w, { type: OP_CODES.delete, done: false, err: 0 });
      return;
    case 'setData':
    case 'setACL':
      writeMultiHeader(w, { type: OP_CODES.setData, done: false, err: 0 });
      writeStat(w, result.stat);
      return;
    case 'check':
      writeMultiHeader(w, { type: OP_CODES.check, done: false, err: 0 });
      return;
  }
}

/** Runs a multiRead: each op answered on its own (not all or nothing). */
export async function multiReadReply(
  session: Session,
  ops: readonly DecodedMultiRead[],
  legacy: boolean,
): Promise<Reply> {
  const results = await session.multiRead(ops.map((o) => o.op));
  return {
    err: 0,
    body: (w) => {
      for (const result of results) {
        if (!result.ok) {
          const wire = toWireError(result.error, legacy);
          const code = wire.close ? wireCode('SystemError', legacy) : wire.err;
          writeMultiHeader(w, { type: OP_CODES.error, done: false, err: code });
          w.int(code);
        } else if ('data' in result) {
          writeMultiHeader(w, { type: OP_CODES.getData, done: false, err: 0 });
          writeStat(w.buffer(result.data), result.stat);
        } else {
          writeMultiHeader(w, { type: OP_CODES.getChildren, done: false, err: 0 });
          writeStrings(w, result.children);
        }
      }
      writeMultiHeader(w, END);
    },
  };
}
