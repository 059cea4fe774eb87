import type { ZkErrorCode } from '../codes.js';

/**
 * Marks Cairn errors on the prototype. `Symbol.for` gives the same symbol to every copy of this
 * package in a process (an ESM and a CJS build may both load), so `isCairnError` works where
 * `instanceof` would not (STYLE §2, §7).
 */
const CAIRN_ERROR: unique symbol = Symbol.for('@cairn/znode.CairnError');

export interface CairnErrorOptions {
  /** What went wrong underneath, kept for logs; never part of the contract. */
  readonly cause?: unknown;
  /** Replaces the default message, ZooKeeper's `KeeperErrorCode = NoNode for /a`. */
  readonly message?: string;
}

/**
 * An operating error (STYLE §7): expected, typed by ZooKeeper's code, failing one call. Check
 * `code` (and `path`), never the class or the message text: `if (isCairnError(e) && e.code ===
 * 'NoNode')`. Each code has a thin subclass (`NoNodeError`, …) that `errorFromCode` builds.
 */
export class CairnError extends Error {
  override readonly name: string = 'CairnError';
  readonly code: ZkErrorCode;
  /** The znode the error concerns, when there is one. */
  declare readonly path?: string;

  constructor(code: ZkErrorCode, path?: string, options: CairnErrorOptions = {}) {
    super(
      options.message ?? defaultMessage(code, path),
      'cause' in options ? { cause: options.cause } : undefined,
    );
    this.code = code;
    if (path !== undefined) this.path = path;
  }

  get [CAIRN_ERROR](): true {
    return true;
  }
}

/** Whether `value` is a `CairnError` from any copy of this package. */
export function isCairnError(value: unknown): value is CairnError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { readonly [CAIRN_ERROR]?: unknown })[CAIRN_ERROR] === true
  );
}

/** ZooKeeper's `KeeperException.getMessage()` shape, so logs read the same as ZooKeeper's. */
function defaultMessage(code: ZkErrorCode, path: string | undefined): string {
  return path === undefined ? `KeeperErrorCode = ${code}` : `KeeperErrorCode = ${code} for ${path}`;
}
