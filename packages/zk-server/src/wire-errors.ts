/**
 * Errors as they go on the wire: a `CairnError`'s code name becomes ZooKeeper's number, and a
 * few codes mean "drop the connection" rather than "answer" (ZooKeeper never sends
 * ConnectionLoss; SessionMoved closes the old connection; a client that sees the socket go
 * reconnects and learns the truth). Clients that connect without the readOnly byte
 * (node-zookeeper-client) throw on any code they do not know (ZOOKEEPER.md §5.2), so newer codes
 * are mapped to the nearest one they know.
 */
import { isCairnError, ZK_ERROR_CODES, type ZkErrorCode } from '@cairn/node';

/** What to do with a failed request: answer with `err`, or close the connection unanswered. */
export type WireError = { readonly close: false; readonly err: number } | { readonly close: true };

/** Codes node-zookeeper-client 1.1.3 knows (`Exception.validateCode`). */
const LEGACY_KNOWN = new Set<number>([
  0, -1, -2, -3, -4, -5, -6, -7, -8, -100, -101, -102, -103, -108, -110, -111, -112, -113, -114,
  -115,
]);

/** The nearest known code for a legacy client, for each code it does not know. */
const LEGACY_FALLBACK: Partial<Record<ZkErrorCode, ZkErrorCode>> = {
  UnknownSession: 'SessionExpired',
  NewConfigNoQuorum: 'Unimplemented',
  ReconfigInProgress: 'Unimplemented',
  ReconfigDisabled: 'Unimplemented',
  NotReadOnly: 'Unimplemented',
  EphemeralOnLocalSession: 'BadArguments',
  NoWatcher: 'BadArguments',
  QuotaExceeded: 'BadArguments',
  SessionClosedRequireSaslAuth: 'AuthFailed',
};

/** Codes that close the connection instead of answering. */
const CLOSING: ReadonlySet<string> = new Set([
  'ConnectionLoss',
  'SessionMoved',
  'ThrottledOp',
  'RequestTimeout',
  'OperationTimeout',
]);

export function codeNumber(code: ZkErrorCode | 'Ok'): number {
  return ZK_ERROR_CODES[code];
}

/** A code for this client: itself, or for a legacy client its nearest known code. */
export function wireCode(code: ZkErrorCode, legacy: boolean): number {
  const number = codeNumber(code);
  if (!legacy || LEGACY_KNOWN.has(number)) return number;
  const fallback = LEGACY_FALLBACK[code];
  return fallback === undefined ? ZK_ERROR_CODES.SystemError : ZK_ERROR_CODES[fallback];
}

/** Anything a call threw, as the wire sees it. Non-Cairn errors are SystemError. */
export function toWireError(error: unknown, legacy: boolean): WireError {
  if (!isCairnError(error)) return { close: false, err: ZK_ERROR_CODES.SystemError };
  const code = error.code as ZkErrorCode;
  if (CLOSING.has(code)) return { close: true };
  if (!(code in ZK_ERROR_CODES)) return { close: false, err: ZK_ERROR_CODES.SystemError };
  return { close: false, err: wireCode(code, legacy) };
}
