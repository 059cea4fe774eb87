export { runCommand, USAGE } from './command.js';
export {
  type HostPort,
  parseConnectString,
} from './connect-string.js';
export { type Output, processOutput } from './output.js';
export { resolveStartConfig, type StartConfig } from './start-config.js';
export { UsageError } from './usage-error.js';
export { CLI_VERSION } from './version.js';
export {
  ZkClient,
  ZkConnectionLossError,
  type ZkConnectOptions,
  type ZkEvent,
  ZkReplyError,
  type ZkStat,
} from './zk-client.js';
export {
  type SessionState,
  type WatchKind,
  ZkSession,
  type ZkSessionOptions,
} from './zk-session.js';
