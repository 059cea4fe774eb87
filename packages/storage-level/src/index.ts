export { StorageError, type StorageErrorCode } from './errors.js';
export { LevelLog, type LevelLogOptions, type StorageIdentity } from './level-log.js';
export { MemoryDurableLog } from './memory-durable-log.js';
