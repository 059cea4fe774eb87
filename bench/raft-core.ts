/**
 * Question: how many 128-byte entries per second can the Raft core commit when I/O costs
 * nothing, and how many bytes does it allocate per entry?
 *
 * Three (then five) `RaftCore`s run in this process, wired by an in-memory loop: no codec, no
 * sockets, no disk (`MemoryStorage` is durable when `write` returns). Node 1 is elected once;
 * then the leader is given a batch of proposals at a time and every Ready is handled in the
 * order of the Ready contract (send, persist, send after persist, apply, advance) until
 * nothing moves. No ticks: time does not pass, so there are no heartbeats or elections.
 *
 *   npx -y pnpm@10 bench             # the full table, well under a minute
 *   npx -y pnpm@10 bench --quick     # a short smoke run (test/bench-smoke.test.ts)
 */

import {
  type ConfState,
  type Entry,
  type LogIndex,
  MemoryStorage,
  type Message,
  type NodeId,
  nodeId,
  type ProposedEntry,
  RaftCore,
  seededRandom,
} from '@cairn/raft';
import { machineLine, startAllocationCount } from './heap.js';

const SEED = 1;
const ENTRY_BYTES = 128;
const GOAL_ENTRIES_PER_SECOND = 1_000_000;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
/** Rows to run: `--nodes=3 --batch=256` selects one (to profile it). */
const NODE_COUNTS = listArgument('nodes') ?? [3, 5];
const BATCHES = listArgument('batch') ?? [64, 256, 1024];
/** Entries committed in the timed part of each row, after the warm-up. */
const ENTRIES = quick ? 20_000 : 5_000_000;
const WARMUP_ENTRIES = quick ? 5_000 : 500_000;
/**
 * Each node snapshots (an empty state) and compacts its log every this many applied entries,
 * keeping the core's default 1,000 below the snapshot: the log held in memory stays bounded,
 * as in a runtime that keeps only a tail of the durable log in memory. The figure matters:
 * entries that outlive a young-generation collection are copied and promoted by the GC, so
 * `--compact-every=65536` roughly halves the throughput.
 */
const COMPACT_EVERY_ENTRIES = listArgument('compact-every')?.[0] ?? 10_000;

for (const arg of args) {
  if (!/^--(quick|(nodes|batch|compact-every)=\d+(,\d+)*)$/.test(arg))
    throw new Error(
      `unknown argument ${arg}: use --quick, --nodes=3,5, --batch=64,256, --compact-every=N`,
    );
}

/** `--name=1,2,3` as numbers, or null when absent. */
function listArgument(name: string): number[] | null {
  const prefix = `--${name}=`;
  const argument = args.find((arg) => arg.startsWith(prefix));
  return argument === undefined ? null : argument.slice(prefix.length).split(',').map(Number);
}

/** N cores over per-node inboxes, with the counters the table prints. */
class Loop {
  readonly cores: RaftCore[] = [];
  readonly storages: MemoryStorage[] = [];
  /** inboxes[i] holds the messages for node i + 1 not yet stepped. */
  readonly inboxes: Message[][] = [];
  /** applied[i]: the last index node i + 1 applied; appliedEntries[i]: how many entries. */
  readonly applied: number[] = [];
  readonly appliedEntries: number[] = [];
  readonly snapshotIndex: number[] = [];
  messagesSent = 0;

  constructor(nodes: number) {
    const voters: NodeId[] = [];
    for (let id = 1; id <= nodes; id++) voters.push(nodeId(id));
    const confState: ConfState = {
      voters,
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of voters) {
      const storage = MemoryStorage.bootstrap(confState);
      this.storages.push(storage);
      this.cores.push(new RaftCore({ id, storage, random: seededRandom(SEED * 31 + id) }));
      this.inboxes.push([]);
      this.applied.push(0);
      this.appliedEntries.push(0);
      this.snapshotIndex.push(0);
    }
  }

  /** Handles Readys and delivers messages until no core has anything to do. */
  pump(): void {
    for (;;) {
      let moved = false;
      for (let i = 0; i < this.cores.length; i++) {
        if (this.handleReady(i)) moved = true;
      }
      for (let i = 0; i < this.cores.length; i++) {
        const inbox = this.inboxes[i] as Message[];
        if (inbox.length === 0) continue;
        moved = true;
        const core = this.cores[i] as RaftCore;
        // Stepping only queues messages inside the core; nothing lands in an inbox meanwhile.
        for (const message of inbox) core.step(message);
        inbox.length = 0;
      }
      if (!moved) return;
    }
  }

  private handleReady(i: number): boolean {
    const core = this.cores[i] as RaftCore;
    if (!core.hasReady()) return false;
    const ready = core.ready();
    const storage = this.storages[i] as MemoryStorage;
    this.send(ready.messages);
    storage.write({
      hardState: ready.hardState ?? undefined,
      snapshot: ready.snapshot ?? undefined,
      entries: ready.entries,
    });
    if (ready.compaction !== null)
      storage.compact(ready.compaction.snapshot, ready.compaction.compactTo);
    this.send(ready.messagesAfterPersist);
    const committed = ready.committedEntries;
    if (committed.length > 0) {
      this.applied[i] = (committed[committed.length - 1] as Entry).index;
      this.appliedEntries[i] = (this.appliedEntries[i] as number) + committed.length;
    }
    core.advance(ready);
    const applied = this.applied[i] as number;
    if (applied - (this.snapshotIndex[i] as number) >= COMPACT_EVERY_ENTRIES) {
      core.compact({ index: applied as LogIndex, data: EMPTY });
      this.snapshotIndex[i] = applied;
    }
    return true;
  }

  private send(messages: readonly Message[]): void {
    for (const message of messages) (this.inboxes[message.to - 1] as Message[]).push(message);
    this.messagesSent += messages.length;
  }
}

const EMPTY = new Uint8Array(0);

interface Workload {
  nodes: number;
  batch: number;
}

interface Result {
  workload: Workload;
  entries: number;
  seconds: number;
  entriesPerSecond: number;
  bytesPerEntry: number;
  messagesPerBatch: number;
}

/** One row: elect node 1, warm up, then commit ENTRIES in batches, timed and counted. */
function run(workload: Workload, proposals: readonly ProposedEntry[]): Result {
  const loop = new Loop(workload.nodes);
  const leader = loop.cores[0] as RaftCore;
  leader.campaign();
  loop.pump();
  if (leader.status().role !== 'leader') throw new Error('node 1 was not elected');

  const batch = proposals.slice(0, workload.batch);
  const batchesFor = (entries: number): number => Math.ceil(entries / batch.length);
  const propose = (batches: number): void => {
    for (let i = 0; i < batches; i++) {
      const outcome = leader.proposeEntries(batch);
      if (outcome.status !== 'appended') throw new Error(`proposal ${outcome.status}`);
      loop.pump();
    }
  };
  propose(batchesFor(WARMUP_ENTRIES));

  const batches = batchesFor(ENTRIES);
  const appliedBefore = loop.appliedEntries[0] as number;
  const messagesBefore = loop.messagesSent;
  const allocation = startAllocationCount();
  const start = process.hrtime.bigint();
  propose(batches);
  const end = process.hrtime.bigint();
  const bytes = allocation.stop();

  // Every proposal was committed and applied by the leader, and every follower applied the same.
  const entries = (loop.appliedEntries[0] as number) - appliedBefore;
  if (entries !== batches * batch.length)
    throw new Error(`the leader applied ${entries} of ${batches * batch.length} entries`);
  for (let i = 1; i < workload.nodes; i++) {
    if (loop.appliedEntries[i] !== loop.appliedEntries[0] || loop.applied[i] !== loop.applied[0])
      throw new Error(
        `node ${i + 1} applied ${loop.appliedEntries[i]} entries, the leader ${loop.appliedEntries[0]}`,
      );
  }
  const seconds = Number(end - start) / 1e9;
  return {
    workload,
    entries,
    seconds,
    entriesPerSecond: entries / seconds,
    bytesPerEntry: bytes / entries,
    messagesPerBatch: (loop.messagesSent - messagesBefore) / batches,
  };
}

function main(): void {
  // One 128-byte buffer per batch slot, reused by every batch: the core only keeps references
  // to entry data (it never copies or reads it), as a zero-copy runtime would hand it buffers
  // decoded once from the client. The proposal objects are reused for the same reason.
  const batchMax = Math.max(...BATCHES);
  const random = seededRandom(SEED);
  const proposals: ProposedEntry[] = [];
  for (let i = 0; i < batchMax; i++) {
    const data = new Uint8Array(ENTRY_BYTES);
    for (let k = 0; k < data.length; k++) data[k] = random.nextInt(256);
    proposals.push({ type: 'normal', data });
  }

  const count = (value: number): string => Math.round(value).toLocaleString('en-US');
  console.log('Raft core: committed entries per second, in-memory loop (no codec, I/O or ticks)');
  console.log(`${machineLine()}, ` + `seed ${SEED}${args.length > 0 ? `, ${args.join(' ')}` : ''}`);
  console.log(
    `- entries carry ${ENTRY_BYTES} bytes of data from ${batchMax} preallocated buffers reused ` +
      'by every batch (zero-copy: the core only holds references); followers get the ' +
      "leader's Entry objects by reference (no encode or decode)",
  );
  console.log(
    `- per row: ${count(WARMUP_ENTRIES)} entries of warm-up, then the timed entries; every ` +
      `node snapshots and compacts every ${count(COMPACT_EVERY_ENTRIES)} entries`,
  );
  console.log(
    '- bytes/entry: V8 heap allocated during the timed run (GC profiler), core plus this loop ' +
      'and MemoryStorage; one JS thread, though V8 may collect garbage on helper threads',
  );
  console.log('');
  const header = ['nodes', 'batch', 'entries', 'seconds', 'entries/s', 'bytes/entry', 'msgs/batch'];
  const widths = [5, 5, 9, 7, 11, 11, 10];
  const row = (cells: string[]): string =>
    cells.map((cell, i) => cell.padStart(widths[i] as number)).join('  ');
  console.log(row(header));

  const results: Result[] = [];
  for (const nodes of NODE_COUNTS) {
    for (const batch of BATCHES) {
      const result = run({ nodes, batch }, proposals);
      results.push(result);
      console.log(
        row([
          String(nodes),
          String(batch),
          count(result.entries),
          result.seconds.toFixed(3),
          count(result.entriesPerSecond),
          result.bytesPerEntry.toFixed(0),
          result.messagesPerBatch.toFixed(1),
        ]),
      );
    }
  }

  const threeNodes = results.filter((result) => result.workload.nodes === 3);
  if (threeNodes.length === 0) return;
  const meeting = threeNodes.filter((result) => result.entriesPerSecond >= GOAL_ENTRIES_PER_SECOND);
  const best = Math.max(...threeNodes.map((result) => result.entriesPerSecond));
  const verdict =
    meeting.length === 0
      ? 'NOT met'
      : `met at batch ${meeting.map((result) => result.workload.batch).join(', ')}`;
  console.log('');
  console.log(
    `goal (>= ${count(GOAL_ENTRIES_PER_SECOND)} committed entries/s, 3 nodes, one core): ` +
      `${verdict} (best ${count(best)}/s)`,
  );
}

main();
