/**
 * One request, decoded: every opcode of ZooKeeper 3.8 (ZOOKEEPER.md §1.3) turned into a call on
 * the connection's session. Decoding happens when the frame arrives, so a malformed record
 * closes the connection at once; running happens in the connection's order (see connection.ts).
 * `ordered: 'read'` operations run once every earlier request of the connection is answered;
 * `'write'` ones start at once (the session numbers them, so they apply in order).
 */
import {
  ADD_WATCH_MODES,
  BadArgumentsError,
  CREATE_MODE_FLAGS,
  type CreateMode,
  isCairnError,
  type Session,
  WATCHER_TYPES,
  type WatcherType,
  ZK_ERROR_CODES,
} from '@cairn/node';
import type { JuteReader, JuteWriter } from './jute.js';
import { multiReadReply, multiReply, readMulti } from './multi.js';
import {
  ACL_BYTES_MIN,
  OP_CODES,
  readAcl,
  readStrings,
  writeAcl,
  writeStat,
  writeStrings,
} from './records.js';
import { wireCode } from './wire-errors.js';

/** What a request answers: a ReplyHeader `err`, an optional body, and whether to close after it. */
export interface Reply {
  readonly err: number;
  readonly body?: (writer: JuteWriter) => void;
  /** Close the connection once this reply is sent (closeSession, AuthFailed). */
  readonly close?: boolean;
}

export interface Operation {
  readonly ordered: 'read' | 'write';
  run(): Reply | Promise<Reply>;
}

/** What operations need from their connection. */
export interface OperationContext {
  readonly session: Session;
  /** A client without the readOnly byte: newer error codes are mapped (wire-errors.ts). */
  readonly legacy: boolean;
  readonly remoteAddress: string;
  /** Identities added by `auth` on this connection, as whoAmI reports them. */
  readonly authUsers: { scheme: string; user: string }[];
  /** Counts watches for the `wchs` four-letter word. */
  noteWatch(path: string, kind: 'data' | 'child' | 'persistent' | 'persistent-recursive'): void;
}

const OK: Reply = { err: 0 };
const MODES_BY_FLAG = new Map<number, CreateMode>(
  Object.entries(CREATE_MODE_FLAGS).map(([mode, flag]) => [flag, mode as CreateMode]),
);
const WATCHER_TYPE_BY_NUMBER = new Map<number, WatcherType>(
  Object.entries(WATCHER_TYPES).map(([type, n]) => [n, type as WatcherType]),
);

/** Decodes one request; throws `MalformedRecordError` if its record does not parse. */
export function decodeOperation(type: number, r: JuteReader, ctx: OperationContext): Operation {
  const s = ctx.session;
  switch (type) {
    case OP_CODES.create:
    case OP_CODES.create2:
    case OP_CODES.createContainer:
    case OP_CODES.createTTL: {
      const request = readCreate(type, r);
      return write(async () => {
        const { path, stat } = await s.create2(request.path, request.data, {
          mode: modeFor(type, request.flags, request.path),
          acl: request.acl,
          ...(request.ttl === null ? {} : { ttlMs: request.ttl }),
        });
        if (type === OP_CODES.create) return { err: 0, body: (w) => w.string(path) };
        return { err: 0, body: (w) => writeStat(w.string(path), stat) };
      });
    }
    case OP_CODES.delete: {
      const path = r.text();
      const version = r.int();
      return write(async () => {
        await s.delete(path, version);
        return OK;
      });
    }
    case OP_CODES.setData: {
      const path = r.text();
      const data = r.buffer() ?? new Uint8Array(0);
      const version = r.int();
      return write(async () => {
        const stat = await s.setData(path, data, version);
        return { err: 0, body: (w) => writeStat(w, stat) };
      });
    }
    case OP_CODES.setACL: {
      const path = r.text();
      const acl = r.vector(readAcl, ACL_BYTES_MIN);
      const version = r.int();
      return write(async () => {
        const stat = await s.setACL(path, acl, version);
        return { err: 0, body: (w) => writeStat(w, stat) };
      });
    }
    case OP_CODES.exists: {
      const { path, watch } = readPathWatch(r);
      return read(async () => {
        const stat = await s.exists(path, watch ? { watch: true } : {});
        if (watch) ctx.noteWatch(path, 'data');
        if (stat === null) return { err: ZK_ERROR_CODES.NoNode };
        return { err: 0, body: (w) => writeStat(w, stat) };
      });
    }
    case OP_CODES.getData: {
      const { path, watch } = readPathWatch(r);
      return read(async () => {
        const { data, stat } = await s.getData(path, watch ? { watch: true } : {});
        if (watch) ctx.noteWatch(path, 'data');
        return { err: 0, body: (w) => writeStat(w.buffer(data), stat) };
      });
    }
    case OP_CODES.getChildren:
    case OP_CODES.getChildren2: {
      const { path, watch } = readPathWatch(r);
      return read(async () => {
        const { children, stat } = await s.getChildren(path, watch ? { watch: true } : {});
        if (watch) ctx.noteWatch(path, 'child');
        if (type === OP_CODES.getChildren)
          return { err: 0, body: (w) => writeStrings(w, children) };
        return {
          err: 0,
          body: (w) =>
            writeStat(
              w.vector(children, (e, v) => e.string(v)),
              stat,
            ),
        };
      });
    }
    case OP_CODES.getACL: {
      const path = r.text();
      return read(async () => {
        const { acl, stat } = await s.getACL(path);
        return { err: 0, body: (w) => writeStat(w.vector(acl, writeAcl), stat) };
      });
    }
    case OP_CODES.getAllChildrenNumber: {
      const path = r.text();
      return read(async () => {
        const total = await s.getAllChildrenNumber(path);
        return { err: 0, body: (w) => w.int(total) };
      });
    }
    case OP_CODES.getEphemerals: {
      const prefix = r.text();
      return read(async () => {
        const paths = await s.getEphemerals(prefix);
        return { err: 0, body: (w) => writeStrings(w, paths) };
      });
    }
    case OP_CODES.sync: {
      const path = r.text();
      return write(async () => {
        await s.sync(path);
        return { err: 0, body: (w) => w.string(path) };
      });
    }
    case OP_CODES.ping:
      return read(() => OK);
    case OP_CODES.multi: {
      const ops = readMulti(r, 'write');
      return write(() => multiReply(s, ops, ctx.legacy));
    }
    case OP_CODES.multiRead: {
      const ops = readMulti(r, 'read');
      return read(() => multiReadReply(s, ops, ctx.legacy));
    }
    case OP_CODES.check: {
      // Outside a multi, ZooKeeper answers a lone check as it would inside one.
      const path = r.text();
      const version = r.int();
      return write(async () => {
        await s.multi([{ type: 'check', path, version }]);
        return OK;
      });
    }
    case OP_CODES.auth:
      return decodeAuth(r, ctx);
    case OP_CODES.setWatches:
    case OP_CODES.setWatches2: {
      const relativeZxid = r.zxid();
      const data = readStrings(r);
      const exist = readStrings(r);
      const child = readStrings(r);
      const persistent = type === OP_CODES.setWatches2 ? readStrings(r) : [];
      const persistentRecursive = type === OP_CODES.setWatches2 ? readStrings(r) : [];
      return read(() => {
        s.setWatches(relativeZxid, { data, exist, child, persistent, persistentRecursive });
        for (const path of [...data, ...exist]) ctx.noteWatch(path, 'data');
        for (const path of child) ctx.noteWatch(path, 'child');
        for (const path of persistent) ctx.noteWatch(path, 'persistent');
        for (const path of persistentRecursive) ctx.noteWatch(path, 'persistent-recursive');
        return OK;
      });
    }
    case OP_CODES.addWatch: {
      const path = r.text();
      const modeNumber = r.int();
      const mode =
        modeNumber === ADD_WATCH_MODES.persistent
          ? 'persistent'
          : modeNumber === ADD_WATCH_MODES['persistent-recursive']
            ? 'persistent-recursive'
            : null;
      return read(() => {
        if (mode === null) return { err: ZK_ERROR_CODES.BadArguments };
        s.addWatch(path, mode);
        ctx.noteWatch(path, mode);
        // AddWatch answers an ErrorResponse{err=0} body (ZOOKEEPER.md §1.3).
        return { err: 0, body: (w) => w.int(0) };
      });
    }
    case OP_CODES.checkWatches:
    case OP_CODES.removeWatches: {
      const path = r.text();
      const watcherType = WATCHER_TYPE_BY_NUMBER.get(r.int());
      return read(() => {
        if (watcherType === undefined) return { err: wireCode('BadArguments', ctx.legacy) };
        if (type === OP_CODES.checkWatches) s.checkWatches(path, watcherType);
        else s.removeServerWatches(path, watcherType);
        return OK;
      });
    }
    case OP_CODES.whoAmI:
      return read(() => {
        const users = [{ scheme: 'ip', user: ctx.remoteAddress }, ...ctx.authUsers];
        return {
          err: 0,
          body: (w) => w.vector(users, (e, u) => e.string(u.scheme).string(u.user)),
        };
      });
    case OP_CODES.reconfig:
      // Membership changes go through node.addMember/removeMember, not the client port.
      return read(() => ({ err: wireCode('ReconfigDisabled', ctx.legacy) }));
    case OP_CODES.sasl:
      return read(() => ({ err: wireCode('Unimplemented', ctx.legacy) }));
    case OP_CODES.closeSession:
      return write(async () => {
        await s.close();
        return { err: 0, close: true };
      });
    default:
      return read(() => ({ err: ZK_ERROR_CODES.Unimplemented }));
  }
}

interface CreateRequest {
  readonly path: string;
  readonly data: Uint8Array;
  readonly acl: ReturnType<typeof readAcl>[];
  readonly flags: number;
  readonly ttl: number | null;
}

function readCreate(type: number, r: JuteReader): CreateRequest {
  const path = r.text();
  const data = r.buffer() ?? new Uint8Array(0);
  const acl = r.vector(readAcl, ACL_BYTES_MIN);
  const flags = r.int();
  const ttl = type === OP_CODES.createTTL ? Number(r.long()) : null;
  return { path, data, acl, flags, ttl };
}

/**
 * The create mode for an opcode and its flags. Container and TTL modes come with their own
 * opcodes (createContainer, createTTL) and those opcodes only with those modes, as
 * PrepRequestProcessor checks; anything else is BadArguments.
 */
export function modeFor(type: number, flags: number, path: string): CreateMode {
  const mode = MODES_BY_FLAG.get(flags);
  const ttl = mode === 'persistent-with-ttl' || mode === 'persistent-sequential-with-ttl';
  const fits =
    mode !== undefined &&
    (type === OP_CODES.createTTL
      ? ttl
      : type === OP_CODES.createContainer
        ? mode === 'container'
        : !ttl);
  if (!fits)
    throw new BadArgumentsError(path, {
      message: `create flags ${flags} do not fit opcode ${type}`,
    });
  return mode;
}

function readPathWatch(r: JuteReader): { path: string; watch: boolean } {
  return { path: r.text(), watch: r.boolean() };
}

function decodeAuth(r: JuteReader, ctx: OperationContext): Operation {
  r.int(); // AuthPacket.type, always 0
  const scheme = r.text();
  const auth = r.buffer() ?? new Uint8Array(0);
  return write(async () => {
    try {
      await ctx.session.addAuth(scheme, auth);
    } catch (error) {
      // ZooKeeper answers AuthFailed and then closes the connection.
      if (isCairnError(error) && error.code === 'AuthFailed')
        return { err: ZK_ERROR_CODES.AuthFailed, close: true };
      throw error;
    }
    const text = Buffer.from(auth).toString('utf8');
    ctx.authUsers.push({ scheme, user: text.slice(0, Math.max(0, text.indexOf(':'))) });
    return OK;
  });
}

function read(run: () => Reply | Promise<Reply>): Operation {
  return { ordered: 'read', run };
}

function write(run: () => Promise<Reply>): Operation {
  return { ordered: 'write', run };
}
