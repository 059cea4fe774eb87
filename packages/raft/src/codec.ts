import { Packr } from 'msgpackr';
import type { LogIndex, NodeId, Term } from './ids.js';
import type { Message, ProposedEntry } from './messages.js';
import type {
  ConfChange,
  ConfChangeSingle,
  ConfState,
  Entry,
  HardState,
  Snapshot,
  SnapshotMetadata,
} from './types.js';

/**
 * The one codec for entries, messages, hard state and snapshots, shared by the core, the
 * storage and transport adapters and the simulator so that all of them agree on bytes.
 *
 * One configured msgpackr instance: plain maps (no record structures that grow at runtime, so
 * bytes decode the same on every node and after a restart), 64-bit integers decoded as numbers
 * (indices and terms stay below 2^53). Decoding validates shape and types: a peer's bad frame is
 * a `CodecError`, never a half-built message inside the core. Decoded byte fields (`data`) are
 * views into the input, not copies: an adapter must not reuse a buffer after decoding from it.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  bundleStrings: false,
});

/** A frame or record that does not decode to what it claims to be. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code = 'MarshallingError';
}

export function encodeMessage(message: Message): Uint8Array {
  return packr.pack(message);
}

export function decodeMessage(bytes: Uint8Array): Message {
  return checkMessage(unpack(bytes));
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
