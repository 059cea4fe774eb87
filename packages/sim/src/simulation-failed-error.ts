import type { Violation } from './raft-checker.js';

/**
 * A `simulateCluster` run broke a rule: the user's function threw, a checker found a violation
 * in the recorded history or the Raft log, or the cluster did not recover after healing. It
 * carries everything needed to replay the run: the seed, the fault schedule applied (if any)
 * and a replay line; and, so that a failure reads without a replay, the primary violation's
 * minimal failing history and a timeline excerpt (`details`, in the message too).
 */
export class SimulationFailedError extends Error {
  override readonly name = 'SimulationFailedError';
  readonly code = 'SimulationFailed' as const;
  /** What the primary violation (`primaryViolation`) concerns: its minimal failing history and a timeline excerpt. */
  readonly details: string;

  constructor(
    readonly seed: number,
    readonly violations: readonly Violation[],
    /** How to run the same simulation again. */
    readonly replay: string,
    /** The run's trace hash (equal for two runs of one seed and one function). */
    readonly traceHash: string,
    options?: {
      cause?: unknown;
      /** The minimal failing history and timeline excerpt (`failureDetails`), appended to the message. */
      details?: string;
    },
  ) {
    super(
      [
        `simulation failed (seed ${seed}): ${violations.length} violation(s)`,
        ...violations.slice(0, 20).map((v) => `  [${v.checker}] ${v.message.split('\n')[0]}`),
        ...(violations.length > 20 ? [`  ... and ${violations.length - 20} more`] : []),
        `replay: ${replay}`,
        ...(options?.details === undefined || options.details === '' ? [] : [options.details]),
      ].join('\n'),
      options === undefined ? undefined : { cause: options.cause },
    );
    this.details = options?.details ?? '';
  }
}
