import type { LogIndex, NodeId, Term } from '../ids.js';
import type { AppendRequest, HeartbeatRequest, Message, SnapshotRequest } from '../messages.js';
import type { Transport } from '../ports/transport.js';

/**
 * The conformance suite for the `Transport` port (STYLE.md §5): every implementation (the
 * memory twin, TCP, one a user writes over their own channel) runs it unchanged. The test
 * framework comes in as functions, so this published module never imports vitest:
 *
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * runTransportSuite({ describe, it, expect }, 'MyTransport', { create: async (ids) => ... });
 * ```
 *
 * What it proves: each message sent arrives exactly once, at the node it names, with equal
 * content; order per link is kept; an unknown peer id neither throws nor disturbs the others;
 * `close` stops delivery to the closed node; a Snapshot larger than any sane frame arrives whole.
 * For transports with the optional `setPeer`/`removePeer` pair (both or neither): a removed peer
 * gets nothing and delivers nothing while the others keep talking, and `setPeer` brings it back
 * both ways; removing an unknown peer or itself, or setting its own id, changes nothing.
 * It waits by calling `settle()` a bounded number of times, never by reading a clock.
 */

/** The smallest slice of an `expect` the suite needs; vitest's and jest's both fit. */
export type SuiteExpect = (
  actual: unknown,
  message?: string,
) => {
  toEqual(expected: unknown): void;
  toBe(expected: unknown): void;
};

/** The test framework, passed in (vitest's `describe`, `it`, `expect`). */
export interface SuiteApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeoutMs?: number): void;
  expect: SuiteExpect;
  beforeEach?: (body: () => Promise<void> | void) => void;
  afterEach?: (body: () => Promise<void> | void) => void;
}

/** What one test gets from the implementation under test. */
export interface TransportCluster {
  /**
   * One transport per id, constructed but NOT started: the suite sets `onMessage` and
   * `onUnreachable` on each, then calls `start()` (the port says handlers come first).
   */
  transports: Map<NodeId, Transport>;
  /**
   * Lets messages in flight make progress: a memory network delivers a round, a socket
   * transport yields to the event loop for a moment. The suite calls it in bounded loops.
   */
  settle(): Promise<void>;
  /** Releases everything `create` made (closing a transport twice must be harmless). */
  close(): Promise<void>;
  /**
   * The address node `id` is reachable at, as `setPeer` takes it. Required when the
   * transports implement `setPeer`/`removePeer`; the membership tests pass it to `setPeer`.
   */
  addressOf?(id: number): string;
}

export interface TransportFactory {
  create(ids: number[]): Promise<TransportCluster>;
}

/** How many times the suite calls `settle()` while waiting for one condition. */
const SETTLE_CALLS_MAX = 2_000;
/** A per-test bound for the framework, so a transport that hangs fails instead of stalling. */
const TEST_TIMEOUT_MS = 60_000;
/** Messages per link in the ordering test. */
const ORDER_MESSAGES = 500;
/** Bigger than the 1 MiB chunks and default frame caps of typical transports. */
const SNAPSHOT_BYTES = 5 * 1024 * 1024 + 123;

interface Started {
  cluster: TransportCluster;
  received: Map<NodeId, Message[]>;
}

async function startCluster(factory: TransportFactory, ids: number[]): Promise<Started> {
  const cluster = await factory.create(ids);
  const received = new Map<NodeId, Message[]>();
  for (const [id, transport] of cluster.transports) {
    const inbox: Message[] = [];
    received.set(id, inbox);
    transport.onMessage((message) => inbox.push(message));
    transport.onUnreachable(() => {});
  }
  for (const transport of cluster.transports.values()) await transport.start();
  return { cluster, received };
}

async function settleUntil(cluster: TransportCluster, done: () => boolean): Promise<boolean> {
  for (let call = 0; call < SETTLE_CALLS_MAX; call++) {
    if (done()) return true;
    await cluster.settle();
  }
  return done();
}

function transportOf(cluster: TransportCluster, id: number): Transport {
  const transport = cluster.transports.get(id as NodeId);
  if (transport === undefined) throw new Error(`factory returned no transport for node ${id}`);
  return transport;
}

function inboxOf(started: Started, id: number): Message[] {
  return started.received.get(id as NodeId) ?? [];
}

function heartbeat(from: number, to: number, commit: number): HeartbeatRequest {
  return {
    type: 'Heartbeat',
    from: from as NodeId,
    to: to as NodeId,
    term: 3 as Term,
    commit: commit as LogIndex,
    context: commit % 2 === 0 ? null : `ctx-${commit}`,
  };
}

function append(from: number, to: number, prevIndex: number): AppendRequest {
  const entries = [1, 2, 3].map((k) => ({
    term: 3 as Term,
    index: (prevIndex + k) as LogIndex,
    type: 'normal' as const,
    data: Uint8Array.from({ length: 16 + k }, (_, i) => (prevIndex + i * k) & 0xff),
  }));
  return {
    type: 'Append',
    from: from as NodeId,
    to: to as NodeId,
    term: 3 as Term,
    prevIndex: prevIndex as LogIndex,
    prevTerm: 2 as Term,
    entries,
    commit: prevIndex as LogIndex,
  };
}

function bigSnapshot(from: number, to: number): SnapshotRequest {
  const data = new Uint8Array(SNAPSHOT_BYTES);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 11)) & 0xff;
  return {
    type: 'Snapshot',
    from: from as NodeId,
    to: to as NodeId,
    term: 4 as Term,
    snapshot: {
      metadata: {
        index: 900 as LogIndex,
        term: 4 as Term,
        confState: {
          voters: [1, 2, 3] as NodeId[],
          votersOutgoing: [],
          learners: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data,
    },
  };
}

/** Plain arrays compare and print better than typed arrays (and Buffers) in a failed `toEqual`. */
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = comparable(field);
    return out;
  }
  return value;
}

/** The first offset where two byte arrays differ, or -1 (a readable failure for 5 MiB). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export function runTransportSuite(t: SuiteApi, name: string, factory: TransportFactory): void {
  const { describe, it, expect } = t;

  async function withCluster(ids: number[], body: (s: Started) => Promise<void>): Promise<void> {
    const started = await startCluster(factory, ids);
    try {
      await body(started);
    } finally {
      await started.cluster.close();
    }
  }

  describe(`Transport conformance: ${name}`, () => {
    it(
      'delivers every message once, to the node it names, with equal content',
      () =>
        withCluster([1, 2, 3], async (s) => {
          const sent: Message[] = [];
          for (const from of [1, 2, 3]) {
            for (const to of [1, 2, 3]) {
              if (from === to) continue;
              sent.push(heartbeat(from, to, 7), append(from, to, 10 * from + to));
            }
          }
          for (const from of [1, 2, 3]) {
            transportOf(s.cluster, from).send(sent.filter((m) => m.from === from));
          }
          const total = (): number => [1, 2, 3].reduce((n, id) => n + inboxOf(s, id).length, 0);
          expect(await settleUntil(s.cluster, () => total() >= sent.length)).toBe(true);
          // A few more rounds: a duplicate would show up now.
          for (let k = 0; k < 5; k++) await s.cluster.settle();
          for (const id of [1, 2, 3]) {
            const got = inboxOf(s, id);
            const expected = sent.filter((m) => m.to === id);
            const key = (m: Message): string => `${m.from}:${m.type}`;
            expect(got.map(key).sort()).toEqual(expected.map(key).sort());
            for (const message of expected) {
              const match = got.find((m) => key(m) === key(message));
              expect(match === undefined ? undefined : comparable(match)).toEqual(
                comparable(message),
              );
            }
          }
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'keeps the order of messages on each link',
      () =>
        withCluster([1, 2, 3], async (s) => {
          for (let i = 0; i < ORDER_MESSAGES; i++) {
            // Messages go out one `send` call at a time and in mixed batches.
            transportOf(s.cluster, 1).send([heartbeat(1, 2, i)]);
            transportOf(s.cluster, 3).send([append(3, 2, i), heartbeat(3, 1, i)]);
          }
          const done = (): boolean =>
            inboxOf(s, 2).length >= 2 * ORDER_MESSAGES && inboxOf(s, 1).length >= ORDER_MESSAGES;
          expect(await settleUntil(s.cluster, done)).toBe(true);
          const counters = (id: number, from: number): number[] =>
            inboxOf(s, id)
              .filter((m) => m.from === from)
              .map((m) =>
                m.type === 'Append' ? m.prevIndex : m.type === 'Heartbeat' ? m.commit : -1,
              );
          const ascending = Array.from({ length: ORDER_MESSAGES }, (_, i) => i);
          expect(counters(2, 1)).toEqual(ascending);
          expect(counters(2, 3)).toEqual(ascending);
          expect(counters(1, 3)).toEqual(ascending);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'does not throw for an unknown peer id and keeps serving the known ones',
      () =>
        withCluster([1, 2], async (s) => {
          const one = transportOf(s.cluster, 1);
          let thrown: unknown = null;
          try {
            one.send([heartbeat(1, 99, 1), heartbeat(1, 2, 2)]);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBe(null);
          expect(await settleUntil(s.cluster, () => inboxOf(s, 2).length >= 1)).toBe(true);
          for (let k = 0; k < 5; k++) await s.cluster.settle();
          expect(inboxOf(s, 2).map((m) => (m.type === 'Heartbeat' ? m.commit : -1))).toEqual([2]);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'stops delivering to a transport once it is closed, and send after close does not throw',
      () =>
        withCluster([1, 2], async (s) => {
          const one = transportOf(s.cluster, 1);
          const two = transportOf(s.cluster, 2);
          one.send([heartbeat(1, 2, 1)]);
          expect(await settleUntil(s.cluster, () => inboxOf(s, 2).length >= 1)).toBe(true);
          await two.close();
          one.send([heartbeat(1, 2, 2), heartbeat(1, 2, 3)]);
          two.send([heartbeat(2, 1, 4)]);
          for (let k = 0; k < 20; k++) await s.cluster.settle();
          expect(inboxOf(s, 2).length).toBe(1);
          expect(inboxOf(s, 1).length).toBe(0);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'delivers a Snapshot larger than a frame whole, and other traffic still flows',
      () =>
        withCluster([1, 2], async (s) => {
          const snapshot = bigSnapshot(1, 2);
          const one = transportOf(s.cluster, 1);
          one.send([snapshot]);
          one.send([heartbeat(1, 2, 1)]);
          const done = (): boolean => inboxOf(s, 2).length >= 2;
          expect(await settleUntil(s.cluster, done)).toBe(true);
          const got = inboxOf(s, 2).find((m) => m.type === 'Snapshot');
          expect(got?.type).toBe('Snapshot');
          if (got?.type !== 'Snapshot') return;
          expect(got.snapshot.metadata).toEqual(snapshot.snapshot.metadata);
          expect(got.snapshot.data.length).toBe(SNAPSHOT_BYTES);
          expect(firstDifference(got.snapshot.data, snapshot.snapshot.data)).toBe(-1);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'implements setPeer and removePeer both or neither',
      () =>
        withCluster([1], async (s) => {
          const one = transportOf(s.cluster, 1);
          expect(typeof one.setPeer === 'function').toBe(typeof one.removePeer === 'function');
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'removePeer stops traffic to and from the peer while others talk; setPeer brings it back',
      () =>
        withCluster([1, 2, 3], async (s) => {
          const one = transportOf(s.cluster, 1);
          const two = transportOf(s.cluster, 2);
          const three = transportOf(s.cluster, 3);
          if (one.setPeer === undefined || one.removePeer === undefined) return;
          const addressOf = s.cluster.addressOf;
          expect(typeof addressOf, 'a membership-capable factory must provide addressOf').toBe(
            'function',
          );
          if (addressOf === undefined) return;
          const commitsFrom = (id: number, from: number): number[] =>
            inboxOf(s, id)
              .filter((m) => m.from === from)
              .map((m) => (m.type === 'Heartbeat' ? m.commit : -1));
          // Connections up in every direction that matters.
          one.send([heartbeat(1, 2, 1)]);
          two.send([heartbeat(2, 1, 1)]);
          three.send([heartbeat(3, 1, 1), heartbeat(3, 2, 1)]);
          const warm = (): boolean =>
            commitsFrom(2, 1).length === 1 &&
            commitsFrom(1, 2).length === 1 &&
            commitsFrom(1, 3).length === 1 &&
            commitsFrom(2, 3).length === 1;
          expect(await settleUntil(s.cluster, warm)).toBe(true);

          one.removePeer(2 as NodeId);
          one.send([heartbeat(1, 2, 2)]);
          two.send([heartbeat(2, 1, 2)]);
          three.send([heartbeat(3, 1, 2), heartbeat(3, 2, 2)]);
          const others = (): boolean =>
            commitsFrom(1, 3).length === 2 && commitsFrom(2, 3).length === 2;
          expect(await settleUntil(s.cluster, others)).toBe(true);
          for (let k = 0; k < 20; k++) await s.cluster.settle();
          expect(commitsFrom(2, 1)).toEqual([1]);
          expect(commitsFrom(1, 2)).toEqual([1]);

          one.setPeer(2 as NodeId, addressOf(2));
          // Node 2's side may still be backing off after node 1 refused it: keep sending.
          let commit = 100;
          const back = (): boolean => {
            one.send([heartbeat(1, 2, commit)]);
            two.send([heartbeat(2, 1, commit)]);
            commit++;
            return (
              commitsFrom(2, 1).some((c) => c >= 100) && commitsFrom(1, 2).some((c) => c >= 100)
            );
          };
          expect(await settleUntil(s.cluster, back)).toBe(true);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      'removing an unknown peer or itself, or setting its own id, changes nothing',
      () =>
        withCluster([1, 2], async (s) => {
          const one = transportOf(s.cluster, 1);
          const two = transportOf(s.cluster, 2);
          if (one.setPeer === undefined || one.removePeer === undefined) return;
          const addressOf = s.cluster.addressOf;
          if (addressOf === undefined) return;
          one.removePeer(99 as NodeId);
          one.removePeer(1 as NodeId);
          one.setPeer(1 as NodeId, addressOf(2));
          one.send([heartbeat(1, 2, 1)]);
          two.send([heartbeat(2, 1, 1)]);
          const both = (): boolean => inboxOf(s, 1).length === 1 && inboxOf(s, 2).length === 1;
          expect(await settleUntil(s.cluster, both)).toBe(true);
        }),
      TEST_TIMEOUT_MS,
    );
  });
}
