/**
 * `cairn shell [host:port,host:port,...] [command ...]`: a zkCli-like shell over one ZooKeeper
 * session that fails over to the next host of the connect string when its connection is lost,
 * keeping the session (`ZkSession`). With a command it runs that one; otherwise it reads
 * commands from stdin, one a line (`#` starts a comment), so it is scriptable; on a terminal it
 * prompts, completes commands and paths with Tab, and keeps a history file (`shell-history.ts`).
 * Watch events print as zkCli prints them, connection changes go to stderr. Exit status 1 if
 * any command failed, 2 for a usage error.
 */
import { createInterface } from 'node:readline';
import {
  DEFAULT_CONNECT_STRING,
  formatHostPort,
  type HostPort,
  looksLikeConnectString,
  parseConnectString,
} from './connect-string.js';
import { parseFlags, parseInteger } from './flags.js';
import type { Output } from './output.js';
import { runShellCommand } from './shell-commands.js';
import { createCompleter } from './shell-completer.js';
import { describeEvent, describeReplyError, tokenize } from './shell-format.js';
import { appendHistory, HISTORY_LINES_MAX, historyFile, loadHistory } from './shell-history.js';
import { UsageError } from './usage-error.js';
import { ZkConnectionLossError, ZkReplyError } from './zk-client.js';
import { type SessionState, ZkSession } from './zk-session.js';

const SHELL_FLAGS = { server: 'string', timeout: 'string' } as const;

/** The hosts (positional connect string or `--server`) and the one-shot command words. */
function hostsAndCommand(
  values: ReadonlyMap<string, string | true>,
  positionals: readonly string[],
): { hosts: HostPort[]; command: readonly string[] } {
  const server = values.get('server');
  const first = positionals[0];
  const positional = first !== undefined && looksLikeConnectString(first);
  if (typeof server === 'string' && positional)
    throw new UsageError('give the connect string or --server, not both');
  if (typeof server === 'string')
    return { hosts: parseConnectString(server, '--server'), command: positionals };
  if (positional) return { hosts: parseConnectString(first), command: positionals.slice(1) };
  return { hosts: parseConnectString(DEFAULT_CONNECT_STRING), command: positionals };
}

function describeState(state: SessionState): string {
  switch (state.type) {
    case 'disconnected':
      return `cairn shell: connection to ${formatHostPort(state.from)} lost (${state.reason}); trying the next host`;
    case 'reconnected':
      return `cairn shell: reconnected to ${formatHostPort(state.to)}, session kept`;
    case 'expired':
      return `cairn shell: session expired: ${state.reason}`;
  }
}

export async function runShell(
  argv: readonly string[],
  output: Output,
  input: NodeJS.ReadableStream = process.stdin,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { values, positionals } = parseFlags(argv, SHELL_FLAGS);
  const { hosts, command } = hostsAndCommand(values, positionals);
  const timeoutText = values.get('timeout');
  const sessionTimeoutMs =
    typeof timeoutText === 'string' ? parseInteger('timeout', timeoutText, 1, 3_600_000) : 30_000;
  let session: ZkSession;
  try {
    session = await ZkSession.open(hosts, {
      sessionTimeoutMs,
      onEvent: (event) => output.out(describeEvent(event)),
      onState: (state) => output.err(describeState(state)),
    });
  } catch (error) {
    output.err(`cairn shell: cannot connect: ${(error as Error).message}`);
    return 1;
  }
  const ctx = { session, output, hosts };
  let failed = false;
  const run = async (line: string): Promise<boolean> => {
    const words = tokenize(line.replace(/^\s*#.*$/, ''));
    try {
      return await runShellCommand(ctx, words);
    } catch (error) {
      failed = true;
      if (error instanceof ZkReplyError) output.err(describeReplyError(error));
      else if (error instanceof UsageError) output.err(error.message);
      else if (error instanceof ZkConnectionLossError)
        output.err(`cairn shell: connection lost during the command: ${error.message}`);
      else {
        output.err(`cairn shell: ${(error as Error).message}`);
        return false;
      }
      return true;
    }
  };
  try {
    if (command.length > 0) await run(command.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' '));
    else await readCommands(input, session, run, historyFile(env));
  } finally {
    await session.close();
  }
  return failed ? 1 : 0;
}

/** Reads command lines from `input` until quit or its end; a terminal gets a prompt. */
async function readCommands(
  input: NodeJS.ReadableStream,
  session: ZkSession,
  run: (line: string) => Promise<boolean>,
  history: string | null,
): Promise<void> {
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const complete = createCompleter(session);
  const lines = createInterface({
    input,
    ...(interactive
      ? {
          output: process.stdout,
          terminal: true,
          history: loadHistory(history),
          historySize: HISTORY_LINES_MAX,
          completer: (
            line: string,
            done: (error: Error | null, result?: [string[], string]) => void,
          ) => {
            complete(line).then((result) => done(null, result), done);
          },
        }
      : { terminal: false }),
  });
  const prompt = (): void => {
    if (!interactive) return;
    lines.setPrompt(`[cairn: ${formatHostPort(session.host)}] `);
    lines.prompt();
  };
  prompt();
  for await (const line of lines) {
    appendHistory(history, line);
    if (!(await run(line))) break;
    prompt();
  }
  lines.close();
}
