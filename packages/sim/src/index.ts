export { type ApplyListener, installApplyTap, type TappedApply, tapNode } from './apply-tap.js';
export { type Member, type MemberState, SimCluster, type SimClusterOptions } from './cluster.js';
export { crc32 } from './crc32.js';
export {
  type Corruption,
  type DiskIdentity,
  type DiskTimers,
  SimDisk,
  type SimDiskOptions,
  SimStorageError,
  type SimStorageErrorCode,
} from './disk.js';
export { NodeEnv, SimGate } from './env.js';
export {
  applySchedule,
  type FaultEvent,
  type FaultKind,
  type FaultScheduleOptions,
  faultSchedule,
  type ScheduleResult,
} from './fault-schedule.js';
export {
  type ClusterReport,
  type FaultCounts,
  HARNESS_NODES_MAX,
  type SimulateClusterOptions,
  type SimulatedCluster,
  simulateCluster,
} from './harness.js';
export {
  History,
  type HistoryOp,
  type OpKind,
  type Outcome,
  type ReadValue,
  type SessionEnd,
  type WatchFire,
  type WatchKind,
} from './history.js';
export { checkHistory, describeRead, type HistoryVerdict } from './history-checker.js';
export {
  type CheckedCall,
  checkCalls,
  checkLinearizability,
  type LinearizabilityOptions,
  type LinearizabilityVerdict,
  type PartitionVerdict,
} from './lin-checker.js';
export {
  DEFAULT_SEARCH_LIMITS,
  type LinearModel,
  type LinearOp,
  type SearchLimits,
  type SearchVerdict,
  searchLinearization,
} from './linearizability.js';
export {
  type Change,
  describeResult,
  describeStat,
  type ModelNode,
  type PathVersion,
  TreeModel,
} from './model.js';
export { RaftChecker, type Violation } from './raft-checker.js';
export { mix, Rng, TraceHash } from './rng.js';
export {
  type FaultSwitches,
  type SimulationOptions,
  type SimulationReport,
  simulate,
} from './simulate.js';
export { SimulationFailedError } from './simulation-failed-error.js';
export { Client } from './workload.js';
export {
  type SpecInput,
  type SpecOutput,
  type SpecState,
  type SpecWrite,
  ZnodeSpec,
  type ZnodeSpecOptions,
} from './znode-spec.js';
