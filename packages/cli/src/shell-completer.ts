/**
 * Tab completion for `cairn shell`: the first word completes to a command name, a word starting
 * with `/` to the children of its parent znode (one getChildren per Tab). Errors (a parent that
 * does not exist, a lost connection) complete to nothing rather than disturb the prompt.
 */
import { SHELL_COMMANDS } from './shell-commands.js';
import { childPath, getChildren, type ZnodeRequester } from './shell-tree.js';

/** readline's completion result: the candidates and the part of the line they replace. */
export type Completion = [string[], string];

export function createCompleter(client: ZnodeRequester): (line: string) => Promise<Completion> {
  return async (line) => {
    const word = /(\S*)$/.exec(line)?.[1] ?? '';
    const isFirst = line.trimStart() === word;
    if (isFirst && !word.startsWith('/'))
      return [SHELL_COMMANDS.filter((c) => c.startsWith(word)), word];
    if (!word.startsWith('/')) return [[], word];
    const slash = word.lastIndexOf('/');
    const parent = slash === 0 ? '/' : word.slice(0, slash);
    const prefix = word.slice(slash + 1);
    try {
      const { children } = await getChildren(client, parent, false);
      return [children.filter((c) => c.startsWith(prefix)).map((c) => childPath(parent, c)), word];
    } catch {
      return [[], word];
    }
  };
}
