import { Packr } from 'msgpackr';
import type { LogIndex, NodeId, Term } from './ids.js';
import type {
  AppendRequest,
  AppendResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  ProposedEntry,
} from './messages.js';
import type {
  ConfChange,
  ConfChangeSingle,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Snapshot,
  SnapshotMetadata,
} from './types.js';

/**
 * The one codec for entries, messages, hard state and snapshots, shared by the core, the
 * storage and transport adapters and the simulator so that all of them agree on bytes.
 *
 * Messages carry a format version: byte 0 is {@link MESSAGE_FORMAT_VERSION}, byte 1 a message
 * code, then the body. The steady-state traffic (Append with its entries, AppendResponse,
 * Heartbeat, HeartbeatResponse) has a hand-written binary body, because building and walking
 * msgpack maps of every entry was what bounded the transport (issue 4: ~830k entries/s, most of
 * each process in msgpackr). Every other type is code 0 followed by the message as a msgpack map.
 * A version other than 1 is refused, so a future layout is detected rather than misread.
 *
 * Binary bodies, big-endian: every index, term and node id is a u64 (at most 2^53 - 1, so it
 * stays a safe integer), booleans are one byte (0 or 1), a string is a u32 byte length then
 * UTF-8, and a nullable string is one byte (0: null, 1: a string follows).
 *
 *   envelope           from u64, to u64, term u64
 *   Append             envelope, prevIndex u64, prevTerm u64, commit u64, count u32, then each
 *                      entry: index u64, term u64, type u8 (0 normal, 1 confChange),
 *                      length u32, data bytes
 *   AppendResponse     envelope, index u64, reject bool, hintIndex u64, hintTerm u64
 *   Heartbeat          envelope, commit u64, context nullable string
 *   HeartbeatResponse  envelope, context nullable string
 *
 * msgpack (everything else, and single entries, hard state, conf changes, snapshot metadata):
 * one configured msgpackr instance, plain maps (no record structures that grow at runtime, so
 * bytes decode the same on every node and after a restart), 64-bit integers decoded as numbers
 * (indices and terms stay below 2^53).
 *
 * Decoding validates shape, types and length: a peer's bad frame (including trailing bytes) is
 * a `CodecError`, never a half-built message inside the core. Encoding refuses a number that is
 * not a non-negative safe integer, and a string with a lone surrogate (UTF-8 cannot carry it),
 * with a `CodecError` rather than sending bytes that decode to something else. Decoded byte
 * fields (`data`, `payload`) are views into the input, not copies: an adapter must not reuse a
 * buffer after decoding from it.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  bundleStrings: false,
});

/** Byte 0 of every encoded message. Bump it when a layout changes. */
export const MESSAGE_FORMAT_VERSION = 1;

/** Byte 1 of an encoded message: how its body is laid out. Codes are never reused. */
const MessageCode = {
  /** The message as a msgpack map (every type without a binary layout). */
  Msgpack: 0,
  Append: 1,
  AppendResponse: 2,
  Heartbeat: 3,
  HeartbeatResponse: 4,
} as const;

const MESSAGE_HEAD_BYTES = 2;
const U64_BYTES = 8;
const ENVELOPE_BYTES = 3 * U64_BYTES;
/** Per entry in an Append: index, term, type and data length, before the data. */
const ENTRY_HEAD_BYTES = 2 * U64_BYTES + 1 + 4;
const APPEND_HEAD_BYTES = MESSAGE_HEAD_BYTES + ENVELOPE_BYTES + 3 * U64_BYTES + 4;
const APPEND_RESPONSE_BYTES = MESSAGE_HEAD_BYTES + ENVELOPE_BYTES + 3 * U64_BYTES + 1;
const TWO_TO_32 = 2 ** 32;
/** The high word of 2^53 - 1: any larger u64 is not a safe integer. */
const U64_HIGH_MAX = 0x1f_ffff;

/** A frame or record that does not decode to what it claims to be. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code = 'MarshallingError';
}

export function encodeMessage(message: Message): Uint8Array {
  switch (message.type) {
    case 'Append':
      return encodeAppend(message);
    case 'AppendResponse':
      return encodeAppendResponse(message);
    case 'Heartbeat':
    case 'HeartbeatResponse':
      return encodeHeartbeat(message);
    default:
      return encodeMsgpackMessage(message);
  }
}

export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length < MESSAGE_HEAD_BYTES) throw new CodecError('message: shorter than its head');
  if (bytes[0] !== MESSAGE_FORMAT_VERSION) {
    throw new CodecError(`message: format version ${bytes[0]}, expected ${MESSAGE_FORMAT_VERSION}`);
  }
  const code = bytes[1];
  if (code === MessageCode.Msgpack) return checkMessage(unpack(bytes.subarray(MESSAGE_HEAD_BYTES)));
  const reader = new Reader(bytes);
  let message: Message;
  switch (code) {
    case MessageCode.Append:
      message = readAppend(reader);
      break;
    case MessageCode.AppendResponse:
      message = readAppendResponse(reader);
      break;
    case MessageCode.Heartbeat:
      message = readHeartbeat(reader);
      break;
    case MessageCode.HeartbeatResponse:
      message = readHeartbeatResponse(reader);
      break;
    default:
      throw new CodecError(`message: unknown code ${code}`);
  }
  reader.end();
  return message;
}

export function encodeEntry(entry: Entry): Uint8Array {
  return packr.pack(entry);
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return checkEntry(unpack(bytes), 'entry');
}

export function encodeHardState(state: HardState): Uint8Array {
  return packr.pack(state);
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const value = record(unpack(bytes), 'hardState');
  return {
    term: counter(value.term, 'hardState.term') as Term,
    vote: value.vote === null ? null : nodeIdOf(value.vote, 'hardState.vote'),
    commit: counter(value.commit, 'hardState.commit') as LogIndex,
  };
}

export function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array {
  return packr.pack(metadata);
}

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  return checkSnapshotMetadata(unpack(bytes), 'snapshot');
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  return packr.pack(change);
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  const value = record(unpack(bytes), 'confChange');
  const transition = value.transition;
  if (transition !== 'auto' && transition !== 'joint-implicit' && transition !== 'joint-explicit') {
    throw new CodecError(`confChange.transition: unknown ${describeValue(transition)}`);
  }
  return { changes: list(value.changes, 'confChange.changes').map(checkChange), transition };
}

// ---- binary layouts ------------------------------------------------------------------------

/** Starts a binary message of `length` bytes: the head written, the writer after it. */
function startMessage(code: number, length: number, message: Message): Writer {
  const writer = new Writer(length);
  writer.u8(MESSAGE_FORMAT_VERSION);
  writer.u8(code);
  writer.u64(message.from, 'message.from');
  writer.u64(message.to, 'message.to');
  writer.u64(message.term, 'message.term');
  return writer;
}

function encodeAppend(message: AppendRequest): Uint8Array {
  const entries = message.entries;
  let length = APPEND_HEAD_BYTES + entries.length * ENTRY_HEAD_BYTES;
  for (let i = 0; i < entries.length; i++) length += (entries[i] as Entry).data.length;
  const writer = startMessage(MessageCode.Append, length, message);
  writer.u64(message.prevIndex, 'prevIndex');
  writer.u64(message.prevTerm, 'prevTerm');
  writer.u64(message.commit, 'commit');
  writer.u32(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Entry;
    writer.u64(entry.index, 'entries[].index');
    writer.u64(entry.term, 'entries[].term');
    writer.u8(entryTypeCode(entry.type));
    writer.u32(entry.data.length);
    writer.bytes(entry.data);
  }
  return writer.done();
}

function encodeAppendResponse(message: AppendResponse): Uint8Array {
  const writer = startMessage(MessageCode.AppendResponse, APPEND_RESPONSE_BYTES, message);
  writer.u64(message.index, 'index');
  writer.u8(message.reject ? 1 : 0);
  writer.u64(message.hintIndex, 'hintIndex');
  writer.u64(message.hintTerm, 'hintTerm');
  return writer.done();
}

function encodeHeartbeat(message: HeartbeatRequest | HeartbeatResponse): Uint8Array {
  const context = message.context === null ? null : utf8(message.context);
  const request = message.type === 'Heartbeat';
  const length =
    MESSAGE_HEAD_BYTES +
    ENVELOPE_BYTES +
    (request ? U64_BYTES : 0) +
    1 +
    (context === null ? 0 : 4 + context.length);
  const code = request ? MessageCode.Heartbeat : MessageCode.HeartbeatResponse;
  const writer = startMessage(code, length, message);
  if (request) writer.u64(message.commit, 'commit');
  if (context === null) {
    writer.u8(0);
  } else {
    writer.u8(1);
    writer.u32(context.length);
    writer.bytes(context);
  }
  return writer.done();
}

function encodeMsgpackMessage(message: Message): Uint8Array {
  const body = packr.pack(message);
  const bytes = new Uint8Array(MESSAGE_HEAD_BYTES + body.length);
  bytes[0] = MESSAGE_FORMAT_VERSION;
  bytes[1] = MessageCode.Msgpack;
  bytes.set(body, MESSAGE_HEAD_BYTES);
  return bytes;
}

interface EnvelopeFields {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

function readEnvelope(reader: Reader): EnvelopeFields {
  reader.skip(MESSAGE_HEAD_BYTES);
  const from = reader.nodeId('message.from');
  const to = reader.nodeId('message.to');
  return { from, to, term: reader.u64('message.term') as Term };
}

function readAppend(reader: Reader): AppendRequest {
  const { from, to, term } = readEnvelope(reader);
  const prevIndex = reader.u64('prevIndex') as LogIndex;
  const prevTerm = reader.u64('prevTerm') as Term;
  const commit = reader.u64('commit') as LogIndex;
  const count = reader.u32();
  // Checked before allocating: a claimed count the bytes cannot hold is refused outright.
  if (count * ENTRY_HEAD_BYTES > reader.remaining) {
    throw new CodecError(`entries: ${count} entries do not fit in ${reader.remaining} bytes`);
  }
  const entries: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const index = reader.u64('entries[].index') as LogIndex;
    const entryTerm = reader.u64('entries[].term') as Term;
    const type = entryTypeOf(reader.u8());
    const data = reader.bytes(reader.u32(), 'entries[].data');
    entries[i] = { term: entryTerm, index, type, data };
  }
  return { type: 'Append', from, to, term, prevIndex, prevTerm, entries, commit };
}

function readAppendResponse(reader: Reader): AppendResponse {
  const { from, to, term } = readEnvelope(reader);
  return {
    type: 'AppendResponse',
    from,
    to,
    term,
    index: reader.u64('index') as LogIndex,
    reject: reader.bool('reject'),
    hintIndex: reader.u64('hintIndex') as LogIndex,
    hintTerm: reader.u64('hintTerm') as Term,
  };
}

function readHeartbeat(reader: Reader): HeartbeatRequest {
  const { from, to, term } = readEnvelope(reader);
  const commit = reader.u64('commit') as LogIndex;
  return { type: 'Heartbeat', from, to, term, commit, context: reader.nullableText('context') };
}

function readHeartbeatResponse(reader: Reader): HeartbeatResponse {
  const { from, to, term } = readEnvelope(reader);
  return { type: 'HeartbeatResponse', from, to, term, context: reader.nullableText('context') };
}

function entryTypeCode(type: EntryType): number {
  if (type === 'normal') return 0;
  if (type === 'confChange') return 1;
  throw new CodecError(`entries[].type: unknown ${describeValue(type)}`);
}

function entryTypeOf(code: number): EntryType {
  if (code === 0) return 'normal';
  if (code === 1) return 'confChange';
  throw new CodecError(`entries[].type: unknown code ${code}`);
}

/** A lone surrogate has no UTF-8 form; TextEncoder would silently turn it into U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const textEncoder = new TextEncoder();
/** Strict: invalid UTF-8 throws, and a leading U+FEFF is kept rather than eaten as a BOM. */
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(value: string): Uint8Array {
  if (LONE_SURROGATE.test(value)) throw new CodecError('context: a lone surrogate is not UTF-8');
  return textEncoder.encode(value);
}

/** Fills a buffer of an exact, precomputed length; `done` checks the length was right. */
class Writer {
  private readonly out: Uint8Array;
  private readonly view: DataView;
  private at = 0;

  constructor(length: number) {
    this.out = new Uint8Array(length);
    this.view = new DataView(this.out.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.at, value);
    this.at += 1;
  }

  u32(value: number): void {
    this.view.setUint32(this.at, value);
    this.at += 4;
  }

  u64(value: number, what: string): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new CodecError(`${what}: ${describeValue(value)} is not a non-negative safe integer`);
    }
    this.view.setUint32(this.at, Math.floor(value / TWO_TO_32));
    this.view.setUint32(this.at + 4, value >>> 0);
    this.at += U64_BYTES;
  }

  bytes(value: Uint8Array): void {
    this.out.set(value, this.at);
    this.at += value.length;
  }

  done(): Uint8Array {
    if (this.at !== this.out.length) {
      throw new CodecError(`encoder wrote ${this.at} of ${this.out.length} bytes`);
    }
    return this.out;
  }
}

/** Reads a binary body front to back; every read checks the bytes are there. */
class Reader {
  private readonly input: Uint8Array;
  private readonly view: DataView;
  private at = 0;

  constructor(input: Uint8Array) {
    this.input = input;
    this.view = new DataView(input.buffer, input.byteOffset, input.length);
  }

  get remaining(): number {
    return this.input.length - this.at;
  }

  skip(length: number): void {
    this.need(length, 'head');
    this.at += length;
  }

  u8(): number {
    this.need(1, 'byte');
    return this.view.getUint8(this.at++);
  }

  u32(): number {
    this.need(4, 'length');
    const value = this.view.getUint32(this.at);
    this.at += 4;
    return value;
  }

  u64(what: string): number {
    this.need(U64_BYTES, what);
    const high = this.view.getUint32(this.at);
    if (high > U64_HIGH_MAX) throw new CodecError(`${what}: above 2^53 - 1`);
    const value = high * TWO_TO_32 + this.view.getUint32(this.at + 4);
    this.at += U64_BYTES;
    return value;
  }

  nodeId(what: string): NodeId {
    const id = this.u64(what);
    if (id === 0) throw new CodecError(`${what}: node ids start at 1`);
    return id as NodeId;
  }

  bool(what: string): boolean {
    const value = this.u8();
    if (value > 1) throw new CodecError(`${what}: expected a boolean byte`);
    return value === 1;
  }

  /** A view of the next `length` bytes (no copy). */
  bytes(length: number, what: string): Uint8Array {
    this.need(length, what);
    const view = new Uint8Array(this.input.buffer, this.input.byteOffset + this.at, length);
    this.at += length;
    return view;
  }

  nullableText(what: string): string | null {
    const tag = this.u8();
    if (tag === 0) return null;
    if (tag !== 1) throw new CodecError(`${what}: expected a null or string tag`);
    const bytes = this.bytes(this.u32(), what);
    try {
      return textDecoder.decode(bytes);
    } catch (error) {
      throw new CodecError(`${what}: not UTF-8`, { cause: error });
    }
  }

  /** Trailing bytes mean the frame is not what it claims to be. */
  end(): void {
    if (this.at !== this.input.length) {
      throw new CodecError(`message: ${this.input.length - this.at} trailing bytes`);
    }
  }

  private need(length: number, what: string): void {
    if (this.input.length - this.at < length) throw new CodecError(`${what}: truncated`);
  }
}

// ---- msgpack ---------------------------------------------------------------------------------

function unpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new CodecError('not a msgpack value', { cause: error });
  }
}

type Fields = Record<string, unknown>;

/** Names a bad value without calling any of its methods (a peer controls its keys). */
function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}

function record(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CodecError(`${what}: expected a map`);
  }
  return value as Fields;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new CodecError(`${what}: expected an array`);
  return value;
}

function counter(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CodecError(`${what}: expected a non-negative integer`);
  }
  return value;
}

function nodeIdOf(value: unknown, what: string): NodeId {
  const id = counter(value, what);
  if (id === 0) throw new CodecError(`${what}: node ids start at 1`);
  return id as NodeId;
}

function bytesOf(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CodecError(`${what}: expected bytes`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new CodecError(`${what}: expected a string`);
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new CodecError(`${what}: expected a boolean`);
  return value;
}

function ids(value: unknown, what: string): NodeId[] {
  return list(value, what).map((id) => nodeIdOf(id, what));
}

function checkEntryType(value: unknown, what: string): 'normal' | 'confChange' {
  if (value !== 'normal' && value !== 'confChange') throw new CodecError(`${what}: bad type`);
  return value;
}

function checkEntry(value: unknown, what: string): Entry {
  const fields = record(value, what);
  return {
    term: counter(fields.term, `${what}.term`) as Term,
    index: counter(fields.index, `${what}.index`) as LogIndex,
    type: checkEntryType(fields.type, `${what}.type`),
    data: bytesOf(fields.data, `${what}.data`),
  };
}

function checkProposed(value: unknown): ProposedEntry {
  const fields = record(value, 'proposal');
  return {
    type: checkEntryType(fields.type, 'proposal.type'),
    data: bytesOf(fields.data, 'proposal.data'),
  };
}

function checkChange(value: unknown): ConfChangeSingle {
  const fields = record(value, 'confChange.change');
  const type = fields.type;
  if (type !== 'addVoter' && type !== 'addLearner' && type !== 'removeNode') {
    throw new CodecError(`confChange.change.type: unknown ${describeValue(type)}`);
  }
  return { type, nodeId: nodeIdOf(fields.nodeId, 'confChange.change.nodeId') };
}

function checkConfState(value: unknown, what: string): ConfState {
  const fields = record(value, what);
  return {
    voters: ids(fields.voters, `${what}.voters`),
    votersOutgoing: ids(fields.votersOutgoing, `${what}.votersOutgoing`),
    learners: ids(fields.learners, `${what}.learners`),
    learnersNext: ids(fields.learnersNext, `${what}.learnersNext`),
    autoLeave: flag(fields.autoLeave, `${what}.autoLeave`),
  };
}

function checkSnapshotMetadata(value: unknown, what: string): SnapshotMetadata {
  const fields = record(value, what);
  return {
    index: counter(fields.index, `${what}.index`) as LogIndex,
    term: counter(fields.term, `${what}.term`) as Term,
    confState: checkConfState(fields.confState, `${what}.confState`),
  };
}

function checkSnapshot(value: unknown): Snapshot {
  const fields = record(value, 'snapshot');
  return {
    metadata: checkSnapshotMetadata(fields.metadata, 'snapshot.metadata'),
    data: bytesOf(fields.data, 'snapshot.data'),
  };
}

function checkMessage(value: unknown): Message {
  const f = record(value, 'message');
  const from = nodeIdOf(f.from, 'message.from');
  const to = nodeIdOf(f.to, 'message.to');
  const term = counter(f.term, 'message.term') as Term;
  const type = f.type;
  switch (type) {
    case 'Vote':
    case 'PreVote':
      return {
        type,
        from,
        to,
        term,
        lastIndex: counter(f.lastIndex, 'lastIndex') as LogIndex,
        lastTerm: counter(f.lastTerm, 'lastTerm') as Term,
        transfer: flag(f.transfer, 'transfer'),
      };
    case 'VoteResponse':
    case 'PreVoteResponse':
      return { type, from, to, term, reject: flag(f.reject, 'reject') };
    case 'Append':
      return {
        type,
        from,
        to,
        term,
        prevIndex: counter(f.prevIndex, 'prevIndex') as LogIndex,
        prevTerm: counter(f.prevTerm, 'prevTerm') as Term,
        entries: list(f.entries, 'entries').map((entry) => checkEntry(entry, 'entries[]')),
        commit: counter(f.commit, 'commit') as LogIndex,
      };
    case 'AppendResponse':
      return {
        type,
        from,
        to,
        term,
        index: counter(f.index, 'index') as LogIndex,
        reject: flag(f.reject, 'reject'),
        hintIndex: counter(f.hintIndex, 'hintIndex') as LogIndex,
        hintTerm: counter(f.hintTerm, 'hintTerm') as Term,
      };
    case 'Heartbeat':
      return {
        type,
        from,
        to,
        term,
        commit: counter(f.commit, 'commit') as LogIndex,
        context: f.context === null ? null : text(f.context, 'context'),
      };
    case 'HeartbeatResponse':
      return {
        type,
        from,
        to,
        term,
        context: f.context === null ? null : text(f.context, 'context'),
      };
    case 'Snapshot':
      return { type, from, to, term, snapshot: checkSnapshot(f.snapshot) };
    case 'TimeoutNow':
      return { type, from, to, term };
    case 'Propose':
      return { type, from, to, term, entries: list(f.entries, 'entries').map(checkProposed) };
    case 'ReadIndex':
      return { type, from, to, term, context: text(f.context, 'context') };
    case 'ReadIndexResponse':
      return {
        type,
        from,
        to,
        term,
        index: counter(f.index, 'index') as LogIndex,
        context: text(f.context, 'context'),
      };
    case 'TransferLeader':
      return { type, from, to, term, transferee: nodeIdOf(f.transferee, 'transferee') };
    case 'Runtime':
      return { type, from, to, term, payload: bytesOf(f.payload, 'payload') };
    default:
      throw new CodecError(`message.type: unknown ${describeValue(type)}`);
  }
}
