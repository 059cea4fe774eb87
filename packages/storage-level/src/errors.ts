/**
 * Codes of the storage failures the `DurableLog` contract names. Every one is fatal for the
 * node: it stops rather than vote or acknowledge with a log it cannot trust (STYLE §7).
 */
export type StorageErrorCode =
  | 'StorageCorrupted'
  | 'StorageLocked'
  | 'StorageMismatch'
  | 'StorageFailed';

/**
 * A storage failure. `key` names the damaged record (for `StorageCorrupted`); `cause` keeps the
 * original error (LevelDB's lock error, an I/O error). Check `code`, never `instanceof`: a CJS
 * and an ESM copy of this package may be loaded at once.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly key: string | undefined;
  constructor(
    code: StorageErrorCode,
    message: string,
    options: { readonly key?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options.key;
  }
}
