export type { RecipeOptions } from './internal/util.js';
export { Lease } from './lease.js';
export { type AcquireOptions, Mutex, type MutexOptions } from './mutex.js';
