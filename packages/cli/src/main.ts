#!/usr/bin/env node
/**
 * The `cairn` command: `start`, `local` (alias `cluster`), `shell`, `status`. Usage errors print the reason and
 * exit 2; other failures exit 1.
 */
import { runCommand } from './command.js';
import { processOutput } from './output.js';

void runCommand(process.argv.slice(2), processOutput).then((status) => process.exit(status));
