// The pure pieces of the TCP transport, without sockets: the frame decoder (split and joined
// chunks, a zero or oversized length prefix refused as soon as its 4 bytes are in, the limit
// raised mid-stream), the bounded send queue's drop order (oldest Heartbeat or Append first)
// under its message and its byte bound, the capped, jittered backoff, and option validation
// with typed `code`s.
import type { HeartbeatRequest, LogIndex, Message, NodeId, Term, VoteRequest } from '@cairn/raft';
import { encodeMessage, seededRandom } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from './frame-decoder.js';
import { backoffDelayMs, resolveOptions } from './options.js';
import { SendQueue } from './send-queue.js';

function framed(...payloads: number[][]): Buffer {
  return Buffer.concat(
    payloads.map((p) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(p.length);
      return Buffer.concat([head, Buffer.from(p)]);
    }),
  );
}

function drain(decoder: FrameDecoder): number[][] {
  const out: number[][] = [];
  for (let f = decoder.next(); f !== null; f = decoder.next()) out.push([...f]);
  return out;
}

function codeOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return null;
}

describe('FrameDecoder', () => {
  it('reassembles frames split across chunks and splits frames joined in one chunk', () => {
    const bytes = framed([1, 2, 3], [4], [5, 6, 7, 8, 9]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder(100);
      decoder.push(bytes.subarray(0, cut));
      const first = drain(decoder);
      decoder.push(bytes.subarray(cut));
      expect([...first, ...drain(decoder)]).toEqual([[1, 2, 3], [4], [5, 6, 7, 8, 9]]);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('refuses a zero length and a length over the cap before buffering the body', () => {
    const giant = new FrameDecoder(1024);
    giant.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(codeOf(() => giant.next())).toBe('FrameTooLarge');
    const zero = new FrameDecoder(1024);
    zero.push(Buffer.from([0, 0, 0, 0]));
    expect(codeOf(() => zero.next())).toBe('FrameTooLarge');
  });

  it('applies a raised cap to the frame after the handshake, even within one chunk', () => {
    const decoder = new FrameDecoder(4);
    decoder.push(framed([1], [1, 2, 3, 4, 5, 6]));
    expect([...(decoder.next() ?? [])]).toEqual([1]);
    decoder.frameBytesMax = 10;
    expect(drain(decoder)).toEqual([[1, 2, 3, 4, 5, 6]]);
  });
});

const heartbeat = (commit: number): HeartbeatRequest => ({
  type: 'Heartbeat',
  from: 1 as NodeId,
  to: 2 as NodeId,
  term: 1 as Term,
  commit: commit as LogIndex,
  context: null,
});
const vote = (index: number): VoteRequest => ({
  type: 'Vote',
  from: 1 as NodeId,
  to: 2 as NodeId,
  term: 2 as Term,
  lastIndex: index as LogIndex,
  lastTerm: 1 as Term,
  transfer: false,
});
const label = (m: Message): string =>
  m.type === 'Heartbeat' ? `hb${m.commit}` : m.type === 'Vote' ? `v${m.lastIndex}` : m.type;
const describeAll = (queue: SendQueue): string[] => {
  const out: string[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    out.push(label(item.message));
  }
  return out;
};
/** Queues `m` with its real encoding (count bound tests). */
const put = (queue: SendQueue, m: Message): string[] => queue.push(m, encodeMessage(m)).map(label);
/** Queues `m` as a frame of exactly `frameBytes` (byte bound tests: body + 5-byte head). */
const putSized = (queue: SendQueue, m: Message, frameBytes: number): string[] =>
  queue.push(m, new Uint8Array(frameBytes - 5)).map(label);
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

describe('SendQueue', () => {
  it('drops the oldest Heartbeat or Append first when full, keeping votes', () => {
    const queue = new SendQueue(3, UNBOUNDED);
    put(queue, vote(1));
    put(queue, heartbeat(1));
    put(queue, vote(2));
    expect(put(queue, heartbeat(2))).toEqual(['hb1']);
    expect(describeAll(queue)).toEqual(['v1', 'v2', 'hb2']);
  });

  it('drops the oldest message of any type when no Heartbeat or Append is queued', () => {
    const queue = new SendQueue(2, UNBOUNDED);
    put(queue, vote(1));
    put(queue, vote(2));
    expect(put(queue, vote(3))).toEqual(['v1']);
    expect(queue.length).toBe(2);
    expect(describeAll(queue)).toEqual(['v2', 'v3']);
  });

  it('stays bounded through many pushes and shifts', () => {
    const queue = new SendQueue(100, UNBOUNDED);
    for (let i = 0; i < 10_000; i++) {
      put(queue, heartbeat(i));
      if (i % 3 === 1) queue.shift();
    }
    expect(queue.length).toBe(100);
  });

  it('drops by the same rule when the byte bound is reached, counting frame bytes', () => {
    const queue = new SendQueue(100, 300);
    expect(putSized(queue, vote(1), 100)).toEqual([]);
    expect(putSized(queue, heartbeat(1), 100)).toEqual([]);
    expect(putSized(queue, vote(2), 100)).toEqual([]);
    expect(queue.bytes).toBe(300);
    expect(putSized(queue, heartbeat(2), 100)).toEqual(['hb1']);
    expect(queue.bytes).toBe(300);
    expect(describeAll(queue)).toEqual(['v1', 'v2', 'hb2']);
    expect(queue.bytes).toBe(0);
  });

  it('drops as many as a large message needs, Heartbeats before votes', () => {
    const queue = new SendQueue(100, 300);
    putSized(queue, heartbeat(1), 100);
    putSized(queue, vote(1), 100);
    putSized(queue, heartbeat(2), 100);
    expect(putSized(queue, vote(2), 250)).toEqual(['hb1', 'hb2', 'v1']);
    expect(describeAll(queue)).toEqual(['v2']);
    putSized(queue, vote(3), 150);
    putSized(queue, vote(4), 150);
    expect(putSized(queue, vote(5), 150)).toEqual(['v3']);
    expect(describeAll(queue)).toEqual(['v4', 'v5']);
  });

  it('drops a message larger than the byte bound itself, leaving the queue as it was', () => {
    const queue = new SendQueue(100, 300);
    putSized(queue, heartbeat(1), 100);
    expect(putSized(queue, vote(9), 301)).toEqual(['v9']);
    expect(queue.bytes).toBe(100);
    expect(describeAll(queue)).toEqual(['hb1']);
  });

  it('never holds more than either bound through seeded pushes and shifts', () => {
    const random = seededRandom(11);
    const queue = new SendQueue(50, 10_000);
    let held = 0;
    for (let i = 0; i < 20_000; i++) {
      const size = 5 + random.nextInt(2_000);
      const m = random.nextInt(4) === 0 ? vote(i) : heartbeat(i);
      held += 1 - queue.push(m, new Uint8Array(size - 5)).length;
      if (random.nextInt(3) === 0 && queue.shift() !== undefined) held--;
      expect(queue.length).toBe(held);
      expect(queue.length).toBeLessThanOrEqual(50);
      expect(queue.bytes).toBeLessThanOrEqual(10_000);
    }
    let drained = 0;
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) drained++;
    expect(drained).toBe(held);
    expect(queue.bytes).toBe(0);
  });
});

describe('backoff and options', () => {
  it('grows exponentially to the cap with jitter in [step/2, step]', () => {
    const random = seededRandom(3);
    for (let attempt = 0; attempt < 20; attempt++) {
      const step = Math.min(1000, 10 * 2 ** attempt);
      const delay = backoffDelayMs(attempt, 10, 1000, random);
      expect(delay).toBeGreaterThanOrEqual(Math.ceil(step / 2));
      expect(delay).toBeLessThanOrEqual(step);
    }
  });

  it('rejects unusable options with ConfigInvalid', () => {
    const base = { nodeId: 1, clusterId: 'c', listen: '127.0.0.1:0', peers: {} };
    expect(codeOf(() => resolveOptions({ ...base, listen: 'nowhere' }))).toBe('ConfigInvalid');
    expect(codeOf(() => resolveOptions({ ...base, nodeId: 0 }))).toBe('ConfigInvalid');
    expect(codeOf(() => resolveOptions({ ...base, frameBytesMax: 8 }))).toBe('ConfigInvalid');
    expect(codeOf(() => resolveOptions({ ...base, clusterId: '' }))).toBe('ConfigInvalid');
    expect(codeOf(() => resolveOptions({ ...base, queueBytesMax: 0 }))).toBe('ConfigInvalid');
    expect(resolveOptions(base).queueBytesMax).toBe(64 * 1024 * 1024);
    expect(resolveOptions(base).frameBytesMax).toBe(16 * 1024 * 1024);
  });
});
