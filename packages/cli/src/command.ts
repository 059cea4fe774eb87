/** Dispatches `cairn <command> [flags]` and turns failures into exit statuses. */
import { runLocal } from './local.js';
import type { Output } from './output.js';
import { runShell } from './shell.js';
import { runStart } from './start.js';
import { runStatus } from './status.js';
import { UsageError } from './usage-error.js';
import { CLI_VERSION } from './version.js';

export const USAGE = `usage: cairn <command> [flags]

  start    run one member and its ZooKeeper client port
           --id N  --data DIR  --listen HOST:PORT  --peers 1=HOST:PORT,2=...
           --client-port PORT (0: any free port)  --client-host HOST
           --session-timeout-min MS  --session-timeout-max MS  --snapshot-entries N
           --tls-cert FILE --tls-key FILE --tls-ca FILE  --secret S
           --four-letter-words ruok,srvr,...|*  --config FILE.json
           --json (stdout: a JSON ready line with the bound addresses, then stop events)
           (no flags: a one-member cluster, data in ./data, client port 127.0.0.1:2181)
  local    a local cluster of N member processes on loopback, printing the connect string:
           --nodes N (default 3)  --base-dir DIR (default ./cluster)  --json
           (cairn cluster --size N is the same command)
  shell    a zkCli-like shell: [HOST:PORT,HOST:PORT,...] [command ...] (else commands from
           stdin); fails over to the next host keeping the session. --timeout MS
  status   the cluster as its members report it (role, term, commit, applied, lag, sessions):
           [HOST:PORT,HOST:PORT,...]  --json  --timeout MS
  version  print the version`;

/** Runs one command; resolves with the exit status. */
export async function runCommand(argv: readonly string[], output: Output): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await runStart(rest, output);
      case 'local':
      case 'cluster':
        return await runLocal(rest, output);
      case 'shell':
        return await runShell(rest, output);
      case 'status':
        return await runStatus(rest, output);
      case 'version':
      case '--version':
        output.out(`cairn ${CLI_VERSION}`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        output.out(USAGE);
        return 0;
      case undefined:
        throw new UsageError('a command is required');
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`cairn: ${error.message}`);
      output.err('run cairn help for usage');
      return 2;
    }
    output.err(`cairn: ${(error as Error).message}`);
    return 1;
  }
}
