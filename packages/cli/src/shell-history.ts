/**
 * `cairn shell`'s history file: every command line read from the prompt or stdin is appended
 * (one a line), and an interactive shell starts with the last `HISTORY_LINES_MAX` of them. The
 * file is `$CAIRN_HISTORY`, else `~/.cairn_history`; `CAIRN_HISTORY=` (empty) turns history off.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Lines of history kept (the file is cut back to this when it grows past twice as many). */
export const HISTORY_LINES_MAX = 1_000;

/** The history file, or null when history is off. */
export function historyFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env.CAIRN_HISTORY;
  if (fromEnv === undefined) return join(homedir(), '.cairn_history');
  return fromEnv === '' ? null : fromEnv;
}

/** The last lines of the file, newest first (readline's order); none if it is missing. */
export function loadHistory(file: string | null): string[] {
  if (file === null) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length > 2 * HISTORY_LINES_MAX)
    writeFileSync(file, `${lines.slice(-HISTORY_LINES_MAX).join('\n')}\n`);
  return lines.slice(-HISTORY_LINES_MAX).reverse();
}

/** Appends one command line; a history that cannot be written is not worth failing a command. */
export function appendHistory(file: string | null, line: string): void {
  if (file === null || line.trim() === '' || line.includes('\n')) return;
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // An unwritable history file (read-only home) leaves the shell working.
  }
}
