/**
 * A run's readable timeline (`pnpm sim --trace`, failure reports): every client call at its
 * invoke, every watch fire and the simulator's kept trace lines, in virtual time.
 */
import type { OpResult } from '@cairn/znode';
import type { History, HistoryOp } from './history.js';
import { describeRead } from './history-checker.js';
import { describeStat } from './model.js';
import type { TraceLine } from './rng.js';

/** A run's recorded facts: its client history and its kept trace lines. */
export interface RunEvidence {
  readonly history: History;
  /** The simulator's kept trace lines (`TraceHash.keep`), `atMs` since the start. */
  readonly trace: readonly TraceLine[];
  /** The virtual time of the start: an op's `invokeMs - startMs` is its time in the run. */
  readonly startMs: number;
  /** Virtual ms since the start when the run ended (its end checks). */
  readonly endMs: number;
}

/** One line of a run's readable timeline. */
export interface TimelineEntry {
  /** Virtual ms since the start. */
  readonly atMs: number;
  readonly text: string;
  /** A call (at its invoke), a watch fire (of `op`), or a trace line (faults, roles, ...). */
  readonly kind: 'call' | 'fire' | 'event';
  /** The call, or the call whose watch fired. */
  readonly op: number | null;
  /** For a fire: the last call event ordered before it. */
  readonly after?: string;
}

/**
 * The run as timeline entries in time order: every call at its invoke, every watch fire (placed
 * at the last call event ordered before it: a fire carries no time of its own) and every kept
 * trace line but the trace's own copies of calls and fires.
 */
export function runTimeline(evidence: RunEvidence): TimelineEntry[] {
  const { history, startMs } = evidence;
  const entries: TimelineEntry[] = [];
  for (const op of history.ops) {
    const zxid = op.returnApplied === null ? '' : ` (node applied ${op.returnApplied})`;
    const returned = op.returnMs === null ? 'never' : `${op.returnMs - startMs}`;
    entries.push({
      atMs: op.invokeMs - startMs,
      kind: 'call',
      op: op.id,
      text: `client ${op.client} on node ${op.node}: op ${op.id} ${op.kind}${op.linearizable ? ' (linearizable)' : ''}${op.watch === null ? '' : ` +${op.watch} watch`} ${op.path} ${op.input} -> ${outcomeText(op, false)} (returned at ${returned})${zxid}`,
    });
  }
  const events: { order: number; ms: number; what: string }[] = [];
  for (const op of history.ops) {
    events.push({ order: op.invokeOrder, ms: op.invokeMs, what: `op ${op.id} began` });
    if (op.returnOrder !== null && op.returnMs !== null)
      events.push({ order: op.returnOrder, ms: op.returnMs, what: `op ${op.id} returned` });
  }
  events.sort((a, b) => a.order - b.order);
  let cursor = 0;
  let last = { ms: startMs, what: 'the start' };
  for (const fire of history.fires) {
    while (cursor < events.length && (events[cursor]?.order ?? 0) < fire.order) {
      last = events[cursor] ?? last;
      cursor++;
    }
    entries.push({
      atMs: last.ms - startMs,
      kind: 'fire',
      op: fire.op,
      after: last.what,
      text: `watch of op ${fire.op} fired: ${fire.type} ${fire.path} at zxid ${fire.zxid}`,
    });
  }
  for (const line of evidence.trace)
    if (!line.text.startsWith('op ') && !line.text.startsWith('fire '))
      entries.push({ atMs: line.atMs, kind: 'event', op: null, text: line.text });
  return entries.sort((a, b) => a.atMs - b.atMs);
}

/** A timeline entry as printed by `pnpm sim --trace`. */
export function formatTimelineEntry(entry: {
  readonly atMs: number;
  readonly text: string;
}): string {
  return `${String(entry.atMs).padStart(6)} ms  ${entry.text}`;
}

/** What a call returned, in a line: `ok` with a read's value or (`withResults`) a write's results. */
export function outcomeText(op: HistoryOp, withResults: boolean): string {
  const outcome = op.outcome;
  if (outcome.status === 'pending') return 'pending';
  if (outcome.status === 'error')
    return `error ${outcome.code}${outcome.codes === undefined ? '' : ` [${outcome.codes.join(' ')}]`}`;
  if (outcome.read !== undefined) return `ok ${describeRead(outcome.read)}`;
  if (!withResults || outcome.results === undefined || outcome.results.length === 0) return 'ok ';
  return `ok ${outcome.results.map(resultText).join('; ')}`;
}

function resultText(result: OpResult): string {
  if (result.type === 'create') return `created ${result.path} ${describeStat(result.stat)}`;
  if (result.type === 'setData' || result.type === 'setACL')
    return `${result.type} ${describeStat(result.stat)}`;
  return result.type;
}
