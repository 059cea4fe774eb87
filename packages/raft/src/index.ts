export { RaftAssertionError } from './assert.js';
export {
  CodecError,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
} from './codec.js';
export { applyConfChange, isJoint } from './conf-change/changer.js';
export type { RaftConfig } from './config.js';
export {
  type ProposeOutcome,
  RaftCore,
  type ReadIndexOutcome,
  type Ready,
  type Status,
} from './core.js';
export {
  describeConfState,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
} from './describe.js';
export {
  type DropReason,
  NotLeaderError,
  ProposalDroppedError,
  RaftError,
  type RaftErrorCode,
} from './errors.js';
export { type LogIndex, logIndex, type NodeId, nodeId, type Term, term } from './ids.js';
export { MemoryStorage, type StorageWrite } from './memory-storage.js';
export type {
  AppendRequest,
  AppendResponse,
  CoreMessage,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  MessageType,
  ProposedEntry,
  ProposeRequest,
  ReadIndexRequest,
  ReadIndexResponse,
  RuntimeMessage,
  SnapshotRequest,
  TimeoutNowRequest,
  TransferLeaderRequest,
  VoteRequest,
  VoteResponse,
} from './messages.js';
export { isSentAfterPersist } from './messages.js';
export type { DurableLog, StorageFeatures } from './ports/durable-log.js';
export type { Transport } from './ports/transport.js';
export type { ProgressState } from './progress/progress.js';
export { type Random, seededRandom } from './random.js';
export { EMPTY_CONF_STATE, type InitialState, type LogStorage } from './storage.js';
export type {
  ConfChange,
  ConfChangeSingle,
  ConfState,
  Entry,
  EntryType,
  HardState,
  ReadState,
  Role,
  Snapshot,
  SnapshotMetadata,
  SoftState,
} from './types.js';
