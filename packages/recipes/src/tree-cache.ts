/**
 * TreeCache (Curator's): a local mirror of a subtree, kept up to date by one persistent
 * recursive watch. Events: `added`, `updated`, `removed` per znode, and `initialized` once the
 * first full load is done. NodeCache is a TreeCache of one znode (no descendants).
 *
 * How: the watch is opened first, then the subtree is read; each watch event then re-reads the
 * znode it names (and reconciles its children), so an event that arrives during the load, or
 * twice, changes nothing. Reads are local, so the mirror is sequentially consistent with the
 * session: it never goes back in time. On session expiry the watch ends: the cache stops and
 * `onError` hears SessionExpired (the mirror keeps its last contents).
 */
import type { Session, Stat } from '@cairn/node';
import { hasCode, join } from './internal/util.js';

export interface CachedNode {
  readonly path: string;
  readonly data: Uint8Array;
  readonly stat: Stat;
}

export type TreeCacheEvent =
  | { readonly type: 'added' | 'updated' | 'removed'; readonly node: CachedNode }
  | { readonly type: 'initialized' };

export interface TreeCacheOptions {
  /** Mirror only `path` itself (NodeCache). Default false. */
  readonly single?: boolean;
  readonly onError?: (error: unknown) => void;
}

export class TreeCache {
  private readonly nodes = new Map<string, CachedNode>();
  private readonly listeners = new Set<(event: TreeCacheEvent) => void>();
  private readonly closing = new AbortController();
  private initialized_ = false;
  private started: Promise<void> | null = null;

  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly options: TreeCacheOptions = {},
  ) {}

  /** Starts mirroring; resolves once the first load is done (`initialized`). */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  get initialized(): boolean {
    return this.initialized_;
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
    const stream = this.session.watch(this.path, {
      recursive: !this.options.single,
      signal: this.closing.signal,
    });
    await this.refresh(this.path);
    this.initialized_ = true;
    this.emit({ type: 'initialized' });
    void (async () => {
      try {
        for await (const event of stream) await this.refresh(event.path);
      } catch (error) {
        this.options.onError?.(error);
      }
    })();
  }

  /** Makes the mirror of `path` (and below) match the session's current view. */
  private async refresh(path: string): Promise<void> {
    if (this.closing.signal.aborted) return;
    let found: { data: Uint8Array; stat: Stat };
    try {
      found = await this.session.getData(path);
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
      names = (await this.session.getChildren(path)).children;
    } catch (error) {
      if (hasCode(error, 'NoNode')) return;
      throw error;
    }
    const current = new Set(names);
    for (const name of this.children(path))
      if (!current.has(name)) this.removeTree(join(path, name));
    for (const name of names) {
      const child = join(path, name);
      if (!this.nodes.has(child)) await this.refresh(child);
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
