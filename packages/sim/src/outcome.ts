// How a client call's end is written into the history: shared by the built-in workload
// (workload.ts) and the recorded sessions of the user harness (recording-session.ts).
import type { WriteOp } from '@cairn/node';
import type { Outcome } from './history.js';

/** A thrown error as an outcome: its code, and a failed multi's per-op codes. */
export function failure(error: unknown): Outcome {
  const code = (error as { code?: unknown }).code;
  const results = (error as { results?: unknown }).results;
  const codes = Array.isArray(results)
    ? results.map((r) => String((r as { code?: unknown }).code))
    : undefined;
  return {
    status: 'error',
    code: typeof code === 'string' ? code : `thrown:${String(error)}`,
    ...(codes === undefined ? {} : { codes }),
  };
}

/** A multi's ops in one line, as the history's `input` names them. */
export function describeOps(ops: readonly WriteOp[]): string {
  return ops
    .map((op) =>
      op.type === 'create'
        ? `create ${op.path} ${op.mode}`
        : op.type === 'delete' || op.type === 'check'
          ? `${op.type} ${op.path} v${op.version}`
          : `setData ${op.path} v${op.version}`,
    )
    .join('; ');
}
