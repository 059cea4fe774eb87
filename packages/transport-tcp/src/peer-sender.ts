import type * as net from 'node:net';
import { encodeMessage, type Message, type SnapshotRequest } from '@cairn/raft';
import type { TransportErrorCode } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { SendQueue } from './send-queue.js';
import { FrameKind, frameHead } from './wire.js';

/**
 * Bytes a socket may hold unsent before the sender waits for 'drain'. Above Node's 16 KiB
 * default so a flush writes a useful batch; small enough that one slow peer cannot hold much.
 */
const SOCKET_BUFFER_BYTES_MAX = 1024 * 1024;
/** Messages written between two snapshot chunks, so heartbeats pass a catch-up stream. */
const MESSAGES_PER_CHUNK = 256;

interface SnapshotStream {
  data: Uint8Array;
  offset: number;
  id: number;
  message: SnapshotRequest;
}

/**
 * What this node has to send one peer, and how it goes on the wire: a bounded queue of encoded
 * messages (send-queue.ts) and at most one snapshot, streamed in chunks interleaved with the
 * queue. It writes to whatever socket its link gives it; it knows nothing of connections.
 */
export class PeerSender {
  private readonly queue: SendQueue;
  private stream: SnapshotStream | null = null;
  /** Invariant: at most one snapshot waits; a newer one replaces it (Raft sends the latest). */
  private pendingSnapshot: SnapshotRequest | null = null;
  private nextStreamId = 1;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly report: (code: TransportErrorCode, detail: string) => void,
  ) {
    this.queue = new SendQueue(options.queueMessagesMax, options.queueBytesMax);
  }

  hasWork(): boolean {
    return this.queue.length > 0 || this.pendingSnapshot !== null || this.stream !== null;
  }

  push(message: Message): void {
    if (message.type === 'Snapshot') {
      this.pendingSnapshot = message;
      return;
    }
    // Encoded now, so the queue can count bytes and an oversized message never waits.
    const body = encodeMessage(message);
    if (body.length + 1 > this.options.frameBytesMax) {
      this.report('FrameTooLarge', `dropped a ${message.type} of ${body.length} bytes`);
      return;
    }
    for (const dropped of this.queue.push(message, body)) {
      this.report(
        'QueueFull',
        dropped === message
          ? `dropped a ${message.type} larger than queueBytesMax`
          : `dropped a queued ${dropped.type}`,
      );
    }
  }

  /**
   * Writes what waits into `socket` (corked: one `writev`); returns false once the socket holds
   * more than it should, and the caller waits for 'drain' before writing again.
   */
  writeTo(socket: net.Socket): boolean {
    let room = true;
    socket.cork();
    try {
      while (room) {
        let wrote = false;
        for (let n = 0; n < MESSAGES_PER_CHUNK && room; n++) {
          const item = this.queue.shift();
          if (item === undefined) break;
          room = write(socket, frameHead(FrameKind.Message, item.body.length), item.body);
          wrote = true;
        }
        if (room && this.stream === null && this.pendingSnapshot !== null) {
          room = this.beginStream(socket, this.pendingSnapshot);
          wrote = true;
        }
        if (room && this.stream !== null) {
          room = this.writeChunk(socket, this.stream);
          wrote = true;
        }
        if (!wrote) break;
      }
    } finally {
      socket.uncork();
    }
    return room;
  }

  /** The receiver drops a half-received stream with its connection: send it again, whole. */
  restartStream(): void {
    if (this.stream === null) return;
    this.pendingSnapshot ??= this.stream.message;
    this.stream = null;
  }

  clear(): void {
    this.queue.clear();
    this.pendingSnapshot = null;
    this.stream = null;
  }

  private beginStream(socket: net.Socket, message: SnapshotRequest): boolean {
    this.pendingSnapshot = null;
    const id = this.nextStreamId++;
    const data = message.snapshot.data;
    const body = encodeMessage({
      ...message,
      snapshot: { ...message.snapshot, data: new Uint8Array(0) },
    });
    const head = frameHead(FrameKind.SnapBegin, body.length, 12);
    head.writeUInt32BE(id, 5);
    head.writeDoubleBE(data.length, 9);
    if (data.length > 0) this.stream = { data, offset: 0, id, message };
    return write(socket, head, body);
  }

  private writeChunk(socket: net.Socket, stream: SnapshotStream): boolean {
    const end = Math.min(stream.data.length, stream.offset + this.options.snapshotChunkBytes);
    const body = stream.data.subarray(stream.offset, end);
    const head = frameHead(FrameKind.SnapChunk, body.length, 4);
    head.writeUInt32BE(stream.id, 5);
    stream.offset = end;
    if (end >= stream.data.length) this.stream = null;
    return write(socket, head, body);
  }
}

/** Writes head and body; false once the socket holds more than it should (wait for drain). */
function write(socket: net.Socket, head: Buffer, body: Uint8Array): boolean {
  socket.write(head);
  return socket.write(body) || socket.writableLength < SOCKET_BUFFER_BYTES_MAX;
}
