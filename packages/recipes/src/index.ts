export {
  AtomicValue,
  type AtomicValueOptions,
  SharedCounter,
  type Versioned,
} from './atomic-value.js';
export { Barrier, DoubleBarrier, type DoubleBarrierOptions } from './barrier.js';
export { type ElectionOptions, LeaderElection } from './election.js';
export type { RecipeOptions } from './internal/util.js';
export { LeaderLatch, LeaderSelector, type LeaderSelectorOptions } from './leader-selector.js';
export { Lease } from './lease.js';
export { type AcquireOptions, Mutex, type MutexOptions } from './mutex.js';
export { DistributedQueue, PriorityQueue } from './queue.js';
export { ReadWriteLock } from './read-write-lock.js';
export { Semaphore } from './semaphore.js';
