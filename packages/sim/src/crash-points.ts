/**
 * Crash points inside one Ready (RELIABILITY F5): the process dies at a precise step of the
 * runtime's Ready handling instead of between two Readys. None needs a hook in `@cairn/node`:
 * each point sits in a part of the environment the simulator owns.
 *
 * - `afterSend`: the gate hands the first message of a batch to the network, then the node dies
 *   (the rest of the batch is never sent).
 * - `afterPersist`: `SimDisk` made a write durable; the node dies before the runtime hears back.
 * - `afterPersistVote`: `SimDisk` made a hard state with a new vote durable; the node dies as
 *   soon as the batch carrying its answer has left (the Ready's after-persist messages). Dying
 *   before the answer leaves could never make a lost vote count twice; dying right after it
 *   is what a "vote twice in one term" bug (the `forgetVote` plant) needs.
 * - `midApply`: the apply tap saw one committed entry applied; the node dies before the next.
 * - `midSnapshotWrite`: a write carrying a snapshot (an install, or a compaction's snapshot
 *   part) is torn: part of its record reached the disk, unsynced.
 * - `afterSnapshotBeforeTruncate`: a compaction's snapshot is durable, the log not truncated yet.
 * - `midCompaction`: the compaction's truncation record is torn (snapshot durable, log intact).
 *
 * When a point fires, the cluster runs its `crash(id)` path synchronously at that point
 * (unsynced records may be lost, in-flight writes fail), counts `crashPoint:<name>` and
 * restarts the member after a drawn delay.
 */
import type { Rng } from './rng.js';

export const CRASH_POINTS = [
  'afterSend',
  'afterPersist',
  'afterPersistVote',
  'midApply',
  'midSnapshotWrite',
  'afterSnapshotBeforeTruncate',
  'midCompaction',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

/**
 * Asked by the disk, the gate and the apply tap at each point. When the member is armed for
 * `point`, it runs `partial` (the part of the step that reached the world: a torn record, the
 * first message), kills the member and returns true: the caller must then stop, as a dead
 * process would. Otherwise it returns false and does nothing.
 */
export type CrashTap = (point: CrashPoint, partial?: () => void) => boolean;

/** Thrown out of the state machine when a member dies mid-apply: the rest of the Ready never runs. */
export class SimCrash extends Error {
  override readonly name = 'SimCrash';
  readonly code = 'ConnectionLoss';
  constructor(
    readonly nodeId: number,
    readonly point: CrashPoint,
  ) {
    super(`node ${nodeId} crashed at ${point}`);
  }
}

/** The coverage counter of a crash point. */
export function crashPointCounter(point: CrashPoint): string {
  return `crashPoint:${point}`;
}

/** Which crash points a run draws from, and how often a crash becomes one. */
export interface CrashPointOptions {
  /** Default: all of `CRASH_POINTS`. */
  readonly points?: readonly CrashPoint[];
  /** The share of crash actions that arm a crash point instead of crashing at once. Default 0.5. */
  readonly chance?: number;
}

/** An armed crash point: fires at the member's first `point` until `untilMs` (virtual). */
export interface ArmedCrashPoint {
  readonly point: CrashPoint;
  readonly untilMs: number;
  /** Virtual ms from the crash to the restart. */
  readonly restartAfterMs: number;
}

/**
 * Draws whether a crash action of the fault phase becomes a crash point, and which, from the
 * run's own crash-point generator (so the other fault draws of a seed stay as they were).
 */
export function drawCrashPoint(
  rng: Rng,
  nowMs: number,
  electionTimeoutMs: number,
  options: CrashPointOptions = {},
): ArmedCrashPoint | null {
  const points = options.points ?? CRASH_POINTS;
  if (points.length === 0 || !rng.chance(options.chance ?? 0.5)) return null;
  const point = rng.pick(points);
  // Long enough for rare steps (a vote, a snapshot) to come; the phase's end disarms it anyway.
  const windowMs = rng.between(electionTimeoutMs * 2, electionTimeoutMs * 20);
  // Half restart at once (a supervisor restarting the process), half after up to 2 timeouts.
  const restartAfterMs = rng.chance(0.5) ? 0 : rng.between(1, electionTimeoutMs * 2);
  return { point, untilMs: nowMs + windowMs, restartAfterMs };
}
