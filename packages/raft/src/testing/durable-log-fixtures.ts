/**
 * What the `DurableLog` conformance suite builds its cases from: entries whose content derives
 * from index and term (a misplaced or stale entry never compares equal), snapshots, and reads
 * that go through `'unavailable'` answers by waiting for the log's `onAvailable` listener.
 */
import type { LogIndex, NodeId, Term } from '../ids.js';
import type { DurableLog } from '../ports/durable-log.js';
import type { ConfState, Entry, Snapshot } from '../types.js';
import type { DurableLogFactory } from './durable-log-suite.js';

/** Bytes of data per entry in the byte-limit tests; `entryBytes` adds 16 per entry. */
export const DATA_BYTES = 100;
export const ENTRY_COST = DATA_BYTES + 16;
/** No byte limit: large enough for every range the suite reads. */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;
/**
 * Loads one read may wait for before the suite calls the log stuck. Each load brings at least
 * the entry asked for, and the suite's logs hold a few hundred entries.
 */
const LOADS_PER_READ_MAX = 1000;

export const CONF: ConfState = {
  voters: [1, 2, 3] as NodeId[],
  votersOutgoing: [],
  learners: [4] as NodeId[],
  learnersNext: [],
  autoLeave: false,
};

export function entry(index: number, term: number, dataBytes = 8): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index: index as LogIndex, term: term as Term, type: 'normal', data };
}

export function entries(from: number, to: number, term: number, dataBytes?: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term, dataBytes));
  return list;
}

export function snapshotAt(index: number, term: number, fill: number): Snapshot {
  return {
    metadata: { index: index as LogIndex, term: term as Term, confState: CONF },
    data: Uint8Array.from([fill, fill + 1, fill + 2, 0, 255]),
  };
}

/**
 * A log's `onAvailable` calls, counted, with a way to wait for the next one. The suite registers
 * one per log it opens (the listener is the log's only one, as the runtime's would be).
 */
export class Availability {
  calls = 0;
  /** `'unavailable'` answers seen by `read` and `readAll`. */
  misses = 0;
  private waiters: (() => void)[] = [];

  constructor(log: DurableLog) {
    log.onAvailable(() => {
      this.calls++;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves at the next listener call (not one that happened before this). */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** `entries(lo, hi, bytesMax)`, asking again after each listener call while it is unavailable. */
  async read(
    log: DurableLog,
    lo: number,
    hi: number,
    bytesMax = NO_LIMIT,
  ): Promise<Entry[] | null> {
    for (let loads = 0; loads < LOADS_PER_READ_MAX; loads++) {
      const result = log.entries(lo as LogIndex, hi as LogIndex, bytesMax);
      if (result !== 'unavailable') return result;
      this.misses++;
      await this.next();
    }
    throw new Error(`entries(${lo}, ${hi}) still unavailable after ${LOADS_PER_READ_MAX} loads`);
  }

  /** Every entry of [lo, hi), read as prefixes (a log may stop at the end of what it loaded). */
  async readAll(log: DurableLog, lo: number, hi: number): Promise<Entry[] | null> {
    const all: Entry[] = [];
    let next = lo;
    while (next < hi) {
      const part = await this.read(log, next, hi);
      if (part === null && next === lo) return null;
      if (part === null) throw new Error(`entries(${next}, ${hi}) compacted while reading`);
      if (part.length === 0) throw new Error(`entries(${next}, ${hi}) returned no entry`);
      all.push(...part);
      next += part.length;
    }
    return all;
  }
}

/** An open log for one test; `reopen` swaps it for a reopened one when supported. */
export interface LogHandle {
  log: DurableLog;
  /** The log's listener calls, and reads that wait for them; replaced on reopen. */
  availability: Availability;
  /** Whether reopen checks apply: the log is durable and the factory can reopen it. */
  readonly durable: boolean;
  reopen(): Promise<void>;
}

/** Opens a log with `open`, runs `body`, and closes whatever log the handle holds at the end. */
export async function withLog(
  factory: DurableLogFactory,
  open: () => Promise<DurableLog>,
  body: (handle: LogHandle) => Promise<void>,
): Promise<void> {
  const log = await open();
  const reopenLog = factory.reopen;
  const handle: LogHandle = {
    log,
    availability: new Availability(log),
    durable: log.features.durable && reopenLog !== undefined,
    async reopen(): Promise<void> {
      if (reopenLog === undefined || !log.features.durable) return;
      handle.log = await reopenLog(handle.log);
      handle.availability = new Availability(handle.log);
    },
  };
  try {
    await body(handle);
  } finally {
    await handle.log.close();
  }
}

/** Everything the read view answers, for comparing a log before and after reopening. */
export async function stateOf(handle: LogHandle): Promise<unknown[]> {
  const log = handle.log;
  const first = log.firstIndex();
  const last = log.lastIndex();
  const terms: (Term | null)[] = [];
  for (let i = first - 2; i <= last + 1; i++) terms.push(i < 0 ? null : log.term(i as LogIndex));
  return [
    first,
    last,
    terms,
    await handle.availability.readAll(log, first, last + 1),
    log.initialState(),
    log.snapshot(),
  ];
}
