/** Dispatches `cairn <command> [flags]` and turns failures into exit statuses. */
import { runCluster } from './cluster.js';
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
           (no flags: a one-member cluster, data in ./data, client port 127.0.0.1:2181)
  cluster  a local cluster of N members on loopback: --size N  --base-dir DIR
  shell    a zkCli-like shell: --server HOST:PORT [command ...] (else commands from stdin)
  status   srvr and mntr of a member: --server HOST:PORT
  version  print the version`;

/** Runs one command; resolves with the exit status. */
export async function runCommand(argv: readonly string[], output: Output): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await runStart(rest, output);
      case 'cluster':
        return await runCluster(rest, output);
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
