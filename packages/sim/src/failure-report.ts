/**
 * What a failed run prints without a replay (issue 8): for its primary violation, the minimal
 * failing history (only the calls the violation concerns, with the faults and role changes
 * around them) and a timeline excerpt around it. Built from the recorded history and the
 * simulator's kept trace lines; the checkers' verdicts are not touched.
 */
import type { History, HistoryOp } from './history.js';
import type { Violation } from './raft-checker.js';
import {
  formatTimelineEntry,
  outcomeText,
  type RunEvidence,
  runTimeline,
  type TimelineEntry,
} from './run-timeline.js';

/** Lines of the minimal failing history, at most. */
export const FAILURE_HISTORY_LINES_MAX = 60;
/** Calls in the minimal failing history, at most (the named ones, then the nearest related). */
export const FAILURE_HISTORY_CALLS_MAX = 30;
/** Timeline lines printed before the violation's moment, at most. */
export const FAILURE_TIMELINE_BEFORE = 30;
/** Timeline lines printed after it, at most. */
export const FAILURE_TIMELINE_AFTER = 10;

/** What a violation's message names: calls, paths and sessions (none for Raft's rules). */
export interface ViolationSubject {
  /** Calls named by id (`op N`) or by session and request number (`request S:N`). */
  readonly ops: readonly number[];
  /** Paths named, or else those of the named calls. */
  readonly paths: readonly string[];
  /** Sessions named, and those of the named calls. */
  readonly sessions: readonly bigint[];
  /** Whether the rule is about child lists (a child watch, getChildren, NotEmpty). */
  readonly children: boolean;
}

/** Reads the subject of `violation` from its message, against the recorded `history`. */
export function violationSubject(violation: Violation, history: History): ViolationSubject {
  const message = violation.message;
  const ops = new Set<number>();
  for (const [, id] of message.matchAll(/\bop (\d+)\b/g))
    if (Number(id) < history.ops.length) ops.add(Number(id));
  for (const [, session, seq] of message.matchAll(/\brequest (\d+):(\d+)\b/g))
    for (const op of history.ops)
      if (op.session === BigInt(session as string) && op.seq === Number(seq)) ops.add(op.id);
  const named = [...ops].map((id) => history.ops[id] as HistoryOp);
  // Only paths the history touches, or their ancestors: a stack trace names files too.
  const touched = new Set(history.ops.flatMap(pathsOf));
  const known = (path: string): boolean =>
    path === '/' || touched.has(path) || [...touched].some((p) => p.startsWith(`${path}/`));
  const paths = new Set<string>();
  for (const [, found] of message.matchAll(/(?<![\w/.:])(\/[\w.\-/]*)/g)) {
    const path = (found as string).length > 1 ? (found as string).replace(/\/+$/, '') : '/';
    if (known(path)) paths.add(path);
  }
  // A message that names paths says which matter (a watch's node, not the path of the later
  // call that saw the change); one that names none is about its calls' paths.
  if (paths.size === 0) for (const op of named) for (const path of pathsOf(op)) paths.add(path);
  const sessions = new Set<bigint>();
  for (const [, session] of message.matchAll(/\bsession (\d+)\b/g))
    sessions.add(BigInt(session as string));
  for (const op of named) if (op.session !== null) sessions.add(op.session);
  const children =
    /\b(child|children|NotEmpty)\b|cv:/.test(message) ||
    named.some((op) => op.kind === 'getChildren' || op.watch === 'child');
  return {
    ops: [...ops].sort((a, b) => a - b),
    paths: [...paths].sort(),
    sessions: [...sessions],
    children,
  };
}

/**
 * The minimal failing history and a timeline excerpt for `violation` (issue 8), at most
 * `FAILURE_HISTORY_LINES_MAX` + `FAILURE_TIMELINE_BEFORE` + `FAILURE_TIMELINE_AFTER` lines and
 * the headings. A violation that names no call, path or session gets the timeline lines before
 * its moment instead of a history.
 */
export function failureDetails(violation: Violation, evidence: RunEvidence): string {
  const subject = violationSubject(violation, evidence.history);
  const timeline = runTimeline(evidence);
  const hasSubject = subject.ops.length + subject.paths.length + subject.sessions.length > 0;
  const out: string[] = [];
  let momentMs: number;
  let moment: string;
  if (hasSubject) {
    const selected = selectOps(subject, evidence);
    const named = subject.ops.map((id) => evidence.history.ops[id] as HistoryOp);
    momentMs =
      named.length === 0
        ? evidence.endMs
        : Math.max(...named.map((op) => (op.returnMs ?? op.invokeMs) - evidence.startMs));
    moment = named.length === 0 ? 'the end of the run' : "the last named call's return";
    out.push(
      `minimal failing history of [${violation.checker}] (${describeSubject(subject)}; * = named; times in virtual ms):`,
      ...historyLines(selected, subject, timeline, evidence),
    );
  } else {
    const found = momentOf(violation, evidence);
    momentMs = found.atMs;
    moment = found.what;
    const before = timeline.filter((entry) => entry.atMs <= momentMs);
    const last = before.slice(-FAILURE_TIMELINE_BEFORE);
    // Calls crowd the last lines; the faults and role changes that led there may be older.
    const earlier = before
      .slice(0, before.length - last.length)
      .filter((entry) => entry.kind === 'event')
      .slice(-(FAILURE_HISTORY_LINES_MAX - FAILURE_TIMELINE_BEFORE));
    out.push(
      `[${violation.checker}] names no call or path: the last ${FAILURE_TIMELINE_BEFORE} timeline lines up to ${momentMs} ms (${moment}), after the ${earlier.length} faults and role changes before them:`,
      ...[...earlier, ...last].map((e) => `  ${formatTimelineEntry(e)}`),
    );
  }
  const before = timeline.filter((entry) => entry.atMs <= momentMs);
  const after = timeline.filter((entry) => entry.atMs > momentMs);
  const excerpt = [
    ...(hasSubject ? before.slice(-FAILURE_TIMELINE_BEFORE) : []),
    ...after.slice(0, FAILURE_TIMELINE_AFTER),
  ];
  out.push(
    hasSubject
      ? `timeline around ${momentMs} ms (${moment}), every client:`
      : `timeline after ${momentMs} ms:`,
    ...(excerpt.length === 0
      ? ['  (nothing)']
      : excerpt.map((entry) => `  ${formatTimelineEntry(entry)}`)),
  );
  return out.join('\n');
}

/**
 * The violation a failure report details: the first that is not a liveness verdict (a cluster
 * that did not converge is usually the consequence of another violation), else the first.
 */
export function primaryViolation(violations: readonly Violation[]): Violation | undefined {
  return violations.find((violation) => violation.checker !== 'liveness') ?? violations[0];
}

/**
 * A failure report: the seed (and shape), the primary violation in full and the others' first
 * lines (10 at most), the replay line, then `details` (`failureDetails` of the primary one).
 */
export function formatFailure(input: {
  readonly seed: number;
  readonly shape?: string;
  readonly violations: readonly Violation[];
  readonly replay: string;
  readonly details: string;
}): string {
  const primary = primaryViolation(input.violations);
  const violations =
    primary === undefined ? [] : [primary, ...input.violations.filter((v) => v !== primary)];
  const lines = [
    `seed ${input.seed}${input.shape === undefined ? '' : ` (${input.shape})`} FAILED: ${violations.length} violations`,
    // The first in full (the details below are about it), the others' first lines.
    ...violations
      .slice(0, 10)
      .map(
        (v, i) =>
          `    [${v.checker}] ${i === 0 ? v.message.replaceAll('\n', '\n    ') : v.message.split('\n')[0]}`,
      ),
    ...(violations.length > 10 ? [`    ... ${violations.length - 10} more`] : []),
    `    replay: ${input.replay}`,
  ];
  return input.details === '' ? lines.join('\n') : `${lines.join('\n')}\n${input.details}`;
}

function describeSubject(subject: ViolationSubject): string {
  const parts = [
    subject.ops.length === 0 ? '' : `ops ${subject.ops.join(' ')}`,
    subject.paths.length === 0 ? '' : `paths ${subject.paths.join(' ')}`,
    subject.sessions.length === 0 ? '' : `sessions ${subject.sessions.join(' ')}`,
  ];
  return parts.filter((part) => part !== '').join('; ');
}

/** The znodes a call touches; none for open, sync and close (recorded on "/"). */
function pathsOf(op: HistoryOp): string[] {
  if (op.kind === 'open' || op.kind === 'sync' || op.kind === 'close') return [];
  return [...new Set([op.path, ...(op.request ?? []).map((write) => write.path)])];
}

/** The paths a write creates or deletes (what changes its parent's child list). */
function existencePaths(op: HistoryOp): string[] {
  if (op.kind === 'create' || op.kind === 'delete') return [op.path];
  if (op.kind !== 'multi') return [];
  return (op.request ?? [])
    .filter((write) => write.type === 'create' || write.type === 'delete')
    .map((write) => write.path);
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** Whether `op` bears on the subject's paths or sessions near the named calls. */
function related(op: HistoryOp, subject: ViolationSubject, window: [number, number]): boolean {
  const paths = new Set(subject.paths);
  if (pathsOf(op).some((path) => paths.has(path))) return true;
  // An ancestor matters by existing (a create needs its parent); a child by changing the list.
  for (const path of existencePaths(op)) {
    if (subject.paths.some((p) => path !== '/' && p.startsWith(`${path}/`))) return true;
    if (subject.children && paths.has(parentOf(path))) return true;
  }
  if (op.session === null || !subject.sessions.includes(op.session)) return false;
  // A session's opening and end always; its other calls between the named calls.
  if (op.kind === 'open' || op.kind === 'close') return true;
  return op.invokeMs <= window[1] && (op.returnMs ?? Number.POSITIVE_INFINITY) >= window[0];
}

/** The named calls and, nearest them first, the related ones, up to the line budget. */
function selectOps(subject: ViolationSubject, evidence: RunEvidence): HistoryOp[] {
  const { history } = evidence;
  const named = subject.ops.map((id) => history.ops[id] as HistoryOp);
  const end = evidence.endMs + evidence.startMs;
  const window: [number, number] =
    named.length === 0
      ? [end, end]
      : [
          Math.min(...named.map((op) => op.invokeMs)),
          Math.max(...named.map((op) => op.returnMs ?? end)),
        ];
  const distance = (op: HistoryOp): number =>
    Math.max(0, window[0] - (op.returnMs ?? end), op.invokeMs - window[1]);
  const others = history.ops
    .filter((op) => !subject.ops.includes(op.id) && related(op, subject, window))
    .sort((a, b) => distance(a) - distance(b) || a.id - b.id);
  const budget = Math.max(0, FAILURE_HISTORY_CALLS_MAX - named.length);
  return [...named, ...others.slice(0, budget)].sort((a, b) => a.invokeOrder - b.invokeOrder);
}

/** The selected calls, their watch fires and the trace events overlapping them, in time order. */
function historyLines(
  ops: readonly HistoryOp[],
  subject: ViolationSubject,
  timeline: readonly TimelineEntry[],
  evidence: RunEvidence,
): string[] {
  const { startMs } = evidence;
  const ids = new Set(ops.map((op) => op.id));
  const end = evidence.endMs;
  const spans = ops.map((op) => [op.invokeMs - startMs, (op.returnMs ?? startMs + end) - startMs]);
  const named = ops.filter((op) => subject.ops.includes(op.id));
  const core: [number, number] =
    named.length === 0
      ? [end, end]
      : [
          Math.min(...named.map((op) => op.invokeMs - startMs)),
          Math.max(...named.map((op) => (op.returnMs ?? startMs + end) - startMs)),
        ];
  const overlaps = (at: number): boolean =>
    (at >= core[0] && at <= core[1]) ||
    spans.some(([from, to]) => at >= (from ?? 0) && at <= (to ?? 0));
  const lines: { atMs: number; rank: number; text: string }[] = [];
  for (const op of ops)
    lines.push({
      atMs: op.invokeMs - startMs,
      rank: 0,
      text: `${subject.ops.includes(op.id) ? '*' : ' '} ${`${op.invokeMs - startMs}..${op.returnMs === null ? 'never' : op.returnMs - startMs}`.padStart(11)}  ${callText(op)}`,
    });
  for (const entry of timeline) {
    // The named calls' watches, and the selected calls' watches on the subject's paths.
    const watched = entry.op === null ? undefined : evidence.history.ops[entry.op];
    if (
      entry.kind === 'fire' &&
      watched !== undefined &&
      (subject.ops.includes(watched.id) ||
        (ids.has(watched.id) && subject.paths.includes(watched.path)))
    )
      lines.push({
        atMs: entry.atMs,
        rank: 0,
        text: `  ${`~${entry.atMs}`.padStart(11)}  ${entry.text} (ordered after: ${entry.after})`,
      });
    else if (entry.kind === 'event' && overlaps(entry.atMs))
      lines.push({
        atMs: entry.atMs,
        rank: 1,
        text: `  ${String(entry.atMs).padStart(11)}  ${entry.text}`,
      });
  }
  // Calls and fires first, then the events nearest the named calls, within the budget.
  const far = (at: number): number => Math.max(0, core[0] - at, at - core[1]);
  const kept = new Set(
    [...lines]
      .sort((a, b) => a.rank - b.rank || far(a.atMs) - far(b.atMs))
      .slice(0, FAILURE_HISTORY_LINES_MAX),
  );
  const shown = lines.filter((line) => kept.has(line)).sort((a, b) => a.atMs - b.atMs);
  const left = lines.length - shown.length;
  return [
    ...shown.map((line) => line.text),
    ...(left > 0 ? [`  ... ${left} more events left out (the farthest from the named calls)`] : []),
  ];
}

function callText(op: HistoryOp): string {
  const applied =
    op.returnApplied === null ? '' : ` (node applied ${op.invokeApplied}..${op.returnApplied})`;
  return `op ${op.id} ${op.kind}${op.linearizable ? ' (linearizable)' : ''}${op.watch === null ? '' : ` +${op.watch} watch`} ${op.path} ${op.input} by client ${op.client}${op.session === null ? '' : ` session ${op.session}`} on node ${op.node} -> ${outcomeText(op, true)}${applied}`;
}

/**
 * When a violation that names no call happened, as near as the trace tells: a member's stop (its
 * `fatal` line), the last line of the term it names, else the end of the run.
 */
function momentOf(violation: Violation, evidence: RunEvidence): { atMs: number; what: string } {
  const stopped = /^node (\d+) stopped: (.*)$/s.exec(violation.message);
  if (stopped !== null) {
    const line = evidence.trace.find((l) => l.text === `fatal ${stopped[1]} ${stopped[2]}`);
    if (line !== undefined) return { atMs: line.atMs, what: `node ${stopped[1]} stopped` };
  }
  const term = /\bterm (\d+)\b/.exec(violation.message);
  if (term !== null) {
    const mark = ` t${term[1]} `;
    const line = evidence.trace.findLast(
      (l) => l.text.startsWith('role ') && l.text.includes(mark),
    );
    if (line !== undefined)
      return { atMs: line.atMs, what: `the last role change of term ${term[1]}` };
  }
  return { atMs: evidence.endMs, what: 'the end of the run: the checker does not say when' };
}
