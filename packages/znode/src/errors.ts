import type { ZkErrorCode } from './codes.js';
import { CairnError, type CairnErrorOptions, isCairnError } from './errors/cairn-error.js';
import {
  APIError,
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  DataInconsistencyError,
  EphemeralOnLocalSessionError,
  InvalidACLError,
  InvalidCallbackError,
  MarshallingError,
  NewConfigNoQuorumError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  NotReadOnlyError,
  NoWatcherError,
  OperationTimeoutError,
  QuotaExceededError,
  ReconfigDisabledError,
  ReconfigInProgressError,
  RequestTimeoutError,
  RuntimeInconsistencyError,
  SessionClosedRequireSaslAuthError,
  SessionExpiredError,
  SessionMovedError,
  SystemError,
  ThrottledOpError,
  UnimplementedError,
  UnknownSessionError,
} from './errors/classes.js';
import type { OpError } from './types.js';

/**
 * The error classes and the three ways to get one: from a code (`errorFromCode`), from an
 * `apply` result (`fromOpError`), and from anything thrown (`toCairnError`, for the API edge).
 */

/** A `CairnError` whose `code` is known to be `C`. */
export type CairnErrorOf<C extends ZkErrorCode> = CairnError & { readonly code: C };

type ErrorClass<C extends ZkErrorCode> = new (
  path?: string,
  options?: CairnErrorOptions,
) => CairnErrorOf<C>;

/** Every code's class; the mapped type fails to compile when `codes.ts` gains a code. */
const ERROR_CLASSES: { readonly [C in ZkErrorCode]: ErrorClass<C> } = {
  SystemError,
  RuntimeInconsistency: RuntimeInconsistencyError,
  DataInconsistency: DataInconsistencyError,
  ConnectionLoss: ConnectionLossError,
  MarshallingError,
  Unimplemented: UnimplementedError,
  OperationTimeout: OperationTimeoutError,
  BadArguments: BadArgumentsError,
  UnknownSession: UnknownSessionError,
  NewConfigNoQuorum: NewConfigNoQuorumError,
  ReconfigInProgress: ReconfigInProgressError,
  APIError,
  NoNode: NoNodeError,
  NoAuth: NoAuthError,
  BadVersion: BadVersionError,
  NoChildrenForEphemerals: NoChildrenForEphemeralsError,
  NodeExists: NodeExistsError,
  NotEmpty: NotEmptyError,
  SessionExpired: SessionExpiredError,
  InvalidCallback: InvalidCallbackError,
  InvalidACL: InvalidACLError,
  AuthFailed: AuthFailedError,
  SessionMoved: SessionMovedError,
  NotReadOnly: NotReadOnlyError,
  EphemeralOnLocalSession: EphemeralOnLocalSessionError,
  NoWatcher: NoWatcherError,
  RequestTimeout: RequestTimeoutError,
  ReconfigDisabled: ReconfigDisabledError,
  SessionClosedRequireSaslAuth: SessionClosedRequireSaslAuthError,
  QuotaExceeded: QuotaExceededError,
  ThrottledOp: ThrottledOpError,
};

/**
 * The error of `code`'s class. A value that is not a code (a corrupt entry, a wire number
 * decoded wrongly) gives a `SystemError` naming it rather than a throw.
 */
export function errorFromCode<C extends ZkErrorCode>(
  code: C,
  path?: string,
  options?: CairnErrorOptions,
): CairnErrorOf<C> {
  if (!Object.hasOwn(ERROR_CLASSES, code)) {
    const message = `unknown error code ${typeof code === 'string' ? code : typeof code}`;
    return new SystemError(path, { ...options, message }) as CairnErrorOf<never>;
  }
  const ErrorOfCode = ERROR_CLASSES[code] as ErrorClass<C>;
  return new ErrorOfCode(path, options);
}

/** The error for a failed op as `apply` reports it (`{ code: 'NoNode', path }`). */
export function fromOpError(error: OpError, options?: CairnErrorOptions): CairnError {
  return errorFromCode(error.code, error.path, options);
}

/**
 * At the API edge (STYLE §7): a Cairn error, from any copy of this package, passes unchanged;
 * anything else becomes a `SystemError` with the original as `cause`.
 */
export function toCairnError(value: unknown): CairnError {
  if (isCairnError(value)) return value;
  return new SystemError(undefined, { cause: value, message: `SystemError: ${describe(value)}` });
}

/** A short text for a thrown value, without calling into it (`String(x)` may throw). */
function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return value;
  if (value === null) return 'null thrown';
  return `${typeof value} thrown`;
}

export {
  APIError,
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  CairnError,
  type CairnErrorOptions,
  ConnectionLossError,
  DataInconsistencyError,
  EphemeralOnLocalSessionError,
  InvalidACLError,
  InvalidCallbackError,
  isCairnError,
  MarshallingError,
  NewConfigNoQuorumError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  NotReadOnlyError,
  NoWatcherError,
  OperationTimeoutError,
  QuotaExceededError,
  ReconfigDisabledError,
  ReconfigInProgressError,
  RequestTimeoutError,
  RuntimeInconsistencyError,
  SessionClosedRequireSaslAuthError,
  SessionExpiredError,
  SessionMovedError,
  SystemError,
  ThrottledOpError,
  UnimplementedError,
  UnknownSessionError,
};
