/**
 * `cairn shell --server host:port [command ...]`: a zkCli-like shell over the wire client. With
 * a command it runs that one; otherwise it reads commands from stdin, one a line (`#` starts a
 * comment), so it is scriptable. Watch events print as zkCli prints them. Exit status 1 if any
 * command failed, 2 for a usage error.
 */
import { createInterface } from 'node:readline';
import { parseAddress, parseFlags, parseInteger } from './flags.js';
import type { Output } from './output.js';
import {
  describeEvent,
  describeReplyError,
  runShellCommand,
  tokenize,
  ZkReplyError,
} from './shell-commands.js';
import { UsageError } from './usage-error.js';
import { ZkClient } from './zk-client.js';

const SHELL_FLAGS = { server: 'string', timeout: 'string' } as const;

export async function runShell(
  argv: readonly string[],
  output: Output,
  input: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const { values, positionals } = parseFlags(argv, SHELL_FLAGS);
  const server = parseAddress(
    'server',
    (values.get('server') as string | undefined) ?? '127.0.0.1:2181',
  );
  const timeoutText = values.get('timeout');
  const sessionTimeoutMs =
    typeof timeoutText === 'string' ? parseInteger('timeout', timeoutText, 1, 3_600_000) : 30_000;
  let client: ZkClient;
  try {
    client = await ZkClient.connect(server.host, server.port, { sessionTimeoutMs });
  } catch (error) {
    output.err(
      `cairn shell: cannot connect to ${server.host}:${server.port}: ${(error as Error).message}`,
    );
    return 1;
  }
  client.onEvent((event) => output.out(describeEvent(event)));
  let failed = false;
  const run = async (line: string): Promise<boolean> => {
    const words = tokenize(line.replace(/^\s*#.*$/, ''));
    try {
      return await runShellCommand(client, words, output);
    } catch (error) {
      failed = true;
      if (error instanceof ZkReplyError) output.err(describeReplyError(error));
      else if (error instanceof UsageError) output.err(error.message);
      else {
        output.err(`cairn shell: ${(error as Error).message}`);
        return false;
      }
      return true;
    }
  };
  try {
    if (positionals.length > 0)
      await run(positionals.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' '));
    else {
      const interactive = (input as { isTTY?: boolean }).isTTY === true;
      const lines = createInterface({ input, terminal: interactive });
      const prompt = `[cairn: ${server.host}:${server.port}] `;
      if (interactive) process.stdout.write(prompt);
      for await (const line of lines) {
        if (!(await run(line))) break;
        if (interactive) process.stdout.write(prompt);
      }
      lines.close();
    }
  } finally {
    await client.close();
  }
  return failed ? 1 : 0;
}
