/**
 * Programmer errors: a broken invariant stops the node (STYLE.md §7). Operating errors are
 * values or typed `RaftError`s instead.
 */
export class RaftAssertionError extends Error {
  override readonly name = 'RaftAssertionError';
  readonly code = 'AssertionFailed';
}

/**
 * Throws a `RaftAssertionError` unless `condition` holds. Asserts sit on hot paths (every
 * message, every Ready), so a message that interpolates values is passed as a function and
 * built only on failure: `assert(lo <= hi, () => \`range ${lo}..${hi}\`)`. A template literal
 * passed directly would be formatted on every call.
 */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new RaftAssertionError(typeof message === 'string' ? message : message());
}

export function assertNever(value: never, what: string): never {
  throw new RaftAssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
