/**
 * The line `cairn start --json` prints once its client port listens: the bound addresses, for
 * scripts and for `cairn local`, which starts its members that way.
 */

export interface ReadyLine {
  readonly event: 'ready';
  readonly member: number;
  readonly members: readonly number[];
  readonly clientHost: string;
  readonly clientPort: number;
  /** `clientHost:clientPort`, ready for a connect string. */
  readonly clientAddress: string;
  /** The peer transport's address; null for a one-member cluster without peers. */
  readonly peerAddress: string | null;
  /** Absolute. */
  readonly dataDir: string;
  readonly pid: number;
}

/** The ready line in `line`, or null if it is some other line. */
export function parseReadyLine(line: string): ReadyLine | null {
  if (!line.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Partial<Record<keyof ReadyLine, unknown>>;
  if (v.event !== 'ready') return null;
  if (typeof v.member !== 'number' || typeof v.clientAddress !== 'string') return null;
  if (typeof v.clientPort !== 'number' || typeof v.dataDir !== 'string') return null;
  return value as ReadyLine;
}
