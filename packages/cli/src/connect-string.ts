/**
 * ZooKeeper connect strings: `host:port,host:port,...` (IPv6 hosts in brackets). A chroot
 * suffix (`/app`) is refused with a clear error rather than silently ignored.
 */
import { UsageError } from './usage-error.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Hosts a connect string may name at most. */
export const CONNECT_STRING_HOSTS_MAX = 64;
/** Where the commands look when given no connect string, as zkCli does. */
export const DEFAULT_CONNECT_STRING = '127.0.0.1:2181';

/** True if `text` has the shape of a connect string (so `cairn shell ls /` is not one). */
export function looksLikeConnectString(text: string): boolean {
  return /^(\[[^\]]+\]|[^:\s,/]+):\d+(,(\[[^\]]+\]|[^:\s,/]+):\d+)*(\/\S*)?$/.test(text);
}

/** Parses `host:port[,host:port]*`; `what` names the argument in errors. */
export function parseConnectString(text: string, what = 'connect string'): HostPort[] {
  const slash = text.indexOf('/');
  if (slash >= 0)
    throw new UsageError(`${what}: a chroot suffix ('${text.slice(slash)}') is not supported`);
  const parts = text.split(',').filter((part) => part.trim() !== '');
  if (parts.length === 0) throw new UsageError(`${what} must name at least one host:port`);
  if (parts.length > CONNECT_STRING_HOSTS_MAX)
    throw new UsageError(`${what} names more than ${CONNECT_STRING_HOSTS_MAX} hosts`);
  return parts.map((part) => parseHostPort(part, what));
}

function parseHostPort(text: string, what: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(text.trim());
  if (match === null) throw new UsageError(`${what} must be host:port, got '${text}'`);
  const port = Number(match[2]);
  if (!Number.isSafeInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`${what} port must be in [1, 65535], got ${match[2]}`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

export function formatConnectString(hosts: readonly HostPort[]): string {
  return hosts.map(formatHostPort).join(',');
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
