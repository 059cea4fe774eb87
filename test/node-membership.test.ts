// Membership changes of a real cluster (issue 5): member processes on TCP over 127.0.0.1 and
// level on disk, driven through test/support/node-process.ts. Under a closed-loop write load on
// the founding members it grows the cluster from 3 to 5 voters (each joiner started with
// `join`, added through a different member, so a follower's proposal is forwarded, and dialled
// at the address the `member` entry taught every node), shrinks it back to 3, then replaces a
// member that was SIGKILLed with a new one. After each change every live member reports the
// same voters, and writes were acknowledged while the change was under way; at the end every
// acknowledged write is read back by linearizable reads on every remaining member, and their
// applied index and digest agree. Waits are bounded polls; nothing asserts a duration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, ProcessCluster, poll } from './support/node-cluster.js';
import type { ProcessStatus, ReadOutcome } from './support/protocol.js';

const TICK_MS = 25;
const ELECTION_TICKS = 10;
const SNAPSHOT_ENTRIES = 200;
/** Bounds each writer's loop, whatever else happens. */
const WRITES_PER_WRITER_MAX = 20_000;
const CHANGE_TIMEOUT_MS = 30_000;
const POLLS_MAX = 3_000;
const POLL_MS = 10;
/** Acknowledged writes every phase must see before it starts its change (the load is running). */
const WRITES_BEFORE_CHANGE = 20;

interface Writer {
  readonly member: number;
  readonly acked: string[];
  /** Acknowledgement times, in the order of `acked`, on this process's clock. */
  readonly ackedAt: number[];
  stopped: boolean;
  failure: string | null;
  done: Promise<void>;
}

let cluster: ProcessCluster;
const writers: Writer[] = [];

function startWriter(member: NodeProcess): Writer {
  const writer: Writer = {
    member: member.config.id,
    acked: [],
    ackedAt: [],
    stopped: false,
    failure: null,
    done: Promise.resolve(),
  };
  writer.done = (async () => {
    const session = await member.request<number>({ op: 'session', timeoutMs: 10_000 });
    for (let i = 0; i < WRITES_PER_WRITER_MAX && !writer.stopped; i++) {
      const path = `/load/m${writer.member}-${i}`;
      try {
        await member.request({ op: 'create', session, path, data: path });
      } catch (error) {
        // Its member was killed or removed under it: the outcome of this write is unknown.
        writer.failure = String(error);
        return;
      }
      writer.acked.push(path);
      writer.ackedAt.push(performance.now());
    }
  })();
  return writer;
}

function ackedBetween(from: number, to: number): number {
  let count = 0;
  for (const writer of writers)
    for (const at of writer.ackedAt) if (at >= from && at <= to) count++;
  return count;
}

function ackedSoFar(): number {
  return writers.reduce((sum, w) => sum + w.acked.length, 0);
}

/** Waits until the load has made `count` more acknowledged writes. */
async function loadRuns(count: number): Promise<void> {
  const target = ackedSoFar() + count;
  const reached = await poll(async () => ackedSoFar() >= target, POLLS_MAX, POLL_MS);
  expect(reached, `the load made ${count} more writes`).toBe(true);
}

/** The member that leads in the newest term (a joiner not yet added follows no one). */
async function leader(): Promise<NodeProcess> {
  const found = await poll(
    async () => {
      const leaders = (await cluster.statuses()).filter((s) => s.role === 'leader');
      return leaders.sort((a, b) => b.term - a.term)[0];
    },
    POLLS_MAX,
    POLL_MS,
  );
  expect(found, 'a leader').not.toBeNull();
  return cluster.member((found as ProcessStatus).id);
}

/** Polls until every live member reports exactly `voters` as the voters. */
async function votersAre(voters: number[]): Promise<ProcessStatus[]> {
  const statuses = await poll(
    async () => {
      const all = await cluster.statuses();
      if (all.length !== cluster.alive().length) return null;
      const agree = all.every((s) => [...s.voters].sort().join() === voters.join());
      return agree ? all : null;
    },
    POLLS_MAX,
    POLL_MS,
  );
  expect(statuses, `every live member reports voters ${voters.join(',')}`).not.toBeNull();
  return statuses as ProcessStatus[];
}

/** Runs `change` while the load runs; expects writes acknowledged between its start and end. */
async function underLoad(change: () => Promise<void>): Promise<void> {
  await loadRuns(WRITES_BEFORE_CHANGE);
  const started = performance.now();
  await change();
  await loadRuns(WRITES_BEFORE_CHANGE);
  const during = ackedBetween(started, performance.now());
  expect(during, 'writes acknowledged while the change was under way').toBeGreaterThanOrEqual(
    WRITES_BEFORE_CHANGE,
  );
}

beforeAll(async () => {
  cluster = await ProcessCluster.start({
    size: 3,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    snapshotEntries: SNAPSHOT_ENTRIES,
  });
  const first = await leader();
  const setup = await first.request<number>({ op: 'session', timeoutMs: 10_000 });
  await first.request({ op: 'create', session: setup, path: '/load', data: '' });
  for (const id of [1, 2, 3]) writers.push(startWriter(cluster.member(id)));
}, 120_000);

afterAll(async () => {
  for (const writer of writers) writer.stopped = true;
  await cluster?.close();
});

describe('membership of a 3-process cluster on TCP and level, under a write load', () => {
  it('grows from 3 to 5 voters: joiners are added through a follower and the leader', async () => {
    await underLoad(async () => {
      const address4 = await cluster.startJoiner(4);
      const current = await leader();
      const follower = [1, 2, 3].find((id) => id !== current.config.id) as number;
      await cluster
        .member(follower)
        .request(
          { op: 'addMember', member: 4, address: address4, learner: false },
          CHANGE_TIMEOUT_MS,
        );
      const address5 = await cluster.startJoiner(5);
      await (await leader()).request(
        { op: 'addMember', member: 5, address: address5, learner: false },
        CHANGE_TIMEOUT_MS,
      );
    });
    await votersAre([1, 2, 3, 4, 5]);
    // The joiners replicate: each applies entries written after it joined.
    const caughtUp = await poll(
      async () => {
        const statuses = await cluster.statuses();
        const leaderStatus = statuses.find((s) => s.role === 'leader');
        if (leaderStatus === undefined) return null;
        const joiners = statuses.filter((s) => s.id === 4 || s.id === 5);
        return joiners.length === 2 && joiners.every((s) => s.applied >= leaderStatus.commit - 50)
          ? joiners
          : null;
      },
      POLLS_MAX,
      POLL_MS,
    );
    expect(caughtUp, 'members 4 and 5 follow the log').not.toBeNull();
  }, 120_000);

  it('shrinks back from 5 to 3 voters, then the removed members are stopped', async () => {
    await underLoad(async () => {
      await cluster.member(3).request({ op: 'removeMember', member: 4 }, CHANGE_TIMEOUT_MS);
      await (await leader()).request({ op: 'removeMember', member: 5 }, CHANGE_TIMEOUT_MS);
    });
    await cluster.member(4).kill('SIGKILL');
    await cluster.member(5).kill('SIGKILL');
    await votersAre([1, 2, 3]);
    await loadRuns(WRITES_BEFORE_CHANGE);
  }, 120_000);

  it('replaces a SIGKILLed member with a new one', async () => {
    await cluster.member(3).kill('SIGKILL');
    await underLoad(async () => {
      await (await leader()).request({ op: 'removeMember', member: 3 }, CHANGE_TIMEOUT_MS);
      const address6 = await cluster.startJoiner(6);
      await cluster
        .member(1)
        .request(
          { op: 'addMember', member: 6, address: address6, learner: false },
          CHANGE_TIMEOUT_MS,
        );
    });
    await votersAre([1, 2, 6]);
  }, 120_000);

  it('keeps every acknowledged write: read back on every member, same applied index and digest', async () => {
    for (const writer of writers) writer.stopped = true;
    await Promise.all(writers.map((w) => w.done));
    const acked = writers.flatMap((w) => w.acked);
    expect(acked.length).toBeGreaterThan(WRITES_BEFORE_CHANGE * 6);
    for (const id of [1, 2, 6]) {
      const member = cluster.member(id);
      const session = await member.request<number>({ op: 'session', timeoutMs: 10_000 });
      const values = await member.request<ReadOutcome[]>(
        { op: 'getMany', session, paths: acked, linearizable: true },
        60_000,
      );
      const missing = acked.flatMap((path, i) =>
        values[i] === path ? [] : [`${path}: ${JSON.stringify(values[i])}`],
      );
      expect(missing.slice(0, 5), `member ${id}: acknowledged writes not read back`).toEqual([]);
    }
    const converged = await poll(
      async () => {
        const statuses = await cluster.statuses();
        const [first] = statuses;
        if (statuses.length !== 3 || first === undefined) return null;
        return statuses.every((s) => s.applied === first.applied && s.digest === first.digest)
          ? statuses
          : null;
      },
      POLLS_MAX,
      POLL_MS,
    );
    expect(converged, 'members 1, 2 and 6 reach the same applied index and digest').not.toBeNull();
  }, 180_000);
});
