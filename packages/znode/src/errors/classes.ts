import { CairnError, type CairnErrorOptions } from './cairn-error.js';

/*
 * One thin subclass per ZooKeeper code (STYLE §7), in the order of `ZK_ERROR_CODES`. The class
 * is `<Code>Error`, except where the code already ends in `Error` (`SystemError`, `APIError`).
 * Each narrows `code` to its own literal, so a caught error can be switched on `code`.
 */

/** -1: A server-side failure with no better code; also what `toCairnError` makes of anything thrown that is not a Cairn error. */
export class SystemError extends CairnError {
  override readonly name = 'SystemError';
  declare readonly code: 'SystemError';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('SystemError', path, options);
  }
}

/** -2: A runtime inconsistency; in a failed multi, the code of every op after the failing one. */
export class RuntimeInconsistencyError extends CairnError {
  override readonly name = 'RuntimeInconsistencyError';
  declare readonly code: 'RuntimeInconsistency';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('RuntimeInconsistency', path, options);
  }
}

/** -3: A data inconsistency was found. */
export class DataInconsistencyError extends CairnError {
  override readonly name = 'DataInconsistencyError';
  declare readonly code: 'DataInconsistency';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('DataInconsistency', path, options);
  }
}

/** -4: The connection to the server was lost; the outcome of an operation in flight is unknown. */
export class ConnectionLossError extends CairnError {
  override readonly name = 'ConnectionLossError';
  declare readonly code: 'ConnectionLoss';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('ConnectionLoss', path, options);
  }
}

/** -5: A request or response could not be encoded or decoded. */
export class MarshallingError extends CairnError {
  override readonly name = 'MarshallingError';
  declare readonly code: 'MarshallingError';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('MarshallingError', path, options);
  }
}

/** -6: The operation is not implemented or not enabled (e.g. TTL nodes without extended types). */
export class UnimplementedError extends CairnError {
  override readonly name = 'UnimplementedError';
  declare readonly code: 'Unimplemented';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('Unimplemented', path, options);
  }
}

/** -7: The operation did not complete in time; its outcome is unknown. */
export class OperationTimeoutError extends CairnError {
  override readonly name = 'OperationTimeoutError';
  declare readonly code: 'OperationTimeout';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('OperationTimeout', path, options);
  }
}

/** -8: Invalid arguments: a bad path, a reserved path, oversized data, a bad TTL. */
export class BadArgumentsError extends CairnError {
  override readonly name = 'BadArgumentsError';
  declare readonly code: 'BadArguments';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('BadArguments', path, options);
  }
}

/** -12: The session is not known to the server (ZooKeeper uses it internally). */
export class UnknownSessionError extends CairnError {
  override readonly name = 'UnknownSessionError';
  declare readonly code: 'UnknownSession';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('UnknownSession', path, options);
  }
}

/** -13: No quorum of the new configuration is connected and up to date with the leader. */
export class NewConfigNoQuorumError extends CairnError {
  override readonly name = 'NewConfigNoQuorumError';
  declare readonly code: 'NewConfigNoQuorum';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NewConfigNoQuorum', path, options);
  }
}

/** -14: Another reconfiguration is in progress. */
export class ReconfigInProgressError extends CairnError {
  override readonly name = 'ReconfigInProgressError';
  declare readonly code: 'ReconfigInProgress';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('ReconfigInProgress', path, options);
  }
}

/** -100: The base of the API error range; ZooKeeper never returns it. */
export class APIError extends CairnError {
  override readonly name = 'APIError';
  declare readonly code: 'APIError';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('APIError', path, options);
  }
}

/** -101: The node does not exist (for a create: its parent does not). */
export class NoNodeError extends CairnError {
  override readonly name = 'NoNodeError';
  declare readonly code: 'NoNode';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NoNode', path, options);
  }
}

/** -102: The session lacks the permission the ACL requires. */
export class NoAuthError extends CairnError {
  override readonly name = 'NoAuthError';
  declare readonly code: 'NoAuth';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NoAuth', path, options);
  }
}

/** -103: The expected version does not match the node's. */
export class BadVersionError extends CairnError {
  override readonly name = 'BadVersionError';
  declare readonly code: 'BadVersion';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('BadVersion', path, options);
  }
}

/** -108: Ephemeral nodes may not have children. */
export class NoChildrenForEphemeralsError extends CairnError {
  override readonly name = 'NoChildrenForEphemeralsError';
  declare readonly code: 'NoChildrenForEphemerals';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NoChildrenForEphemerals', path, options);
  }
}

/** -110: The node already exists. */
export class NodeExistsError extends CairnError {
  override readonly name = 'NodeExistsError';
  declare readonly code: 'NodeExists';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NodeExists', path, options);
  }
}

/** -111: The node has children. */
export class NotEmptyError extends CairnError {
  override readonly name = 'NotEmptyError';
  declare readonly code: 'NotEmpty';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NotEmpty', path, options);
  }
}

/** -112: The session has expired; its ephemerals are gone and it cannot be used again. */
export class SessionExpiredError extends CairnError {
  override readonly name = 'SessionExpiredError';
  declare readonly code: 'SessionExpired';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('SessionExpired', path, options);
  }
}

/** -113: An invalid callback was given. */
export class InvalidCallbackError extends CairnError {
  override readonly name = 'InvalidCallbackError';
  declare readonly code: 'InvalidCallback';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('InvalidCallback', path, options);
  }
}

/** -114: The ACL is empty, has an unknown scheme or a malformed id, or uses `auth` without an authenticated id. */
export class InvalidACLError extends CairnError {
  override readonly name = 'InvalidACLError';
  declare readonly code: 'InvalidACL';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('InvalidACL', path, options);
  }
}

/** -115: Authentication failed; the session is unusable. */
export class AuthFailedError extends CairnError {
  override readonly name = 'AuthFailedError';
  declare readonly code: 'AuthFailed';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('AuthFailed', path, options);
  }
}

/** -118: The session moved to another server; the operation was ignored. */
export class SessionMovedError extends CairnError {
  override readonly name = 'SessionMovedError';
  declare readonly code: 'SessionMoved';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('SessionMoved', path, options);
  }
}

/** -119: A state-changing request reached a read-only server. */
export class NotReadOnlyError extends CairnError {
  override readonly name = 'NotReadOnlyError';
  declare readonly code: 'NotReadOnly';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NotReadOnly', path, options);
  }
}

/** -120: An ephemeral create on a local (not upgraded) session. */
export class EphemeralOnLocalSessionError extends CairnError {
  override readonly name = 'EphemeralOnLocalSessionError';
  declare readonly code: 'EphemeralOnLocalSession';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('EphemeralOnLocalSession', path, options);
  }
}

/** -121: removeWatches named a watch that does not exist. */
export class NoWatcherError extends CairnError {
  override readonly name = 'NoWatcherError';
  declare readonly code: 'NoWatcher';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('NoWatcher', path, options);
  }
}

/** -122: The request did not complete within the allowed time. */
export class RequestTimeoutError extends CairnError {
  override readonly name = 'RequestTimeoutError';
  declare readonly code: 'RequestTimeout';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('RequestTimeout', path, options);
  }
}

/** -123: Reconfiguration is disabled. */
export class ReconfigDisabledError extends CairnError {
  override readonly name = 'ReconfigDisabledError';
  declare readonly code: 'ReconfigDisabled';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('ReconfigDisabled', path, options);
  }
}

/** -124: The server closed the session because it requires SASL authentication. */
export class SessionClosedRequireSaslAuthError extends CairnError {
  override readonly name = 'SessionClosedRequireSaslAuthError';
  declare readonly code: 'SessionClosedRequireSaslAuth';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('SessionClosedRequireSaslAuth', path, options);
  }
}

/** -125: The operation would exceed the quota set on the path. */
export class QuotaExceededError extends CairnError {
  override readonly name = 'QuotaExceededError';
  declare readonly code: 'QuotaExceeded';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('QuotaExceeded', path, options);
  }
}

/** -127: The operation was throttled and not executed at all. */
export class ThrottledOpError extends CairnError {
  override readonly name = 'ThrottledOpError';
  declare readonly code: 'ThrottledOp';
  constructor(path?: string, options?: CairnErrorOptions) {
    super('ThrottledOp', path, options);
  }
}
