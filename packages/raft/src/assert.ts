/**
 * Programmer errors: a broken invariant stops the node (STYLE.md §7). Operating errors are
 * values or typed `RaftError`s instead.
 */
export class RaftAssertionError extends Error {
  override readonly name = 'RaftAssertionError';
  readonly code = 'AssertionFailed';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftAssertionError(message);
}

export function assertNever(value: never, what: string): never {
  throw new RaftAssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
