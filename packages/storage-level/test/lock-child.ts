// The process the folder-lock test starts: it opens a LevelLog in the folder it is given and
// prints `opened`, or `refused <code>` and exits. While open it holds the folder until stdin
// closes or says `close`, then closes the log, prints `closed` and exits (the parent may also
// kill it with SIGKILL instead). Not a test file itself.
import { nodeId } from '@cairn/raft';
import { LevelLog } from '../src/index.js';

async function main(): Promise<void> {
  const [dir] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: lock-child <dir>');
  let log: LevelLog;
  try {
    log = await LevelLog.open({ dir, clusterId: 'lock', nodeId: nodeId(1) });
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : '?';
    process.stdout.write(`refused ${String(code)}\n`);
    return;
  }
  process.stdout.write('opened\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk) => {
      if (String(chunk).includes('close')) resolve();
    });
    process.stdin.on('end', () => resolve());
  });
  await log.close();
  process.stdout.write('closed\n');
}

if (process.argv[1]?.endsWith('lock-child.ts')) await main();
