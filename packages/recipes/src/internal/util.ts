/**
 * Small pieces every recipe shares: the injectable timers, a bounded sleep, the sequence order of
 * sequential znodes, parent creation, and waiting for the session to be usable. Nothing here
 * decides a recipe's guarantee; each recipe's file says what it promises.
 */
import {
  CairnError,
  isCairnError,
  type Session,
  SessionExpiredError,
  systemTimers,
  type Timers,
  type WatchEvent,
} from '@cairn/node';

/** Options every recipe takes: timers (real by default; virtual ones in tests, STYLE §6). */
export interface RecipeOptions {
  /** Timers for `timeoutMs` and retry backoff. Default: the real ones. */
  readonly timers?: Timers;
}

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

export function timersOf(options: RecipeOptions): Timers {
  return options.timers ?? systemTimers;
}

/** `error` as a CairnError: itself if it is one, else SystemError with it as the cause. */
export function asCairnError(error: unknown): CairnError {
  if (isCairnError(error)) return error;
  return new CairnError('SystemError', undefined, { message: String(error), cause: error });
}

/** Whether `error` is a CairnError with `code`. */
export function hasCode(error: unknown, code: string): boolean {
  return isCairnError(error) && error.code === code;
}

/** Resolves after `ms` on `timers`; rejects with the signal's reason if it aborts first. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One signal that aborts when `signal` does, or with OperationTimeout after `timeoutMs`.
 * `dispose()` clears the timer and the listener.
 */
export function deadlineSignal(
  timers: Timers,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number },
  what: string,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  const handle =
    options.timeoutMs === undefined
      ? null
      : timers.setTimeout(
          () =>
            controller.abort(
              new CairnError('OperationTimeout', undefined, {
                message: `${what}: not done within ${options.timeoutMs} ms`,
              }),
            ),
          options.timeoutMs,
        );
  return {
    signal: controller.signal,
    dispose: () => {
      if (handle !== null) timers.clearTimeout(handle);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/** The sequence number of a sequential znode's name (its last ten digits). */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

/** `names` that start with one of `prefixes`, in sequence order (creation order). */
export function sortBySequence(names: readonly string[], prefixes: readonly string[]): string[] {
  return names
    .filter((name) => prefixes.some((prefix) => name.startsWith(prefix)))
    .sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Creates `path` and its missing parents as persistent znodes (existing ones are fine). */
export async function ensurePath(session: Session, path: string): Promise<void> {
  if (path === '/' || (await session.exists(path)) !== null) return;
  let at = '';
  for (const part of path.split('/').slice(1)) {
    at = `${at}/${part}`;
    try {
      await session.create(at);
    } catch (error) {
      if (!hasCode(error, 'NodeExists')) throw error;
    }
  }
}

/**
 * The error a session in `state` fails calls with, or null while it may still be used. A
 * `closing` session is as good as closed: its close may already have applied on another member,
 * taking its ephemerals (and whatever they held) along.
 */
export function endedError(session: Session): CairnError | null {
  if (session.state === 'expired') return new SessionExpiredError();
  if (session.state === 'closed' || session.state === 'closing')
    return new SessionExpiredError(undefined, { message: `the session is ${session.state}` });
  return null;
}

/** Whether the session has ended or is ending (expired, closing or closed). */
export function hasEnded(session: Session): boolean {
  return endedError(session) !== null;
}

/**
 * Resolves once the session is `connected`; rejects when it ends (expired, closed) or `signal`
 * aborts. A holder must not be handed a lock or leadership while its session is suspended.
 */
export function untilConnected(session: Session, signal?: AbortSignal): Promise<void> {
  if (session.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const ended = endedError(session);
      if (signal?.aborted) finish(signal.reason);
      else if (ended !== null) finish(ended);
      else if (session.state === 'connected') finish(null);
    };
    const finish = (error: unknown): void => {
      off();
      signal?.removeEventListener('abort', check);
      if (error === null) resolve();
      else reject(error);
    };
    const off = session.onStateChange(check);
    signal?.addEventListener('abort', check, { once: true });
    check();
  });
}

/**
 * Waits until one of `paths` no longer exists (one-shot exists watches, removed again when the
 * wait ends otherwise), the session ends, or `signal` aborts.
 */
export async function untilAnyGone(
  session: Session,
  paths: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  let wake: (error: unknown) => void = () => {};
  const woken = new Promise<void>((resolve, reject) => {
    wake = (error) => (error === null ? resolve() : reject(error));
  });
  woken.catch(() => {}); // handled below; this only keeps an early rejection from being "unhandled"
  const watchers = new Map<string, (event: WatchEvent) => void>();
  const onState = (): void => {
    const ended = endedError(session);
    if (ended !== null) wake(ended);
  };
  const onAbort = (): void => wake(signal.reason);
  const off = session.onStateChange(onState);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) wake(signal.reason);
    onState();
    for (const path of paths) {
      const watcher = (): void => wake(null);
      watchers.set(path, watcher);
      if ((await session.exists(path, { watch: watcher })) === null) {
        watchers.delete(path);
        wake(null);
        break;
      }
    }
    await woken;
  } finally {
    off();
    signal.removeEventListener('abort', onAbort);
    for (const [path, watcher] of watchers) {
      try {
        session.removeWatches(path, 'data', watcher);
      } catch {
        // Fired already (one-shot) or the session ended: nothing to remove.
      }
    }
  }
}

/** Waits for the next change of `path`'s children (a one-shot child watch), or the end. */
export async function untilChildrenChange(
  session: Session,
  path: string,
  signal: AbortSignal,
  armed: (fire: () => void) => Promise<void>,
): Promise<void> {
  let wake: (error: unknown) => void = () => {};
  const woken = new Promise<void>((resolve, reject) => {
    wake = (error) => (error === null ? resolve() : reject(error));
  });
  woken.catch(() => {});
  const onState = (): void => {
    const ended = endedError(session);
    if (ended !== null) wake(ended);
  };
  const onAbort = (): void => wake(signal.reason);
  const off = session.onStateChange(onState);
  signal.addEventListener('abort', onAbort, { once: true });
  const watcher = (): void => wake(null);
  try {
    if (signal.aborted) wake(signal.reason);
    onState();
    await armed(watcher);
    await woken;
  } finally {
    off();
    signal.removeEventListener('abort', onAbort);
    try {
      session.removeWatches(path, 'children', watcher);
    } catch {
      // Fired already or the session ended.
    }
  }
}
