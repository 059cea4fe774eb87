import type { SessionId, Zxid } from '../ids.js';
import type { ChangeEvent } from '../types.js';
import {
  ALL_BITS,
  ancestorsOf,
  bitCount,
  FIRES_AT_PATH,
  HELD_KINDS,
  KIND_BIT,
  ONE_SHOT,
  RECURSIVE,
  removalEvents,
  WATCHER_TYPE_BITS,
  type WatcherType,
  type WatchKind,
} from './kinds.js';
import {
  type AddWatchResult,
  type CheckWatchesResult,
  NO_ZXID,
  type Notification,
  type ReadCheck,
  type RemoveWatchesResult,
  type SetWatchesResult,
  type WatchesReport,
  type WatchLimitError,
} from './results.js';
import { type NodeLookup, planSetWatches, type SetWatchesRequest } from './set-watches.js';

export const WATCHES_PER_SESSION_MAX_DEFAULT = 100_000;

export interface WatchRegistryOptions {
  /** Most watches one session may hold (each kind on each path counts once). Default 100 000. */
  readonly watchesPerSessionMax?: number;
}

const OK = { ok: true } as const;

function compareSessionIds(a: SessionId, b: SessionId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The watches of the sessions this node serves. Not replicated: it lives beside the tree on the
 * node that owns the sessions, and is rebuilt from the clients' setWatches after a move.
 *
 * Feed `trigger` the events of each applied txn, in log order; it returns the notifications in
 * event order, and within one event by ascending session id. It follows ZooKeeper's
 * `WatchManager` with `WatchStats` (3.9): a session is notified at most once per event however
 * many of its watches match, one-shot watches are removed when they fire, persistent ones stay,
 * and persistent-recursive ones fire for their path and every descendant, never for
 * NodeChildrenChanged. Paths are absolute and already validated; nothing here checks them.
 */
export class WatchRegistry {
  readonly watchesPerSessionMax: number;
  /** Invariant: holds bits(s, p) for every pair with bits !== 0, and no empty inner map. */
  private readonly byPath = new Map<string, Map<SessionId, number>>();
  /** Invariant: paths = { p | bits(s, p) !== 0 }, watches = Σ bitCount(bits(s, p)); no empty entry. */
  private readonly bySession = new Map<SessionId, { paths: Set<string>; watches: number }>();
  /** Invariant: recursive.get(p) = { s | bits(s, p) has RECURSIVE }; no empty set. */
  private readonly recursive = new Map<string, Set<SessionId>>();
  /** Invariant: the sum of `watches` over bySession. */
  private watchCount = 0;

  constructor(options: WatchRegistryOptions = {}) {
    const max = options.watchesPerSessionMax ?? WATCHES_PER_SESSION_MAX_DEFAULT;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`watchesPerSessionMax must be a positive integer, got ${max}`);
    }
    this.watchesPerSessionMax = max;
  }

  /** Arms a watch. Setting one the session already holds changes nothing and succeeds. */
  addWatch(sessionId: SessionId, path: string, kind: WatchKind): AddWatchResult {
    const bits = this.bitsOf(sessionId, path);
    const bit = KIND_BIT[kind];
    if ((bits & bit) !== 0) return OK;
    if (this.count(sessionId) >= this.watchesPerSessionMax) return this.limitError(path);
    this.setBits(sessionId, path, bits | bit);
    return OK;
  }

  /** The notifications for `events` (see the class comment), removing the one-shots that fired. */
  trigger(events: readonly ChangeEvent[], canRead?: ReadCheck): Notification[] {
    const notifications: Notification[] = [];
    for (const event of events) {
      for (const sessionId of this.fire(event)) {
        // A one-shot filtered here is still consumed, as in ZooKeeper.
        if (canRead !== undefined && !canRead(sessionId, event)) continue;
        notifications.push({ sessionId, type: event.type, path: event.path, zxid: event.zxid });
      }
    }
    return notifications;
  }

  /** Removes the session's watches of `type` on exactly `path` (ancestors' recursive ones stay). */
  removeWatches(sessionId: SessionId, path: string, type: WatcherType): RemoveWatchesResult {
    const bits = this.bitsOf(sessionId, path);
    const removed = bits & WATCHER_TYPE_BITS[type];
    if (removed === 0) return { ok: false, code: 'NoWatcher', path };
    this.setBits(sessionId, path, bits & ~removed);
    return { ok: true, removed: removalEvents(removed) };
  }

  /** Whether the session holds a watch of `type` on exactly `path`. */
  checkWatches(sessionId: SessionId, path: string, type: WatcherType): CheckWatchesResult {
    if ((this.bitsOf(sessionId, path) & WATCHER_TYPE_BITS[type]) === 0) {
      return { ok: false, code: 'NoWatcher', path };
    }
    return OK;
  }

  /** Drops every watch of a closed, expired or moved session; returns how many there were. */
  removeSession(sessionId: SessionId): number {
    const entry = this.bySession.get(sessionId);
    if (entry === undefined) return 0;
    const dropped = entry.watches;
    for (const path of [...entry.paths]) this.setBits(sessionId, path, 0);
    return dropped;
  }

  /**
   * Re-registers a reconnecting client's watches against its last seen zxid (`planSetWatches`
   * has the rules). All or nothing: if re-arming would take the session past its limit, nothing
   * changes. Notifications carry `NO_ZXID`, as ZooKeeper sends them. Beyond ZooKeeper, which
   * sends these unchecked, `canRead` filters those about a znode that exists (NodeDeleted names
   * only a path the client sent itself); a filtered watch is not re-armed.
   */
  setWatches(
    sessionId: SessionId,
    relativeZxid: Zxid,
    request: SetWatchesRequest,
    lookup: NodeLookup,
    canRead?: ReadCheck,
  ): SetWatchesResult {
    const plan = planSetWatches(relativeZxid, request, lookup);
    const added = new Map<string, number>();
    let watches = this.count(sessionId);
    for (const { path, kind } of plan.rearm) {
      const pending = added.get(path) ?? 0;
      const bit = KIND_BIT[kind];
      if (((this.bitsOf(sessionId, path) | pending) & bit) !== 0) continue;
      if (watches >= this.watchesPerSessionMax) return this.limitError(path);
      added.set(path, pending | bit);
      watches++;
    }
    for (const [path, bits] of added) {
      this.setBits(sessionId, path, this.bitsOf(sessionId, path) | bits);
    }
    const notifications: Notification[] = [];
    for (const { type, path } of plan.fire) {
      const event: ChangeEvent = { type, path, zxid: NO_ZXID };
      if (type !== 'NodeDeleted' && canRead !== undefined && !canRead(sessionId, event)) continue;
      notifications.push({ sessionId, type, path, zxid: NO_ZXID });
    }
    return { ok: true, notifications };
  }

  /** Watches held in all (or by one session); each kind on each path counts once. */
  count(sessionId?: SessionId): number {
    if (sessionId === undefined) return this.watchCount;
    return this.bySession.get(sessionId)?.watches ?? 0;
  }

  describe(): WatchesReport {
    const bySession = [...this.bySession]
      .sort(([a], [b]) => compareSessionIds(a, b))
      .map(([sessionId, entry]) => ({
        sessionId,
        watches: [...entry.paths].sort(comparePaths).map((path) => ({
          path,
          kinds: HELD_KINDS.filter(([, bit]) => (this.bitsOf(sessionId, path) & bit) !== 0).map(
            ([kind]) => kind,
          ),
        })),
      }));
    const byPath = [...this.byPath]
      .sort(([a], [b]) => comparePaths(a, b))
      .map(([path, sessions]) => ({
        path,
        sessionIds: [...sessions.keys()].sort(compareSessionIds),
      }));
    return {
      sessionCount: this.bySession.size,
      pathCount: this.byPath.size,
      watchCount: this.watchCount,
      bySession,
      byPath,
    };
  }

  /** Checks every invariant of the three indexes against each other; throws on the first broken one. */
  assertInvariants(): void {
    let total = 0;
    const seen = new Map<SessionId, { paths: number; watches: number }>();
    for (const [path, sessions] of this.byPath) {
      check(sessions.size > 0, () => `empty watcher map for ${path}`);
      for (const [sessionId, bits] of sessions) {
        check(bits > 0, () => `no bits for ${sessionId} on ${path}`);
        check((bits & ~ALL_BITS) === 0, () => `unknown bits ${bits} on ${path}`);
        check(
          this.bySession.get(sessionId)?.paths.has(path) === true,
          () => `${path} missing for ${sessionId}`,
        );
        const inRecursive = this.recursive.get(path)?.has(sessionId) === true;
        check(
          inRecursive === ((bits & RECURSIVE) !== 0),
          () => `recursive index wrong for ${path}`,
        );
        const tally = seen.get(sessionId) ?? { paths: 0, watches: 0 };
        tally.paths++;
        tally.watches += bitCount(bits);
        seen.set(sessionId, tally);
        total += bitCount(bits);
      }
    }
    check(total === this.watchCount, () => `watch count ${this.watchCount}, counted ${total}`);
    check(seen.size === this.bySession.size, () => 'session index has extra sessions');
    for (const [sessionId, entry] of this.bySession) {
      check(
        entry.paths.size === seen.get(sessionId)?.paths,
        () => `path set wrong for ${sessionId}`,
      );
      check(entry.watches === seen.get(sessionId)?.watches, () => `count wrong for ${sessionId}`);
      check(entry.watches <= this.watchesPerSessionMax, () => `${sessionId} over its limit`);
    }
    for (const [path, sessions] of this.recursive) {
      check(sessions.size > 0, () => `empty recursive set for ${path}`);
    }
  }

  /** The sessions an event reaches, ascending; removes the one-shot watches it fires. */
  private fire(event: ChangeEvent): SessionId[] {
    const matched = new Set<SessionId>();
    const fires = FIRES_AT_PATH[event.type];
    const atPath = this.byPath.get(event.path);
    for (const [sessionId, bits] of atPath === undefined ? [] : [...atPath]) {
      if ((bits & fires) === 0) continue;
      matched.add(sessionId);
      const consumed = bits & fires & ONE_SHOT;
      if (consumed !== 0) this.setBits(sessionId, event.path, bits & ~consumed);
    }
    // O(depth): only the recursive index of each ancestor is looked at.
    if (event.type !== 'NodeChildrenChanged' && this.recursive.size > 0) {
      for (const ancestor of ancestorsOf(event.path)) {
        for (const sessionId of this.recursive.get(ancestor) ?? []) matched.add(sessionId);
      }
    }
    return [...matched].sort(compareSessionIds);
  }

  private bitsOf(sessionId: SessionId, path: string): number {
    return this.byPath.get(path)?.get(sessionId) ?? 0;
  }

  private limitError(path: string): WatchLimitError {
    return {
      ok: false,
      code: 'QuotaExceeded',
      path,
      watchesPerSessionMax: this.watchesPerSessionMax,
    };
  }

  /** The one place watches change: sets bits(s, p) and keeps all three indexes and the counts true. */
  private setBits(sessionId: SessionId, path: string, next: number): void {
    const previous = this.bitsOf(sessionId, path);
    if (previous === next) return;
    const delta = bitCount(next) - bitCount(previous);
    const sessions = this.byPath.get(path) ?? new Map<SessionId, number>();
    const entry = this.bySession.get(sessionId) ?? { paths: new Set<string>(), watches: 0 };
    if (next === 0) {
      sessions.delete(sessionId);
      entry.paths.delete(path);
    } else {
      sessions.set(sessionId, next);
      entry.paths.add(path);
    }
    entry.watches += delta;
    this.watchCount += delta;
    if (sessions.size === 0) this.byPath.delete(path);
    else this.byPath.set(path, sessions);
    if (entry.paths.size === 0) this.bySession.delete(sessionId);
    else this.bySession.set(sessionId, entry);
    if (((previous ^ next) & RECURSIVE) !== 0)
      this.setRecursive(sessionId, path, (next & RECURSIVE) !== 0);
  }

  private setRecursive(sessionId: SessionId, path: string, held: boolean): void {
    const sessions = this.recursive.get(path) ?? new Set<SessionId>();
    if (held) sessions.add(sessionId);
    else sessions.delete(sessionId);
    if (sessions.size === 0) this.recursive.delete(path);
    else this.recursive.set(path, sessions);
  }
}

/** A broken invariant is a bug: stop rather than deliver wrong notifications. */
function check(condition: boolean, message: () => string): void {
  if (!condition) {
    const error = new Error(`watch registry: ${message()}`);
    error.name = 'AssertionError';
    throw error;
  }
}
