/**
 * Question: how many 128-byte log entries per second can `TcpTransport` carry between two
 * processes on loopback, as Append messages of 64 (then 256) entries?
 *
 * This process is node 1, the "leader"; a child process (this file with `--child`) is node 2,
 * which answers every Append with an AppendResponse naming its last index, as a follower would
 * after a (free) disk write. The leader keeps a window of unacknowledged Appends in flight,
 * like Raft's inflight window, so the run measures the pipe, not a stop-and-wait round trip.
 * Real codec (binary Append and AppendResponse bodies, see codec.ts), real sockets, no disk, no
 * Raft core. Plain TCP (no TLS, no secret). Appends and their acknowledgements share one
 * connection (one per pair of members, dialed by the lower id); the last line says so. `heap B/entry` is what the leader process allocated
 * on the V8 heap per entry during the timed run (bench/heap.ts): the Entry objects this loop
 * builds, as a core would, plus what the transport and codec add; frame bytes live off the heap.
 *
 *   npx tsx --conditions=source bench/transport.ts           # the full table
 *   npx tsx --conditions=source bench/transport.ts --quick   # a short smoke run
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  type AppendRequest,
  type AppendResponse,
  type Entry,
  encodeMessage,
  type LogIndex,
  type Message,
  type NodeId,
  type Term,
} from '@cairn/raft';
import { TcpTransport } from '@cairn/transport-tcp';
import { machineLine, startAllocationCount } from './heap.js';

const ENTRY_BYTES = 128;
const GOAL_ENTRIES_PER_SECOND = 1_000_000;
/** Appends in flight at once (a follower's inflight window, `inflightMessagesMax`). */
const INFLIGHT_MESSAGES = 256;
const CLUSTER = 'bench';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const child = args.includes('--child');
const BATCHES = [64, 256];
/** Entries moved in the timed part of each row, after the warm-up. */
const ENTRIES = quick ? 200_000 : 10_000_000;
const WARMUP_ENTRIES = quick ? 20_000 : 1_000_000;

for (const arg of args) {
  if (!/^--(quick|child|peers=.*)$/.test(arg)) {
    throw new Error(`unknown argument ${arg}: use --quick`);
  }
}

function peersArgument(): Record<number, string> {
  const value = args.find((arg) => arg.startsWith('--peers='))?.slice('--peers='.length);
  return JSON.parse(value ?? '{}') as Record<number, string>;
}

/** Node 2: acknowledges each Append with its last index, as a follower would. */
async function runFollower(): Promise<void> {
  const peers = peersArgument();
  const transport = new TcpTransport({
    nodeId: 2,
    clusterId: CLUSTER,
    listen: peers[2] ?? '',
    peers,
    queueMessagesMax: 65_536,
  });
  transport.onMessage((message: Message) => {
    if (message.type !== 'Append') return;
    const last = message.entries[message.entries.length - 1];
    const response: AppendResponse = {
      type: 'AppendResponse',
      from: 2 as NodeId,
      to: 1 as NodeId,
      term: message.term,
      index: (last?.index ?? message.prevIndex) as LogIndex,
      reject: false,
      hintIndex: 0 as LogIndex,
      hintTerm: 0 as Term,
    };
    transport.send([response]);
  });
  await transport.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void transport.close().then(() => process.exit(0));
  });
}

async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface Row {
  batch: number;
  messages: number;
  seconds: number;
  bytes: number;
  heapBytes: number;
}

/** Sends `entries` entries in Appends of `batch`, keeping INFLIGHT_MESSAGES unacknowledged. */
function pump(
  transport: TcpTransport,
  acks: { last: number; waiter: (() => void) | null },
  startIndex: number,
  entries: number,
  batch: number,
): Promise<{ messages: number; bytes: number }> {
  const data = new Uint8Array(ENTRY_BYTES).fill(7);
  const endIndex = startIndex + entries;
  let next = startIndex;
  let messages = 0;
  let bytes = 0;
  return new Promise((resolve) => {
    const fill = (): void => {
      while (next < endIndex && next - acks.last <= INFLIGHT_MESSAGES * batch) {
        const list: Entry[] = [];
        for (let k = 0; k < batch; k++) {
          list.push({ term: 1 as Term, index: (next + k) as LogIndex, type: 'normal', data });
        }
        const append: AppendRequest = {
          type: 'Append',
          from: 1 as NodeId,
          to: 2 as NodeId,
          term: 1 as Term,
          prevIndex: (next - 1) as LogIndex,
          prevTerm: 1 as Term,
          entries: list,
          commit: acks.last as LogIndex,
        };
        if (messages === 0) bytes = encodeMessage(append).length + 5;
        transport.send([append]);
        next += batch;
        messages++;
      }
      if (acks.last >= endIndex - 1) resolve({ messages, bytes: bytes * messages });
      else acks.waiter = fill;
    };
    fill();
  });
}

async function runLeader(): Promise<void> {
  const [p1, p2] = await freePorts(2);
  const peers = { 1: `127.0.0.1:${p1}`, 2: `127.0.0.1:${p2}` };
  const script = fileURLToPath(import.meta.url);
  const follower = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=source',
      script,
      '--child',
      `--peers=${JSON.stringify(peers)}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let childOutput = '';
  follower.stdout?.on('data', (chunk: Buffer) => {
    childOutput += chunk.toString('utf8');
  });
  for (let i = 0; i < 600 && !childOutput.includes('ready'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!childOutput.includes('ready')) throw new Error('follower process did not start');

  const transport = new TcpTransport({
    nodeId: 1,
    clusterId: CLUSTER,
    listen: peers[1],
    peers,
    queueMessagesMax: 65_536,
  });
  const acks = { last: 0, waiter: null as (() => void) | null };
  transport.onMessage((message) => {
    if (message.type !== 'AppendResponse') return;
    acks.last = Math.max(acks.last, message.index);
    const waiter = acks.waiter;
    acks.waiter = null;
    waiter?.();
  });
  await transport.start();

  console.log(
    `transport bench: 2 processes on 127.0.0.1, ${ENTRY_BYTES}-byte entries, ${INFLIGHT_MESSAGES} Appends in flight`,
  );
  console.log(machineLine());
  console.log(
    'batch  entries      messages   seconds  messages/s  entries/s    MB/s  heap B/entry',
  );
  const rows: Row[] = [];
  let index = 1;
  for (const batch of BATCHES) {
    await pump(transport, acks, index, WARMUP_ENTRIES, batch);
    index += WARMUP_ENTRIES;
    const allocation = startAllocationCount();
    const started = process.hrtime.bigint();
    const { messages, bytes } = await pump(transport, acks, index, ENTRIES, batch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const heapBytes = allocation.stop();
    index += ENTRIES;
    rows.push({ batch, messages, seconds, bytes, heapBytes });
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    console.log(
      [
        String(batch).padStart(5),
        fmt(ENTRIES).padStart(12),
        fmt(messages).padStart(9),
        seconds.toFixed(2).padStart(9),
        fmt(messages / seconds).padStart(11),
        fmt(ENTRIES / seconds).padStart(10),
        (bytes / seconds / 1e6).toFixed(1).padStart(7),
        (heapBytes / ENTRIES).toFixed(0).padStart(12),
      ].join('  '),
    );
  }
  const best = Math.max(...rows.map((r) => ENTRIES / r.seconds));
  const met = rows.filter((r) => ENTRIES / r.seconds > GOAL_ENTRIES_PER_SECOND).map((r) => r.batch);
  console.log(
    `goal (> ${GOAL_ENTRIES_PER_SECOND.toLocaleString('en-US')} entries/s): ${
      met.length > 0 ? `met at batch ${met.join(', ')}` : 'NOT met'
    } (best ${Math.round(best).toLocaleString('en-US')}/s)`,
  );
  const { dialed, accepted } = transport.connectionCounts();
  console.log(`connections held by the leader: ${dialed} dialed, ${accepted} accepted`);
  await transport.close();
  follower.kill('SIGTERM');
  await once(follower, 'exit');
}

if (child) await runFollower();
else await runLeader();
