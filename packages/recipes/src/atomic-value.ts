/**
 * A distributed atomic value (Curator's DistributedAtomicValue): one znode holding JSON, changed
 * only by compare-and-set on its version, so concurrent updates never overwrite each other.
 * `update(fn)` retries on BadVersion with exponential backoff (bounded in count); SharedCounter
 * is an atomic number on top.
 *
 * Guarantee: every successful update applied `fn` to the value it replaced (linearizable: the
 * version check happens in the log). Session expiry does not touch the value (the znode is
 * persistent); calls on an expired session fail with SessionExpired.
 */
import { CairnError, type Session, type Stat } from '@cairn/node';
import {
  dec,
  enc,
  ensurePath,
  hasCode,
  type RecipeOptions,
  sleep,
  timersOf,
} from './internal/util.js';

export interface AtomicValueOptions<T> extends RecipeOptions {
  /** The value when the znode does not exist yet. */
  readonly initial: T;
  /** Attempts per `update` before it fails with BadVersion. Default 20. */
  readonly attemptsMax?: number;
  /** First backoff after a conflict; doubles each time, with jitter. Default 5 ms. */
  readonly backoffMs?: number;
  /** Jitter source in [0, 1). Default Math.random (inject a seeded one in tests). */
  readonly random?: () => number;
  /** Checks and converts what was read (a schema check); throw to reject. Default: identity. */
  readonly parse?: (value: unknown) => T;
}

export interface Versioned<T> {
  readonly value: T;
  /** The znode's version, for `compareAndSet`; -1 when it does not exist yet. */
  readonly version: number;
  readonly stat: Stat | null;
}

export class AtomicValue<T> {
  constructor(
    private readonly session: Session,
    readonly path: string,
    private readonly options: AtomicValueOptions<T>,
  ) {}

  /** The value and its version (a local read; `linearizable` to see every acknowledged write). */
  async get(options: { linearizable?: boolean } = {}): Promise<Versioned<T>> {
    try {
      const { data, stat } = await this.session.getData(this.path, options);
      return { value: this.parse(data), version: stat.version, stat };
    } catch (error) {
      if (!hasCode(error, 'NoNode')) throw error;
      return { value: this.options.initial, version: -1, stat: null };
    }
  }

  /** Sets `value` if the version is still `version` (-1: only if the znode does not exist). */
  async compareAndSet(version: number, value: T): Promise<boolean> {
    const data = enc(JSON.stringify(value));
    try {
      if (version === -1) {
        const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
        await ensurePath(this.session, parent);
        await this.session.create(this.path, data);
      } else {
        await this.session.setData(this.path, data, version);
      }
      return true;
    } catch (error) {
      if (hasCode(error, 'BadVersion') || hasCode(error, 'NodeExists')) return false;
      throw error;
    }
  }

  /** Sets the value whatever it was. */
  async set(value: T): Promise<void> {
    await this.update(() => value);
  }

  /** Applies `fn` atomically; resolves with the new value. BadVersion after `attemptsMax` conflicts. */
  async update(fn: (current: T) => T): Promise<T> {
    const attemptsMax = this.options.attemptsMax ?? 20;
    const backoffMs = this.options.backoffMs ?? 5;
    const random = this.options.random ?? Math.random;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      const current = await this.get();
      const next = fn(current.value);
      if (await this.compareAndSet(current.version, next)) return next;
      const ceiling = backoffMs * 2 ** Math.min(attempt, 8);
      await sleep(timersOf(this.options), ceiling / 2 + random() * (ceiling / 2));
    }
    throw new CairnError('BadVersion', this.path, {
      message: `${attemptsMax} conflicting updates in a row`,
    });
  }

  private parse(data: Uint8Array): T {
    const value: unknown = JSON.parse(dec(data));
    return this.options.parse === undefined ? (value as T) : this.options.parse(value);
  }
}

/** A shared counter (Curator's SharedCount / DistributedAtomicLong). */
export class SharedCounter {
  private readonly value: AtomicValue<number>;

  constructor(
    session: Session,
    readonly path: string,
    options: Omit<AtomicValueOptions<number>, 'initial' | 'parse'> & {
      readonly initial?: number;
    } = {},
  ) {
    this.value = new AtomicValue(session, path, {
      ...options,
      initial: options.initial ?? 0,
      parse: (value) => {
        if (typeof value !== 'number' || !Number.isSafeInteger(value))
          throw new CairnError('BadArguments', path, { message: `not a counter: ${value}` });
        return value;
      },
    });
  }

  async get(options: { linearizable?: boolean } = {}): Promise<number> {
    return (await this.value.get(options)).value;
  }

  /** Adds `delta` atomically; resolves with the new count. */
  add(delta: number): Promise<number> {
    return this.value.update((count) => count + delta);
  }

  increment(): Promise<number> {
    return this.add(1);
  }
}
