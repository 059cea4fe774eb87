/**
 * Question: on a tree of 1,000,000 znodes, how many create, setData and delete txns per second
 * does the znode state machine apply, how many heap bytes does a znode cost beyond its data,
 * and how long does a snapshot of that tree take to write and to restore? Written in slices
 * while applies go on (`beginSnapshot`, issue 5), how long is the longest slice?
 *
 * One `ZTree` in this process, fed `apply(txn, zxid, time)` directly: no Raft, codec, I/O or
 * watches. The tree is 1,000 persistent parents under `/` with 1,000 persistent children each,
 * every name 10 characters (`/p000000042/c000000917`), every child with 100 bytes of its own
 * data (one `Uint8Array` each, seeded random bytes), all written by one session with the open
 * ACL. Txn objects are built before each timed loop (a runtime gets them decoded from the log),
 * so the loops time `apply` alone, including the result, Stat and event objects it returns.
 *
 *   npx tsx --conditions=source bench/znode.ts            # the full run, well under a minute
 *   npx tsx --conditions=source bench/znode.ts --quick    # 100 x 100 znodes, a few seconds
 *   npx tsx --conditions=source bench/znode.ts --paging   # only the paging rows
 *   npx tsx --conditions=source bench/znode.ts --slices   # build, one-go snapshot, slice rows
 *
 * Paging (a second, separate tree): one parent with PAGING_CHILDREN children whose names total
 * more than 1 MiB, read in pages of PAGE_LIMIT with `after` set to the last name of the page
 * before. "before" is the read the node used to do per page (copy the child Set, sort it,
 * binary-search `after`, slice); "after" is `getChildrenPage` on the tree's sorted child index
 * (built by the first page, which is timed too); "after, churn" creates one child and deletes
 * another between pages, so every page first folds those changes into the index. The creates row
 * compares apply under an indexed parent with the same creates under one without an index.
 *
 * Slices (on the big tree, after the one-go snapshot): `beginSnapshot` then `step(N)` until
 * done, each step timed alone (the begin too, as a slice of its own), for N = SLICE_NODES; once
 * with nothing between steps, once with SLICE_SET_DATA setData txns on random children between
 * steps ("busy"). A slice may include a garbage collection, as it would in a node. The cost of
 * keeping pre-images is timed apart, at its worst (a job begun and not stepped, so each change
 * copies its node), against the same txns with no job.
 *
 * Memory, measured with full collections forced through `v8.setFlagsFromString('--expose-gc')`
 * and `vm.runInNewContext('gc')` (no command-line flag needed), reading
 * `v8.getHeapStatistics().used_heap_size` and `process.memoryUsage().arrayBuffers`:
 *   1. an array of N slots all holding one shared empty buffer, then collect: baseline;
 *   2. the N data buffers stored into it, then collect: the growth is the data, on-heap
 *      (each `Uint8Array` and its `ArrayBuffer` object) and off-heap (100 payload bytes each,
 *      which V8 keeps outside the heap above 64 bytes);
 *   3. the tree built from those buffers (the array still holds them, so they are not counted
 *      twice), then collect: the growth is Cairn's structures alone (ZNode objects, the path
 *      map, path and child-name strings, children sets), divided by the znodes created.
 * "Beyond its data" is (2, on-heap part) + (3): everything but the 100 payload bytes.
 */

import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import {
  type Acl,
  beginSnapshot,
  readSnapshot,
  type SessionId,
  type Txn,
  writeSnapshot,
  ZTree,
  type Zxid,
} from '@cairn/znode';
import { collectGarbage, machineLine, startAllocationCount } from './heap.js';

const SEED = 1;
const DATA_BYTES = 100;
const GOAL_SET_DATA_PER_SECOND = 1_000_000;
const GOAL_HEAP_BYTES_PER_ZNODE = 250;
const START_TIME = 1_700_000_000_000;

const args = process.argv.slice(2);
for (const arg of args) {
  if (arg !== '--quick' && arg !== '--paging' && arg !== '--slices')
    throw new Error(`unknown argument ${arg}: use --quick, --paging or --slices`);
}
const quick = args.includes('--quick');
/** Only the paging rows (100,000 children, or 20,000 with --quick). */
const pagingOnly = args.includes('--paging');
/** Only the build, the one-go snapshot and the slice rows. */
const slicesOnly = args.includes('--slices');
const PARENTS = quick ? 100 : 1_000;
const CHILDREN_PER_PARENT = quick ? 100 : 1_000;
const CHILDREN = PARENTS * CHILDREN_PER_PARENT;
/** Timed setData txns, after a warm-up of SET_DATA_WARMUP. */
const SET_DATA_OPS = quick ? 100_000 : 1_000_000;
const SET_DATA_WARMUP = quick ? 20_000 : 200_000;
/** Timed creates of new children under random parents, then deletes of the same znodes. */
const CREATE_OPS = quick ? 10_000 : 200_000;
/** The hot set for the second setData row: the children of the first 1% of the parents. */
const HOT_PARENTS = PARENTS / 100;
/** setData txns are built once and replayed in rounds; their data comes from a small pool. */
const SET_DATA_BATCH = 200_000;
const DATA_POOL = 1_024;

/** The slice rows: znodes per step, and setData txns applied between steps in the busy rows. */
const SLICE_NODES: readonly number[] = [1_000, 10_000];
const SLICE_SET_DATA = 100;
/** Rounds of SLICE_SET_DATA setData for the pre-image cost row. */
const KEEPING_ROUNDS = quick ? 100 : 1_000;

/** The paging rows: children of one parent, and names per page. */
const PAGING_CHILDREN = quick ? 20_000 : 100_000;
const PAGE_LIMIT = 1_000;
/** Creates timed under the paged parent, with its child index and without. */
const PAGING_CREATE_OPS = quick ? 10_000 : 50_000;

const SESSION = 0x1_0000n as SessionId;
const OPEN: readonly Acl[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** xorshift32: deterministic bytes and picks from SEED, cheap enough for 100 MB of data. */
function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

function name(prefix: string, index: number): string {
  return prefix + String(index).padStart(9, '0');
}

/**
 * A flat copy of `text`. Concatenation makes V8 "cons strings" (rope nodes) until something
 * flattens them; a decoder hands the tree flat strings, so the bench does too (lookups then
 * compare flat strings, as they would in a runtime).
 */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function childPath(parent: number, child: number): string {
  return flat(`/${name('p', parent)}/${name('c', child)}`);
}

/** Applies txns at consecutive zxids, one millisecond apart; any failed result is a bench bug. */
class Applier {
  zxid = 0;
  constructor(readonly tree: ZTree) {}

  apply(txn: Txn): void {
    this.zxid += 1;
    const { result } = this.tree.apply(txn, this.zxid as Zxid, START_TIME + this.zxid);
    if (!result.ok) throw new Error(`${txn.type} failed: ${JSON.stringify(result)}`);
  }
}

interface Row {
  phase: string;
  znodes: number;
  ops: number;
  seconds: number;
  bytesPerOp: number;
}

/** A stopwatch a loop can pause while it builds txns. */
class Clock {
  private startedAt = 0n;
  elapsed = 0n;
  start(): void {
    this.startedAt = process.hrtime.bigint();
  }
  stop(): void {
    this.elapsed += process.hrtime.bigint() - this.startedAt;
  }
}

/**
 * Runs `loop` (which applies `ops` txns) between a forced collection and an allocation count.
 * The clock runs for the whole loop unless the loop drives it; the allocation count always
 * covers the whole loop.
 */
function timed(phase: string, tree: ZTree, ops: number, loop: (clock: Clock) => void): Row {
  const znodes = tree.size();
  const clock = new Clock();
  const allocation = startAllocationCount();
  const start = process.hrtime.bigint();
  loop(clock);
  const end = process.hrtime.bigint();
  const bytes = allocation.stop();
  const elapsed = clock.elapsed > 0n ? clock.elapsed : end - start;
  return { phase, znodes, ops, seconds: Number(elapsed) / 1e9, bytesPerOp: bytes / ops };
}

interface Memory {
  /** V8 heap bytes per znode for Cairn's structures (step 3 in the header). */
  structures: number;
  /** V8 heap bytes per data buffer: the Uint8Array and ArrayBuffer objects (step 2). */
  dataObjects: number;
  /** Off-heap ArrayBuffer bytes per data buffer (step 2): the payload. */
  dataExternal: number;
  /** Resident set growth per znode over steps 2 and 3, for reference (includes malloc overhead). */
  rss: number;
}

/** Builds the tree (timed as creates into a growing tree) and measures its memory on the way. */
function build(tree: ZTree, applier: Applier): { row: Row; memory: Memory } {
  const random = xorshift(SEED);
  const empty = new Uint8Array(0);
  const data = new Array<Uint8Array>(CHILDREN).fill(empty);
  const before = measure();
  for (let i = 0; i < CHILDREN; i++) {
    const bytes = new Uint8Array(DATA_BYTES);
    for (let k = 0; k < DATA_BYTES; k++) bytes[k] = random() & 0xff;
    data[i] = bytes;
  }
  const withData = measure();

  // Txns are built one parent's worth at a time, off the clock: a million prebuilt txns would
  // hold a second copy of every path and blur the memory figures.
  const create = (path: string, bytes: Uint8Array): Txn => ({
    type: 'create',
    sessionId: SESSION,
    path,
    data: bytes,
    acl: OPEN,
    mode: 'persistent',
  });
  const batches: (() => Txn[])[] = [
    () => Array.from({ length: PARENTS }, (_, p) => create(flat(`/${name('p', p)}`), empty)),
  ];
  for (let p = 0; p < PARENTS; p++) {
    batches.push(() =>
      Array.from({ length: CHILDREN_PER_PARENT }, (_, c) =>
        create(childPath(p, c), data[p * CHILDREN_PER_PARENT + c] as Uint8Array),
      ),
    );
  }
  const row = timed('create (build)', tree, PARENTS + CHILDREN, (clock) => {
    for (const batch of batches) {
      const txns = batch();
      clock.start();
      for (const txn of txns) applier.apply(txn);
      clock.stop();
    }
  });
  const withTree = measure();
  if (data.length !== CHILDREN) throw new Error('the data array must live until here');
  const created = PARENTS + CHILDREN;
  return {
    row,
    memory: {
      structures: (withTree.heap - withData.heap) / created,
      dataObjects: (withData.heap - before.heap) / CHILDREN,
      dataExternal: (withData.external - before.external) / CHILDREN,
      rss: (withTree.rss - before.rss) / created,
    },
  };
}

function measure(): { heap: number; external: number; rss: number } {
  collectGarbage();
  const { arrayBuffers, rss } = process.memoryUsage();
  return { heap: v8.getHeapStatistics().used_heap_size, external: arrayBuffers, rss };
}

interface SnapshotResult {
  writeSeconds: number;
  restoreSeconds: number;
  bytes: number;
  chunks: number;
}

/** Writes the tree to in-memory chunks, restores it, and checks the copy's digest and size. */
function snapshot(tree: ZTree): SnapshotResult {
  collectGarbage();
  const writeStart = process.hrtime.bigint();
  const chunks = [...writeSnapshot(tree)];
  const writeEnd = process.hrtime.bigint();
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  collectGarbage();
  const restoreStart = process.hrtime.bigint();
  const restored = readSnapshot(chunks);
  const restoreEnd = process.hrtime.bigint();
  if (restored.digest() !== tree.digest() || restored.size() !== tree.size())
    throw new Error('the restored tree differs from the original');
  return {
    writeSeconds: Number(writeEnd - writeStart) / 1e9,
    restoreSeconds: Number(restoreEnd - restoreStart) / 1e9,
    bytes,
    chunks: chunks.length,
  };
}

/**
 * setData with version -1 on random children, data from a pool of preallocated buffers: over
 * all children, or over the first `hotParents` parents' children only (a hot set that stays
 * in the CPU caches, to separate the cost of the work from the cost of memory latency).
 */
function setData(tree: ZTree, applier: Applier, hotParents = PARENTS): Row {
  const random = xorshift(SEED * 7919 + hotParents);
  const pool: Uint8Array[] = [];
  for (let i = 0; i < DATA_POOL; i++) pool.push(new Uint8Array(DATA_BYTES).fill(i & 0xff));
  const txns: Txn[] = [];
  for (let i = 0; i < Math.min(SET_DATA_BATCH, SET_DATA_OPS); i++) {
    const path = childPath(random() % hotParents, random() % CHILDREN_PER_PARENT);
    txns.push({
      type: 'setData',
      sessionId: SESSION,
      path,
      data: pool[i % DATA_POOL] as Uint8Array,
      version: -1,
    });
  }
  const run = (ops: number): void => {
    for (let done = 0; done < ops; ) {
      const batch = Math.min(txns.length, ops - done);
      for (let i = 0; i < batch; i++) applier.apply(txns[i] as Txn);
      done += batch;
    }
  };
  run(SET_DATA_WARMUP);
  const phase = hotParents === PARENTS ? 'setData' : 'setData (hot)';
  return timed(phase, tree, SET_DATA_OPS, () => run(SET_DATA_OPS));
}

/** Creates CREATE_OPS new children under random parents, then deletes them (version -1). */
function createThenDelete(tree: ZTree, applier: Applier): Row[] {
  const random = xorshift(SEED * 104_729);
  const data = new Uint8Array(DATA_BYTES).fill(7);
  const paths: string[] = [];
  for (let i = 0; i < CREATE_OPS; i++)
    paths.push(flat(`/${name('p', random() % PARENTS)}/${name('n', i)}`));
  const creates: Txn[] = paths.map((path) => ({
    type: 'create',
    sessionId: SESSION,
    path,
    data,
    acl: OPEN,
    mode: 'persistent',
  }));
  const deletes: Txn[] = paths.map((path) => ({
    type: 'delete',
    sessionId: SESSION,
    path,
    version: -1,
  }));
  const create = timed('create', tree, CREATE_OPS, () => {
    for (const txn of creates) applier.apply(txn);
  });
  const remove = timed('delete', tree, CREATE_OPS, () => {
    for (const txn of deletes) applier.apply(txn);
  });
  return [create, remove];
}

async function main(): Promise<void> {
  if (pagingOnly) {
    console.log(`znode paging: ${machineLine()}, seed ${SEED}${quick ? ', --quick' : ''}`);
    printPaging();
    return;
  }
  console.log(
    'znode state machine: txns applied per second and heap per znode, one ZTree in-process',
  );
  console.log(`${machineLine()}, ` + `seed ${SEED}${quick ? ', --quick' : ''}`);
  console.log(
    `- tree: ${count(PARENTS)} parents x ${count(CHILDREN_PER_PARENT)} children under /, ` +
      `10-character names, ${DATA_BYTES} bytes of data per child, persistent, open ACL, ` +
      'one session',
  );
  console.log(
    `- setData: ${count(SET_DATA_WARMUP)} of warm-up, then the timed txns on random children ` +
      `(version -1); "hot": only the ${count(HOT_PARENTS * CHILDREN_PER_PARENT)} children of ` +
      `the first ${count(HOT_PARENTS)} parents; create/delete: new children under random ` +
      'parents, then the same deleted',
  );
  console.log(
    '- alloc B/op: V8 heap allocated during the timed loop (GC profiler); for the build it ' +
      'includes the txns and paths built off the clock, one parent at a time',
  );
  console.log('');

  const tree = new ZTree();
  const applier = new Applier(tree);
  applier.apply({
    type: 'createSession',
    sessionId: SESSION,
    timeoutMs: 30_000,
    password: new Uint8Array(16),
  });

  const header = ['phase', 'znodes', 'ops', 'seconds', 'ops/s', 'alloc B/op'];
  const widths = [14, 9, 9, 7, 11, 10];
  const format = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join('  ');
  console.log(format(header));
  const print = (row: Row): void =>
    console.log(
      format([
        row.phase,
        count(row.znodes),
        count(row.ops),
        row.seconds.toFixed(3),
        count(row.ops / row.seconds),
        row.bytesPerOp.toFixed(0),
      ]),
    );

  const built = build(tree, applier);
  print(built.row);
  if (slicesOnly) {
    const oneGo = snapshot(tree);
    printSnapshot(tree, oneGo);
    await printSlices(tree, applier, oneGo);
    return;
  }
  const digest = tree.digest();
  const setDataRow = setData(tree, applier);
  print(setDataRow);
  print(setData(tree, applier, HOT_PARENTS));
  for (const row of createThenDelete(tree, applier)) print(row);

  printMemory(built.memory, digest);
  const oneGo = snapshot(tree);
  printSnapshot(tree, oneGo);
  await printSlices(tree, applier, oneGo);
  printGoals(setDataRow, built.memory);
  printPaging();
}

/** A tree with one parent, `/wide`, of PAGING_CHILDREN children in shuffled insertion order. */
function wideTree(): { tree: ZTree; applier: Applier; nameBytes: number } {
  const tree = new ZTree();
  const applier = new Applier(tree);
  applier.apply({
    type: 'createSession',
    sessionId: SESSION,
    timeoutMs: 30_000,
    password: new Uint8Array(16),
  });
  applier.apply(createTxn('/wide'));
  const random = xorshift(SEED + 1);
  let nameBytes = 0;
  for (let n = 0; n < PAGING_CHILDREN; n++) {
    const child = flat(`member-${random().toString(36).padStart(7, '0')}-${name('', n)}`);
    nameBytes += child.length;
    applier.apply(createTxn(`/wide/${child}`));
  }
  return { tree, applier, nameBytes };
}

function createTxn(path: string): Txn {
  return {
    type: 'create',
    sessionId: SESSION,
    path,
    data: new Uint8Array(0),
    acl: OPEN,
    mode: 'persistent',
  };
}

/** Reads `/wide` page by page with `read`; returns the seconds taken and the pages read. */
function pageThrough(
  read: (after: string | undefined) => { children: readonly string[]; more: boolean },
  between: (page: number) => void = () => {},
): { seconds: number; pages: number; names: number } {
  const clock = new Clock();
  let after: string | undefined;
  let names = 0;
  for (let pages = 1; pages <= PAGING_CHILDREN; pages++) {
    clock.start();
    const page = read(after);
    clock.stop();
    names += page.children.length;
    if (!page.more) return { seconds: Number(clock.elapsed) / 1e9, pages, names };
    after = page.children[page.children.length - 1] as string;
    between(pages);
  }
  throw new Error('paging did not end');
}

/** The node's old per-page read: the whole child list copied and sorted, then sliced. */
function sortPerPage(
  tree: ZTree,
  after: string | undefined,
): { children: string[]; more: boolean } {
  const all = [...(tree.node('/wide')?.children ?? [])].sort();
  let start = 0;
  if (after !== undefined) {
    let hi = all.length;
    while (start < hi) {
      const mid = (start + hi) >>> 1;
      if ((all[mid] as string) <= after) start = mid + 1;
      else hi = mid;
    }
  }
  const end = Math.min(all.length, start + PAGE_LIMIT);
  return { children: all.slice(start, end), more: end < all.length };
}

function pageOf(tree: ZTree, after: string | undefined): { children: string[]; more: boolean } {
  const found = tree.getChildrenPage('/wide', SESSION, { after, limit: PAGE_LIMIT });
  if (!found.ok) throw new Error(`getChildrenPage: ${found.error.code}`);
  return found.value;
}

function printPaging(): void {
  const { tree, applier, nameBytes } = wideTree();
  console.log('');
  console.log(
    `paging: ${count(PAGING_CHILDREN)} children of one parent, names ${(nameBytes / 2 ** 20).toFixed(2)} MiB, ` +
      `pages of ${count(PAGE_LIMIT)} read with after = the last name of the page before`,
  );
  const rows: Array<[string, { seconds: number; pages: number; names: number }]> = [];
  rows.push(['before: sort per page', pageThrough((after) => sortPerPage(tree, after))]);
  // The unindexed creates first, on a twin tree that is never paged (so it has no index).
  const twin = wideTree();
  const createRow = (target: { applier: Applier }, tag: string): Row =>
    timed(`creates, ${tag}`, target.applier.tree, PAGING_CREATE_OPS, () => {
      for (let n = 0; n < PAGING_CREATE_OPS; n++)
        target.applier.apply(createTxn(`/wide/${tag}-${name('', n)}`));
    });
  rows.push(['after: child index', pageThrough((after) => pageOf(tree, after))]);
  let churn = 0;
  rows.push([
    'after, churn',
    pageThrough(
      (after) => pageOf(tree, after),
      () => {
        // One new name, and the previous page's new name deleted: two changes per page.
        applier.apply(createTxn(`/wide/churn-${name('', churn)}`));
        if (churn > 0) {
          const path = `/wide/churn-${name('', churn - 1)}`;
          applier.apply({ type: 'delete', sessionId: SESSION, path, version: -1 });
        }
        churn++;
      },
    ),
  ]);
  const [before] = rows;
  for (const [label, run] of rows)
    console.log(
      `  ${label.padEnd(24)}${run.seconds.toFixed(3).padStart(8)} s for ${count(run.pages)} pages, ` +
        `${count(run.names)} names, ${((run.seconds / run.pages) * 1e3).toFixed(3)} ms/page` +
        (before === undefined ? '' : `, ${(before[1].seconds / run.seconds).toFixed(0)}x`),
    );
  const plain = createRow(twin, 'plain');
  const indexed = createRow({ applier }, 'indexed');
  for (const row of [plain, indexed])
    console.log(
      `  ${row.phase.padEnd(24)}${count(row.ops / row.seconds).padStart(8)}/s under the paged parent ` +
        `(${count(row.ops)} creates, ${row.bytesPerOp.toFixed(0)} alloc B/op)`,
    );
}

const count = (value: number): string => Math.round(value).toLocaleString('en-US');
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
const bytesBeyondData = (memory: Memory): number => memory.structures + memory.dataObjects;

function printMemory(memory: Memory, digest: number): void {
  const line = (label: string, bytes: number): void =>
    console.log(`  ${label.padEnd(62)}${bytes.toFixed(1).padStart(7)} B`);
  console.log('');
  console.log(
    `heap per znode, after forced full collections (${count(PARENTS + CHILDREN)} znodes built):`,
  );
  line("Cairn's structures (ZNode, path map, strings, children sets)", memory.structures);
  line('data objects on the V8 heap (Uint8Array + ArrayBuffer)', memory.dataObjects);
  line('data payload off the V8 heap (ArrayBuffer bytes)', memory.dataExternal);
  line(`total beyond the ${DATA_BYTES} data bytes`, bytesBeyondData(memory));
  console.log(
    `  (resident set growth per znode: ${memory.rss.toFixed(0)} B; ` +
      `digest after build 0x${digest.toString(16)})`,
  );
}

function printSnapshot(tree: ZTree, snap: SnapshotResult): void {
  console.log('');
  console.log(
    `snapshot of ${count(tree.size())} znodes: write ${snap.writeSeconds.toFixed(3)} s, ` +
      `restore ${snap.restoreSeconds.toFixed(3)} s, ${(snap.bytes / 2 ** 20).toFixed(1)} MiB in ` +
      `${count(snap.chunks)} chunks (${(snap.bytes / tree.size()).toFixed(1)} B/znode); ` +
      'restored digest equal',
  );
}

interface SliceResult {
  slices: number;
  /** Each step's wall time in ms (the begin is the first), GCs inside included. */
  sliceMs: number[];
  /** Each step's process CPU time in ms (all threads): unlike wall time, no time descheduled. */
  cpuMs: number[];
  /** The longest GC pause during the run, in ms. */
  gcMs: number;
  seconds: number;
  /** setData txns applied between slices. */
  applied: number;
}

/**
 * Snapshots `tree` in steps of `nodes`, one step per event-loop turn as a node would run them,
 * timing each (wall and process CPU time: on a shared machine the wall time includes turns the
 * process was descheduled); `between` runs between steps, timed apart. The longest GC pause
 * (perf_hooks 'gc' entries) is reported beside: a 1M-znode heap has those anyway.
 */
async function sliced(tree: ZTree, nodes: number, between: () => number): Promise<SliceResult> {
  collectGarbage();
  // The first allocations after a forced collection of a 1 GB heap pay for its lazy sweeping
  // (~200 ms in the first slice), which a node that forces none does not see: let it finish.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const pauses: Array<{ start: number; end: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const windows: Array<{ start: number; end: number }> = [];
  const cpuMs: number[] = [];
  const timeSlice = <T>(slice: () => T): T => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const value = slice();
    windows.push({ start, end: performance.now() });
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1e3);
    return value;
  };
  let bytes = 0;
  let applied = 0;
  const job = timeSlice(() => beginSnapshot(tree));
  while (!job.done) {
    await new Promise((resolve) => setImmediate(resolve));
    for (const chunk of timeSlice(() => job.step(nodes))) bytes += chunk.length;
    applied += between();
  }
  // GC entries are delivered on a later turn: give them one.
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  if (bytes === 0) throw new Error('the sliced snapshot wrote nothing');
  const sliceMs = windows.map((w) => w.end - w.start);
  return {
    slices: windows.length,
    sliceMs,
    cpuMs,
    gcMs: Math.max(0, ...pauses.map((p) => p.end - p.start)),
    seconds: sliceMs.reduce((a, b) => a + b, 0) / 1e3,
    applied,
  };
}

/** Applies SLICE_SET_DATA setData txns (version -1) on random children per call; returns the count. */
function setDataBetween(applier: Applier, seed: number): () => number {
  const random = xorshift(seed);
  const data = new Uint8Array(DATA_BYTES).fill(3);
  return () => {
    for (let i = 0; i < SLICE_SET_DATA; i++) {
      const path = childPath(random() % PARENTS, random() % CHILDREN_PER_PARENT);
      applier.apply({ type: 'setData', sessionId: SESSION, path, data, version: -1 });
    }
    return SLICE_SET_DATA;
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function printSlices(tree: ZTree, applier: Applier, oneGo: SnapshotResult): Promise<void> {
  console.log('');
  console.log(
    `snapshot in slices of N znodes, one step per event-loop turn (one go above: ` +
      `${(oneGo.writeSeconds * 1e3).toFixed(0)} ms in one slice); ms per slice, wall time ` +
      '(GC pauses and descheduling included) and process CPU time:',
  );
  // The cost of keeping pre-images at its worst: a job begun and never stepped, so every
  // setData is the first change of an unwritten node and copies it. Alternated, best of two.
  const rate = (ops: () => number): number => {
    const start = performance.now();
    let done = 0;
    for (let i = 0; i < KEEPING_ROUNDS; i++) done += ops();
    return done / ((performance.now() - start) / 1e3);
  };
  let plainRate = 0;
  let keepingRate = 0;
  for (let round = 0; round < 2; round++) {
    plainRate = Math.max(plainRate, rate(setDataBetween(applier, SEED * 31 + round)));
    const job = beginSnapshot(tree);
    keepingRate = Math.max(keepingRate, rate(setDataBetween(applier, SEED * 37 + round)));
    job.abort();
  }
  console.log(
    `  setData with a snapshot begun and not stepped (each change copies its node first): ` +
      `${count(keepingRate)}/s; with none: ${count(plainRate)}/s ` +
      `(${count(KEEPING_ROUNDS * SLICE_SET_DATA)} txns on random children, best of 2)`,
  );
  for (const nodes of SLICE_NODES) {
    for (const busy of [false, true]) {
      const between = busy ? setDataBetween(applier, SEED * 17 + nodes) : () => 0;
      const run = await sliced(tree, nodes, between);
      const ms = (value: number): string => value.toFixed(1);
      console.log(
        `  N = ${count(nodes).padStart(6)}, ${busy ? 'busy' : 'idle'}: ${count(run.slices)} slices` +
          (busy ? ` with ${count(run.applied)} setData between` : '') +
          ', ' +
          `${run.seconds.toFixed(3)} s in all; max ${ms(Math.max(...run.sliceMs))}, ` +
          `p99 ${ms(percentile(run.sliceMs, 0.99))}, median ${ms(percentile(run.sliceMs, 0.5))}; ` +
          `CPU max ${ms(Math.max(...run.cpuMs))}, p99 ${ms(percentile(run.cpuMs, 0.99))}; ` +
          `longest GC pause ${ms(run.gcMs)}`,
      );
    }
  }
}

function printGoals(setDataRow: Row, memory: Memory): void {
  const setDataPerSecond = setDataRow.ops / setDataRow.seconds;
  const beyondData = bytesBeyondData(memory);
  console.log('');
  console.log(
    `goal (>= ${count(GOAL_SET_DATA_PER_SECOND)} setData/s on ` +
      `${count(setDataRow.znodes)} znodes): ` +
      `${verdict(setDataPerSecond >= GOAL_SET_DATA_PER_SECOND)} (${count(setDataPerSecond)}/s)`,
  );
  console.log(
    `goal (< ${GOAL_HEAP_BYTES_PER_ZNODE} heap B per znode beyond its data): ` +
      `${verdict(beyondData < GOAL_HEAP_BYTES_PER_ZNODE)} (${beyondData.toFixed(0)} B; ` +
      `Cairn's structures alone ${memory.structures.toFixed(0)} B, ` +
      `${verdict(memory.structures < GOAL_HEAP_BYTES_PER_ZNODE)})`,
  );
}

await main();
