export { runCommand, USAGE } from './command.js';
export { type Output, processOutput } from './output.js';
export { resolveStartConfig, type StartConfig } from './start-config.js';
export { UsageError } from './usage-error.js';
export { CLI_VERSION } from './version.js';
export { ZkClient, type ZkEvent, ZkReplyError, type ZkStat } from './zk-client.js';
