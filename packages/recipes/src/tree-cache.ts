/**
 * TreeCache (Curator's): a local mirror of a subtree, kept up to date by one persistent
 * recursive watch. Events: `added`, `updated`, `removed` per znode, and `initialized` once the
 * first full load is done. NodeCache is a TreeCache of one znode (no descendants).
 *
 * How: the watch is opened first, then the subtree is read; each watch event then re-reads the
 * znode it names (and reconciles its children), so an event that arrives during the load, or
 * twice, changes nothing. Reads are local, so the mirror is sequentially consistent with the
 * session: it never goes back in time.
 *
 * When the session ends (expires, or closes with its member) the watch ends with it. Given
 * `renewSession`, the cache then moves to the session it returns: it opens the watch there,
 * reloads the whole subtree, emits `added`/`updated`/`removed` for whatever changed meanwhile,
 * then `reinitialized` (Curator rebuilds its tree on the new handle the same way). Without one,
 * or when renewal fails, the cache ends: it emits `ended` with a typed error (SessionExpired, or
 * the factory's error), `onError` hears it too, and the mirror keeps its last contents. A watch
 * that ends on its own while the session lives (its buffer overflowed) is reopened on the same
 * session and the subtree reloaded.
 */
import {
  type CairnError,
  type Session,
  SessionExpiredError,
  type Stat,
  type WatchEvent,
} from '@cairn/node';
import { RENEWALS_IN_A_ROW_MAX, type RenewSession } from './internal/renewal.js';
import { asCairnError, endedError, hasCode, join } from './internal/util.js';

export interface CachedNode {
  readonly path: string;
  readonly data: Uint8Array;
  readonly stat: Stat;
}

export type TreeCacheEvent =
  | { readonly type: 'added' | 'updated' | 'removed'; readonly node: CachedNode }
  /** The first full load is done. */
  | { readonly type: 'initialized' }
  /** Reloaded on a new session (`renewSession`) or a reopened watch; the diffs came before. */
  | { readonly type: 'reinitialized' }
  /** The cache stopped for good (not by `close()`): the session ended and was not renewed. */
  | { readonly type: 'ended'; readonly error: CairnError };

export interface TreeCacheOptions {
  /** Mirror only `path` itself (NodeCache). Default false. */
  readonly single?: boolean;
  /** Hears failures, including the error the cache ends with. */
  readonly onError?: (error: unknown) => void;
  /** Makes a new session when this one ends; without it the cache ends with the session. */
  readonly renewSession?: RenewSession;
}

export class TreeCache {
  private readonly nodes = new Map<string, CachedNode>();
  private readonly listeners = new Set<(event: TreeCacheEvent) => void>();
  private readonly closing = new AbortController();
  private initialized_ = false;
  private ended_: CairnError | null = null;
  private started: Promise<void> | null = null;
  private session_: Session;

  constructor(
    session: Session,
    readonly path: string,
    private readonly options: TreeCacheOptions = {},
  ) {
    this.session_ = session;
  }

  /** Starts mirroring; resolves once the first load is done (`initialized`). */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  get initialized(): boolean {
    return this.initialized_;
  }

  /** The session the cache reads through now (a renewed one after an expiry). */
  get session(): Session {
    return this.session_;
  }

  /** Why the cache stopped for good (see the `ended` event), or null while it runs. */
  get ended(): CairnError | null {
    return this.ended_;
  }

  /** The cached znode at `path`, or undefined. */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** Every cached path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** Names of the cached children of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return this.paths()
      .filter((p) => p.startsWith(prefix) && p !== path && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length));
  }

  onEvent(listener: (event: TreeCacheEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closing.abort();
  }

  private async run(): Promise<void> {
    let stream: AsyncIterable<WatchEvent>;
    try {
      stream = this.open();
      await this.refresh(this.path, true);
    } catch (error) {
      // The first load failed (the session ended, most likely): close the watch and say why.
      const reason = endedError(this.session_) ?? asCairnError(error);
      this.ended_ = reason;
      this.closing.abort();
      throw reason;
    }
    this.initialized_ = true;
    this.emit({ type: 'initialized' });
    void this.follow(stream);
  }

  private open(): AsyncIterable<WatchEvent> {
    return this.session_.watch(this.path, {
      recursive: !this.options.single,
      signal: this.closing.signal,
    });
  }

  /** Applies the watch's events; when it ends, renews or reopens and reloads, or ends. */
  private async follow(first: AsyncIterable<WatchEvent>): Promise<void> {
    let stream: AsyncIterable<WatchEvent> | null = first;
    // Bounded: each pass either reloads (and resets the count) or counts a session that
    // ended before its reload was done.
    for (let failures = 0; failures < RENEWALS_IN_A_ROW_MAX; ) {
      let failure: unknown = null;
      try {
        if (stream !== null)
          for await (const event of stream) await this.refresh(event.path, false);
      } catch (error) {
        failure = error;
      }
      stream = null;
      if (this.closing.signal.aborted) return;
      const ended = endedError(this.session_);
      if (ended === null && failure !== null && !hasCode(failure, 'QuotaExceeded')) {
        this.end(asCairnError(failure));
        return;
      }
      if (ended !== null) {
        const renew = this.options.renewSession;
        if (renew === undefined) {
          this.end(ended);
          return;
        }
        try {
          this.session_ = await renew(this.session_);
        } catch (error) {
          this.end(asCairnError(error));
          return;
        }
      }
      if (this.closing.signal.aborted) return;
      try {
        stream = this.open();
        await this.refresh(this.path, true);
        failures = 0;
        this.emit({ type: 'reinitialized' });
      } catch (error) {
        if (endedError(this.session_) === null) {
          this.end(asCairnError(error));
          return;
        }
        failures++; // The new session ended before the reload was done: renew again.
      }
    }
    this.end(
      new SessionExpiredError(this.path, {
        message: `${RENEWALS_IN_A_ROW_MAX} new sessions in a row ended before the cache reloaded`,
      }),
    );
  }

  private end(error: CairnError): void {
    this.ended_ = error;
    this.closing.abort();
    this.options.onError?.(error);
    this.emit({ type: 'ended', error });
  }

  /**
   * Makes the mirror of `path` (and below) match the session's current view: every descendant
   * when `full` (a load or reload), else only children not mirrored yet (an event names each
   * changed znode itself).
   */
  private async refresh(path: string, full: boolean): Promise<void> {
    if (this.closing.signal.aborted) return;
    let found: { data: Uint8Array; stat: Stat };
    try {
      found = await this.session_.getData(path);
    } catch (error) {
      if (!hasCode(error, 'NoNode')) throw error;
      this.removeTree(path);
      return;
    }
    const before = this.nodes.get(path);
    const node = { path, data: found.data, stat: found.stat };
    if (before === undefined) {
      this.nodes.set(path, node);
      this.emit({ type: 'added', node });
    } else if (before.stat.mzxid !== found.stat.mzxid || before.stat.czxid !== found.stat.czxid) {
      this.nodes.set(path, node);
      this.emit({ type: 'updated', node });
    }
    if (this.options.single) return;
    let names: readonly string[];
    try {
      names = (await this.session_.getChildren(path)).children;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return;
      throw error;
    }
    const current = new Set(names);
    for (const name of this.children(path))
      if (!current.has(name)) this.removeTree(join(path, name));
    for (const name of names) {
      const child = join(path, name);
      if (full || !this.nodes.has(child)) await this.refresh(child, full);
    }
  }

  private removeTree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const gone = this.paths()
      .filter((p) => p === path || p.startsWith(prefix))
      .reverse();
    for (const p of gone) {
      const node = this.nodes.get(p) as CachedNode;
      this.nodes.delete(p);
      this.emit({ type: 'removed', node });
    }
  }

  private emit(event: TreeCacheEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

/** A cache of one znode: `current()` and change events (Curator's NodeCache). */
export class NodeCache extends TreeCache {
  constructor(session: Session, path: string, options: Omit<TreeCacheOptions, 'single'> = {}) {
    super(session, path, { ...options, single: true });
  }

  current(): CachedNode | undefined {
    return this.get(this.path);
  }
}
