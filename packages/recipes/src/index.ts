export {
  AtomicValue,
  type AtomicValueOptions,
  SharedCounter,
  type Versioned,
} from './atomic-value.js';
export { Barrier, DoubleBarrier, type DoubleBarrierOptions } from './barrier.js';
export { ConfigValue, type ConfigValueOptions } from './config-value.js';
export { type ElectionOptions, LeaderElection } from './election.js';
export { type RenewSession, shareSessionRenewal } from './internal/renewal.js';
export type { RecipeOptions } from './internal/util.js';
export { LeaderLatch, LeaderSelector, type LeaderSelectorOptions } from './leader-selector.js';
export { Lease } from './lease.js';
export { type AcquireOptions, Mutex, type MutexOptions } from './mutex.js';
export { DistributedQueue, PriorityQueue } from './queue.js';
export { ReadWriteLock } from './read-write-lock.js';
export { Semaphore } from './semaphore.js';
export {
  ServiceCache,
  ServiceDiscovery,
  type ServiceDiscoveryEvent,
  type ServiceDiscoveryOptions,
  type ServiceInstance,
} from './service-discovery.js';
export {
  type CachedNode,
  NodeCache,
  TreeCache,
  type TreeCacheEvent,
  type TreeCacheOptions,
} from './tree-cache.js';
