import { RaftAssertionError } from '@cairn/raft';

/**
 * The term of every retained entry as runs of equal terms: run i covers [starts[i],
 * starts[i + 1] - 1], the last run up to `last`, with term terms[i]. Terms change only when
 * leadership does, so a log of millions of entries needs a handful of runs. This is how LevelLog
 * answers `term()` synchronously for entries it no longer holds in memory.
 *
 * Invariant: starts is strictly increasing, every run is non-empty, and the runs cover exactly
 * [starts[0], last] (nothing when there are no runs).
 */
export class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];
  private last = 0;

  /** Covers nothing; the next index appended must be `next`. */
  reset(next: number): void {
    this.starts = [];
    this.terms = [];
    this.last = next - 1;
  }

  get runCount(): number {
    return this.starts.length;
  }

  /** Adds the term of `index`, which must come right after the last one covered. */
  append(index: number, term: number): void {
    if (index !== this.last + 1) {
      throw new RaftAssertionError(`term of ${index} appended after ${this.last}`);
    }
    this.last = index;
    if (this.terms[this.terms.length - 1] !== term) {
      this.starts.push(index);
      this.terms.push(term);
    }
  }

  /** Forgets the terms of `index` and everything after it. */
  truncateFrom(index: number): void {
    if (index > this.last) return;
    this.last = index - 1;
    while (this.starts.length > 0 && (this.starts[this.starts.length - 1] as number) > this.last) {
      this.starts.pop();
      this.terms.pop();
    }
  }

  /** Forgets the terms of `index` and everything before it. */
  dropThrough(index: number): void {
    if (index >= this.last) {
      this.reset(index + 1);
      return;
    }
    let drop = 0;
    while (drop + 1 < this.starts.length && (this.starts[drop + 1] as number) <= index + 1) drop++;
    if (drop > 0) {
      this.starts.splice(0, drop);
      this.terms.splice(0, drop);
    }
    if (this.starts.length > 0 && (this.starts[0] as number) <= index) this.starts[0] = index + 1;
  }

  /** The term of `index`, or null when no run covers it. */
  term(index: number): number | null {
    const starts = this.starts;
    if (starts.length === 0 || index < (starts[0] as number) || index > this.last) return null;
    // The last run whose start is at or below `index`.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo] as number;
  }
}
