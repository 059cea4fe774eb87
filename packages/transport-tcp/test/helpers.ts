import { once } from 'node:events';
import * as net from 'node:net';
import type { HeartbeatRequest, LogIndex, NodeId, Term } from '@cairn/raft';
import { FrameDecoder } from '../src/frame-decoder.js';
import type { TransportEvent } from '../src/index.js';
import { HANDSHAKE_BYTES_MAX } from '../src/wire.js';

/** Loopback only, in every test. */
export const LOOPBACK = '127.0.0.1';

/**
 * Free loopback ports: listen on port 0, note the port, close. Another process could take one
 * before we listen on it again; on a test machine that race is rare and fails loudly (EADDRINUSE).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = net.createServer();
    server.listen(0, LOOPBACK);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    ports.push(address.port);
    servers.push(server);
  }
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Yields to the event loop for `ms` (a wait between polls, never something asserted). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` up to `polls` times, `intervalMs` apart; returns whether it became true. */
export async function waitUntil(
  done: () => boolean,
  polls = 500,
  intervalMs = 10,
): Promise<boolean> {
  for (let i = 0; i < polls; i++) {
    if (done()) return true;
    await pause(intervalMs);
  }
  return done();
}

/** Collects transport events for assertions on `code`. */
export function eventLog(): {
  events: TransportEvent[];
  listener: (event: TransportEvent) => void;
} {
  const events: TransportEvent[] = [];
  return { events, listener: (event) => events.push(event) };
}

/** Reads frames (handshake-sized by default) from a raw socket, one at a time. */
export function frames(
  socket: net.Socket,
  frameBytesMax = HANDSHAKE_BYTES_MAX,
): { next(): Promise<Buffer>; all: Buffer[] } {
  const decoder = new FrameDecoder(frameBytesMax);
  const all: Buffer[] = [];
  const waiting: ((frame: Buffer) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let f = decoder.next(); f !== null; f = decoder.next()) {
      all.push(f);
      waiting.shift()?.(f);
    }
  });
  let read = 0;
  return {
    all,
    next: () => {
      const ready = all[read];
      read++;
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A heartbeat from `from` to `to` in term 1 carrying `commit`: the tests' message of choice. */
export function heartbeat(from: number, to: number, commit: number): HeartbeatRequest {
  return {
    type: 'Heartbeat',
    from: from as NodeId,
    to: to as NodeId,
    term: 1 as Term,
    commit: commit as LogIndex,
    context: null,
  };
}
