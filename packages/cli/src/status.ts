/**
 * `cairn status [connect-string] [--json]`: asks every member of the connect string for `mntr`
 * and prints one table of the cluster (member, address, role, term, commit, applied, lag behind
 * the leader, sessions, connections, reachable), or with `--json` one JSON object. Exit status 1
 * if no address answered.
 */
import { collectClusterStatus, formatClusterStatus } from './cluster-status.js';
import { DEFAULT_CONNECT_STRING, parseConnectString } from './connect-string.js';
import { parseFlags, parseInteger } from './flags.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

export { fourLetterWord } from './four-letter-word.js';

const STATUS_FLAGS = { server: 'string', json: 'boolean', timeout: 'string' } as const;

export async function runStatus(argv: readonly string[], output: Output): Promise<number> {
  const { values, positionals } = parseFlags(argv, STATUS_FLAGS);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const server = values.get('server');
  if (typeof server === 'string' && positionals.length > 0)
    throw new UsageError('give the connect string or --server, not both');
  const hosts =
    typeof server === 'string'
      ? parseConnectString(server, '--server')
      : parseConnectString(positionals[0] ?? DEFAULT_CONNECT_STRING);
  const timeoutText = values.get('timeout');
  const timeoutMs =
    typeof timeoutText === 'string' ? parseInteger('timeout', timeoutText, 1, 600_000) : undefined;
  const status = await collectClusterStatus(hosts, timeoutMs);
  if (values.get('json') === true) output.out(JSON.stringify(status));
  else for (const line of formatClusterStatus(status)) output.out(line);
  if (status.members.every((m) => !m.reachable)) {
    if (values.get('json') !== true) output.err('cairn status: no member answered');
    return 1;
  }
  return 0;
}
