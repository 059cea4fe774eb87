import type { Violation } from './raft-checker.js';

/**
 * A `simulateCluster` run broke a rule: the user's function threw, a checker found a violation
 * in the recorded history or the Raft log, or the cluster did not recover after healing. It
 * carries everything needed to replay the run: the seed, the fault schedule applied (if any)
 * and a replay line.
 */
export class SimulationFailedError extends Error {
  override readonly name = 'SimulationFailedError';
  readonly code = 'SimulationFailed' as const;

  constructor(
    readonly seed: number,
    readonly violations: readonly Violation[],
    /** How to run the same simulation again. */
    readonly replay: string,
    /** The run's trace hash (equal for two runs of one seed and one function). */
    readonly traceHash: string,
    options?: { cause?: unknown },
  ) {
    super(
      [
        `simulation failed (seed ${seed}): ${violations.length} violation(s)`,
        ...violations.slice(0, 20).map((v) => `  [${v.checker}] ${v.message.split('\n')[0]}`),
        ...(violations.length > 20 ? [`  ... and ${violations.length - 20} more`] : []),
        `replay: ${replay}`,
      ].join('\n'),
      options,
    );
  }
}
