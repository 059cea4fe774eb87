/**
 * `cairn start`'s settings from flags and an optional JSON config file (flags win), validated
 * once into `createNode` and `createZkServer` options. Config keys are the flag names in
 * camelCase (`clientPort` for `--client-port`); `peers` may be the flag's string or an object.
 */
import { readFileSync } from 'node:fs';
import type { NodeOptions } from '@cairn/node';
import { FOUR_LETTER_WORDS, type FourLetterWord, type ZkServerOptions } from '@cairn/zk-server';
import { type FlagSpec, parseAddress, parseInteger } from './flags.js';
import { UsageError } from './usage-error.js';

export const START_FLAGS = {
  id: 'string',
  data: 'string',
  listen: 'string',
  peers: 'string',
  'client-port': 'string',
  'client-host': 'string',
  'session-timeout-min': 'string',
  'session-timeout-max': 'string',
  'snapshot-entries': 'string',
  'tls-cert': 'string',
  'tls-key': 'string',
  'tls-ca': 'string',
  secret: 'string',
  'four-letter-words': 'string',
  config: 'string',
} as const satisfies FlagSpec;

type StartFlag = keyof typeof START_FLAGS;

/** The four-letter words `cairn start` answers unless told otherwise (`cairn status` needs srvr and mntr). */
export const DEFAULT_FOUR_LETTER_WORDS: readonly FourLetterWord[] = [
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'isro',
];

export interface StartConfig {
  readonly node: NodeOptions & { readonly id: number; readonly dataDir: string };
  readonly server: ZkServerOptions & { readonly host: string; readonly port: number };
}

const camel = (flag: string): string =>
  flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Reads `--config` (if any) into flag-shaped strings. */
function readConfigFile(path: string): Map<StartFlag, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`config file ${path} must hold a JSON object`);
  const byKey = new Map(
    Object.keys(START_FLAGS)
      .filter((f) => f !== 'config')
      .map((f) => [camel(f), f as StartFlag]),
  );
  const values = new Map<StartFlag, string>();
  for (const [key, value] of Object.entries(parsed)) {
    const flag = byKey.get(key);
    if (flag === undefined)
      throw new UsageError(
        `config file ${path}: unknown key '${key}' (known: ${[...byKey.keys()].join(', ')})`,
      );
    if (flag === 'peers' && typeof value === 'object' && value !== null && !Array.isArray(value))
      values.set(
        flag,
        Object.entries(value)
          .map(([id, address]) => `${id}=${String(address)}`)
          .join(','),
      );
    else if (flag === 'four-letter-words' && Array.isArray(value))
      values.set(flag, value.join(','));
    else if (typeof value === 'string' || typeof value === 'number')
      values.set(flag, String(value));
    else throw new UsageError(`config file ${path}: '${key}' must be a string or a number`);
  }
  return values;
}

/** `1=127.0.0.1:7001,2=127.0.0.1:7002` as a peers map. */
export function parsePeers(text: string): Record<number, string> {
  const peers: Record<number, string> = {};
  for (const item of text.split(',').map((s) => s.trim())) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new UsageError(`--peers entries look like 1=host:port, got '${item}'`);
    const id = parseInteger('peers id', item.slice(0, eq), 1, 32_767);
    const address = item.slice(eq + 1);
    parseAddress(`peers ${id}`, address);
    if (peers[id] !== undefined) throw new UsageError(`--peers lists member ${id} twice`);
    peers[id] = address;
  }
  return peers;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Flags over the config file over the defaults: one member, `./data`, 127.0.0.1:2181. */
export function resolveStartConfig(flags: ReadonlyMap<string, string | true>): StartConfig {
  const configPath = flags.get('config');
  const values = typeof configPath === 'string' ? readConfigFile(configPath) : new Map();
  for (const [name, value] of flags)
    if (name !== 'config' && typeof value === 'string') values.set(name as StartFlag, value);
  const get = (flag: StartFlag): string | undefined => values.get(flag);
  const int = (flag: StartFlag, min: number, max: number): number | undefined => {
    const text = get(flag);
    return text === undefined ? undefined : parseInteger(flag, text, min, max);
  };

  const id = int('id', 1, 32_767) ?? 1;
  const peersText = get('peers');
  const peers = peersText === undefined ? undefined : parsePeers(peersText);
  if (peers !== undefined && peers[id] === undefined)
    throw new UsageError(`--peers must list this member (--id ${id})`);
  let listen = get('listen');
  if (listen !== undefined) parseAddress('listen', listen);
  if (listen === undefined && peers !== undefined) listen = peers[id];
  const sessionTimeoutMinMs = int('session-timeout-min', 1, 24 * 3600_000);
  const sessionTimeoutMaxMs = int('session-timeout-max', 1, 24 * 3600_000);
  if (
    (sessionTimeoutMinMs ?? 4_000) >
    (sessionTimeoutMaxMs ?? Math.max(40_000, sessionTimeoutMinMs ?? 0))
  )
    throw new UsageError('--session-timeout-min must not exceed --session-timeout-max');
  const snapshotEntries = int('snapshot-entries', 1, Number.MAX_SAFE_INTEGER);
  const tlsFlags = (['tls-cert', 'tls-key', 'tls-ca'] as const).filter((f) => get(f) !== undefined);
  if (tlsFlags.length > 0 && tlsFlags.length < 3)
    throw new UsageError('--tls-cert, --tls-key and --tls-ca go together');
  const tls =
    tlsFlags.length === 3
      ? {
          cert: readPem('tls-cert', get('tls-cert') as string),
          key: readPem('tls-key', get('tls-key') as string),
          ca: readPem('tls-ca', get('tls-ca') as string),
        }
      : undefined;
  const secret = get('secret');
  if (secret !== undefined && secret.length === 0)
    throw new UsageError('--secret must not be empty');
  const clientHost = get('client-host') ?? '127.0.0.1';
  if (clientHost.length === 0) throw new UsageError('--client-host must not be empty');
  const words = parseFourLetterWords(get('four-letter-words'));

  const node: StartConfig['node'] = {
    id,
    dataDir: get('data') ?? './data',
    ...(peers === undefined ? {} : { peers }),
    ...(listen === undefined ? {} : { listen }),
    ...(sessionTimeoutMinMs === undefined ? {} : { sessionTimeoutMinMs }),
    ...(sessionTimeoutMaxMs === undefined ? {} : { sessionTimeoutMaxMs }),
    ...(snapshotEntries === undefined ? {} : { snapshotEntries }),
    ...(tls === undefined ? {} : { tls }),
    ...(secret === undefined ? {} : { secret }),
  };
  const server: StartConfig['server'] = {
    host: clientHost,
    port: int('client-port', 0, 65_535) ?? 2181,
    fourLetterWords: words,
    ...(sessionTimeoutMinMs === undefined ? {} : { minSessionTimeoutMs: sessionTimeoutMinMs }),
    ...(sessionTimeoutMaxMs === undefined ? {} : { maxSessionTimeoutMs: sessionTimeoutMaxMs }),
  };
  return { node, server };
}

function parseFourLetterWords(text: string | undefined): readonly FourLetterWord[] | '*' {
  if (text === undefined) return DEFAULT_FOUR_LETTER_WORDS;
  if (text.trim() === '*') return '*';
  const words = text
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w.length > 0);
  for (const word of words)
    if (!(FOUR_LETTER_WORDS as readonly string[]).includes(word))
      throw new UsageError(
        `--four-letter-words: unknown word '${word}' (known: ${FOUR_LETTER_WORDS.join(', ')}, or *)`,
      );
  return words as FourLetterWord[];
}
