/**
 * Question: how many entries per second does LevelLog make durable (`sync: true`) at batch
 * sizes 1, 16 and 256, compared with the raw fsync rate of the same folder?
 *
 * The raw rate is a plain file in the bench folder: append 128 bytes, fdatasync, in a loop.
 * Each LevelLog row opens a fresh folder beside it and appends batches of 128-byte entries,
 * one synced write per batch (one Ready). Batching is where the throughput comes from: one
 * fsync carries the whole batch (issue 4: group commit). Goals: with batching, at least 50x the
 * raw fsync rate in entries/s; a batch of 1 within 2x of one raw fsync (the overhead of the
 * codec, checksums and LevelDB's log over a bare fdatasync). `heap B/entry` is what the timed
 * part allocated on the V8 heap per entry (bench/heap.ts): the Entry objects this loop builds,
 * the adapter's in-memory log, LevelDB's bindings; segment bytes live off the heap.
 *
 *   npx tsx --conditions=source bench/storage.ts             # the full table, ~15 s
 *   npx tsx --conditions=source bench/storage.ts --quick     # a short smoke run
 *   npx tsx --conditions=source bench/storage.ts --dir=/mnt/ssd   # another disk
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Entry, type LogIndex, nodeId, type Term } from '@cairn/raft';
import { LevelLog } from '@cairn/storage-level';
import { machineLine, startAllocationCount } from './heap.js';

const ENTRY_BYTES = 128;
const BATCHES = [1, 16, 256];
const GOAL_BATCHING_FACTOR = 50;
const GOAL_SINGLE_SLOWDOWN_MAX = 2;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
for (const arg of args) {
  if (!/^--(quick|dir=.+)$/.test(arg))
    throw new Error(`unknown argument ${arg}: use --quick, --dir=PATH`);
}
const baseDir = args.find((arg) => arg.startsWith('--dir='))?.slice('--dir='.length) ?? tmpdir();
/** Timed part of each row, after the warm-up. */
const ROW_MS = quick ? 300 : 3_000;
const WARMUP_MS = quick ? 50 : 500;

interface Row {
  label: string;
  batch: number;
  entries: number;
  seconds: number;
  /** Synced writes (fdatasyncs or synced batches) per second. */
  syncsPerSecond: number;
  entriesPerSecond: number;
  /** V8 heap bytes allocated per entry during the timed part. */
  heapBytesPerEntry: number;
}

/** Calls `step` (one synced write of `batch` entries) for WARMUP_MS, then for ROW_MS. */
async function measure(
  label: string,
  batch: number,
  step: () => Promise<void> | void,
): Promise<Row> {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) await step();
  let writes = 0;
  const allocation = startAllocationCount();
  const start = performance.now();
  const end = start + ROW_MS;
  let now = start;
  while (now < end) {
    await step();
    writes++;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  const heapBytes = allocation.stop();
  return {
    label,
    batch,
    entries: writes * batch,
    seconds,
    syncsPerSecond: writes / seconds,
    entriesPerSecond: (writes * batch) / seconds,
    heapBytesPerEntry: heapBytes / (writes * batch),
  };
}

function rawFsync(dir: string): Promise<Row> {
  const fd = openSync(join(dir, 'raw-fsync.bin'), 'w');
  const record = new Uint8Array(ENTRY_BYTES).fill(7);
  return measure('raw fdatasync', 1, () => {
    writeSync(fd, record);
    fdatasyncSync(fd);
  }).finally(() => closeSync(fd));
}

async function levelRow(dir: string, batch: number): Promise<Row> {
  const log = await LevelLog.open({
    dir: join(dir, `level-${batch}`),
    clusterId: 'bench',
    nodeId: nodeId(1),
  });
  const data = new Uint8Array(ENTRY_BYTES).fill(9);
  let next = 1;
  try {
    return await measure('LevelLog', batch, async () => {
      const entries: Entry[] = [];
      for (let i = 0; i < batch; i++) {
        entries.push({ index: (next + i) as LogIndex, term: 1 as Term, type: 'normal', data });
      }
      await log.write({ entries, sync: true });
      next += batch;
    });
  } finally {
    await log.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(baseDir, 'cairn-bench-storage-'));
  try {
    const raw = await rawFsync(dir);
    const rows: Row[] = [raw];
    for (const batch of BATCHES) rows.push(await levelRow(dir, batch));
    report(dir, raw, rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(dir: string, raw: Row, rows: readonly Row[]): void {
  const count = (value: number): string => Math.round(value).toLocaleString('en-US');
  console.log(
    `Storage: durable appends (sync: true, ${ENTRY_BYTES}-byte entries) vs raw fdatasync`,
  );
  console.log(`${machineLine()}, folder ${dir}${quick ? ', --quick' : ''}`);
  console.log('');
  const header = [
    'writer',
    'batch',
    'entries',
    'seconds',
    'entries/s',
    'syncs/s',
    'x raw fsync',
    'heap B/entry',
  ];
  const cells = rows.map((row) => [
    row.label,
    String(row.batch),
    count(row.entries),
    row.seconds.toFixed(2),
    count(row.entriesPerSecond),
    count(row.syncsPerSecond),
    `${(row.entriesPerSecond / raw.syncsPerSecond).toFixed(1)}x`,
    row.heapBytesPerEntry.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (cols: string[]): string =>
    cols
      .map((col, i) => (i === 0 ? col.padEnd(widths[i] ?? 0) : col.padStart(widths[i] ?? 0)))
      .join('  ');
  console.log(line(header));
  for (const row of cells) console.log(line(row));
  console.log('');
  const level = rows.filter((row) => row.label === 'LevelLog');
  const best = level.reduce((a, b) => (b.entriesPerSecond > a.entriesPerSecond ? b : a));
  const factor = best.entriesPerSecond / raw.syncsPerSecond;
  console.log(
    `goal (batching >= ${GOAL_BATCHING_FACTOR}x the raw fsync rate in entries/s): ` +
      `${factor >= GOAL_BATCHING_FACTOR ? 'met' : 'NOT met'} ` +
      `(best ${count(best.entriesPerSecond)} entries/s at batch ${best.batch}, ${factor.toFixed(1)}x ` +
      `${count(raw.syncsPerSecond)} fsyncs/s)`,
  );
  const single = level.find((row) => row.batch === 1);
  const slowdown =
    single === undefined ? Number.POSITIVE_INFINITY : raw.syncsPerSecond / single.syncsPerSecond;
  console.log(
    `goal (batch of 1 within ${GOAL_SINGLE_SLOWDOWN_MAX}x of one raw fsync): ` +
      `${slowdown <= GOAL_SINGLE_SLOWDOWN_MAX ? 'met' : 'NOT met'} ` +
      `(${count(single?.syncsPerSecond ?? 0)} writes/s vs ${count(raw.syncsPerSecond)} fsyncs/s: ` +
      `one write takes ${slowdown.toFixed(2)}x one fsync)`,
  );
}

await main();
