/**
 * A typed config value: JSON in one znode, checked by a schema function on every read, and a
 * change notification (a NodeCache underneath). A value that fails the check is reported to
 * `onError` and does not replace the last good one. `set` writes (compare-and-set with
 * `version` when given).
 *
 * On session expiry: given `renewSession`, the value moves to the new session, reloads, and
 * notifies if the value changed meanwhile; without it, it stops updating, `ended` says why and
 * `onError` hears that SessionExpired (the last good value stays readable).
 */
import type { CairnError, Session } from '@cairn/node';
import type { RenewSession } from './internal/renewal.js';
import { dec, enc, ensurePath, hasCode } from './internal/util.js';
import { type CachedNode, NodeCache } from './tree-cache.js';

export interface ConfigValueOptions<T> {
  /** Checks and converts the parsed JSON; throw to reject it. */
  readonly parse: (value: unknown) => T;
  /** The value while the znode does not exist. */
  readonly initial: T;
  readonly onError?: (error: unknown) => void;
  /** Makes a new session when this one ends; without it the value stops updating then. */
  readonly renewSession?: RenewSession;
}

export class ConfigValue<T> {
  private readonly cache: NodeCache;
  private value: T;
  private readonly listeners = new Set<(value: T) => void>();

  constructor(
    session: Session,
    readonly path: string,
    private readonly options: ConfigValueOptions<T>,
  ) {
    this.value = options.initial;
    this.cache = new NodeCache(session, path, {
      onError: (e) => options.onError?.(e),
      ...(options.renewSession === undefined ? {} : { renewSession: options.renewSession }),
    });
    this.cache.onEvent((event) => {
      if (event.type === 'removed') this.accept(null);
      else if (event.type === 'added' || event.type === 'updated') this.accept(event.node);
    });
  }

  /** The session reads and writes go through now (a renewed one after an expiry). */
  get session(): Session {
    return this.cache.session;
  }

  /** Why the value stopped updating for good, or null while it is live. */
  get ended(): CairnError | null {
    return this.cache.ended;
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
