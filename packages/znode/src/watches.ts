/**
 * The watch registry: which sessions this node serves watch which znodes, and the notifications
 * an applied txn's events turn into. The public surface of `./watches/`, listed by name.
 */
export {
  ADD_WATCH_MODES,
  type HeldWatchKind,
  type NodeEventType,
  WATCHER_TYPES,
  type WatcherType,
  type WatchKind,
  type WatchRemovedEvent,
} from './watches/kinds.js';
export {
  WATCHES_PER_SESSION_MAX_DEFAULT,
  WatchRegistry,
  type WatchRegistryOptions,
} from './watches/registry.js';
export {
  type AddWatchResult,
  type CheckWatchesResult,
  NO_ZXID,
  type Notification,
  type NoWatcherError,
  type ReadCheck,
  type RemoveWatchesResult,
  type SetWatchesResult,
  type WatchesReport,
  type WatchLimitError,
} from './watches/results.js';
export {
  type NodeLookup,
  type NodeZxids,
  planSetWatches,
  type SetWatchesPlan,
  type SetWatchesRequest,
} from './watches/set-watches.js';
