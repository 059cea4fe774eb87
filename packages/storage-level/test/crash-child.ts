// The process the crash test kills. It loads, prints `loaded`, and waits for a line on stdin
// (the parent starts the next child while the current one runs, hiding start-up time), then
// opens the LevelLog in the folder it is given, prints `ready <lastIndex>`, and appends
// small synced batches forever, printing `ack <lastIndex>` after each write resolves (the point
// at which a node would acknowledge the entries as durable). Entry i has term 1 and data that
// encodes i, so the parent can check content as well as position. Not a test file itself.
import { type Entry, type LogIndex, nodeId, seededRandom, type Term } from '@cairn/raft';
import { LevelLog } from '../src/index.js';

/** Entries per batch: 1 to this many, so kills land in batches of different sizes. */
const BATCH_ENTRIES_MAX = 8;

export function crashEntry(index: number): Entry {
  const data = new Uint8Array(16);
  new DataView(data.buffer).setFloat64(0, index);
  new DataView(data.buffer).setFloat64(8, index * 3);
  return { index: index as LogIndex, term: 1 as Term, type: 'normal', data };
}

async function main(): Promise<void> {
  const [dir, seedText] = process.argv.slice(2);
  if (dir === undefined || seedText === undefined)
    throw new Error('usage: crash-child <dir> <seed>');
  const random = seededRandom(Number(seedText));
  process.stdout.write('loaded\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.pause();
  const log = await LevelLog.open({ dir, clusterId: 'crash', nodeId: nodeId(1) });
  let last: number = log.lastIndex();
  process.stdout.write(`ready ${last}\n`);
  for (;;) {
    const count = 1 + random.nextInt(BATCH_ENTRIES_MAX);
    const batch: Entry[] = [];
    for (let i = 1; i <= count; i++) batch.push(crashEntry(last + i));
    await log.write({ entries: batch, sync: true });
    last += count;
    process.stdout.write(`ack ${last}\n`);
  }
}

if (process.argv[1]?.endsWith('crash-child.ts')) await main();
