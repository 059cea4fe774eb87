/**
 * Scenario fixtures: each testdata/*.txt file opens with a comment saying what it proves, then
 * alternates commands and the exact trace they print (see interaction.ts). A change in the
 * core's behaviour shows up as a diff of a protocol trace. `UPDATE_FIXTURES=1` rewrites the
 * expected parts; review that diff like code.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Interaction } from './interaction.js';

const dir = join(import.meta.dirname, '..', 'testdata');
const update = process.env.UPDATE_FIXTURES === '1';

interface Block {
  command: string;
  expected: string;
  /** Line range of the expected part in the file, for rewriting. */
  start: number;
  end: number;
}

function parse(lines: string[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (lines[i + 1] !== '----')
      throw new Error(`line ${i + 1}: command without ---- after it: ${line}`);
    let end = i + 2;
    while (end < lines.length && (lines[end] as string) !== '') end++;
    blocks.push({ command: line, expected: lines.slice(i + 2, end).join('\n'), start: i + 2, end });
    i = end;
  }
  return blocks;
}

for (const file of readdirSync(dir)
  .filter((name) => name.endsWith('.txt'))
  .sort()) {
  describe(`scenario ${file}`, () => {
    it('prints the expected trace', () => {
      const path = join(dir, file);
      const lines = readFileSync(path, 'utf8').replace(/\n+$/, '').split('\n');
      const blocks = parse(lines);
      const env = new Interaction();
      const actual: string[] = [];
      for (const block of blocks) {
        const [command, ...args] = block.command.trim().split(/\s+/);
        actual.push(env.run(command as string, args));
      }
      if (update) {
        const out: string[] = [];
        let at = 0;
        blocks.forEach((block, i) => {
          out.push(...lines.slice(at, block.start));
          if (actual[i] !== '') out.push(actual[i] as string);
          at = block.end;
        });
        out.push(...lines.slice(at));
        writeFileSync(path, `${out.join('\n')}\n`);
        return;
      }
      blocks.forEach((block, i) => {
        expect(`${block.command}\n${actual[i]}`, `${file}: ${block.command}`).toBe(
          `${block.command}\n${block.expected}`,
        );
      });
    });
  });
}
