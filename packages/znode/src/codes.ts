/**
 * ZooKeeper's error codes (`KeeperException.Code`), the one table that feeds the error classes,
 * the results of `apply`, and the wire encoder in zk-server.
 */
export const ZK_ERROR_CODES = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  ThrottledOp: -127,
} as const;

export type ZkErrorCode = Exclude<keyof typeof ZK_ERROR_CODES, 'Ok'>;
export type ZkResultCode = keyof typeof ZK_ERROR_CODES;

/** The code name for a wire number, or null if ZooKeeper has no such code. */
export function codeName(code: number): ZkResultCode | null {
  for (const [name, value] of Object.entries(ZK_ERROR_CODES))
    if (value === code) return name as ZkResultCode;
  return null;
}
