/**
 * A sorted view of one znode's child names, kept beside its `children` Set so that paging
 * through a huge child list (`getChildrenPage`) costs a binary search and a slice per page
 * instead of copying and sorting the whole Set every time.
 *
 * The view is a read-side cache: it is built on the first read that needs it, never hashed,
 * snapshotted or replicated, so it cannot change a digest, a snapshot or an apply result.
 * Changes to the child set are recorded cheaply (a Set insert or delete, no array shifting,
 * so applying a create or delete under a big parent stays O(1)) and folded into the sorted
 * array by one merge on the next read.
 *
 * Invariant: `added` and `sorted` share no name, `removed` is a subset of `sorted`, and
 * `sorted` minus `removed` plus `added` is exactly the parent's child set.
 */
export class ChildIndex {
  private sorted: string[];
  private readonly added = new Set<string>();
  private readonly removed = new Set<string>();

  constructor(names: Iterable<string>) {
    this.sorted = [...names].sort();
  }

  /**
   * Records a new child. Returns false once the pending changes outnumber the sorted names:
   * the owner should then drop this index (rebuilding by a sort is as cheap as merging, and
   * an index nobody reads should not hold a second copy of a churning child list).
   */
  add(name: string): boolean {
    if (!this.removed.delete(name)) this.added.add(name);
    return this.worthKeeping();
  }

  /** Records a removed child; returns false as `add` does. */
  remove(name: string): boolean {
    if (!this.added.delete(name)) this.removed.add(name);
    return this.worthKeeping();
  }

  /** All names in sorted (UTF-16 code unit) order. The array is the index's own: do not change it. */
  names(): readonly string[] {
    if (this.added.size > 0 || this.removed.size > 0) this.merge();
    return this.sorted;
  }

  /**
   * At most `limit` names sorting strictly after `after` (from the first when undefined), and
   * whether more follow. `after` need not be a current child: paging resumes at the first name
   * that sorts after it, so children created or deleted between pages are seen or not seen by
   * their place relative to `after`, and no name still present is skipped or repeated.
   */
  page(after: string | undefined, limit: number): { names: string[]; more: boolean } {
    const names = this.names();
    const start = after === undefined ? 0 : upperBound(names, after);
    const end = Math.min(names.length, start + limit);
    return { names: names.slice(start, end), more: end < names.length };
  }

  private worthKeeping(): boolean {
    return this.added.size + this.removed.size <= Math.max(this.sorted.length, PENDING_MIN);
  }

  /**
   * Folds the pending changes in. A few are spliced into place (each a binary search and a
   * memmove, several times faster than copying element by element); more take one merging
   * pass over `sorted`, plus sorting the added names.
   */
  private merge(): void {
    if (this.added.size + this.removed.size <= SPLICES_MAX) {
      const sorted = this.sorted;
      for (const name of this.removed) sorted.splice(upperBound(sorted, name) - 1, 1);
      for (const name of this.added) sorted.splice(upperBound(sorted, name), 0, name);
      this.added.clear();
      this.removed.clear();
      return;
    }
    const added = [...this.added].sort();
    const removed = this.removed;
    const base = this.sorted;
    // Filled by push: `new Array(n)` of a large n is a slow dictionary-mode array in V8.
    const out: string[] = [];
    const size = base.length - removed.size + added.length;
    // Indexes are checked before each read: an out-of-bounds array read is a slow path in V8.
    let i = 0;
    for (const name of added) {
      while (i < base.length && (base[i] as string) < name) {
        const kept = base[i++] as string;
        if (!removed.has(kept)) out.push(kept);
      }
      out.push(name);
    }
    while (i < base.length) {
      const kept = base[i++] as string;
      if (!removed.has(kept)) out.push(kept);
    }
    if (out.length !== size)
      throw new Error(`znode: child index merged ${out.length} of ${size} names`);
    this.sorted = out;
    this.added.clear();
    this.removed.clear();
  }
}

/** Up to this many pending changes are spliced in place rather than merged in one pass. */
const SPLICES_MAX = 16;

/** Pending changes always allowed before an index is judged stale, so a small one is not dropped at once. */
const PENDING_MIN = 1024;

/** The first index whose name sorts strictly after `name`. */
export function upperBound(names: readonly string[], name: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] as string) <= name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
