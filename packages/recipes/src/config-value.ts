/**
 * A typed config value: JSON in one znode, checked by a schema function on every read, and a
 * change notification (a NodeCache underneath). A value that fails the check is reported to
 * `onError` and does not replace the last good one. `set` writes (compare-and-set with
 * `version` when given). On session expiry the cache stops updating and `onError` hears it.
 */
import type { Session } from '@cairn/node';
import { dec, enc, ensurePath, hasCode } from './internal/util.js';
import { type CachedNode, NodeCache } from './tree-cache.js';

export interface ConfigValueOptions<T> {
  /** Checks and converts the parsed JSON; throw to reject it. */
  readonly parse: (value: unknown) => T;
  /** The value while the znode does not exist. */
  readonly initial: T;
  readonly onError?: (error: unknown) => void;
}

export class ConfigValue<T> {
  private readonly cache: NodeCache;
  private value: T;
  private readonly listeners = new Set<(value: T) => void>();

  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly options: ConfigValueOptions<T>,
  ) {
    this.value = options.initial;
    this.cache = new NodeCache(session, path, { onError: (e) => options.onError?.(e) });
    this.cache.onEvent((event) => {
      if (event.type === 'initialized') return;
      this.accept(event.type === 'removed' ? null : event.node);
    });
  }

  /** Starts watching; resolves once the current value is loaded. */
  async start(): Promise<T> {
    await this.cache.start();
    return this.value;
  }

  get(): T {
    return this.value;
  }

  onChange(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes `value` (checked first); with `version`, only if the znode is still at it. */
  async set(value: T, version = -1): Promise<void> {
    const checked = this.options.parse(value);
    const data = enc(JSON.stringify(checked));
    try {
      await this.session.setData(this.path, data, version);
    } catch (error) {
      if (!hasCode(error, 'NoNode') || version !== -1) throw error;
      const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
      await ensurePath(this.session, parent);
      await this.session.create(this.path, data);
    }
  }

  close(): void {
    this.cache.close();
  }

  private accept(node: CachedNode | null): void {
    let next: T;
    try {
      next = node === null ? this.options.initial : this.options.parse(JSON.parse(dec(node.data)));
    } catch (error) {
      this.options.onError?.(error);
      return;
    }
    this.value = next;
    for (const listener of [...this.listeners]) listener(next);
  }
}
