import { randomBytes } from 'node:crypto';
import { type Random, seededRandom } from '@cairn/raft';

/**
 * What varies from run to run comes in through these (STYLE §6): the real ones by default, a
 * virtual clock and seeded randomness from tests and the simulator, so one seed replays a run.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: true };

export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Runs `callback` once the current turn of the event loop is over (I/O first). */
  setImmediate(callback: () => void): void;
}

/** The node's randomness: election jitter, session passwords, read contexts. */
export interface NodeRandom extends Random {
  /** `length` random bytes (session passwords). */
  bytes(length: number): Uint8Array;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
  setImmediate: (callback) => {
    setImmediate(callback);
  },
};

/** Real randomness: jitter from a generator seeded by the OS, passwords from the OS. */
export function systemRandom(): NodeRandom {
  const jitter = seededRandom(randomBytes(4).readUInt32LE(0));
  return { nextInt: (max) => jitter.nextInt(max), bytes: (length) => randomBytes(length) };
}

/** Seeded randomness for tests and the simulator: everything it draws replays from `seed`. */
export function seededNodeRandom(seed: number): NodeRandom {
  const random = seededRandom(seed);
  return {
    nextInt: (max) => random.nextInt(max),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = random.nextInt(256);
      return out;
    },
  };
}
