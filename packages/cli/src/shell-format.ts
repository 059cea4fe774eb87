/**
 * How `cairn shell` prints what it gets, as ZooKeeper's zkCli.sh does: watch events as
 * `WATCHER::` blocks, Stats field by field, errors with zkCli's messages.
 */
import type { ZkReplyError, ZkStat } from './zk-client.js';

const EVENT_NAMES: Record<number, string> = {
  [-1]: 'None',
  1: 'NodeCreated',
  2: 'NodeDeleted',
  3: 'NodeDataChanged',
  4: 'NodeChildrenChanged',
  5: 'DataWatchRemoved',
  6: 'ChildWatchRemoved',
  7: 'PersistentWatchRemoved',
};
const STATE_NAMES: Record<number, string> = { 3: 'SyncConnected', [-112]: 'Expired' };

export function describeEvent(event: { type: number; state: number; path: string }): string {
  const type = EVENT_NAMES[event.type] ?? String(event.type);
  const state = STATE_NAMES[event.state] ?? String(event.state);
  return `WATCHER::\n\nWatchedEvent state:${state} type:${type} path:${event.path}`;
}

/** The message zkCli prints for a failed request. */
export function describeReplyError(error: ZkReplyError): string {
  switch (error.code) {
    case -101:
      return `Node does not exist: ${error.path}`;
    case -110:
      return `Node already exists: ${error.path}`;
    case -103:
      return `version No is not valid : ${error.path}`;
    case -111:
      return `Node not empty: ${error.path}`;
    case -108:
      return `Ephemerals cannot have children: ${error.path}`;
    case -112:
      return error.message;
    default:
      return `KeeperErrorCode = ${error.code} for ${error.path}`;
  }
}

/** Splits a line into words; double or single quotes keep spaces. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = pattern.exec(line); m !== null; m = pattern.exec(line))
    words.push(m[1] ?? m[2] ?? m[3] ?? '');
  return words;
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

export function formatStat(stat: ZkStat): string[] {
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${new Date(Number(stat.ctime)).toUTCString()}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${new Date(Number(stat.mtime)).toUTCString()}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}
