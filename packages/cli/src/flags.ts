/**
 * A small flag parser: `--name value`, `--name=value` and boolean `--name`. Every flag must be
 * declared; an unknown flag, a missing value or a repeated flag is a `UsageError` naming it.
 */
import { UsageError } from './usage-error.js';

export type FlagKind = 'string' | 'boolean';
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedFlags {
  readonly values: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag --${name}`);
    if (values.has(name)) throw new UsageError(`--${name} given twice`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`--${name} needs a value`);
      i++;
    }
    values.set(name, value);
  }
  return { values, positionals };
}

/** An integer flag value in [min, max]. */
export function parseInteger(name: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw new UsageError(`--${name} must be an integer, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`--${name} must be in [${min}, ${max}], got ${text}`);
  return value;
}

/** `host:port` with a port in [portMin, 65535]; IPv6 hosts in brackets. */
export function parseAddress(
  name: string,
  text: string,
  portMin = 1,
): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(text.trim());
  if (match === null) throw new UsageError(`--${name} must be host:port, got '${text}'`);
  const host = (match[1] as string).replace(/^\[|\]$/g, '');
  return { host, port: parseInteger(`${name} port`, match[2] as string, portMin, 65_535) };
}
