/**
 * The Wing-Gong-Lowe search for a linearization (RELIABILITY §5.3, tier 2), in the shape
 * Porcupine made popular: the history as one list of call and return events in real-time
 * order, a depth-first search that linearizes any call seen before the first pending return,
 * and Lowe's memo of (set of linearized operations, model state) already explored. It is
 * iterative (no recursion: Node's stack is small) and bounded by a named step budget, past
 * which the verdict is `unknown`, never a loop without end.
 *
 * An operation whose outcome is unknown (timed out, connection lost, never returned) has its
 * return at +Infinity: it may be linearized anywhere after its call, including after every
 * other operation, which is the same as leaving it out.
 */

/** One operation of a (sub)history. Times are any totally ordered numbers (global orders). */
export interface LinearOp<I, O> {
  readonly id: number;
  readonly call: number;
  /** +Infinity when the outcome is unknown. */
  readonly ret: number;
  readonly input: I;
  readonly output: O;
}

/**
 * A sequential specification. `step` says whether `input` may return `output` in `state` and
 * what state follows (null: it may not; 'limit': the model gave up, e.g. too many possible
 * states). States are immutable; `key` is a canonical text of a state (equal keys, equal
 * states), used by the memo.
 */
export interface LinearModel<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O): S | null | 'limit';
  key(state: S): string;
}

export interface SearchLimits {
  /** Model steps the search may take before answering `unknown`. */
  readonly searchStepsMax: number;
}

export const DEFAULT_SEARCH_LIMITS: SearchLimits = { searchStepsMax: 2_000_000 };

export type SearchVerdict =
  | { readonly result: 'ok'; readonly order: readonly number[]; readonly steps: number }
  | {
      readonly result: 'illegal';
      /** The longest sequence of operation ids the search could linearize. */
      readonly longest: readonly number[];
      /** Operations with a known return none of which could come next after `longest`. */
      readonly stuck: readonly number[];
      readonly steps: number;
    }
  | { readonly result: 'unknown'; readonly reason: string; readonly steps: number };

const NONE = -1;

/**
 * Searches for a linearization of `ops` under `model`. Deterministic: the same ops in the same
 * order give the same verdict and step count.
 */
export function searchLinearization<S, I, O>(
  model: LinearModel<S, I, O>,
  ops: readonly LinearOp<I, O>[],
  limits: SearchLimits = DEFAULT_SEARCH_LIMITS,
): SearchVerdict {
  const n = ops.length;
  // Events: 2i is op i's call, 2i+1 its return; sorted by time, calls before returns on a tie
  // (two operations that touch in time count as concurrent).
  const events: number[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i] as LinearOp<I, O>;
    if (!(op.call < op.ret)) throw new RangeError(`op ${op.id}: call ${op.call} >= ret ${op.ret}`);
    events.push(2 * i, 2 * i + 1);
  }
  const timeOf = (event: number): number => {
    const op = ops[event >> 1] as LinearOp<I, O>;
    return event & 1 ? op.ret : op.call;
  };
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  // A doubly linked list over event numbers; `head` is a sentinel.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(NONE);
  const prev = new Int32Array(2 * n + 1).fill(NONE);
  let last = head;
  for (const event of events) {
    next[last] = event;
    prev[event] = last;
    last = event;
  }
  const unlink = (event: number): void => {
    const p = prev[event] as number;
    const q = next[event] as number;
    next[p] = q;
    if (q !== NONE) prev[q] = p;
  };
  const relink = (event: number): void => {
    const p = prev[event] as number;
    const q = next[event] as number;
    next[p] = event;
    if (q !== NONE) prev[q] = event;
  };

  let knownLeft = ops.filter((op) => op.ret !== Number.POSITIVE_INFINITY).length;
  const words = new Uint32Array(Math.ceil(n / 32) || 1);
  const memo = new Set<string>();
  const stateIds = new Map<string, number>();
  const stateId = (state: S): number => {
    const key = model.key(state);
    let id = stateIds.get(key);
    if (id === undefined) {
      id = stateIds.size;
      stateIds.set(key, id);
    }
    return id;
  };
  const memoKey = (state: S): string => {
    let text = '';
    for (const word of words) text += `${word.toString(36)},`;
    return `${text}${stateId(state)}`;
  };

  const stack: { call: number; state: S }[] = [];
  let longest: number[] = [];
  let stuckAtLongest: number[] = [];
  let state = model.init();
  let steps = 0;
  let event = next[head] as number;
  while (knownLeft > 0) {
    if (event !== NONE && (event & 1) === 0) {
      const index = event >> 1;
      const op = ops[index] as LinearOp<I, O>;
      if (++steps > limits.searchStepsMax)
        return {
          result: 'unknown',
          reason: `search gave up after ${limits.searchStepsMax} steps (searchStepsMax)`,
          steps: steps - 1,
        };
      const after = model.step(state, op.input, op.output);
      if (after === 'limit')
        return { result: 'unknown', reason: `the model gave up at op ${op.id}`, steps };
      if (after !== null) {
        const word = index >> 5;
        const bit = 1 << (index & 31);
        words[word] = (words[word] as number) | bit;
        const key = memoKey(after);
        if (!memo.has(key)) {
          memo.add(key);
          stack.push({ call: event, state });
          state = after;
          unlink(event);
          unlink(event + 1);
          if (op.ret !== Number.POSITIVE_INFINITY) knownLeft--;
          event = next[head] as number;
          continue;
        }
        words[word] = (words[word] as number) & ~bit;
      }
      event = next[event] as number;
      continue;
    }
    // A return (or the end) reached: the operations before it are all that may come next,
    // and none can. Backtrack.
    if (stack.length > longest.length || stuckAtLongest.length === 0) {
      longest = stack.map((entry) => (ops[entry.call >> 1] as LinearOp<I, O>).id);
      stuckAtLongest = candidatesAfter(head, next, ops);
    }
    const top = stack.pop();
    if (top === undefined) return { result: 'illegal', longest, stuck: stuckAtLongest, steps };
    const index = top.call >> 1;
    const op = ops[index] as LinearOp<I, O>;
    words[index >> 5] = (words[index >> 5] as number) & ~(1 << (index & 31));
    state = top.state;
    relink(top.call + 1);
    relink(top.call);
    if (op.ret !== Number.POSITIVE_INFINITY) knownLeft++;
    event = next[top.call] as number;
  }
  // Every operation with a known return is placed; the unknown ones follow in any order.
  return {
    result: 'ok',
    order: stack.map((entry) => (ops[entry.call >> 1] as LinearOp<I, O>).id),
    steps,
  };
}

/** The calls before the first return in the list: the operations that could come next. */
function candidatesAfter<I, O>(
  head: number,
  next: Int32Array,
  ops: readonly LinearOp<I, O>[],
): number[] {
  const ids: number[] = [];
  for (let event = next[head] as number; event !== NONE; event = next[event] as number) {
    if (event & 1) break;
    const op = ops[event >> 1] as LinearOp<I, O>;
    if (op.ret !== Number.POSITIVE_INFINITY) ids.push(op.id);
  }
  return ids;
}
