/** A bad command line or config file: `cairn` prints the message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
