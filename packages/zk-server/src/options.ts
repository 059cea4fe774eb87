/** `createZkServer` options, validated once. */

/** The four-letter words the server knows (ZOOKEEPER.md §1.10, the ones Cairn can answer). */
export const FOUR_LETTER_WORDS = [
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'cons',
  'wchs',
  'dump',
  'envi',
  'isro',
] as const;
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

export interface ZkServerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free one (see `address()`). Default 2181. */
  readonly port?: number;
  /** Negotiated session timeouts are clamped into [min, max], as ZooKeeper does. Defaults 4 s, 40 s. */
  readonly minSessionTimeoutMs?: number;
  readonly maxSessionTimeoutMs?: number;
  /**
   * Largest frame a client may send, in bytes: 1 MiB of data plus room for the request's
   * other fields (jute.maxbuffer with its extra size). A bigger length prefix closes that
   * connection.
   */
  readonly maxFrameBytes?: number;
  /**
   * Four-letter words answered on the client port. Default `['srvr']`, ZooKeeper's whitelist
   * since 3.5.3; `'*'` allows all of them. Others get "… is not executed because it is not in
   * the whitelist."
   */
  readonly fourLetterWords?: readonly FourLetterWord[] | '*';
  /** Requests read from one connection and not yet answered before its socket is paused. Default 1,000. */
  readonly outstandingRequestsMax?: number;
  /** Open client connections at most; more are closed at once. Default 10,000. */
  readonly connectionsMax?: number;
}

export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly fourLetterWords: ReadonlySet<string>;
  readonly outstandingRequestsMax: number;
  readonly connectionsMax: number;
}

/** jute.maxbuffer (1 MiB) plus jute.maxbuffer.extrasize (1 KiB) for the request's other fields. */
export const MAX_FRAME_BYTES_DEFAULT = 1024 * 1024 + 1024;

export function resolveServerOptions(options: ZkServerOptions): ResolvedServerOptions {
  const int = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min)
      throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  const minSessionTimeoutMs = int('minSessionTimeoutMs', options.minSessionTimeoutMs, 4_000, 1);
  const maxSessionTimeoutMs = int(
    'maxSessionTimeoutMs',
    options.maxSessionTimeoutMs,
    Math.max(40_000, minSessionTimeoutMs),
    minSessionTimeoutMs,
  );
  const words = options.fourLetterWords ?? ['srvr'];
  for (const word of words === '*' ? [] : words)
    if (!(FOUR_LETTER_WORDS as readonly string[]).includes(word))
      throw new RangeError(`unknown four-letter word ${word}`);
  return {
    host: options.host ?? '127.0.0.1',
    port: int('port', options.port, 2181, 0),
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    maxFrameBytes: int('maxFrameBytes', options.maxFrameBytes, MAX_FRAME_BYTES_DEFAULT, 64),
    fourLetterWords: new Set(words === '*' ? FOUR_LETTER_WORDS : words),
    outstandingRequestsMax: int('outstandingRequestsMax', options.outstandingRequestsMax, 1000, 1),
    connectionsMax: int('connectionsMax', options.connectionsMax, 10_000, 1),
  };
}
